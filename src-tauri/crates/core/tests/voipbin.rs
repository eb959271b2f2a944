//! The VoIPbin provider through the core against the sandbox: silent JWT renewal (after the server
//! expires every token, and before a short-lived token expires), the live watcher writing pushed
//! messages into the cache (search and unread included) and catching up after a lost connection
//! (cut, or silent past the idle deadline), and the operations VoIPbin lacks failing with
//! `unsupported`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use parley_core::{
    ConversationRef, ErrorCode, LiveChange, LivePolicy, NewAccount, Parley, ProviderKind, Secret,
};
use parley_sandbox::{Sandbox, SandboxConfig};

const ACCOUNT: &str = "vb";

async fn sandbox(jwt_lifetime: Duration) -> Sandbox {
    Sandbox::start(SandboxConfig {
        conversations: 1,
        messages_per_conversation: 1,
        voipbin_conversations: 4,
        voipbin_messages_per_conversation: 5,
        jwt_lifetime,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

async fn core_with_login(dir: &std::path::Path, sandbox: &Sandbox) -> Parley {
    let parley = common::open(dir).await;
    let (username, password) = sandbox.voipbin_login();
    parley
        .add_account_with_username(
            NewAccount {
                name: ACCOUNT.to_string(),
                provider: ProviderKind::Voipbin,
                base_url: Some(sandbox.voipbin_base_url()),
                company_ids: vec![],
            },
            Some(username),
            Secret::new(password),
        )
        .await
        .expect("account added");
    parley
}

fn first_conversation(sandbox: &Sandbox) -> ConversationRef {
    ConversationRef {
        account: ACCOUNT.to_string(),
        id: sandbox.voipbin_conversations()[0].id.clone(),
    }
}

#[tokio::test]
async fn an_expired_token_is_renewed_without_an_error() {
    let sandbox = sandbox(Duration::from_secs(7 * 24 * 3600)).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_login(dir.path(), &sandbox).await;
    parley.sync(ACCOUNT, &mut |_| {}).await.expect("first sync");
    let logins = sandbox.voipbin_logins();
    sandbox.expire_voipbin_tokens();
    let conversation = first_conversation(&sandbox);
    parley
        .assign(&conversation, "5e3a1f20-0000-4000-8000-00000000a9e1")
        .await
        .expect("assign after the token expired");
    parley
        .sync(ACCOUNT, &mut |_| {})
        .await
        .expect("sync after the token expired");
    assert_eq!(
        sandbox.voipbin_logins(),
        logins + 1,
        "one new login renews the session"
    );
    let owner = sandbox.voipbin_conversations()[0].owner_id.clone();
    assert_eq!(
        owner.as_deref(),
        Some("5e3a1f20-0000-4000-8000-00000000a9e1")
    );
}

#[tokio::test]
async fn a_short_lived_token_is_renewed_before_it_expires() {
    let sandbox = sandbox(Duration::from_secs(2)).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_login(dir.path(), &sandbox).await;
    parley.sync(ACCOUNT, &mut |_| {}).await.expect("first sync");
    let logins = sandbox.voipbin_logins();
    // Past the renewal point (half the lifetime) and past the expiry itself.
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    parley
        .sync(ACCOUNT, &mut |_| {})
        .await
        .expect("sync with an aged token");
    assert!(sandbox.voipbin_logins() > logins, "no new login happened");
}

#[tokio::test]
async fn notes_bitrix_and_files_are_unsupported() {
    let sandbox = sandbox(Duration::from_secs(3600)).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_login(dir.path(), &sandbox).await;
    parley.sync(ACCOUNT, &mut |_| {}).await.expect("sync");
    let conversation = first_conversation(&sandbox);
    let note = parley
        .set_note(&conversation, "call back")
        .await
        .unwrap_err();
    assert_eq!(note.code(), ErrorCode::Unsupported);
    assert!(note.to_string().contains("notes"), "{note}");
    let bitrix = parley
        .set_bitrix_openlines(&conversation, true)
        .await
        .unwrap_err();
    assert_eq!(bitrix.code(), ErrorCode::Unsupported);
    let file = dir.path().join("a.txt");
    std::fs::write(&file, b"x").unwrap();
    let send = parley
        .queue_message(&conversation, Some("with a file".into()), &[file])
        .await
        .unwrap_err();
    assert_eq!(send.code(), ErrorCode::Unsupported);
    assert!(parley.outbox().await.unwrap().is_empty());
    let account = &parley.accounts().await.unwrap()[0];
    assert!(!account.features.attachments.enabled && account.features.unassign.enabled);
    assert!(account.features.notes.reason.is_some());
}

#[tokio::test]
async fn the_watcher_caches_pushed_messages_and_catches_up_after_a_cut() {
    let sandbox = sandbox(Duration::from_secs(3600)).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = Arc::new(core_with_login(dir.path(), &sandbox).await);
    parley.sync(ACCOUNT, &mut |_| {}).await.expect("sync");
    let conversation = first_conversation(&sandbox);

    let changes: Arc<Mutex<Vec<LiveChange>>> = Arc::default();
    let watcher = {
        let (parley, changes) = (Arc::clone(&parley), Arc::clone(&changes));
        tokio::spawn(async move {
            let policy = LivePolicy {
                first_retry: Duration::from_millis(100),
                max_retry: Duration::from_millis(500),
                ..LivePolicy::default()
            };
            let mut record = |change| changes.lock().unwrap().push(change);
            parley.watch_live(ACCOUNT, policy, &mut record).await
        })
    };
    let message_ids = |changes: &Arc<Mutex<Vec<LiveChange>>>| -> Vec<String> {
        changes
            .lock()
            .unwrap()
            .iter()
            .filter_map(|change| match change {
                LiveChange::Message { message, .. } => message.id.clone(),
                _ => None,
            })
            .collect()
    };
    wait_until(|| {
        changes
            .lock()
            .unwrap()
            .iter()
            .any(|c| matches!(c, LiveChange::CaughtUp { .. }))
    })
    .await;

    let live = sandbox.push_voipbin_incoming(&conversation.id, "zanzibar live question");
    wait_until(|| message_ids(&changes).contains(&live)).await;
    let hits = parley.search("zanzibar", 10).await.unwrap();
    assert!(
        hits.iter()
            .any(|hit| hit.message_id.as_deref() == Some(live.as_str())),
        "the pushed message is not searchable: {hits:?}"
    );
    let listed = parley.conversations(Some(ACCOUNT), None).await.unwrap();
    let row = listed.iter().find(|c| c.id == conversation.id).unwrap();
    assert!(
        row.unread,
        "a pushed customer message leaves the conversation unread"
    );

    sandbox.set_voipbin_websocket_down(true);
    wait_until(|| {
        changes
            .lock()
            .unwrap()
            .iter()
            .any(|c| matches!(c, LiveChange::Disconnected { .. }))
    })
    .await;
    let missed = [
        sandbox.push_voipbin_incoming(&conversation.id, "sent while down one"),
        sandbox.push_voipbin_incoming(&conversation.id, "sent while down two"),
    ];
    sandbox.set_voipbin_websocket_down(false);
    wait_until(|| missed.iter().all(|id| message_ids(&changes).contains(id))).await;
    let after = sandbox.push_voipbin_incoming(&conversation.id, "after the reconnect");
    wait_until(|| message_ids(&changes).contains(&after)).await;
    watcher.abort();

    let reported = message_ids(&changes);
    for id in missed.iter().chain([&live, &after]) {
        assert_eq!(
            reported.iter().filter(|r| *r == id).count(),
            1,
            "message {id} reported {reported:?}"
        );
    }
    let cached = parley.messages(&conversation, None).await.unwrap();
    for id in missed.iter().chain([&live, &after]) {
        assert_eq!(
            cached
                .iter()
                .filter(|m| m.id.as_deref() == Some(id))
                .count(),
            1,
            "message {id} cached once"
        );
    }
    assert_eq!(
        cached.len(),
        sandbox.voipbin_messages(&conversation.id).len()
    );
}

#[tokio::test]
async fn a_silent_websocket_is_reopened_after_the_idle_deadline_and_nothing_is_missed() {
    let sandbox = sandbox(Duration::from_secs(3600)).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = Arc::new(core_with_login(dir.path(), &sandbox).await);
    parley.sync(ACCOUNT, &mut |_| {}).await.expect("sync");
    let conversation = first_conversation(&sandbox);

    let changes: Arc<Mutex<Vec<LiveChange>>> = Arc::default();
    let watcher = {
        let (parley, changes) = (Arc::clone(&parley), Arc::clone(&changes));
        tokio::spawn(async move {
            let policy = LivePolicy {
                first_retry: Duration::from_millis(100),
                max_retry: Duration::from_millis(500),
                idle_deadline: Duration::from_secs(2),
            };
            let mut record = |change| changes.lock().unwrap().push(change);
            parley.watch_live(ACCOUNT, policy, &mut record).await
        })
    };
    let count = |wanted: fn(&LiveChange) -> bool| {
        changes.lock().unwrap().iter().filter(|c| wanted(c)).count()
    };
    let caught_up = |c: &LiveChange| matches!(c, LiveChange::CaughtUp { .. });
    wait_until(|| count(caught_up) == 1).await;
    // Pings keep a quiet but healthy connection open past its idle deadline.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let disconnected = |c: &LiveChange| matches!(c, LiveChange::Disconnected { .. });
    assert_eq!(
        count(disconnected),
        0,
        "a healthy connection was dropped: {:?}",
        changes.lock().unwrap()
    );

    sandbox.silence_voipbin_websockets();
    let meanwhile = [
        sandbox.push_voipbin_incoming(&conversation.id, "sent to a silent socket one"),
        sandbox.push_voipbin_incoming(&conversation.id, "sent to a silent socket two"),
    ];
    wait_until(|| count(caught_up) == 2).await;
    let reasons: Vec<String> = changes
        .lock()
        .unwrap()
        .iter()
        .filter_map(|change| match change {
            LiveChange::Disconnected { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].contains("silent"),
        "lost by the idle deadline: {reasons:?}"
    );
    let after = sandbox.push_voipbin_incoming(&conversation.id, "after the reopen");
    let reported = || -> Vec<String> {
        changes
            .lock()
            .unwrap()
            .iter()
            .filter_map(|change| match change {
                LiveChange::Message { message, .. } => message.id.clone(),
                _ => None,
            })
            .collect()
    };
    wait_until(|| reported().contains(&after)).await;
    watcher.abort();

    let reported = reported();
    for id in meanwhile.iter().chain([&after]) {
        assert_eq!(
            reported.iter().filter(|r| *r == id).count(),
            1,
            "message {id} reported {reported:?}"
        );
    }
    let cached = parley.messages(&conversation, None).await.unwrap();
    for id in meanwhile.iter().chain([&after]) {
        let copies = cached
            .iter()
            .filter(|m| m.id.as_deref() == Some(id))
            .count();
        assert_eq!(copies, 1, "message {id} cached once");
    }
}

/// Waits (up to 20 s) for a condition the watcher makes true; fails the test otherwise.
async fn wait_until(mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for the watcher"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
