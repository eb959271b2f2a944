//! The window's state in the core: inbox pages with filters and previews, company unread counts, older
//! thread pages, drafts and settings, against a synced sandbox account.

mod common;

use common::{core_with_account, sandbox, sync, ACCOUNT};
use parley_core::{ConversationRef, InboxFilter, InboxQuery, Parley};

fn query(filter: InboxFilter, offset: i64, limit: i64) -> InboxQuery {
    InboxQuery {
        account: None,
        company: None,
        filter,
        offset,
        limit,
    }
}

async fn all_rows(parley: &Parley, filter: InboxFilter) -> Vec<parley_core::ConversationSummary> {
    parley
        .inbox_page(&query(filter, 0, 1000))
        .await
        .expect("a page")
        .items
}

#[tokio::test]
async fn inbox_pages_cover_the_list_in_activity_order_with_previews() {
    let sandbox = sandbox(45, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;

    let listed = parley.conversations(None, None).await.unwrap();
    let mut paged = Vec::new();
    for offset in (0..60).step_by(20) {
        let page = parley
            .inbox_page(&query(InboxFilter::All, offset, 20))
            .await
            .unwrap();
        assert_eq!(page.total, 45, "the whole list's size on every page");
        assert_eq!(page.offset, offset);
        paged.extend(page.items);
    }
    assert_eq!(
        paged
            .iter()
            .map(|r| r.conversation.id.as_str())
            .collect::<Vec<_>>(),
        listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        "pages in order give the CLI's list"
    );
    for row in &paged {
        let conversation = ConversationRef {
            account: ACCOUNT.into(),
            id: row.conversation.id.clone(),
        };
        let newest = parley
            .messages(&conversation, Some(1))
            .await
            .unwrap()
            .pop()
            .expect("a message");
        let expected: Option<String> = newest.text.map(|t| t.chars().take(160).collect());
        assert_eq!(row.preview, expected, "preview of {}", row.conversation.id);
        assert_eq!(row.preview_direction.as_deref(), Some(newest.direction));
        assert_eq!(row.preview_has_files, !newest.attachments.is_empty());
    }
    assert!(parley
        .inbox_page(&query(InboxFilter::All, 0, 0))
        .await
        .is_err());
}

#[tokio::test]
async fn filters_mine_and_unassigned_follow_assignments_and_my_id() {
    let sandbox = sandbox(20, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    let listed = parley.conversations(None, None).await.unwrap();
    let mine = ConversationRef {
        account: ACCOUNT.into(),
        id: listed[3].id.clone(),
    };
    parley.assign(&mine, "4242").await.unwrap();

    assert!(
        all_rows(&parley, InboxFilter::Mine).await.is_empty(),
        "no own id set: nothing is mine"
    );
    parley
        .set_setting(&format!("my_user_id.{ACCOUNT}"), "4242")
        .await
        .unwrap();
    let rows = all_rows(&parley, InboxFilter::Mine).await;
    assert_eq!(
        rows.iter()
            .map(|r| r.conversation.id.as_str())
            .collect::<Vec<_>>(),
        [mine.id.as_str()]
    );

    let listed = parley.conversations(None, None).await.unwrap();
    let expected: Vec<&str> = listed
        .iter()
        .filter(|c| c.assignee_id.as_deref().unwrap_or("").is_empty())
        .map(|c| c.id.as_str())
        .collect();
    let unassigned = all_rows(&parley, InboxFilter::Unassigned).await;
    assert_eq!(
        unassigned
            .iter()
            .map(|r| r.conversation.id.as_str())
            .collect::<Vec<_>>(),
        expected
    );
    assert!(!unassigned.iter().any(|r| r.conversation.id == mine.id));

    let companies = parley.company_summaries().await.unwrap();
    assert_eq!(
        companies.iter().map(|c| c.conversations).sum::<i64>(),
        20,
        "every conversation counted under its company"
    );
    let one = &companies[0];
    let scoped = parley
        .inbox_page(&InboxQuery {
            account: Some(ACCOUNT.into()),
            company: Some(one.company_id.clone()),
            ..query(InboxFilter::All, 0, 100)
        })
        .await
        .unwrap();
    assert_eq!(scoped.total, one.conversations);
    assert!(scoped
        .items
        .iter()
        .all(|r| r.conversation.company_id == one.company_id));
}

#[tokio::test]
async fn older_pages_walk_the_thread_back_to_its_start() {
    let sandbox = sandbox(1, 75).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    let id = parley.conversations(None, None).await.unwrap()[0]
        .id
        .clone();
    let conversation = ConversationRef {
        account: ACCOUNT.into(),
        id,
    };
    let everything = parley.messages(&conversation, None).await.unwrap();
    let mut shown = parley.messages(&conversation, Some(30)).await.unwrap();
    loop {
        let oldest = shown[0].id.clone().expect("a cached message");
        let older = parley
            .messages_before(&conversation, &oldest, 30)
            .await
            .unwrap();
        if older.is_empty() {
            break;
        }
        assert!(older.len() <= 30);
        shown.splice(0..0, older);
    }
    let ids = |messages: &[parley_core::MessageView]| {
        messages.iter().map(|m| m.id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&shown), ids(&everything), "pages join up, oldest first");
    assert!(parley
        .messages_before(&conversation, "no-such-message", 30)
        .await
        .is_err());
}

#[tokio::test]
async fn drafts_and_settings_are_kept_and_cleared() {
    let sandbox = sandbox(2, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    let listed = parley.conversations(None, None).await.unwrap();
    let first = ConversationRef {
        account: ACCOUNT.into(),
        id: listed[0].id.clone(),
    };
    let second = ConversationRef {
        account: ACCOUNT.into(),
        id: listed[1].id.clone(),
    };
    parley
        .save_draft(&first, "Добрый день,\nпроверяю")
        .await
        .unwrap();
    assert_eq!(
        parley.draft(&first).await.unwrap().as_deref(),
        Some("Добрый день,\nпроверяю")
    );
    assert_eq!(parley.draft(&second).await.unwrap(), None);
    parley.save_draft(&first, "").await.unwrap();
    assert_eq!(parley.draft(&first).await.unwrap(), None, "empty clears");

    parley
        .set_setting("recent_assignees", "[\"7\"]")
        .await
        .unwrap();
    assert_eq!(
        parley.setting("recent_assignees").await.unwrap().as_deref(),
        Some("[\"7\"]")
    );
    parley.set_setting("recent_assignees", "").await.unwrap();
    assert_eq!(parley.setting("recent_assignees").await.unwrap(), None);
    assert!(parley.set_setting(&"k".repeat(201), "v").await.is_err());

    // Both survive reopening the data folder.
    parley.save_draft(&second, "later").await.unwrap();
    parley.set_setting("my_user_id.acme", "42").await.unwrap();
    parley.store().close().await;
    drop(parley);
    let reopened = common::open(dir.path()).await;
    assert_eq!(
        reopened.draft(&second).await.unwrap().as_deref(),
        Some("later")
    );
    assert_eq!(
        reopened
            .setting("my_user_id.acme")
            .await
            .unwrap()
            .as_deref(),
        Some("42")
    );
}
