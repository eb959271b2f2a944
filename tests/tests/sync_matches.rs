//! Acceptance: a full sync of 300 conversations x 40 messages shows exactly what the server holds, a
//! second sync changes nothing, and an incremental sync fetches exactly the new incoming messages.

use parley_tests::compare::{
    conversation_differences, message_differences, order_problems, read_all_messages,
};
use parley_tests::rows;
use parley_tests::{message_list_requests, sandbox_config, World};

const ACCOUNT: &str = "full-sync";

#[test]
fn sync_matches_sandbox() {
    let world = World::start(sandbox_config(30_040, 300, 40));
    let sandbox = world.sandbox();
    let cli = world.cli();
    world.add_account(&cli, ACCOUNT, &[]).assert_ok();

    rows::sync(&cli, ACCOUNT);
    let shown = rows::conversations(&cli, Some(ACCOUNT));
    assert_eq!(sandbox.conversations().len(), 300, "sandbox fixture size");
    let differences = conversation_differences(sandbox, ACCOUNT, &shown);
    assert!(
        differences.is_empty(),
        "conversations --json vs sandbox:\n{}",
        differences.join("\n")
    );
    let order = order_problems(&shown);
    assert!(
        order.is_empty(),
        "not most recent activity first:\n{}",
        order.join("\n")
    );

    let ids: Vec<i64> = shown.iter().map(|row| row.id).collect();
    let seeded: Vec<_> = ids.iter().flat_map(|id| sandbox.messages(*id)).collect();
    assert!(
        seeded.iter().any(|m| !m.attachments.is_empty())
            && seeded.iter().any(|m| m.text.as_deref().unwrap_or("").is_empty())
            && seeded.iter().any(|m| !m.income),
        "the fixture lacks attachments, attachment-only or outgoing messages: the comparison would prove little"
    );
    let all = read_all_messages(&cli, ACCOUNT, &ids);
    let differences: Vec<String> = all
        .iter()
        .flat_map(|(id, messages)| message_differences(sandbox, *id, messages))
        .collect();
    assert!(
        differences.is_empty(),
        "{} differences between messages --json and the sandbox, first ones:\n{}",
        differences.len(),
        differences
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );

    let second = rows::sync(&cli, ACCOUNT);
    assert_eq!(
        second.new_messages, 0,
        "a second sync with nothing new: {second:?}"
    );
    assert_eq!(
        rows::conversations(&cli, Some(ACCOUNT)),
        shown,
        "a second sync with nothing new changed conversations --json"
    );
    let unchanged = read_all_messages(&cli, ACCOUNT, &ids);
    let changed: Vec<&i64> = ids
        .iter()
        .filter(|id| unchanged.get(id) != all.get(id))
        .collect();
    assert!(
        changed.is_empty(),
        "a second sync changed the messages of {changed:?}"
    );

    let (busy, quiet) = (ids[ids.len() / 2], ids[ids.len() - 1]);
    let pushed = [
        (busy, "Новое входящее: где мой заказ? 📦"),
        (quiet, "second conversation <b>bold?</b> &amp; \"quoted\""),
        (busy, "שלום, follow-up in right-to-left"),
    ];
    let before = sandbox.stats();
    let pushed_ids: Vec<i64> = pushed
        .iter()
        .map(|(conversation, text)| sandbox.push_incoming_message(*conversation, text))
        .collect();

    let third = rows::sync(&cli, ACCOUNT);
    let after = sandbox.stats();
    assert_eq!(
        third.new_messages, 3,
        "sync after 3 incoming messages: {third:?}"
    );
    let message_lists = message_list_requests(&after) - message_list_requests(&before);
    assert!(
        message_lists <= 6,
        "the incremental sync listed messages {message_lists} times for 2 changed conversations \
         (it should not re-read all 300): before {before:?}, after {after:?}"
    );

    for conversation in [busy, quiet] {
        let messages = rows::messages(&cli, ACCOUNT, conversation);
        let differences = message_differences(sandbox, conversation, &messages);
        assert!(
            differences.is_empty(),
            "after the incremental sync:\n{}",
            differences.join("\n")
        );
    }
    let busy_messages = rows::messages(&cli, ACCOUNT, busy);
    for ((conversation, text), id) in pushed.iter().zip(&pushed_ids) {
        let messages = if *conversation == busy {
            busy_messages.clone()
        } else {
            rows::messages(&cli, ACCOUNT, *conversation)
        };
        let found = messages.iter().find(|m| m.id == Some(*id));
        assert_eq!(
            found.and_then(|m| m.text.as_deref()),
            Some(*text),
            "pushed message {id} in conversation {conversation}"
        );
        assert_eq!(found.map(|m| m.direction.as_str()), Some("in"));
    }

    let shown = rows::conversations(&cli, Some(ACCOUNT));
    let top: Vec<i64> = shown.iter().take(2).map(|row| row.id).collect();
    assert!(
        top.contains(&busy) && top.contains(&quiet),
        "the two conversations with new messages should lead the list, got {top:?} (want {busy} and {quiet})"
    );
    let differences = conversation_differences(sandbox, ACCOUNT, &shown);
    assert!(
        differences.is_empty(),
        "after the incremental sync:\n{}",
        differences.join("\n")
    );
}
