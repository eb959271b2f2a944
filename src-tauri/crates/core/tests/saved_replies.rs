//! Saved replies through the core: scoped to one account or offered in all, sorted by title,
//! removed (an unknown id is `not_found`), `{name}` filled from a synced conversation's contact,
//! kept across a reopening of the data folder, and bad input refused with a clear message.

mod common;

use common::{core_with_account, sandbox, sync, ACCOUNT};
use parley_core::{
    ConversationRef, ErrorCode, NewAccount, Parley, ProviderKind, SavedReply, Secret,
};
use parley_sandbox::Sandbox;

const OTHER: &str = "globex";

async fn add_other_account(parley: &Parley, sandbox: &Sandbox) {
    parley
        .add_account(
            NewAccount {
                name: OTHER.to_string(),
                provider: ProviderKind::PactP1,
                base_url: Some(sandbox.pact_p1_base_url()),
                company_ids: vec![],
            },
            Secret::new(sandbox.token()),
        )
        .await
        .expect("second account added");
}

fn titles(replies: &[SavedReply]) -> Vec<&str> {
    replies.iter().map(|reply| reply.title.as_str()).collect()
}

#[tokio::test]
async fn a_reply_for_one_account_is_offered_there_only_and_an_all_accounts_reply_everywhere() {
    let sandbox = sandbox(2, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    add_other_account(&parley, &sandbox).await;

    let own = parley
        .add_saved_reply("refund", "Your refund is on its way.", Some(ACCOUNT))
        .await
        .unwrap();
    assert_eq!(own.account.as_deref(), Some(ACCOUNT));
    let everywhere = parley
        .add_saved_reply("Greeting", "Hello {name}, how can we help?", None)
        .await
        .unwrap();
    assert_eq!(everywhere.account, None);
    parley
        .add_saved_reply("Бонусы", "Начислим бонусы завтра.", Some(ACCOUNT))
        .await
        .unwrap();
    parley
        .add_saved_reply("апрель", "Акция до конца апреля.", None)
        .await
        .unwrap();

    let in_acme = parley.saved_replies(Some(ACCOUNT)).await.unwrap();
    assert_eq!(
        titles(&in_acme),
        ["Greeting", "refund", "апрель", "Бонусы"],
        "the account's own and the all-accounts replies, by title whatever the case"
    );
    let in_other = parley.saved_replies(Some(OTHER)).await.unwrap();
    assert_eq!(
        titles(&in_other),
        ["Greeting", "апрель"],
        "another account's replies are not offered"
    );
    assert_eq!(parley.saved_replies(None).await.unwrap().len(), 4);
    assert!(in_acme.contains(&own) && in_other.contains(&everywhere));

    // Moving a reply to the other account moves it in the lists.
    parley
        .update_saved_reply(own.id, "refund", "Your refund is on its way.", Some(OTHER))
        .await
        .unwrap();
    assert!(!titles(&parley.saved_replies(Some(ACCOUNT)).await.unwrap()).contains(&"refund"));
    assert!(titles(&parley.saved_replies(Some(OTHER)).await.unwrap()).contains(&"refund"));
}

#[tokio::test]
async fn a_removed_reply_is_gone_and_an_unknown_id_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let parley = common::open(dir.path()).await;
    let kept = parley
        .add_saved_reply("Thanks", "Thank you!", None)
        .await
        .unwrap();
    let removed = parley
        .add_saved_reply("Bye", "Have a nice day.", None)
        .await
        .unwrap();

    parley.remove_saved_reply(removed.id).await.unwrap();
    assert_eq!(parley.saved_replies(None).await.unwrap(), [kept]);

    let again = parley.remove_saved_reply(removed.id).await.unwrap_err();
    assert_eq!(again.code(), ErrorCode::NotFound, "{again}");
    assert!(
        again.to_string().contains(&removed.id.to_string()),
        "{again}"
    );
    let update = parley
        .update_saved_reply(removed.id, "Bye", "Bye.", None)
        .await
        .unwrap_err();
    assert_eq!(update.code(), ErrorCode::NotFound, "{update}");
}

#[tokio::test]
async fn name_is_filled_from_the_cached_conversations_contact() {
    let sandbox = sandbox(12, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    add_other_account(&parley, &sandbox).await;
    sync(&parley).await;
    let conversations = parley.conversations(Some(ACCOUNT), None).await.unwrap();
    let named = conversations
        .iter()
        .find(|c| c.title.as_deref().is_some_and(|t| !t.trim().is_empty()))
        .expect("a conversation with a contact name");
    let unnamed = conversations
        .iter()
        .find(|c| c.title.is_none())
        .expect("a conversation whose contact has no name");
    let reference = |id: &str| ConversationRef {
        account: ACCOUNT.to_string(),
        id: id.to_string(),
    };

    let greeting = parley
        .add_saved_reply("Greeting", "Hello {name}, your code is {code}.", None)
        .await
        .unwrap();
    let name = named.title.as_deref().unwrap().trim();
    assert_eq!(
        parley
            .fill_saved_reply(greeting.id, &reference(&named.id))
            .await
            .unwrap(),
        format!("Hello {name}, your code is {{code}}.")
    );
    assert_eq!(
        parley
            .fill_saved_reply(greeting.id, &reference(&unnamed.id))
            .await
            .unwrap(),
        "Hello, your code is {code}.",
        "no name: the placeholder goes without a stray space"
    );

    let elsewhere = parley
        .add_saved_reply("Other", "Hi {name}", Some(OTHER))
        .await
        .unwrap();
    let refused = parley
        .fill_saved_reply(elsewhere.id, &reference(&named.id))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::InvalidInput, "{refused}");
    assert!(refused.to_string().contains(OTHER), "{refused}");
    let missing = parley
        .fill_saved_reply(greeting.id, &reference("no-such-conversation"))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), ErrorCode::NotFound, "{missing}");
}

#[tokio::test]
async fn replies_survive_reopening_the_data_folder() {
    let sandbox = sandbox(1, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    let hostile = "<b>Hi</b> {name}\n\u{202e}reversed\t'; DROP TABLE saved_replies; --";
    let scoped = parley
        .add_saved_reply("Odd one", hostile, Some(ACCOUNT))
        .await
        .unwrap();
    let everywhere = parley
        .add_saved_reply("Plain", "Thanks!", None)
        .await
        .unwrap();
    let before = parley.saved_replies(None).await.unwrap();
    parley.store().close().await;
    drop(parley);
    drop(sandbox);

    let reopened = common::open(dir.path()).await;
    let after = reopened.saved_replies(None).await.unwrap();
    assert_eq!(after, before);
    assert!(after.contains(&scoped) && after.contains(&everywhere));
    assert_eq!(
        after.iter().find(|r| r.id == scoped.id).unwrap().text,
        hostile,
        "the text is kept exactly as written"
    );
    assert_eq!(
        reopened.saved_replies(Some(ACCOUNT)).await.unwrap().len(),
        2
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_message() {
    let sandbox = sandbox(1, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    let long_title = "t".repeat(101);
    let long_text = "x".repeat(4001);
    for (title, text, account, says) in [
        ("  ", "text", None, "title"),
        ("Title", " \n ", None, "text"),
        (long_title.as_str(), "text", None, "100"),
        ("Title", long_text.as_str(), None, "4000"),
        ("Title", "text", Some("nobody"), "nobody"),
    ] {
        let error = parley
            .add_saved_reply(title, text, account)
            .await
            .unwrap_err();
        assert_eq!(error.code(), ErrorCode::InvalidInput, "{error}");
        assert!(error.to_string().contains(says), "{says:?} in {error}");
    }
    assert!(parley.saved_replies(None).await.unwrap().is_empty());
    let listing = parley.saved_replies(Some("nobody")).await.unwrap_err();
    assert_eq!(listing.code(), ErrorCode::InvalidInput, "{listing}");

    // The limits count characters, not bytes: 4000 Cyrillic letters are fine.
    let longest = parley
        .add_saved_reply(&"я".repeat(100), &"ж".repeat(4000), Some(ACCOUNT))
        .await
        .unwrap();
    assert_eq!(longest.text.chars().count(), 4000);
}
