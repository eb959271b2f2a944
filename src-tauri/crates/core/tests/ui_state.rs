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

fn row_of<'a>(
    rows: &'a [parley_core::ConversationSummary],
    id: &str,
) -> &'a parley_core::ConversationSummary {
    rows.iter()
        .find(|r| r.conversation.id == id)
        .expect("the conversation is listed")
}

#[tokio::test]
async fn unread_counts_cap_at_ten_and_mark_unread_and_next_unread_follow_the_agent() {
    let sandbox = sandbox(8, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    let before = all_rows(&parley, InboxFilter::All).await;
    assert!(
        before.iter().all(|r| r.unread_count == 0),
        "history is read"
    );
    assert!(
        parley
            .next_unread(&query(InboxFilter::All, 0, 1), None)
            .await
            .unwrap()
            .is_none(),
        "nothing unread: no next"
    );

    let chatty = sandbox.conversations()[1].id;
    let quiet = sandbox.conversations()[5].id;
    for n in 0..12 {
        sandbox.push_incoming_message(chatty, &format!("message {n}"));
    }
    sandbox.push_incoming_message(quiet, "one question");
    sandbox.push_team_message(quiet, "an answer from a colleague");
    sync(&parley).await;
    let rows = all_rows(&parley, InboxFilter::All).await;
    assert_eq!(
        row_of(&rows, &chatty.to_string()).unread_count,
        10,
        "capped"
    );
    assert_eq!(
        row_of(&rows, &quiet.to_string()).unread_count,
        1,
        "only customer messages count"
    );

    // Next unread walks the list in its order and wraps around.
    let position_of = |id: i64| {
        rows.iter()
            .position(|r| r.conversation.id == id.to_string())
            .unwrap() as i64
    };
    let first = parley
        .next_unread(&query(InboxFilter::All, 0, 1), None)
        .await
        .unwrap()
        .expect("an unread row");
    let (first_id, second_id) = if position_of(chatty) < position_of(quiet) {
        (chatty, quiet)
    } else {
        (quiet, chatty)
    };
    assert_eq!(first.0, position_of(first_id));
    assert_eq!(first.1.conversation.id, first_id.to_string());
    let second = parley
        .next_unread(&query(InboxFilter::All, 0, 1), Some(first.0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.1.conversation.id, second_id.to_string());
    let wrapped = parley
        .next_unread(&query(InboxFilter::All, 0, 1), Some(second.0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(wrapped.1.conversation.id, first_id.to_string(), "wraps");

    // Read, then marked unread again: its newest customer message counts.
    let chatty_ref = ConversationRef {
        account: ACCOUNT.into(),
        id: chatty.to_string(),
    };
    parley.mark_read(&chatty_ref).await.unwrap();
    let rows = all_rows(&parley, InboxFilter::All).await;
    assert!(!row_of(&rows, &chatty.to_string()).conversation.unread);
    parley.mark_unread(&chatty_ref).await.unwrap();
    let rows = all_rows(&parley, InboxFilter::All).await;
    let chatty_row = row_of(&rows, &chatty.to_string());
    assert!(chatty_row.conversation.unread);
    assert_eq!(chatty_row.unread_count, 1);
    parley.mark_read(&chatty_ref).await.unwrap();
    let rows = all_rows(&parley, InboxFilter::All).await;
    assert_eq!(row_of(&rows, &chatty.to_string()).unread_count, 0);
    assert!(parley
        .mark_unread(&ConversationRef {
            account: ACCOUNT.into(),
            id: "no-such-conversation".into(),
        })
        .await
        .is_err());
}

#[tokio::test]
async fn rows_name_the_assignee_once_labelled_and_mark_drafts() {
    let sandbox = sandbox(4, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    let listed = parley.conversations(None, None).await.unwrap();
    let assigned = ConversationRef {
        account: ACCOUNT.into(),
        id: listed[0].id.clone(),
    };
    parley.assign(&assigned, "4242").await.unwrap();
    let rows = all_rows(&parley, InboxFilter::All).await;
    assert_eq!(row_of(&rows, &assigned.id).assignee_name, None);
    let offered = parley.teammates_with_seen(ACCOUNT).await.unwrap();
    assert!(
        offered
            .iter()
            .any(|t| t.id == "4242" && t.source == "seen" && t.name.is_empty()),
        "an assignee nobody named yet is offered for naming: {offered:?}"
    );

    parley
        .label_teammate(ACCOUNT, "4242", Some("Olga"))
        .await
        .unwrap();
    let rows = all_rows(&parley, InboxFilter::All).await;
    assert_eq!(
        row_of(&rows, &assigned.id).assignee_name.as_deref(),
        Some("Olga")
    );
    let offered = parley.teammates_with_seen(ACCOUNT).await.unwrap();
    assert_eq!(
        offered.iter().filter(|t| t.id == "4242").count(),
        1,
        "named: listed once, by name"
    );

    let drafted = ConversationRef {
        account: ACCOUNT.into(),
        id: listed[1].id.clone(),
    };
    parley.save_draft(&drafted, "half a reply").await.unwrap();
    let rows = all_rows(&parley, InboxFilter::All).await;
    assert!(row_of(&rows, &drafted.id).has_draft);
    assert!(!row_of(&rows, &assigned.id).has_draft);
    parley.save_draft(&drafted, "").await.unwrap();
    let rows = all_rows(&parley, InboxFilter::All).await;
    assert!(!row_of(&rows, &drafted.id).has_draft);
}

#[tokio::test]
async fn notification_preferences_are_kept_and_decide_who_is_told() {
    use parley_core::NotificationPreferences;
    let sandbox = sandbox(4, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    assert_eq!(
        parley.notification_preferences().await.unwrap(),
        NotificationPreferences::default(),
        "never saved: the defaults (sound on, everything)"
    );
    let listed = parley.conversations(None, None).await.unwrap();
    let reference = |index: usize| ConversationRef {
        account: ACCOUNT.into(),
        id: listed[index].id.clone(),
    };
    parley.assign(&reference(0), "4242").await.unwrap();
    parley.assign(&reference(1), "777").await.unwrap();
    parley
        .set_setting(&format!("my_user_id.{ACCOUNT}"), "4242")
        .await
        .unwrap();
    let preferences = NotificationPreferences {
        sound: false,
        only_when_unfocused: false,
        only_mine_or_unassigned: true,
        muted_accounts: Vec::new(),
    };
    parley
        .set_notification_preferences(&preferences)
        .await
        .unwrap();
    let kept = parley.notification_preferences().await.unwrap();
    assert_eq!(kept, preferences, "saved and read back");

    let fresh = parley.conversations(None, None).await.unwrap();
    let by_id = |index: usize| {
        fresh
            .iter()
            .find(|c| c.id == listed[index].id)
            .expect("listed")
            .clone()
    };
    let mine = parley.my_user_id(ACCOUNT).await.unwrap();
    assert!(kept.wants(&by_id(0), false, mine.as_deref()), "mine");
    assert!(
        !kept.wants(&by_id(1), false, mine.as_deref()),
        "a teammate's"
    );
    let nobodys = fresh
        .iter()
        .find(|c| c.assignee_id.is_none())
        .expect("the fixture has an unassigned conversation");
    assert!(kept.wants(nobodys, false, mine.as_deref()), "nobody's");
    let unfocused_only = NotificationPreferences {
        only_when_unfocused: true,
        ..NotificationPreferences::default()
    };
    assert!(!unfocused_only.wants(&by_id(1), true, None), "focused");
    assert!(unfocused_only.wants(&by_id(1), false, None), "not focused");
    let muted = NotificationPreferences {
        muted_accounts: vec![ACCOUNT.to_string()],
        ..NotificationPreferences::default()
    };
    assert!(!muted.wants(&by_id(0), false, None), "a muted account");

    // A broken stored value falls back to the defaults instead of failing.
    parley
        .set_setting("notifications", "{not json")
        .await
        .unwrap();
    assert_eq!(
        parley.notification_preferences().await.unwrap(),
        NotificationPreferences::default()
    );
}
