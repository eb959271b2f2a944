//! Acceptance: VoIPbin accounts added by access key and by username + password sync every
//! conversation and message the sandbox holds (legacy and current shapes mixed) with the right
//! times, directions, channels, titles and owners; a second sync adds nothing; wrong credentials
//! are refused as `unauthorized` naming the account, and no secret is ever printed.

use std::collections::HashMap;

use parley_tests::rows;
use parley_tests::voipbin::{
    self, time, voipbin_config, VOIPBIN_ACCESS_KEY, VOIPBIN_PASSWORD, VOIPBIN_USERNAME,
};
use parley_tests::World;

#[test]
fn both_credential_kinds_sync_everything_in_both_shapes() {
    let world = World::start(voipbin_config(4_101, 12, 9));
    let sandbox = world.sandbox();
    let cli = world.cli();
    world
        .add_voipbin_by_key(&cli, "vb-key", VOIPBIN_ACCESS_KEY)
        .assert_ok();
    world
        .add_voipbin_by_password(&cli, "vb-login", VOIPBIN_USERNAME, VOIPBIN_PASSWORD)
        .assert_ok();
    let listed = rows::accounts(&cli);
    assert!(
        listed
            .iter()
            .filter(|a| a.name.starts_with("vb-"))
            .all(|a| a.provider == "voipbin"),
        "{listed:?}"
    );

    let expected = sandbox.voipbin_conversations();
    assert!(
        expected.iter().any(|c| c.legacy) && expected.iter().any(|c| !c.legacy),
        "the seed must mix both shapes"
    );
    for account in ["vb-key", "vb-login"] {
        let first = rows::sync(&cli, account);
        assert!(first.new_messages > 0, "first sync of {account}: {first:?}");
        let cached = voipbin::conversations(&cli, account);
        let by_id: HashMap<&str, &voipbin::VbConversationRow> =
            cached.iter().map(|c| (c.id.as_str(), c)).collect();
        assert_eq!(
            cached.len(),
            expected.len(),
            "{account}: cached {:?}",
            by_id.keys()
        );
        for conversation in &expected {
            let row = by_id
                .get(conversation.id.as_str())
                .unwrap_or_else(|| panic!("{account}: {} not cached", conversation.id));
            let shape = if conversation.legacy {
                "legacy"
            } else {
                "current"
            };
            assert_eq!(row.company_id, sandbox.voipbin_customer_id());
            assert_eq!(
                row.channel.as_deref(),
                Some(conversation.channel.as_str()),
                "{shape} {}",
                conversation.id
            );
            let title = conversation
                .peer_name
                .clone()
                .unwrap_or_else(|| conversation.peer_target.clone());
            assert_eq!(row.title.as_deref(), Some(title.as_str()), "{shape} title");
            // The legacy shape has no owner field at all.
            if !conversation.legacy {
                assert_eq!(row.assignee_id, conversation.owner_id, "{shape} owner");
            }
            compare_thread(&cli, account, &conversation.id, shape, sandbox, row);
        }
        let second = rows::sync(&cli, account);
        assert_eq!(
            second.new_messages, 0,
            "second sync of {account} added messages"
        );
    }
    for needle in [VOIPBIN_ACCESS_KEY, VOIPBIN_PASSWORD] {
        let leaks = world.transcript().occurrences(needle.as_bytes());
        assert!(leaks.is_empty(), "a secret was printed by: {leaks:?}");
    }
}

/// Every message of the thread, oldest first, with the sandbox's id, text, direction and time (ms).
fn compare_thread(
    cli: &parley_tests::Cli,
    account: &str,
    conversation: &str,
    shape: &str,
    sandbox: &parley_sandbox::Sandbox,
    row: &voipbin::VbConversationRow,
) {
    let expected = sandbox.voipbin_messages(conversation);
    let cached = voipbin::messages(cli, account, conversation);
    assert_eq!(
        cached.len(),
        expected.len(),
        "{shape} {conversation}: message count"
    );
    for (want, got) in expected.iter().zip(&cached) {
        assert_eq!(got.id.as_deref(), Some(want.id.as_str()), "{shape} order");
        let direction = if want.incoming { "in" } else { "out" };
        assert_eq!(got.direction, direction, "{shape} message {}", want.id);
        assert_eq!(
            got.text.as_deref().unwrap_or(""),
            want.text,
            "{shape} message {}",
            want.id
        );
        assert_eq!(
            time(&got.created_at).timestamp_millis(),
            want.created_at.timestamp_millis(),
            "{shape} message {} time",
            want.id
        );
    }
    if let Some(newest) = expected.last() {
        let shown = row.last_message_at.as_deref().map(time);
        assert_eq!(
            shown.map(|at| at.timestamp_millis()),
            Some(newest.created_at.timestamp_millis()),
            "{shape} {conversation}: activity is the newest message"
        );
    }
}

#[test]
fn wrong_password_or_key_is_unauthorized_naming_the_account() {
    let world = World::start(voipbin_config(4_102, 2, 2));
    let cli = world.cli();
    let wrong_password = "Wr0ng-pass-Xq9Zt4Lk2Vb7";
    let refused =
        world.add_voipbin_by_password(&cli, "vb-bad-login", VOIPBIN_USERNAME, wrong_password);
    let line = refused.assert_single_error_line();
    assert!(line.starts_with("error: unauthorized: "), "{line}");
    assert!(line.contains("\"vb-bad-login\""), "{line}");
    let wrong_key = "vb-wrong-key-Pm3Nc8Rt5Yq1";
    let refused = world.add_voipbin_by_key(&cli, "vb-bad-key", wrong_key);
    let line = refused.assert_single_error_line();
    assert!(line.starts_with("error: unauthorized: "), "{line}");
    assert!(line.contains("\"vb-bad-key\""), "{line}");
    assert!(
        rows::accounts(&cli).is_empty(),
        "a refused account was kept"
    );
    for needle in [wrong_password, wrong_key] {
        let leaks = world.transcript().occurrences(needle.as_bytes());
        assert!(leaks.is_empty(), "a secret was printed by: {leaks:?}");
    }
}
