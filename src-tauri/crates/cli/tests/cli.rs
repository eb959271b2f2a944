//! The CLI's own contract checks that need no server and no keyring: usage, argument errors, exit codes.
//! (The end-to-end behaviour against the sandbox and the real keyring is tested in the workspace's
//! `tests/` crate; building this test also makes `cargo test --workspace` build the binary it drives.)

use std::process::Command;

fn cli(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_parley-cli"))
        .args(args)
        .env("PARLEY_DATA_DIR", data_dir)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .expect("parley-cli runs")
}

#[test]
fn help_lists_every_command_of_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let output = cli(dir.path(), &["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for command in [
        "account",
        "sync",
        "conversations",
        "messages",
        "send",
        "assign",
        "note",
        "bitrix-openlines",
        "search",
        "outbox",
    ] {
        assert!(
            help.contains(command),
            "--help does not mention {command}:\n{help}"
        );
    }
}

#[test]
fn a_malformed_conversation_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = cli(dir.path(), &["messages", "no-slash-here"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: invalid_input: "), "{stderr}");
    assert!(stderr.contains("ACCOUNT/ID"), "{stderr}");
}

#[test]
fn an_unknown_account_or_provider_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let output = cli(dir.path(), &["conversations", "--account", "nobody"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("not_found") && stderr.contains("nobody"),
        "{stderr}"
    );

    let output = cli(dir.path(), &["sync"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .contains("no accounts yet"));
}

#[test]
fn output_into_a_closed_pipe_is_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley-cli"))
        .args(["account", "list"])
        .env("PARLEY_DATA_DIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    assert!(output.status.success(), "{output:?}");
}
