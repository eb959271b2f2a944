//! Acceptance: `parley-cli` writes `<data>/logs/cli.log`. After a session (add, sync, send, a sync
//! against a failing server, a send to a conversation that does not exist) the file holds each
//! command and each failure with its code, and neither the token, nor the text sent, nor a customer's
//! message or name. Nothing of it goes to stderr, which stays the user's; `PARLEY_LOG=debug` adds
//! debug lines.

use std::time::Duration;

use parley_sandbox::{FaultConfig, FaultKind};
use parley_tests::{sandbox_config, World, SANDBOX_TOKEN};

const ACCOUNT: &str = "desk";
const SENT_TEXT: &str = "cli log test reply, private 5c1e9a";
const INCOMING_TEXT: &str = "a customer's private words 8d2b";

#[test]
fn the_cli_log_holds_commands_and_failures_but_no_secret_or_content() {
    let world = World::start(sandbox_config(41, 6, 4));
    let sandbox = world.sandbox();
    let cli = world.cli();
    world.add_account(&cli, ACCOUNT, &[]).assert_ok();
    let conversation = sandbox.conversations()[0].id;
    sandbox.push_incoming_message(conversation, INCOMING_TEXT);
    cli.ok(&["sync", "--account", ACCOUNT]);
    let reference = format!("{ACCOUNT}/{conversation}");
    cli.run_timeout(
        &["send", &reference, "--text", SENT_TEXT, "--wait", "60"],
        None,
        Duration::from_secs(90),
    )
    .assert_ok();
    let listed = cli.ok(&["account", "list"]);
    assert_eq!(listed.stderr, "", "logging adds nothing to stderr");

    sandbox.set_faults(Some(FaultConfig {
        rate: 1.0,
        kinds: vec![FaultKind::Status500],
    }));
    let failing = cli.run(&["sync", "--account", ACCOUNT]);
    assert!(!failing.success(), "{}", failing.describe());
    sandbox.set_faults(None);
    let missing = cli.run(&["send", &format!("{ACCOUNT}/999999999"), "--text", SENT_TEXT]);
    assert!(!missing.success(), "{}", missing.describe());
    cli.clone()
        .with_env("PARLEY_LOG", "debug")
        .ok(&["sync", "--account", ACCOUNT]);

    let log_file = cli.data_dir().join("logs").join("cli.log");
    let log = std::fs::read_to_string(&log_file)
        .unwrap_or_else(|error| panic!("{}: {error}", log_file.display()));
    eprintln!("--- cli.log ---\n{log}");
    for wanted in [
        "logging started",
        "command started command=\"account\"",
        "command started command=\"sync\"",
        "command started command=\"send\"",
        "command finished command=\"send\"",
        "command failed: server_error: account desk:",
        "command failed: not_found:",
        "outbox entry delivered",
        " DEBUG ",
    ] {
        assert!(log.contains(wanted), "{wanted:?} is not in the log");
    }
    assert!(
        !log.contains(&format!("{}/logs/parley-cli.log", cli.data_dir().display())),
        "the old log name is gone"
    );
    let mut private = vec![
        SANDBOX_TOKEN.to_string(),
        SENT_TEXT.to_string(),
        INCOMING_TEXT.to_string(),
    ];
    private.extend(
        sandbox
            .conversations()
            .into_iter()
            .filter_map(|conversation| conversation.name)
            .filter(|name| name.chars().count() >= 5),
    );
    for text in &private {
        assert!(!log.contains(text.as_str()), "{text:?} is in the log");
    }
}
