//! Acceptance: after a whole session (add, sync, send, failures, a wrong token, search) with debug
//! logging on, the token occurs in no file Parley wrote and in no output it printed.

use std::time::Duration;

use parley_sandbox::{FaultConfig, FaultKind};

use parley_tests::store::{files_containing, files_under};
use parley_tests::{sandbox_config, World, SANDBOX_TOKEN};

const WRONG_TOKEN: &str = "pk-wrong-9fK2mQ7xV4bN1cZ8-also-secret-and-distinctive-5e1d";

#[test]
fn token_never_leaks() {
    let world = World::start(sandbox_config(6_060, 8, 6));
    let sandbox = world.sandbox();
    let cli = world
        .cli()
        .with_env("RUST_LOG", "debug")
        .with_env("RUST_BACKTRACE", "1");

    world.add_account(&cli, "leaky", &[]).assert_ok();
    cli.ok(&["account", "list", "--json"]);
    cli.ok(&["sync", "--account", "leaky", "--json"]);
    let conversation = sandbox.conversations()[0].id;
    let reference = format!("leaky/{conversation}");

    let attachment = world.root().join("note.txt");
    std::fs::write(&attachment, "a small text attachment\n").unwrap();
    let send = cli.run_timeout(
        &[
            "send",
            &reference,
            "--text",
            "hello from the leak test",
            "--attach",
            attachment.to_str().unwrap(),
            "--wait",
            "60",
            "--json",
        ],
        None,
        Duration::from_secs(90),
    );
    send.assert_ok();

    sandbox.set_faults(Some(FaultConfig {
        rate: 1.0,
        kinds: vec![FaultKind::Status500],
    }));
    sandbox.push_incoming_message(conversation, "arrives during the outage");
    let failing = cli.run(&["sync", "--account", "leaky"]);
    assert!(
        !failing.success(),
        "sync against a failing server succeeded:\n{}",
        failing.describe()
    );
    sandbox.set_faults(Some(FaultConfig {
        rate: 1.0,
        kinds: vec![FaultKind::InvalidJson],
    }));
    let garbled = cli.run(&["sync", "--json"]);
    assert!(
        !garbled.success(),
        "sync against a garbling server succeeded:\n{}",
        garbled.describe()
    );
    sandbox.set_faults(None);

    let wrong = world.add_account_with(&cli, "leaky-wrong", &world.base_url(), WRONG_TOKEN, &[]);
    assert!(
        !wrong.success(),
        "a wrong token was accepted:\n{}",
        wrong.describe()
    );

    cli.ok(&["sync", "--account", "leaky", "--json"]);
    cli.ok(&["search", "outage", "--json"]);
    cli.ok(&["outbox", "--json"]);
    cli.ok(&["conversations", "--json"]);
    cli.ok(&["messages", &reference, "--json"]);
    cli.ok(&["messages", &reference]);
    cli.ok(&["conversations"]);

    let written = files_under(world.root());
    assert!(
        written.iter().any(|path| path.starts_with(cli.data_dir())),
        "the session wrote nothing into the data dir?"
    );
    // The scanners themselves work: the account name is both on disk and in the output.
    assert!(
        !files_containing(world.root(), b"leaky").is_empty(),
        "file scan finds nothing at all"
    );
    assert!(
        !world.transcript().occurrences(b"leaky").is_empty(),
        "output scan finds nothing at all"
    );
    for (name, token) in [
        ("the account token", SANDBOX_TOKEN),
        ("the wrong token", WRONG_TOKEN),
    ] {
        let files = files_containing(world.root(), token.as_bytes());
        assert!(files.is_empty(), "{name} was written to {files:?}");
        let outputs = world.transcript().occurrences(token.as_bytes());
        assert!(outputs.is_empty(), "{name} was printed in {outputs:?}");
    }
}
