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

#[tokio::test]
async fn messages_in_the_same_millisecond_get_distinct_ids_in_page_order() {
    let dir = tempfile::tempdir().unwrap();
    let (store, account, conversation) = store_with_thread(dir.path()).await;
    let same = 1_700_000_000_123;
    let first = store
        .save_message_page(
            account,
            conversation,
            &[message("m1", same, "one")],
            MessageWrite::TopUp,
        )
        .await
        .unwrap();
    assert_eq!(first.inserted, 1);
    let page = [
        message("m2", same, "two"),
        message("m3", same, "three"),
        message("m1", same, "one"),
    ];
    let second = store
        .save_message_page(account, conversation, &page, MessageWrite::TopUp)
        .await
        .unwrap();
    assert_eq!((second.inserted, second.already_cached), (2, 1));

    let thread = store.cached_messages(conversation, None).await.unwrap();
    let ids: Vec<i64> = thread.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [same * 1000, same * 1000 + 1, same * 1000 + 2]);
    let order: Vec<_> = thread
        .iter()
        .map(|(_, view)| view.id.clone().unwrap())
        .collect();
    assert_eq!(order, ["m1", "m2", "m3"]);
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
        3
    );
    assert_eq!(store.index_pending_messages().await.unwrap(), 3);
    assert_eq!(store.index_pending_messages().await.unwrap(), 0);
    assert_eq!(store.search("three", 10).await.unwrap().len(), 1);
}
