//! The store on its own: time-ordered message ids, idempotent pages, the full-text queue.

use chrono::{TimeZone, Utc};
use parley_core::provider::{RemoteAttachment, RemoteCompany, RemoteConversation, RemoteMessage};
use parley_core::store::{MessageWrite, Store};
use parley_core::{NewAccount, ProviderKind};

fn message(id: &str, millis: i64, text: &str) -> RemoteMessage {
    RemoteMessage {
        id: id.to_string(),
        incoming: true,
        text: Some(text.to_string()),
        created_at: Utc.timestamp_millis_opt(millis).unwrap(),
        attachments: vec![RemoteAttachment {
            file_name: Some(format!("{id}.txt")),
            ..Default::default()
        }],
        ..Default::default()
    }
}

async fn store_with_thread(dir: &std::path::Path) -> (Store, i64, i64) {
    let store = Store::open(&dir.join("parley.db")).await.unwrap();
    let account = store
        .insert_account(
            &NewAccount {
                name: "a".into(),
                provider: ProviderKind::PactP1,
                base_url: None,
                company_ids: vec![],
            },
            "ref",
        )
        .await
        .unwrap();
    let companies = store
        .upsert_companies(
            account.id,
            &[RemoteCompany {
                id: "1".into(),
                name: None,
            }],
        )
        .await
        .unwrap();
    let states = store
        .upsert_conversations(
            account.id,
            companies[0].0,
            &[RemoteConversation {
                id: "9".into(),
                ..Default::default()
            }],
        )
        .await
        .unwrap();
    (store, account.id, states[0].id)
}

/// Pages come newest first. Messages of one millisecond (common with whole-second timestamps) still
/// read oldest to newest, whether they arrive on a page of newest messages or, later, on a history page
/// that reaches further back into the same millisecond.
#[tokio::test]
async fn messages_in_the_same_millisecond_keep_the_order_they_were_written_in() {
    let dir = tempfile::tempdir().unwrap();
    let (store, account, conversation) = store_with_thread(dir.path()).await;
    let same = 1_700_000_000_000;
    let first = store
        .save_message_page(
            account,
            conversation,
            &[message("m3", same, "three")],
            MessageWrite::Backfill {
                next: Some("older".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(first.inserted, 1);
    // The next history page reaches back into the same millisecond.
    let history = [message("m2", same, "two"), message("m1", same, "one")];
    store
        .save_message_page(
            account,
            conversation,
            &history,
            MessageWrite::Backfill { next: None },
        )
        .await
        .unwrap();
    // Then newer messages of that millisecond arrive, newest first, with one already cached.
    let page = [
        message("m5", same, "five"),
        message("m4", same, "four"),
        message("m3", same, "three"),
    ];
    let second = store
        .save_message_page(account, conversation, &page, MessageWrite::TopUp)
        .await
        .unwrap();
    assert_eq!((second.inserted, second.already_cached), (2, 1));
    let thread = store.cached_messages(conversation, None).await.unwrap();
    let order: Vec<_> = thread
        .iter()
        .map(|(_, view)| view.id.clone().unwrap())
        .collect();
    assert_eq!(order, ["m1", "m2", "m3", "m4", "m5"]);
    let ids: Vec<i64> = thread.iter().map(|(id, _)| *id).collect();
    assert!(
        ids.iter().all(|id| id / 1000 == same),
        "ids stay in their millisecond: {ids:?}"
    );
    assert!(thread.iter().all(|(_, view)| view.attachments.len() == 1));
    // Writing the same page again changes nothing, and the text is searchable once indexed.
    store
        .save_message_page(account, conversation, &page, MessageWrite::TopUp)
        .await
        .unwrap();
    assert_eq!(
        store
            .cached_messages(conversation, None)
            .await
            .unwrap()
            .len(),
        5
    );
    assert_eq!(store.index_pending_messages().await.unwrap(), 5);
    assert_eq!(store.index_pending_messages().await.unwrap(), 0);
    assert_eq!(store.search("three", 10).await.unwrap().len(), 1);
}

/// A thread whose timestamps come with and without milliseconds: the server lists a line stamped
/// 12:00:00 (whole second) after one stamped 12:00:00.300. The thread keeps the server's order, on a
/// history page and on a page of newest messages alike.
#[tokio::test]
async fn the_servers_order_wins_over_timestamps_of_mixed_precision() {
    let dir = tempfile::tempdir().unwrap();
    let (store, account, conversation) = store_with_thread(dir.path()).await;
    let (early, late) = (1_700_000_000_000, 1_700_000_005_000);
    let history = [
        message("b2", early, "whole seconds"),
        message("b1", early + 300, "milliseconds"),
    ];
    let newest = [
        message("t2", late, "whole seconds"),
        message("t1", late + 300, "milliseconds"),
    ];
    let backfill = MessageWrite::Backfill { next: None };
    store
        .save_message_page(account, conversation, &history, backfill)
        .await
        .unwrap();
    store
        .save_message_page(account, conversation, &newest, MessageWrite::TopUp)
        .await
        .unwrap();
    let order: Vec<_> = store
        .cached_messages(conversation, None)
        .await
        .unwrap()
        .iter()
        .map(|(_, view)| view.id.clone().unwrap())
        .collect();
    assert_eq!(order, ["b1", "b2", "t1", "t2"]);
}
