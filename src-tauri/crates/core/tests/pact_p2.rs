//! A Pact account on the current API (p2, with p1 for companies and notes) against the sandbox with
//! p2's documented rate limits enforced, at scaled time so a minute lasts a second: the paced sync
//! caches everything exactly with no 429, catches messages that arrive meanwhile once, and the
//! p2 actions reach the server.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{open, ACCOUNT};
use parley_core::provider::ConversationState;
use parley_core::{ConversationRef, NewAccount, OutboxState, Parley, ProviderKind, Secret};
use parley_sandbox::{FaultConfig, FaultKind, Sandbox, SandboxConfig};

/// Every window of the sandbox and of our budget is divided by this.
const SCALE: f64 = 60.0;

async fn p2_sandbox(conversations: usize, messages: usize) -> Sandbox {
    // The core honours the scale only for loopback servers like this one.
    std::env::set_var(parley_core::RATE_LIMIT_SCALE_ENV, SCALE.to_string());
    Sandbox::start(SandboxConfig {
        conversations,
        messages_per_conversation: messages,
        p2_limit_scale: Some(SCALE),
        job_delay: Duration::ZERO,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

async fn pact_account(dir: &std::path::Path, sandbox: &Sandbox) -> Parley {
    let parley = open(dir).await;
    parley
        .add_account(
            NewAccount {
                name: ACCOUNT.to_string(),
                provider: ProviderKind::Pact,
                base_url: Some(sandbox.pact_root_url()),
                company_ids: vec![],
            },
            Secret::new(sandbox.token()),
        )
        .await
        .expect("account added");
    parley
}

/// The server's threads as (conversation, message id, direction, text, file names), by conversation.
fn server_threads(sandbox: &Sandbox) -> BTreeMap<String, Vec<String>> {
    sandbox
        .conversations()
        .iter()
        .map(|conversation| {
            let rows = sandbox
                .messages(conversation.id)
                .iter()
                .map(|m| {
                    let files: Vec<_> = m.attachments.iter().map(|a| a.file_name.clone()).collect();
                    format!(
                        "{}|{}|{}|{}",
                        m.id,
                        if m.income { "in" } else { "out" },
                        m.text.clone().unwrap_or_default(),
                        files.join(",")
                    )
                })
                .collect();
            (conversation.id.to_string(), rows)
        })
        .collect()
}

async fn cached_threads(parley: &Parley, sandbox: &Sandbox) -> BTreeMap<String, Vec<String>> {
    let mut threads = BTreeMap::new();
    for conversation in sandbox.conversations() {
        let reference = ConversationRef {
            account: ACCOUNT.into(),
            id: conversation.id.to_string(),
        };
        let rows = parley
            .messages(&reference, None)
            .await
            .expect("cached thread")
            .iter()
            .map(|m| {
                let files: Vec<_> = m
                    .attachments
                    .iter()
                    .map(|a| a.name.clone().unwrap_or_default())
                    .collect();
                format!(
                    "{}|{}|{}|{}",
                    m.id.clone().unwrap_or_default(),
                    m.direction,
                    m.text.clone().unwrap_or_default(),
                    files.join(",")
                )
            })
            .collect();
        threads.insert(conversation.id.to_string(), rows);
    }
    threads
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_sync_caches_everything_exactly_without_a_429() {
    let sandbox = p2_sandbox(12, 20).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = pact_account(dir.path(), &sandbox).await;

    let mut progress = Vec::new();
    let report = parley
        .sync(ACCOUNT, &mut |step| progress.push(step))
        .await
        .expect("sync succeeds");
    assert_eq!(report.rate_limited, 0, "the sync met 429s");
    assert_eq!(
        sandbox.stats().p2_rate_limited,
        0,
        "the server refused requests"
    );
    assert_eq!(
        cached_threads(&parley, &sandbox).await,
        server_threads(&sandbox)
    );
    assert!(progress
        .iter()
        .any(|step| step.history_waiting > 0 && step.eta_seconds.is_some()));

    let states: BTreeMap<String, String> = parley
        .conversations(Some(ACCOUNT), None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.state))
        .collect();
    let expected: BTreeMap<String, String> = sandbox
        .conversations()
        .into_iter()
        .map(|c| (c.id.to_string(), c.operational_state))
        .collect();
    assert_eq!(states, expected);
    assert!(
        states.values().any(|state| state == "archived"),
        "the seed archives some"
    );

    let listed_before = sandbox
        .stats()
        .per_route
        .get("GET /api/p2/conversations/{conversation_id}/messages")
        .copied();
    assert!(
        listed_before.unwrap_or(0) >= 12,
        "the route name counts thread reads"
    );
    let again = parley.sync(ACCOUNT, &mut |_| {}).await.unwrap();
    assert_eq!(again.new_messages, 0);
    assert_eq!(
        sandbox
            .stats()
            .per_route
            .get("GET /api/p2/conversations/{conversation_id}/messages")
            .copied(),
        listed_before,
        "a second sync re-read threads"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_arriving_during_a_sync_are_cached_once() {
    let sandbox = std::sync::Arc::new(p2_sandbox(30, 10).await);
    let dir = tempfile::tempdir().unwrap();
    let parley = pact_account(dir.path(), &sandbox).await;
    let writer = {
        let sandbox = sandbox.clone();
        tokio::spawn(async move {
            let mut pushed = Vec::new();
            for round in 0..12 {
                tokio::time::sleep(Duration::from_millis(150)).await;
                let conversation = (round * 7 % 30 + 1) as i64;
                let text = format!("written during the sync {round}");
                pushed.push((sandbox.push_incoming_message(conversation, &text), text));
            }
            pushed
        })
    };
    let report = parley.sync(ACCOUNT, &mut |_| {}).await.unwrap();
    let pushed = writer.await.unwrap();
    // Whatever the first sync missed at its very end, the next one brings.
    parley.sync(ACCOUNT, &mut |_| {}).await.unwrap();
    assert_eq!(report.rate_limited, 0);
    assert_eq!(
        cached_threads(&parley, &sandbox).await,
        server_threads(&sandbox)
    );
    for (id, text) in pushed {
        let found = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM messages WHERE provider_id = ? AND text = ?",
        )
        .bind(id.to_string())
        .bind(&text)
        .fetch_one(parley.store().pool())
        .await
        .unwrap();
        assert_eq!(found, 1, "{text} cached {found} times");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_p1_account_switched_to_p2_keeps_its_cache_and_reads_no_history() {
    // Two days back, every sent message is settled (delivered or read), so the switch re-reads no
    // status either; newer ones would be read again through p2, whose times carry milliseconds where
    // p1 wrote whole seconds.
    std::env::set_var(parley_core::RATE_LIMIT_SCALE_ENV, SCALE.to_string());
    let sandbox = Sandbox::start(SandboxConfig {
        conversations: 10,
        messages_per_conversation: 15,
        p2_limit_scale: Some(SCALE),
        job_delay: Duration::ZERO,
        seed_anchor: Some(chrono::Utc::now() - chrono::Duration::days(2)),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    let dir = tempfile::tempdir().unwrap();
    let parley = common::core_with_account(dir.path(), &sandbox).await;
    common::sync(&parley).await;
    // Messages and attachments exactly; conversation names may differ between the APIs (p2 names
    // a nameless contact by its handle).
    let history = |dump: Vec<String>| -> Vec<String> {
        dump.into_iter()
            .filter(|row| !row.starts_with("c|"))
            .collect()
    };
    let before = history(common::dump(&parley).await);

    let account = parley.upgrade_account(ACCOUNT).await.unwrap();
    assert_eq!(account.provider, ProviderKind::Pact);
    let report = parley.sync(ACCOUNT, &mut |_| {}).await.unwrap();
    assert_eq!(report.new_messages, 0);
    assert_eq!(history(common::dump(&parley).await), before);
    let thread_reads = sandbox
        .stats()
        .per_route
        .get("GET /api/p2/conversations/{conversation_id}/messages")
        .copied()
        .unwrap_or(0);
    assert_eq!(thread_reads, 0, "the switch downloaded history again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_files_under_faults_arrive_as_three_messages_each_once() {
    let sandbox = p2_sandbox(3, 4).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = pact_account(dir.path(), &sandbox).await;
    parley.sync(ACCOUNT, &mut |_| {}).await.unwrap();
    let files = tempfile::tempdir().unwrap();
    let paths: Vec<_> = ["a.txt", "b.pdf", "c.png"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let path = files.path().join(name);
            std::fs::write(&path, format!("file number {i}")).unwrap();
            path
        })
        .collect();
    let conversation = ConversationRef {
        account: ACCOUNT.into(),
        id: sandbox.conversations()[0].id.to_string(),
    };
    let id = parley
        .queue_message(&conversation, Some("three files".into()), &paths)
        .await
        .unwrap();
    sandbox.set_faults(Some(FaultConfig {
        rate: 0.3,
        kinds: vec![
            FaultKind::Status500,
            FaultKind::ConnectionReset,
            FaultKind::ResetAfterProcessing,
        ],
    }));
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        parley.process_outbox(None).await.unwrap();
        let entry = parley.outbox_entry(id).await.unwrap();
        if entry.status.is_final() || std::time::Instant::now() > deadline {
            assert_eq!(
                entry.status,
                OutboxState::Delivered,
                "{:?}",
                entry.last_error
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sandbox.set_faults(None);
    let sent: Vec<_> = sandbox
        .messages(conversation.id.parse().unwrap())
        .into_iter()
        .filter(|m| {
            !m.income
                && !m.attachments.is_empty()
                && m.created_at > chrono::Utc::now() - chrono::Duration::minutes(5)
        })
        .collect();
    let mut contents: Vec<String> = sent
        .iter()
        .flat_map(|m| {
            m.attachments
                .iter()
                .map(|a| String::from_utf8_lossy(&a.bytes).into_owned())
        })
        .collect();
    contents.sort();
    assert_eq!(
        contents,
        ["file number 0", "file number 1", "file number 2"]
    );
    assert_eq!(sent.len(), 3, "one message per file");
    assert_eq!(
        sent.iter()
            .filter(|m| m.text.as_deref() == Some("three files"))
            .count(),
        1,
        "the text goes once, with the first file"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archive_assign_replied_reply_and_delete_reach_the_server() {
    let sandbox = p2_sandbox(6, 6).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = pact_account(dir.path(), &sandbox).await;
    parley.sync(ACCOUNT, &mut |_| {}).await.unwrap();
    let whatsapp = sandbox
        .conversations()
        .into_iter()
        .find(|c| c.channel_type == "whatsapp")
        .expect("a whatsapp conversation");
    let conversation = ConversationRef {
        account: ACCOUNT.into(),
        id: whatsapp.id.to_string(),
    };
    let server = |sandbox: &Sandbox| {
        sandbox
            .conversations()
            .into_iter()
            .find(|c| c.id == whatsapp.id)
            .unwrap()
    };

    parley
        .set_state(&conversation, ConversationState::Archived)
        .await
        .unwrap();
    assert_eq!(server(&sandbox).operational_state, "archived");
    parley
        .set_state(&conversation, ConversationState::Open)
        .await
        .unwrap();
    assert_eq!(server(&sandbox).operational_state, "open");
    parley.assign(&conversation, "42").await.unwrap();
    assert_eq!(server(&sandbox).assignee_id, Some(42));
    parley.unassign(&conversation).await.unwrap();
    assert_eq!(server(&sandbox).assignee_id, None);
    parley.set_replied(&conversation, false).await.unwrap();
    assert_eq!(server(&sandbox).replied_state, "unreplied");

    let quoted = sandbox
        .messages(whatsapp.id)
        .into_iter()
        .rev()
        .find(|m| m.external_id.is_some())
        .expect("a message with an external id");
    let id = parley
        .queue_reply(
            &conversation,
            Some(quoted.id.to_string()),
            Some("about that".into()),
            &[],
        )
        .await
        .unwrap();
    parley.process_outbox(Some(id)).await.unwrap();
    let reply = sandbox
        .messages(whatsapp.id)
        .into_iter()
        .find(|m| m.text.as_deref() == Some("about that"))
        .expect("the reply arrived");
    assert_eq!(reply.replied_to_id, quoted.external_id);

    // Deleted before any sync brought it: the outbox knows it is ours.
    parley
        .delete_message(&conversation, &reply.id.to_string())
        .await
        .unwrap();
    let deleted = sandbox
        .messages(whatsapp.id)
        .into_iter()
        .find(|m| m.id == reply.id)
        .unwrap();
    assert!(deleted.deleted);
    let cached = parley.messages(&conversation, None).await.unwrap();
    let shown = cached
        .iter()
        .find(|m| m.id.as_deref() == Some(&reply.id.to_string()))
        .unwrap();
    assert!(shown.deleted);
    assert_eq!(
        shown.reply_to.as_deref(),
        Some(quoted.id.to_string().as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sent_message_turns_read_without_reading_its_thread_again() {
    std::env::set_var(parley_core::RATE_LIMIT_SCALE_ENV, SCALE.to_string());
    let sandbox = Sandbox::start(SandboxConfig {
        conversations: 3,
        messages_per_conversation: 4,
        p2_limit_scale: Some(SCALE),
        // Read two seconds after it was sent, at this scale.
        p2_status_read_after: Duration::from_secs(120),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let parley = pact_account(dir.path(), &sandbox).await;
    parley.sync(ACCOUNT, &mut |_| {}).await.unwrap();
    let conversation = ConversationRef {
        account: ACCOUNT.into(),
        id: sandbox.conversations()[0].id.to_string(),
    };
    let id = parley
        .queue_message(&conversation, Some("will be read".into()), &[])
        .await
        .unwrap();
    let status_of_ours = |messages: Vec<parley_core::MessageView>| {
        messages
            .into_iter()
            .find(|m| m.text.as_deref() == Some("will be read"))
            .map(|m| m.status)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while parley.outbox_entry(id).await.unwrap().status != OutboxState::Delivered {
        assert!(std::time::Instant::now() < deadline, "never delivered");
        parley.process_outbox(Some(id)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let shown = status_of_ours(parley.messages(&conversation, None).await.unwrap());
    assert_eq!(
        shown.as_deref(),
        Some("delivered"),
        "the outbox cached the delivered message"
    );
    parley.sync(ACCOUNT, &mut |_| {}).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let reads = |sandbox: &Sandbox| {
        sandbox
            .stats()
            .per_route
            .get("GET /api/p2/conversations/{conversation_id}/messages")
            .copied()
            .unwrap_or(0)
    };
    let thread_reads = reads(&sandbox);
    parley.sync(ACCOUNT, &mut |_| {}).await.unwrap();
    assert_eq!(reads(&sandbox), thread_reads, "the thread was read again");
    let shown = status_of_ours(parley.messages(&conversation, None).await.unwrap());
    assert_eq!(shown.as_deref(), Some("read"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_answer_in_a_paced_sync_is_read_again_and_the_rest_goes_on() {
    let sandbox = p2_sandbox(8, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = pact_account(dir.path(), &sandbox).await;
    // One listing page and one thread page answer with broken JSON, once each.
    sandbox.fail_once("GET /api/p2/conversations", FaultKind::InvalidJson);
    sandbox.fail_once("/messages", FaultKind::InvalidJson);
    parley
        .sync(ACCOUNT, &mut |_| {})
        .await
        .expect("one broken answer does not fail the sync");
    assert_eq!(sandbox.stats().faults_injected, 2);
    assert_eq!(
        cached_threads(&parley, &sandbox).await,
        server_threads(&sandbox)
    );

    // A thread page broken on its read and on its second read: the sync ends in an error after
    // the rest, and the next one completes the cache.
    let target = sandbox.conversations()[3].id;
    sandbox.push_incoming_message(target, "arrives before two broken answers");
    sandbox.fail_once("/messages", FaultKind::InvalidJson);
    sandbox.fail_once("/messages", FaultKind::InvalidJson);
    let error = parley.sync(ACCOUNT, &mut |_| {}).await.unwrap_err();
    assert_eq!(
        error.code(),
        parley_core::ErrorCode::InvalidResponse,
        "{error}"
    );
    parley
        .sync(ACCOUNT, &mut |_| {})
        .await
        .expect("the next sync");
    assert_eq!(
        cached_threads(&parley, &sandbox).await,
        server_threads(&sandbox)
    );
}
