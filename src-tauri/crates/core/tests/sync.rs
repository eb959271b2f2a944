//! Sync against the sandbox: completeness, idempotence, incremental fetches, resumption, broken responses.

mod common;

use std::time::Duration;

use common::{core_with_account, dump, sandbox, sync, ACCOUNT};
use parley_core::{ConversationRef, ErrorCode};
use parley_sandbox::{FaultConfig, FaultKind};

#[tokio::test]
async fn first_sync_caches_everything_exactly_and_a_second_changes_nothing() {
    let sandbox = sandbox(25, 30).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;

    let report = sync(&parley).await;
    assert_eq!(report.conversations, 25);
    assert_eq!(report.messages, 25 * 30);
    assert_eq!(report.new_messages, 25 * 30);

    for conversation in sandbox.conversations() {
        let thread = parley
            .messages(
                &ConversationRef {
                    account: ACCOUNT.into(),
                    id: conversation.id.to_string(),
                },
                None,
            )
            .await
            .unwrap();
        let expected = sandbox.messages(conversation.id);
        assert_eq!(thread.len(), expected.len());
        for (cached, truth) in thread.iter().zip(&expected) {
            assert_eq!(cached.id.as_deref(), Some(truth.id.to_string().as_str()));
            assert_eq!(cached.text, truth.text);
            assert_eq!(cached.direction, if truth.income { "in" } else { "out" });
            // Some documented shapes carry whole epoch seconds only, so compare to the second.
            assert_eq!(cached.created_at.timestamp(), truth.created_at.timestamp());
            let names: Vec<_> = cached.attachments.iter().map(|a| a.name.clone()).collect();
            let truth_names: Vec<_> = truth
                .attachments
                .iter()
                .map(|a| Some(a.file_name.clone()))
                .collect();
            assert_eq!(names, truth_names);
        }
    }

    let before = dump(&parley).await;
    let requests_before = sandbox.stats().requests;
    let again = sync(&parley).await;
    assert_eq!(again.new_messages, 0);
    assert_eq!(dump(&parley).await, before);
    let message_reads = sandbox.stats().requests - requests_before;
    assert!(
        message_reads <= 4,
        "a sync with nothing new made {message_reads} requests"
    );
}

#[tokio::test]
async fn a_message_written_in_the_same_second_as_the_last_synced_one_is_fetched() {
    let sandbox = sandbox(3, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    let conversation = sandbox.conversations()[0].id;
    let reference = ConversationRef {
        account: ACCOUNT.into(),
        id: conversation.to_string(),
    };

    // Pact reports a thread's activity in whole seconds: each round pushes, syncs and pushes again at
    // once, so the second message usually shares the first one's second and leaves the reported
    // activity unchanged. The next sync must still bring it in.
    for round in 0..3 {
        sandbox.push_incoming_message(conversation, &format!("first of round {round}"));
        sync(&parley).await;
        sandbox.push_incoming_message(conversation, &format!("second of round {round}"));
        sync(&parley).await;
        let texts: Vec<_> = parley
            .messages(&reference, None)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|message| message.text)
            .collect();
        assert!(
            texts.contains(&format!("second of round {round}")),
            "round {round}: the same-second message is missing after the next sync; newest: {:?}",
            texts.iter().rev().take(3).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn incremental_sync_fetches_exactly_the_new_messages() {
    let sandbox = sandbox(20, 10).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;

    let conversations = sandbox.conversations();
    sandbox.push_incoming_message(conversations[3].id, "первое новое сообщение");
    sandbox.push_incoming_message(conversations[3].id, "second new one");
    // Some shapes carry whole seconds only: make the newest activity unambiguous.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    sandbox.push_incoming_message(conversations[7].id, "третье 🚀");
    let report = sync(&parley).await;
    assert_eq!(report.new_messages, 3);

    let thread = parley
        .messages(
            &ConversationRef {
                account: ACCOUNT.into(),
                id: conversations[3].id.to_string(),
            },
            Some(2),
        )
        .await
        .unwrap();
    let texts: Vec<_> = thread
        .iter()
        .map(|m| m.text.clone().unwrap_or_default())
        .collect();
    assert_eq!(texts, ["первое новое сообщение", "second new one"]);
    assert_eq!(
        parley.conversations(None, Some(1)).await.unwrap()[0].id,
        conversations[7].id.to_string()
    );
}

#[tokio::test]
async fn an_interrupted_sync_resumes_to_the_same_rows() {
    let sandbox = sandbox(30, 250).await;
    let clean_dir = tempfile::tempdir().unwrap();
    let clean = core_with_account(clean_dir.path(), &sandbox).await;
    sync(&clean).await;
    let expected = dump(&clean).await;

    sandbox.set_latency(Duration::from_millis(40));
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    for cut_after_ms in [30u64, 80, 150, 40, 260] {
        let interrupted = tokio::time::timeout(
            Duration::from_millis(cut_after_ms),
            parley.sync(ACCOUNT, &mut |_| {}),
        )
        .await;
        assert!(interrupted.is_err(), "the sync should have been cut off");
    }
    sandbox.set_latency(Duration::ZERO);
    sync(&parley).await;
    assert_eq!(dump(&parley).await, expected);
    assert!(parley.store().integrity_ok().await.unwrap());
}

#[tokio::test]
async fn invalid_json_fails_the_sync_and_leaves_the_cache_as_it_was() {
    let sandbox = sandbox(10, 10).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    let before = dump(&parley).await;

    sandbox.push_incoming_message(
        sandbox.conversations()[0].id,
        "arrives while the server is broken",
    );
    sandbox.set_faults(Some(FaultConfig {
        rate: 1.0,
        kinds: vec![FaultKind::InvalidJson],
    }));
    let error = parley.sync(ACCOUNT, &mut |_| {}).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidResponse);
    assert!(error.to_string().contains(ACCOUNT), "{error}");
    assert_eq!(dump(&parley).await, before);

    sandbox.set_faults(None);
    assert_eq!(sync(&parley).await.new_messages, 1);
}

#[tokio::test]
async fn search_finds_messages_newest_first_and_conversation_names() {
    let sandbox = sandbox(10, 10).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    let conversations = sandbox.conversations();
    sandbox.push_incoming_message(conversations[1].id, "the zanzibar shipment is late");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    sandbox.push_incoming_message(conversations[2].id, "Zanzibar again, sorry");
    sync(&parley).await;

    let hits = parley.search("zanzib", 10).await.unwrap();
    let conversations_hit: Vec<_> = hits.iter().map(|hit| hit.conversation.clone()).collect();
    assert_eq!(
        conversations_hit,
        [
            format!("{ACCOUNT}/{}", conversations[2].id),
            format!("{ACCOUNT}/{}", conversations[1].id)
        ]
    );
    assert!(hits[0].snippet.contains("Zanzibar"));
    assert!(parley.search("\"unbalanced OR (", 10).await.is_ok());
}

/// The desktop app runs core calls on a multi-threaded runtime, which needs their futures to be `Send`.
#[allow(dead_code)]
fn core_futures_are_send(parley: &parley_core::Parley, conversation: &ConversationRef) {
    fn assert_send<T: Send>(_: T) {}
    assert_send(parley.sync(ACCOUNT, &mut |_| {}));
    assert_send(parley.process_outbox(None));
    assert_send(parley.messages(conversation, None));
    assert_send(parley.search("x", 1));
    assert_send(parley.queue_message(conversation, None, &[]));
}

#[tokio::test]
async fn a_customer_message_after_the_first_sync_makes_its_conversation_unread_until_opened() {
    let sandbox = sandbox(6, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    assert!(
        parley
            .conversations(None, None)
            .await
            .unwrap()
            .iter()
            .all(|c| !c.unread),
        "history counts as seen"
    );
    assert_eq!(parley.accounts().await.unwrap()[0].unread_conversations, 0);

    let target = sandbox.conversations()[2].id.to_string();
    sandbox.push_incoming_message(sandbox.conversations()[2].id, "are you open on Sunday?");
    sync(&parley).await;
    let unread: Vec<_> = parley
        .conversations(None, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.unread)
        .map(|c| c.id)
        .collect();
    assert_eq!(unread, std::slice::from_ref(&target));
    assert_eq!(parley.accounts().await.unwrap()[0].unread_conversations, 1);

    parley
        .mark_read(&ConversationRef {
            account: ACCOUNT.into(),
            id: target,
        })
        .await
        .unwrap();
    assert_eq!(parley.accounts().await.unwrap()[0].unread_conversations, 0);
}

/// The cache holds exactly the sandbox's messages, thread by thread (ids in order).
fn assert_cache_is_exact<'a>(
    cached: impl IntoIterator<Item = (i64, &'a [parley_core::MessageView])>,
    sandbox: &parley_sandbox::Sandbox,
) {
    for (conversation, thread) in cached {
        let cached_ids: Vec<_> = thread.iter().map(|m| m.id.clone().unwrap()).collect();
        let truth: Vec<_> = sandbox
            .messages(conversation)
            .iter()
            .map(|m| m.id.to_string())
            .collect();
        assert_eq!(cached_ids, truth, "conversation {conversation}");
    }
}

async fn threads(
    parley: &parley_core::Parley,
    sandbox: &parley_sandbox::Sandbox,
) -> Vec<(i64, Vec<parley_core::MessageView>)> {
    let mut threads = Vec::new();
    for conversation in sandbox.conversations() {
        let reference = ConversationRef {
            account: ACCOUNT.into(),
            id: conversation.id.to_string(),
        };
        threads.push((
            conversation.id,
            parley.messages(&reference, None).await.unwrap(),
        ));
    }
    threads
}

#[tokio::test]
async fn a_single_broken_answer_does_not_fail_the_sync_and_its_page_is_read_again() {
    let sandbox = sandbox(12, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    // One conversation listing and one thread's messages answer with broken JSON, once each.
    sandbox.fail_once(
        "GET /p1/companies/{company_id}/conversations",
        FaultKind::InvalidJson,
    );
    sandbox.fail_once("/messages", FaultKind::InvalidJson);
    let report = sync(&parley).await;
    assert_eq!(report.conversations, 12);
    assert_eq!(report.messages, 12 * 5);
    let cached = threads(&parley, &sandbox).await;
    assert_cache_is_exact(cached.iter().map(|(id, t)| (*id, t.as_slice())), &sandbox);
    assert_eq!(
        sandbox.stats().faults_injected,
        2,
        "both broken answers were served"
    );
}

#[tokio::test]
async fn a_thread_that_stays_broken_fails_the_sync_after_the_rest_and_the_next_sync_brings_it() {
    let sandbox = sandbox(6, 4).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    // Every thread's first read breaks (the first six message reads), and so does the first retry.
    for _ in 0..7 {
        sandbox.fail_once("/messages", FaultKind::InvalidJson);
    }
    let error = parley.sync(ACCOUNT, &mut |_| {}).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidResponse, "{error}");
    let cached = threads(&parley, &sandbox).await;
    let whole = cached
        .iter()
        .filter(|(id, thread)| thread.len() == sandbox.messages(*id).len())
        .count();
    let empty = cached
        .iter()
        .filter(|(_, thread)| thread.is_empty())
        .count();
    assert_eq!(
        (whole, empty),
        (5, 1),
        "the other threads are cached whole; one waits for the next sync"
    );

    let again = sync(&parley).await;
    assert_eq!(again.messages, 6 * 4);
    assert_eq!(again.new_messages, 4);
    let cached = threads(&parley, &sandbox).await;
    assert_cache_is_exact(cached.iter().map(|(id, t)| (*id, t.as_slice())), &sandbox);
}
