//! The log files, in a test binary of their own (a process sets its global subscriber once): the file
//! appears in `logs/`, rotation keeps every file near the cap and no more files than configured,
//! `PARLEY_LOG=debug` lets debug lines through, warnings and errors reach `recent_problems`, and a panic
//! in a child process is in its log with the backtrace before the process ends.

use std::path::Path;
use std::process::Command;

use parley_core::logging::{self, LogConfig};

/// Set in the child process the panic test starts; names the data folder it logs into.
const CHILD_ENV: &str = "PARLEY_TEST_PANIC_CHILD_DIR";
/// A text the panicking child holds; its log must show the panic but not this.
const CUSTOMER_TEXT: &str = "Привет, это личное сообщение";

/// The files in `dir`, sorted by name.
fn files_in(dir: &Path) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                entry.metadata().unwrap().len(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn file_appears_rotates_within_its_cap_and_debug_goes_through() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    const CAP: usize = 4_000;
    const KEPT: usize = 3;
    let guard = logging::init_with(
        data.path(),
        "cli",
        LogConfig {
            max_file_bytes: CAP,
            kept_files: KEPT,
            also_stderr: false,
            filter: Some("debug".to_string()),
        },
    )
    .expect("logging starts");
    let file = data.path().join("logs").join("cli.log");
    assert_eq!(guard.path(), file);
    assert_eq!(logging::log_path().as_deref(), Some(file.as_path()));
    assert!(
        logging::init(data.path(), "cli", false).is_err(),
        "a second set-up in one process is refused"
    );

    tracing::debug!(target: "parley_core::sync", "a debug line goes through");
    tracing::info!(target: "parley_core::sync", "an info line");
    tracing::debug!(target: "sqlx::query", "sqlx stays at warn");
    tracing::warn!(account = "work", code = "offline", "sync failed");
    tracing::error!("something broke");
    logging::flush();
    assert!(file.is_file(), "{} exists", file.display());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("logging started"), "{text}");
    assert!(text.contains("a debug line goes through"), "{text}");
    assert!(text.contains("an info line"), "{text}");
    assert!(!text.contains("sqlx stays at warn"), "{text}");
    assert!(text.contains("sync failed"), "{text}");

    let problems = logging::recent_problems();
    let failed = problems
        .iter()
        .find(|problem| problem.message.starts_with("sync failed"))
        .expect("the warning is remembered");
    assert_eq!(failed.level, "WARN");
    assert!(failed.message.contains("code=offline"), "{failed:?}");
    assert!(problems.iter().any(|p| p.level == "ERROR"));
    for n in 0..(logging::RECENT_PROBLEMS + 5) {
        tracing::warn!(n, "warning");
    }
    let problems = logging::recent_problems();
    assert_eq!(problems.len(), logging::RECENT_PROBLEMS);
    assert!(
        problems.last().unwrap().message.contains("n=24"),
        "{problems:?}"
    );

    // About 40 caps' worth of lines: the files rotate, each stays near the cap, only KEPT old ones stay.
    let line = "x".repeat(90);
    for n in 0..(40 * CAP / 100) {
        tracing::info!(n, "{line}");
    }
    logging::flush();
    let files = files_in(&data.path().join("logs"));
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["cli.log", "cli.log.1", "cli.log.2", "cli.log.3"],
        "the current file and {KEPT} rotated ones: {files:?}"
    );
    for (name, size) in &files {
        assert!(
            *size as usize <= CAP + 300,
            "{name} is {size} bytes, over the cap of {CAP} by more than a line"
        );
    }
    let newest_old = std::fs::read_to_string(data.path().join("logs/cli.log.1")).unwrap();
    assert!(newest_old.ends_with('\n'), "a rotation never splits a line");
    drop(guard);
}

#[test]
fn a_panic_is_logged_with_its_backtrace_before_the_process_ends() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        // The child: log, panic on another thread (as a task would), then panic the main thread.
        let guard = logging::init(Path::new(&dir), "app", false).expect("logging starts");
        logging::install_panic_hook();
        let _ = std::thread::Builder::new()
            .name("worker".to_string())
            .spawn(|| panic!("a worker gave up on `{CUSTOMER_TEXT}`"))
            .unwrap()
            .join();
        std::mem::forget(guard);
        panic!("the main thread gave up on \"{CUSTOMER_TEXT}\"");
    }
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_panic_is_logged_with_its_backtrace_before_the_process_ends",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD_ENV, data.path())
        .env_remove("PARLEY_LOG")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(!output.status.success(), "the child panics");
    let text = std::fs::read_to_string(data.path().join("logs/app.log")).unwrap();
    assert!(
        text.contains("panicked: a worker gave up on \"…\""),
        "{text}"
    );
    assert!(text.contains("thread=\"worker\""), "{text}");
    assert!(
        text.contains("panicked: the main thread gave up on"),
        "{text}"
    );
    assert!(text.contains("tests/logging.rs:"), "the location: {text}");
    assert!(text.contains("backtrace="), "{text}");
    assert!(
        text.contains("a_panic_is_logged_with_its_backtrace_before_the_process_ends"),
        "the backtrace names the function: {text}"
    );
    assert!(!text.contains(CUSTOMER_TEXT), "{text}");
}
