//! The installed app answers `parley --version` and `--help` on the command line at once, without a
//! display, a keyring or a data folder (what a package check or a support engineer runs first).
//!
//! Run: `cargo build -p parley-app && cargo test -p parley-tests --test app_version`.

use std::process::Command;
use std::time::{Duration, Instant};

use parley_tests::window::app_binary;

#[test]
fn version_and_help_print_and_exit_without_a_display() {
    let home = tempfile::tempdir().expect("a temp dir");
    for (flag, expected) in [
        (
            "--version",
            format!("parley {}\n", env!("CARGO_PKG_VERSION")),
        ),
        ("-V", format!("parley {}\n", env!("CARGO_PKG_VERSION"))),
    ] {
        let started = Instant::now();
        let output = Command::new(app_binary())
            .arg(flag)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env("HOME", home.path())
            .env("PARLEY_DATA_DIR", home.path().join("data"))
            .output()
            .expect("the app runs");
        assert!(output.status.success(), "{flag}: {output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected, "{flag}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{flag} answered at once"
        );
        assert!(
            !home.path().join("data").exists(),
            "{flag} touched no data folder"
        );
    }
    let help = Command::new(app_binary())
        .arg("--help")
        .env_remove("DISPLAY")
        .output()
        .expect("the app runs");
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("--demo") && text.contains("--version"),
        "{text}"
    );
}
