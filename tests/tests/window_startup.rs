//! End-to-end: when the data folder cannot be used, the app says why in a native error dialog (in the
//! OS language) instead of a blank window or a line on stderr only, and exits with a failure once the
//! user presses OK. (A damaged database is moved aside instead: see `window_recovery`.)
//!
//! Run: `cargo build -p parley-app && xvfb-run -a cargo test -p parley-tests --test window_startup`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use parley_tests::window::{app_binary, app_environment, require_display, x11};

/// Longest wait for the app to exit after OK.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Both cases in one test: two dialogs open at once would race for the keyboard focus.
#[test]
fn unopenable_data_gets_a_native_error_dialog() {
    require_display();
    a_data_folder_that_is_a_file();
    a_data_folder_that_is_a_file_in_russian();
}

fn a_data_folder_that_is_a_file() {
    let root = scratch();
    let not_a_folder = root.path().join("parley-data");
    std::fs::write(&not_a_folder, "a file where the data folder should be").expect("write");
    let (child, stderr) = start_app(root.path(), &not_a_folder, "en");
    answer_dialog(
        child,
        "Parley cannot start",
        "startup-error-folder",
        &stderr,
    );
}

/// A damaged database is no longer fatal (it is moved aside: `window_recovery`); a data folder the
/// app cannot create is, in Russian too.
fn a_data_folder_that_is_a_file_in_russian() {
    let root = scratch();
    let not_a_folder = root.path().join("данные");
    std::fs::write(&not_a_folder, "файл вместо папки").expect("write");
    let (child, stderr) = start_app(root.path(), &not_a_folder, "ru");
    answer_dialog(
        child,
        "Parley не запускается",
        "startup-error-folder-ru",
        &stderr,
    );
}

fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("parley-startup-")
        .tempdir()
        .expect("a temp dir")
}

/// Starts the built app on `data_dir` with the given language; its stderr goes to a file.
fn start_app(root: &Path, data_dir: &Path, locale: &str) -> (Child, PathBuf) {
    let stderr = root.join("stderr.log");
    let mut command = Command::new(app_binary());
    for (name, value) in app_environment(data_dir, &root.join("home")) {
        command.env(name, value);
    }
    let child = command
        .env("PARLEY_LOCALE", locale)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("create the stderr log"))
        .spawn()
        .expect("start the app");
    (child, stderr)
}

/// Waits for the error dialog titled `title`, saves the screen, presses OK (Return), and checks that the
/// app then exits with a failure and said the same on stderr.
fn answer_dialog(mut child: Child, title: &str, screenshot: &str, stderr: &Path) {
    let dialog = x11::wait_for_window("error dialog", title, |name| name == title);
    std::thread::sleep(Duration::from_millis(500));
    x11::screenshot_screen(screenshot);
    assert!(
        child.try_wait().expect("the app's state").is_none(),
        "the app must wait for the user while the dialog is open"
    );
    x11::xdotool(&["windowfocus", "--sync", &dialog]);
    x11::xdotool(&["key", "--clearmodifiers", "Return"]);
    let deadline = Instant::now() + EXIT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the app's state") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the app did not exit within {EXIT_TIMEOUT:?} after OK");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.success(), "the app exits with a failure status");
    let said = std::fs::read_to_string(stderr).unwrap_or_default();
    assert!(
        said.contains("parley: "),
        "the reason also goes to stderr: {said:?}"
    );
}
