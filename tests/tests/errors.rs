//! Acceptance: a wrong token gives a one-line `unauthorized` error naming the account (never a panic),
//! and a server answering with invalid JSON gives a clear error and leaves the cache as it was.

use parley_sandbox::{FaultConfig, FaultKind};

use parley_tests::relay::{socket_of, Relay};
use parley_tests::rows::{self, accounts};
use parley_tests::{sandbox_config, World, SANDBOX_TOKEN};

fn assert_unauthorized_naming(line: &str, account: &str) {
    assert!(
        line.to_lowercase().contains("unauthorized"),
        "the error does not say unauthorized: {line:?}"
    );
    assert!(
        line.contains(account),
        "the error does not name the account {account:?}: {line:?}"
    );
}

#[test]
fn wrong_token_on_add_is_unauthorized() {
    let world = World::start(sandbox_config(4_040, 4, 3));
    let cli = world.cli();
    let base_url = world.base_url();
    let outcome =
        world.add_account_with(&cli, "wrong-key", &base_url, "not-the-right-token-123", &[]);
    let line = outcome.assert_single_error_line();
    assert_unauthorized_naming(&line, "wrong-key");
    let listed = accounts(&cli);
    assert!(
        listed.iter().all(|account| account.name != "wrong-key"),
        "a rejected account was kept: {listed:?}"
    );
}

#[test]
fn token_rejected_later_is_unauthorized() {
    let mut world = World::start(sandbox_config(4_041, 4, 3));
    let relay = Relay::start(world.runtime(), socket_of(&world.base_url()));
    let cli = world.cli();
    let through_relay = relay.base_url_for(&world.base_url());
    world
        .add_account_with(&cli, "revoked", &through_relay, SANDBOX_TOKEN, &[])
        .assert_ok();
    rows::sync(&cli, "revoked");
    let cached = rows::conversations(&cli, Some("revoked"));

    let mut other = sandbox_config(4_041, 4, 3);
    other.token = "a-token-the-account-does-not-have".to_string();
    world.restart_sandbox(other);
    relay.redirect(socket_of(&world.base_url()));

    let outcome = cli.run(&["sync", "--account", "revoked", "--json"]);
    let line = outcome.assert_clean_failure();
    assert_unauthorized_naming(&line, "revoked");
    assert_eq!(
        rows::conversations(&cli, Some("revoked")),
        cached,
        "a rejected sync changed the cache"
    );
    outcome.assert_single_error_line();
}

#[test]
fn invalid_json_keeps_cache() {
    let world = World::start(sandbox_config(5_050, 12, 8));
    let sandbox = world.sandbox();
    let cli = world.cli();
    world.add_account(&cli, "garbled", &[]).assert_ok();
    rows::sync(&cli, "garbled");

    let conversations_before = cli
        .ok(&["conversations", "--limit", "1000000", "--json"])
        .stdout;
    let ids: Vec<i64> = sandbox.conversations().iter().map(|c| c.id).collect();
    let messages_before: Vec<String> = ids
        .iter()
        .map(|id| {
            cli.ok(&[
                "messages",
                &format!("garbled/{id}"),
                "--limit",
                "1000000",
                "--json",
            ])
            .stdout
        })
        .collect();
    assert!(conversations_before.contains(&ids[0].to_string()));

    sandbox.set_faults(Some(FaultConfig {
        rate: 1.0,
        kinds: vec![FaultKind::InvalidJson],
    }));
    sandbox.push_incoming_message(ids[0], "arrives while the server is garbled");
    sandbox.push_incoming_message(ids[1], "another one");
    let outcome = cli.run(&["sync", "--account", "garbled"]);
    let line = outcome.assert_clean_failure();
    let lowered = line.to_lowercase();
    assert!(
        ["invalid", "json", "response", "unexpected", "malformed"]
            .iter()
            .any(|word| lowered.contains(word)),
        "the error does not say the server's answer was unreadable: {line:?}"
    );
    eprintln!("invalid JSON error: {line}");

    let conversations_after = cli
        .ok(&["conversations", "--limit", "1000000", "--json"])
        .stdout;
    assert_eq!(
        conversations_after, conversations_before,
        "conversations --json changed after a failed sync"
    );
    for (id, before) in ids.iter().zip(&messages_before) {
        let after = cli
            .ok(&[
                "messages",
                &format!("garbled/{id}"),
                "--limit",
                "1000000",
                "--json",
            ])
            .stdout;
        assert_eq!(
            &after, before,
            "messages of {id} changed after a failed sync"
        );
    }

    sandbox.set_faults(None);
    let recovered = rows::sync(&cli, "garbled");
    assert_eq!(
        recovered.new_messages, 2,
        "the sync after the server recovered: {recovered:?}"
    );
}

#[test]
fn missing_keyring_is_a_clear_error() {
    let world = World::start(sandbox_config(4_042, 2, 2));
    let cli = world.cli().with_env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/parley-test-bus",
    );
    let outcome = world.add_account(&cli, "no-keyring", &[]);
    let line = outcome.assert_clean_failure();
    assert!(
        line.contains("keyring_unavailable"),
        "without a Secret Service the error should say keyring_unavailable: {line:?}"
    );
    eprintln!("without a keyring: {line}");
    let listed = accounts(&world.cli());
    assert!(
        listed.iter().all(|account| account.name != "no-keyring"),
        "an account whose token could not be stored was kept: {listed:?}"
    );
}
