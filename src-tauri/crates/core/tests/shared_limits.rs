//! Two computers on one Pact token (two data folders, one sandbox with p2's limits at scaled time):
//! syncing at once, they meet 429s and each budget that met one takes a smaller share of the
//! limits, kept in its data folder across a restart; once the other computer stops, the share
//! comes back to the full limits with no further 429, and sync progress and Copy diagnostics say
//! so. Under the shared limits, the open conversation and new activity still come before the
//! history.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ACCOUNT;
use parley_core::{
    ConversationRef, MemorySecretStore, NewAccount, Parley, ProviderKind, Secret, SyncProgress,
};
use parley_sandbox::{Sandbox, SandboxConfig};
use tokio::sync::mpsc;

/// Every window of the sandbox and of our budget is divided by this (a minute lasts a second), and
/// so are the share's waits: its first raise comes after 40 s of no 429.
const SCALE: f64 = 60.0;
/// How long the computer left alone may take to get its full share back.
const RECOVERY_DEADLINE: Duration = Duration::from_secs(240);

async fn p2_sandbox(conversations: usize) -> Sandbox {
    // The core honours the scale only for loopback servers like this one.
    std::env::set_var(parley_core::RATE_LIMIT_SCALE_ENV, SCALE.to_string());
    Sandbox::start(SandboxConfig {
        conversations,
        messages_per_conversation: 3,
        p2_limit_scale: Some(SCALE),
        job_delay: Duration::ZERO,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

/// The core over a data folder, with the token store the computer keeps across restarts.
async fn open(dir: &std::path::Path, keyring: &Arc<MemorySecretStore>) -> Parley {
    Parley::open(dir, keyring.clone())
        .await
        .expect("core opens")
}

async fn computer(
    dir: &std::path::Path,
    keyring: &Arc<MemorySecretStore>,
    sandbox: &Sandbox,
) -> Parley {
    let parley = open(dir, keyring).await;
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

/// The share of the token's limits this data folder keeps, as Copy diagnostics reports it (`None`:
/// it never met another client).
async fn stored_share(parley: &Parley) -> Option<f64> {
    let diagnostics = parley.diagnostics("test").await.expect("diagnostics");
    diagnostics.accounts[0]
        .limit_share
        .as_ref()
        .map(|s| s.share)
}

/// One sync, with every progress step it reported.
async fn sync(parley: &Parley) -> Vec<SyncProgress> {
    let mut steps = Vec::new();
    parley
        .sync(ACCOUNT, &mut |step| steps.push(step))
        .await
        .expect("sync succeeds");
    steps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_share_falls_while_two_computers_sync_and_recovers_when_one_stops() {
    let sandbox = p2_sandbox(40).await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let keyrings = [Arc::default(), Arc::default()];
    let (a, b) = (
        computer(dirs[0].path(), &keyrings[0], &sandbox).await,
        computer(dirs[1].path(), &keyrings[1], &sandbox).await,
    );

    // Both read every thread at once: together they ask for twice what the token allows.
    tokio::join!(sync(&a), sync(&b));
    assert!(
        sandbox.stats().p2_rate_limited > 0,
        "two computers at full pace met no 429"
    );
    let shares = [stored_share(&a).await, stored_share(&b).await];
    let Some(stays) = shares.iter().position(|s| s.is_some_and(|s| s < 1.0)) else {
        panic!("neither computer took a smaller share after the 429s: {shares:?}");
    };
    let crowded = shares[stays].expect("found above");
    drop((a, b));

    // The other computer stops; this one starts again from the share its data folder kept.
    let alone = open(dirs[stays].path(), &keyrings[stays]).await;
    assert_eq!(stored_share(&alone).await, Some(crowded));
    let refused_before = sandbox.stats().p2_rate_limited;
    let conversation = sandbox.conversations()[0].id;
    let first = sync(&alone).await;
    assert!(
        first.iter().any(|step| step.limit_share == Some(crowded)),
        "sync progress did not say the limits are shared"
    );

    // It keeps syncing while customers write; its share climbs back to the full limits.
    let started = Instant::now();
    let mut rounds = 0;
    while stored_share(&alone).await != Some(1.0) {
        assert!(
            started.elapsed() < RECOVERY_DEADLINE,
            "the share stayed at {:?} after {rounds} syncs alone",
            stored_share(&alone).await
        );
        sandbox.push_incoming_message(conversation, &format!("customer {rounds}"));
        sync(&alone).await;
        rounds += 1;
    }
    assert_eq!(
        sandbox.stats().p2_rate_limited,
        refused_before,
        "alone on the token, the computer met 429s while it took more of the limits"
    );
    let last = sync(&alone).await;
    assert!(last.iter().all(|step| step.limit_share.is_none()));
    let text = alone.diagnostics("test").await.unwrap().to_text();
    assert!(
        text.contains("rate limits: its own again, in full"),
        "diagnostics: {text}"
    );
}

fn reference(conversation: i64) -> ConversationRef {
    ConversationRef {
        account: ACCOUNT.into(),
        id: conversation.to_string(),
    }
}

/// How many of the conversation's messages the computer has cached.
async fn cached_count(parley: &Parley, conversation: i64) -> usize {
    parley
        .messages(&reference(conversation), None)
        .await
        .map_or(0, |messages| messages.len())
}

/// The unread thread the sync would read last (the oldest activity: it reads newest first), and
/// one it has read in full.
async fn unread_and_read(parley: &Parley, sandbox: &Sandbox) -> (Option<i64>, Option<i64>) {
    let mut conversations = sandbox.conversations();
    conversations.sort_by_key(|conversation| conversation.last_message_at);
    let (mut unread, mut read) = (None, None);
    for conversation in conversations {
        let cached = cached_count(parley, conversation.id).await;
        if cached == 0 {
            unread.get_or_insert(conversation.id);
        } else if cached == sandbox.messages(conversation.id).len() {
            read.get_or_insert(conversation.id);
        }
    }
    (unread, read)
}

/// What the watch of one sync saw: the threads still waiting when it opened a conversation and a
/// customer wrote, when the open conversation was cached, and when the new message was.
#[derive(Debug, Default)]
struct Served {
    shared: bool,
    asked: Option<usize>,
    focus: Option<usize>,
    activity: Option<usize>,
}

impl Served {
    /// How many history reads went before the one asked for (`None`: it never came).
    fn reads_before(&self, served: Option<usize>) -> Option<usize> {
        Some(self.asked?.saturating_sub(served?))
    }
}

/// Watches `parley`'s sync through its progress: once the limits are shared, opens a thread it has
/// not read and has a customer write in one it has read, then notes how much history still waited
/// when each reached the cache.
async fn watch(
    parley: &Parley,
    sandbox: &Sandbox,
    mut progress: mpsc::UnboundedReceiver<SyncProgress>,
) -> Served {
    let mut served = Served::default();
    let (mut waiting, mut targets) = (0, None);
    loop {
        while let Ok(step) = progress.try_recv() {
            waiting = step.history_waiting;
            served.shared |= step.limit_share.is_some();
        }
        if targets.is_none() && served.shared {
            let (Some(open), Some(written)) = unread_and_read(parley, sandbox).await else {
                return served;
            };
            parley.set_focus(Some(&reference(open))).await.unwrap();
            sandbox.push_incoming_message(written, "a customer writes while history loads");
            targets = Some((open, written, sandbox.messages(written).len()));
            served.asked = Some(waiting);
        }
        if let Some((open, written, expected)) = targets {
            if served.focus.is_none() && cached_count(parley, open).await > 0 {
                served.focus = Some(waiting);
            }
            if served.activity.is_none() && cached_count(parley, written).await == expected {
                served.activity = Some(waiting);
            }
        }
        let done = served.focus.is_some() && served.activity.is_some();
        if done || (progress.is_closed() && progress.is_empty()) {
            return served;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_shared_limits_the_open_conversation_and_new_activity_come_before_history() {
    let sandbox = p2_sandbox(80).await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let keyrings = [Arc::default(), Arc::default()];
    let (a, b) = (
        computer(dirs[0].path(), &keyrings[0], &sandbox).await,
        computer(dirs[1].path(), &keyrings[1], &sandbox).await,
    );
    let (steps, progress) = mpsc::unbounded_channel();
    let sync_a = async {
        a.sync(ACCOUNT, &mut move |step| {
            let _ = steps.send(step);
        })
        .await
        .expect("sync succeeds");
    };
    // B syncs all along, so the limits stay shared while A reads its history.
    let (_, served, _) = tokio::join!(sync_a, watch(&a, &sandbox, progress), sync(&b));
    assert!(served.shared, "A never took a smaller share: {served:?}");
    // History first would read the open thread last and the new message after all of it. The open
    // thread may wait for a read in flight; the new message for the next look at its company (one
    // company a look, at the shared listing pace) while reads go on.
    let history = served.asked.unwrap_or(0);
    assert!(history >= 40, "too little history waited: {served:?}");
    let before_focus = served.reads_before(served.focus);
    assert!(
        before_focus.is_some_and(|reads| reads <= 8),
        "the open conversation did not come before the history: {served:?}"
    );
    let before_activity = served.reads_before(served.activity);
    assert!(
        before_activity.is_some_and(|reads| reads <= 20),
        "the new message did not come before the history: {served:?}"
    );
}
