//! Parley's soak: a working day of the app's background work against the in-process sandbox at scaled
//! time, with customers writing, agents sending and faults injected; it prints what arrived how often
//! and how memory, descriptors and tasks moved, hour by hour. It prints numbers and asserts nothing.
//!
//! Run with `cargo bench -p parley-core --bench soak`. Environment:
//! - `PARLEY_SOAK_SCALE` (default 48): the time scale S; a simulated minute lasts 60/S real seconds, so
//!   8 simulated hours take 10 minutes. Every timing below is divided by S, and so are p2's rate limits
//!   in the sandbox and in the core's request budget (through `PARLEY_RATE_LIMIT_SCALE`).
//! - `PARLEY_SOAK_HOURS` (default 8): the simulated working day.
//! - `PARLEY_SOAK_SENDS_PER_HOUR` (default 40): agents' sends, evenly spread over the day and over the
//!   conversations (three in four to Pact, one in six of those with a small file; VoIPbin drops media).
//! - `PARLEY_SOAK_CUSTOMERS_PER_HOUR` (default 90): customers' messages (two in three on Pact).
//! - `PARLEY_SOAK_FAULT_SHARE` (default 0.15) and `PARLEY_SOAK_FAULT_RATE` (default 0.5): every
//!   simulated hour has one fault window covering that share of it, during which that fraction of
//!   the sandbox's p1, p2 and VoIPbin requests fails (500, HTML 502, reset, broken JSON, reset after
//!   the request took effect). Besides, the VoIPbin WebSockets are cut twice an hour, the WebSocket
//!   endpoint is down for 5 minutes every third hour, and the VoIPbin tokens expire every second hour.
//! - `PARLEY_SOAK_CONVERSATIONS` (default 200, 2 companies) and `PARLEY_SOAK_VOIPBIN` (default 20):
//!   the sandbox's size.
//!
//! What mirrors what in the app shell (which this cannot link: it builds on Tauri):
//! - [`background_loop`] is `src-tauri/src/background.rs::run`: a sync of every account (one after
//!   the other, stopping at the first failure, under the sync lock, as `commands/sync.rs::
//!   sync_accounts`) when the timer falls due (`SYNC_EVERY` 60 s, `RETRY_OFFLINE_EVERY` 10 s after an
//!   `offline` failure), then the due outbox (`work_due_outbox`), then a pause until the next sync or
//!   the next outbox entry, at least `MIN_PAUSE` (2 s).
//! - [`agent_send`] is `commands/messages.rs::messages_send`: `set_focus` as opening the thread does
//!   (`commands/conversations.rs`), `queue_send`, then [`follow_send`] spawned, which is `follow_send`:
//!   the entry worked at once and again while it waits for delivery, for at most `FOLLOW_FOR` (60 s),
//!   through `process_outbox_watching_uploads` every `PROGRESS_EVERY` (250 ms).
//! - [`live_watcher`] is `src-tauri/src/live.rs::watch`: `Parley::watch_live` for the VoIPbin account,
//!   restarted `RESTART_AFTER` (30 s) after a failure other than rejected credentials.
//!
//! The outbox and live timings are divided by S too ([`OutboxPolicy`], [`LivePolicy`]), except the
//! outbox lease: it only matters when a worker dies, and shrunk below the HTTP timeouts it would let a
//! second worker take an entry the first is still sending, which the app never sees. The sandbox runs
//! in this process, so the memory and descriptor figures include it (its data grows by the day's
//! messages); the task count is this runtime's alone (the sandbox has its own).

use std::collections::{BTreeMap, HashMap};
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parley_core::{
    ConversationRef, ErrorCode, LiveChange, LivePolicy, MemorySecretStore, NewAccount,
    OutboxPolicy, OutboxState, Outgoing, Parley, ProviderKind, Secret, SyncProgress,
};
use parley_sandbox::{FaultConfig, FaultKind, Sandbox, SandboxConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const PACT: &str = "pact";
const VOIPBIN: &str = "voipbin";
const DEFAULT_SCALE: f64 = 48.0;
const DEFAULT_HOURS: u32 = 8;
const DEFAULT_SENDS_PER_HOUR: f64 = 40.0;
const DEFAULT_CUSTOMERS_PER_HOUR: f64 = 90.0;
const DEFAULT_FAULT_SHARE: f64 = 0.15;
const DEFAULT_FAULT_RATE: f64 = 0.5;
const DEFAULT_CONVERSATIONS: usize = 200;
const DEFAULT_VOIPBIN_CONVERSATIONS: usize = 20;
/// Every how many Pact sends one carries a file.
const FILE_EVERY: usize = 6;
/// How long the outbox may take to empty once the faults stop (real time).
const DRAIN_FOR: Duration = Duration::from_secs(180);
/// The closing criterion: growth between the second hour and the last under this many percent.
const GROWTH_GOAL_PERCENT: f64 = 10.0;
/// Text prefixes that make the soak's messages easy to find on the server and in the cache.
const SEND_PREFIX: &str = "soak send";
const CUSTOMER_PREFIX: &str = "soak customer";

fn main() -> BenchResult<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(default)
}

/// The app's timings in real-world values, each divided by the scale (see the module header).
#[derive(Debug, Clone)]
struct Timing {
    /// `background.rs` `SYNC_EVERY`.
    sync_every: Duration,
    /// `background.rs` `RETRY_OFFLINE_EVERY`.
    retry_offline_every: Duration,
    /// `background.rs` `MIN_PAUSE`.
    min_pause: Duration,
    /// `commands/messages.rs` `PROGRESS_EVERY`.
    progress_every: Duration,
    /// `commands/messages.rs` `FOLLOW_FOR`.
    follow_for: Duration,
    /// `follow_send`'s shortest wait between two looks at the entry.
    follow_floor: Duration,
    /// `live.rs` `RESTART_AFTER`.
    restart_live_after: Duration,
}

impl Timing {
    fn scaled(scale: f64) -> Self {
        let s = |seconds: f64| Duration::from_secs_f64(seconds / scale);
        Self {
            sync_every: s(60.0),
            retry_offline_every: s(10.0),
            min_pause: s(2.0),
            progress_every: s(0.25),
            follow_for: s(60.0),
            follow_floor: s(0.1),
            restart_live_after: s(30.0),
        }
    }
}

/// The outbox policy the app uses, divided by the scale, except the lease (see the module header).
fn scaled_outbox_policy(scale: f64) -> OutboxPolicy {
    let base = OutboxPolicy::default();
    OutboxPolicy {
        lease: base.lease,
        reconcile_window: base.reconcile_window.div_f64(scale),
        reconcile_every: base.reconcile_every.div_f64(scale),
        first_delivery_check: base.first_delivery_check.div_f64(scale),
        max_delivery_check: base.max_delivery_check.div_f64(scale),
        max_backoff: base.max_backoff.div_f64(scale),
    }
}

/// The live policy the app uses (`LivePolicy::default()`), divided by the scale.
fn scaled_live_policy(scale: f64) -> LivePolicy {
    let base = LivePolicy::default();
    LivePolicy {
        first_retry: base.first_retry.div_f64(scale),
        max_retry: base.max_retry.div_f64(scale),
        // In real time: the sandbox answers pings at once, so only a lost connection meets it.
        idle_deadline: base.idle_deadline,
    }
}

/// Simulated time: real time since the start of the day, times the scale.
#[derive(Debug, Clone, Copy)]
struct Clock {
    start: Instant,
    scale: f64,
}

impl Clock {
    /// The real instant of simulated second `at`.
    fn instant(&self, at: f64) -> Instant {
        self.start + Duration::from_secs_f64(at.max(0.0) / self.scale)
    }

    /// Simulated seconds since the start.
    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * self.scale
    }

    async fn sleep_until(&self, at: f64) {
        tokio::time::sleep_until(self.instant(at)).await;
    }
}

/// What the loops counted.
#[derive(Default)]
struct Counters {
    syncs_ok: AtomicU64,
    sync_failures: Mutex<BTreeMap<String, u64>>,
    rate_limited: AtomicU64,
    outbox_runs: AtomicU64,
    outbox_errors: Mutex<Vec<String>>,
    follows: AtomicU64,
    live_messages: AtomicU64,
    live_connects: AtomicU64,
    live_disconnects: AtomicU64,
    live_catch_ups: AtomicU64,
    live_restarts: AtomicU64,
    live_ended: Mutex<Option<String>>,
    queue_errors: Mutex<Vec<String>>,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The app's state as the shell holds it: the core, the sync lock, the timings.
struct App {
    parley: Parley,
    sync_lock: tokio::sync::Mutex<()>,
    timing: Timing,
    live_policy: LivePolicy,
    counters: Counters,
}

/// One agent's send, as queued.
#[derive(Debug, Clone)]
struct AgentSend {
    account: &'static str,
    text: String,
    /// The attached file's content, if any.
    file: Option<Vec<u8>>,
    outbox_id: Option<i64>,
    /// Simulated second it was queued at.
    at: f64,
    /// Whether it was queued while the sandbox injected faults.
    in_fault_window: bool,
}

/// One customer's message, as pushed.
#[derive(Debug, Clone)]
struct Incoming {
    text: String,
}

/// One look at the process.
#[derive(Debug, Clone, Default)]
struct Sample {
    hour: u32,
    real_seconds: f64,
    rss_kb: u64,
    pss_kb: u64,
    fds: usize,
    tasks: usize,
    sends: usize,
    customers: usize,
    outbox: BTreeMap<&'static str, usize>,
    cached_messages: i64,
    db_bytes: u64,
    faults: u64,
}

async fn run() -> BenchResult<()> {
    let scale: f64 = env_or("PARLEY_SOAK_SCALE", DEFAULT_SCALE);
    let scale = if scale.is_finite() && scale >= 1.0 {
        scale
    } else {
        DEFAULT_SCALE
    };
    let hours: u32 = env_or("PARLEY_SOAK_HOURS", DEFAULT_HOURS).max(1);
    let sends_per_hour: f64 = env_or("PARLEY_SOAK_SENDS_PER_HOUR", DEFAULT_SENDS_PER_HOUR);
    let customers_per_hour: f64 =
        env_or("PARLEY_SOAK_CUSTOMERS_PER_HOUR", DEFAULT_CUSTOMERS_PER_HOUR);
    let fault_share: f64 = env_or("PARLEY_SOAK_FAULT_SHARE", DEFAULT_FAULT_SHARE).clamp(0.0, 1.0);
    let fault_rate: f64 = env_or("PARLEY_SOAK_FAULT_RATE", DEFAULT_FAULT_RATE).clamp(0.0, 1.0);
    let conversations: usize = env_or("PARLEY_SOAK_CONVERSATIONS", DEFAULT_CONVERSATIONS).max(1);
    let voipbin_conversations: usize =
        env_or("PARLEY_SOAK_VOIPBIN", DEFAULT_VOIPBIN_CONVERSATIONS).max(1);
    // The core honours the scale for loopback servers; set before the accounts' providers are built.
    std::env::set_var(parley_core::RATE_LIMIT_SCALE_ENV, scale.to_string());

    println!("Parley soak: the app's background work for a working day against the sandbox");
    println!(
        "{hours} simulated hours at time scale S = {scale} ({:.1} min real); {conversations} Pact p2 \
         conversations (2 companies) + {voipbin_conversations} VoIPbin; {sends_per_hour} sends and \
         {customers_per_hour} customer messages an hour; faults on {:.0} % of each hour at {:.0} % of \
         requests",
        f64::from(hours) * 3600.0 / scale / 60.0,
        fault_share * 100.0,
        fault_rate * 100.0
    );
    let before_setup = sample_process(0);

    let sandbox = Arc::new(
        Sandbox::start(SandboxConfig {
            conversations,
            messages_per_conversation: 20,
            voipbin_conversations,
            voipbin_messages_per_conversation: 15,
            p2_limit_scale: Some(scale),
            ..SandboxConfig::default()
        })
        .await?,
    );
    let dir = tempfile::Builder::new().prefix("parley-soak-").tempdir()?;
    let files_dir = dir.path().join("agent-files");
    std::fs::create_dir_all(&files_dir)?;
    let data_dir = dir.path().join("data");
    let parley = Parley::open(&data_dir, Arc::new(MemorySecretStore::default()))
        .await?
        .with_outbox_policy(scaled_outbox_policy(scale));
    parley
        .add_account(
            NewAccount {
                name: PACT.to_string(),
                provider: ProviderKind::Pact,
                base_url: Some(sandbox.pact_root_url()),
                company_ids: vec![],
            },
            Secret::new(sandbox.token()),
        )
        .await?;
    let (username, password) = sandbox.voipbin_login();
    parley
        .add_account_with_username(
            NewAccount {
                name: VOIPBIN.to_string(),
                provider: ProviderKind::Voipbin,
                base_url: Some(sandbox.voipbin_base_url()),
                company_ids: vec![],
            },
            Some(username),
            Secret::new(password),
        )
        .await?;

    // First launch: the history is downloaded before the day starts.
    let first_sync = Instant::now();
    for account in [PACT, VOIPBIN] {
        let report = parley.sync(account, &mut |_: SyncProgress| {}).await?;
        println!(
            "first sync of {account}: {} conversations, {} messages in {:.1} s",
            report.conversations,
            report.messages,
            first_sync.elapsed().as_secs_f64()
        );
    }

    let app = Arc::new(App {
        parley,
        sync_lock: tokio::sync::Mutex::new(()),
        timing: Timing::scaled(scale),
        live_policy: scaled_live_policy(scale),
        counters: Counters::default(),
    });
    let pact_ids: Vec<String> = sandbox
        .conversations()
        .iter()
        .map(|c| c.id.to_string())
        .collect();
    let voipbin_ids: Vec<String> = sandbox
        .voipbin_conversations()
        .into_iter()
        .map(|c| c.id)
        .collect();
    let day = f64::from(hours) * 3600.0;
    let schedule = fault_schedule(hours, fault_share, fault_rate);
    println!(
        "fault schedule: {} windows of {:.0} simulated min, {} WebSocket cuts, {} WebSocket outages, \
         {} token expiries",
        schedule
            .iter()
            .filter(|(_, e)| matches!(e, Disturbance::FaultsOn(_)))
            .count(),
        fault_share * 60.0,
        schedule
            .iter()
            .filter(|(_, e)| matches!(e, Disturbance::CutWebsockets))
            .count(),
        schedule
            .iter()
            .filter(|(_, e)| matches!(e, Disturbance::WebsocketDown))
            .count(),
        schedule
            .iter()
            .filter(|(_, e)| matches!(e, Disturbance::ExpireTokens))
            .count(),
    );

    let (stop_tx, stop_rx) = watch::channel(false);
    let clock = Clock {
        start: Instant::now(),
        scale,
    };
    let sends: Arc<Mutex<Vec<AgentSend>>> = Arc::default();
    let incoming: Arc<Mutex<Vec<Incoming>>> = Arc::default();
    let follows: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
    let faulty = Arc::new(AtomicBool::new(false));

    let background = tokio::spawn(background_loop(Arc::clone(&app), stop_rx.clone()));
    let live = tokio::spawn(live_watcher(
        Arc::clone(&app),
        VOIPBIN.to_string(),
        stop_rx.clone(),
    ));
    let disturbances = tokio::spawn(disturb(
        Arc::clone(&sandbox),
        clock,
        schedule,
        Arc::clone(&faulty),
    ));
    let customers = tokio::spawn(customers_write(
        Arc::clone(&sandbox),
        clock,
        day,
        customers_per_hour,
        pact_ids.clone(),
        voipbin_ids.clone(),
        Arc::clone(&incoming),
    ));
    let agents = tokio::spawn(agents_send(
        Arc::clone(&app),
        clock,
        day,
        sends_per_hour,
        pact_ids.clone(),
        voipbin_ids.clone(),
        files_dir.clone(),
        Arc::clone(&sends),
        Arc::clone(&follows),
        Arc::clone(&faulty),
    ));

    // One look every simulated hour, the first at the start.
    let mut samples = Vec::new();
    println!();
    println!("== Hour by hour ==");
    println!(
        "{:>4} {:>7} {:>8} {:>8} {:>5} {:>5} {:>6} {:>9} {:>8} {:>8} {:>7} {:>7} {:>8}",
        "hour",
        "real s",
        "RSS MB",
        "PSS MB",
        "fds",
        "tasks",
        "sends",
        "customers",
        "unsent",
        "failed",
        "cached",
        "db MB",
        "faults"
    );
    for hour in 0..=hours {
        clock.sleep_until(f64::from(hour) * 3600.0).await;
        let mut sample = sample_process(hour);
        sample.real_seconds = clock.start.elapsed().as_secs_f64();
        sample.sends = locked(&sends).len();
        sample.customers = locked(&incoming).len();
        sample.outbox = outbox_states(&app.parley).await;
        sample.cached_messages = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(app.parley.store().pool())
            .await
            .unwrap_or(-1);
        sample.db_bytes = database_bytes(&data_dir);
        sample.faults = sandbox.stats().faults_injected;
        print_sample(&sample);
        samples.push(sample);
    }
    let day_real = clock.start.elapsed();
    agents.await?;
    customers.await?;
    disturbances.await?;

    // The end of the day: the network heals, the outbox empties, a last sync.
    sandbox.set_faults(None);
    sandbox.set_voipbin_websocket_down(false);
    let drain_started = Instant::now();
    let mut drained = false;
    while drain_started.elapsed() < DRAIN_FOR {
        let states = outbox_states(&app.parley).await;
        if states.get("pending").copied().unwrap_or(0) == 0
            && states.get("sent").copied().unwrap_or(0) == 0
        {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drain_took = drain_started.elapsed();
    let _ = stop_tx.send(true);
    let _ = background.await;
    let _ = live.await;
    let in_flight = std::mem::take(&mut *locked(&follows));
    for follow in in_flight {
        follow.abort();
        let _ = follow.await;
    }
    let mut last_sync = Vec::new();
    for account in [PACT, VOIPBIN] {
        let mut outcome = String::from("failed 5 times");
        for _ in 0..5 {
            match app.parley.sync(account, &mut |_: SyncProgress| {}).await {
                Ok(report) => {
                    outcome = format!("{} new messages", report.new_messages);
                    break;
                }
                Err(error) => {
                    outcome = format!("{}: {error}", error.code().as_str());
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        last_sync.push(format!("{account} {outcome}"));
    }
    let after = sample_process(hours);

    let sends = std::mem::take(&mut *locked(&sends));
    let incoming = std::mem::take(&mut *locked(&incoming));
    report_day(&app, &sandbox, &samples, &before_setup, &after, day_real);
    println!(
        "end of day: outbox {} after {:.1} s without faults (bound {} s); last sync: {}",
        if drained { "empty" } else { "NOT empty" },
        drain_took.as_secs_f64(),
        DRAIN_FOR.as_secs(),
        last_sync.join(", ")
    );
    report_sends(&app.parley, &sandbox, &sends, &pact_ids, &voipbin_ids).await?;
    report_customers(&app.parley, &incoming).await?;
    report_growth(&samples, hours);
    Ok(())
}

/// `background.rs::run`: the timer sync, the due outbox and the pause between, until told to stop.
async fn background_loop(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let mut next_sync = Instant::now();
    loop {
        if Instant::now() >= next_sync {
            let result = sync_accounts(&app).await;
            let offline = result.is_err_and(|code| code == ErrorCode::Offline);
            let every = if offline {
                app.timing.retry_offline_every
            } else {
                app.timing.sync_every
            };
            next_sync = Instant::now() + every;
        }
        work_due_outbox(&app).await;
        let pause = pause_until_next_work(&app, next_sync).await;
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// `commands/sync.rs::sync_accounts`: every account in turn under the sync lock, stopping at the
/// first failure.
async fn sync_accounts(app: &App) -> Result<(), ErrorCode> {
    let _running = app.sync_lock.lock().await;
    let names: Vec<String> = match app.parley.accounts().await {
        Ok(accounts) => accounts.into_iter().map(|a| a.name).collect(),
        Err(error) => return Err(record_sync_failure(app, "accounts", error.code())),
    };
    for name in names {
        let mut progress = |_: SyncProgress| {};
        match app.parley.sync(&name, &mut progress).await {
            Ok(report) => {
                bump(&app.counters.syncs_ok);
                app.counters
                    .rate_limited
                    .fetch_add(report.rate_limited, Ordering::Relaxed);
            }
            Err(error) => return Err(record_sync_failure(app, &name, error.code())),
        }
    }
    Ok(())
}

fn record_sync_failure(app: &App, account: &str, code: ErrorCode) -> ErrorCode {
    *locked(&app.counters.sync_failures)
        .entry(format!("{account}: {}", code.as_str()))
        .or_default() += 1;
    code
}

/// `background.rs::work_due_outbox`.
async fn work_due_outbox(app: &App) {
    let Ok(Some(due_in)) = app.parley.outbox_next_due_in().await else {
        return;
    };
    if due_in.is_zero() {
        work_outbox(app, None).await;
    }
}

/// `commands/messages.rs::work_outbox_reporting_uploads`, without the events.
async fn work_outbox(app: &App, only: Option<i64>) -> bool {
    bump(&app.counters.outbox_runs);
    let result = app
        .parley
        .process_outbox_watching_uploads(only, app.timing.progress_every, |_| {})
        .await;
    if let Err(error) = &result {
        let mut errors = locked(&app.counters.outbox_errors);
        errors.push(format!("{}: {error}", error.code().as_str()));
    }
    result.is_ok()
}

/// `background.rs::pause_until_next_work`.
async fn pause_until_next_work(app: &App, next_sync: Instant) -> Duration {
    let until_sync = next_sync.saturating_duration_since(Instant::now());
    let until_outbox = app
        .parley
        .outbox_next_due_in()
        .await
        .ok()
        .flatten()
        .unwrap_or(app.timing.sync_every);
    until_sync.min(until_outbox).max(app.timing.min_pause)
}

/// `commands/messages.rs::follow_send`.
async fn follow_send(app: Arc<App>, outbox_id: i64) {
    let deadline = Instant::now() + app.timing.follow_for;
    loop {
        work_outbox(&app, Some(outbox_id)).await;
        let waiting = matches!(
            app.parley
                .outbox_entry(outbox_id)
                .await
                .map(|entry| entry.status),
            Ok(OutboxState::Sent)
        );
        let due_in = app.parley.outbox_next_due_in().await.ok().flatten();
        let (true, Some(due_in)) = (waiting, due_in) else {
            return;
        };
        let wake_at = Instant::now() + due_in.max(app.timing.follow_floor);
        if wake_at > deadline {
            return;
        }
        tokio::time::sleep_until(wake_at).await;
    }
}

/// `live.rs::watch`: follows the account until its credentials are refused, it is gone, or the day ends.
async fn live_watcher(app: Arc<App>, account: String, mut stop: watch::Receiver<bool>) {
    loop {
        let counters = &app.counters;
        let mut on_change = |change: LiveChange| match change {
            LiveChange::Message { .. } => bump(&counters.live_messages),
            LiveChange::Connected { .. } => bump(&counters.live_connects),
            LiveChange::Disconnected { .. } => bump(&counters.live_disconnects),
            LiveChange::CaughtUp { .. } => bump(&counters.live_catch_ups),
            LiveChange::Conversation { .. } => {}
        };
        let result = tokio::select! {
            result = app.parley.watch_live(&account, app.live_policy.clone(), &mut on_change) => result,
            _ = stop.changed() => return,
        };
        match result {
            Err(error) if matches!(error.code(), ErrorCode::Unauthorized | ErrorCode::NotFound) => {
                *locked(&app.counters.live_ended) = Some(error.to_string());
                return;
            }
            _ => {
                bump(&app.counters.live_restarts);
                tokio::select! {
                    () = tokio::time::sleep(app.timing.restart_live_after) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// `commands/messages.rs::messages_send` for one agent's message (after opening the thread).
async fn agent_send(
    app: &Arc<App>,
    conversation: &ConversationRef,
    message: Outgoing,
) -> BenchResult<i64> {
    app.parley.set_focus(Some(conversation)).await?;
    let outbox_id = app.parley.queue_send(conversation, message).await?;
    Ok(outbox_id)
}

/// The agents: `per_hour` sends spread evenly over the day, to random conversations.
#[allow(clippy::too_many_arguments)]
async fn agents_send(
    app: Arc<App>,
    clock: Clock,
    day: f64,
    per_hour: f64,
    pact_ids: Vec<String>,
    voipbin_ids: Vec<String>,
    files_dir: PathBuf,
    sends: Arc<Mutex<Vec<AgentSend>>>,
    follows: Arc<Mutex<Vec<JoinHandle<()>>>>,
    faulty: Arc<AtomicBool>,
) {
    if per_hour <= 0.0 {
        return;
    }
    let mut rng = StdRng::seed_from_u64(11);
    let every = 3600.0 / per_hour;
    let mut pact_sends = 0usize;
    for n in 0.. {
        let at = (n as f64 + rng.gen_range(0.0..1.0)) * every;
        if at >= day {
            break;
        }
        clock.sleep_until(at).await;
        let to_pact = rng.gen_range(0..4) != 0;
        let (account, id) = if to_pact {
            (PACT, pact_ids[rng.gen_range(0..pact_ids.len())].clone())
        } else {
            (
                VOIPBIN,
                voipbin_ids[rng.gen_range(0..voipbin_ids.len())].clone(),
            )
        };
        let text = format!("{SEND_PREFIX} {n:04} to {account}/{id}: your order is on its way");
        let mut file = None;
        let mut files = Vec::new();
        if to_pact {
            pact_sends += 1;
            if pact_sends.is_multiple_of(FILE_EVERY) {
                let content = format!(
                    "soak file {n:04}\n{}",
                    "invoice line\n".repeat(100 + n % 200)
                );
                let path = files_dir.join(format!("invoice-{n:04}.txt"));
                if std::fs::write(&path, &content).is_ok() {
                    files.push(path);
                    file = Some(content.into_bytes());
                }
            }
        }
        let conversation = ConversationRef {
            account: account.to_string(),
            id: id.clone(),
        };
        let message = Outgoing {
            text: Some(text.clone()),
            files,
            ..Outgoing::default()
        };
        let outbox_id = match agent_send(&app, &conversation, message).await {
            Ok(outbox_id) => {
                bump(&app.counters.follows);
                let task = tokio::spawn(follow_send(Arc::clone(&app), outbox_id));
                let mut follows = locked(&follows);
                follows.retain(|task| !task.is_finished());
                follows.push(task);
                Some(outbox_id)
            }
            Err(error) => {
                locked(&app.counters.queue_errors).push(format!("{text}: {error}"));
                None
            }
        };
        locked(&sends).push(AgentSend {
            account,
            text,
            file,
            outbox_id,
            at: clock.now(),
            in_fault_window: faulty.load(Ordering::Relaxed),
        });
    }
}

/// The customers: `per_hour` messages at random moments (exponential gaps), two in three on Pact.
async fn customers_write(
    sandbox: Arc<Sandbox>,
    clock: Clock,
    day: f64,
    per_hour: f64,
    pact_ids: Vec<String>,
    voipbin_ids: Vec<String>,
    incoming: Arc<Mutex<Vec<Incoming>>>,
) {
    if per_hour <= 0.0 {
        return;
    }
    let mut rng = StdRng::seed_from_u64(23);
    let mean_gap = 3600.0 / per_hour;
    let mut at = 0.0;
    for n in 0.. {
        let uniform: f64 = rng.gen_range(f64::EPSILON..1.0);
        at += -uniform.ln() * mean_gap;
        if at >= day {
            break;
        }
        clock.sleep_until(at).await;
        let text = format!("{CUSTOMER_PREFIX} {n:04}: where is my order?");
        let pushed = if rng.gen_range(0..3) != 0 {
            let id = &pact_ids[rng.gen_range(0..pact_ids.len())];
            id.parse()
                .is_ok_and(|id| sandbox.push_incoming_message(id, &text) != 0)
        } else {
            let id = &voipbin_ids[rng.gen_range(0..voipbin_ids.len())];
            !sandbox.push_voipbin_incoming(id, &text).is_empty()
        };
        if pushed {
            locked(&incoming).push(Incoming { text });
        }
    }
}

/// Something done to the sandbox at a simulated moment.
#[derive(Debug, Clone)]
enum Disturbance {
    FaultsOn(FaultConfig),
    FaultsOff,
    CutWebsockets,
    WebsocketDown,
    WebsocketUp,
    ExpireTokens,
}

/// The day's disturbances, by simulated second: one fault window an hour at a random place, two
/// WebSocket cuts an hour, a 5-minute WebSocket outage every third hour, token expiry every second.
fn fault_schedule(hours: u32, share: f64, rate: f64) -> Vec<(f64, Disturbance)> {
    let mut rng = StdRng::seed_from_u64(31);
    let mut events = Vec::new();
    for hour in 0..hours {
        let start = f64::from(hour) * 3600.0;
        if share > 0.0 && rate > 0.0 {
            let length = share * 3600.0;
            let offset = rng.gen_range(0.0..=(3600.0 - length).max(0.0));
            events.push((
                start + offset,
                Disturbance::FaultsOn(FaultConfig {
                    rate,
                    kinds: FaultKind::ALL.to_vec(),
                }),
            ));
            events.push((start + offset + length, Disturbance::FaultsOff));
        }
        for _ in 0..2 {
            events.push((
                start + rng.gen_range(0.0..3600.0),
                Disturbance::CutWebsockets,
            ));
        }
        if hour % 3 == 1 {
            let at = start + rng.gen_range(0.0..3300.0);
            events.push((at, Disturbance::WebsocketDown));
            events.push((at + 300.0, Disturbance::WebsocketUp));
        }
        if hour % 2 == 1 {
            events.push((
                start + rng.gen_range(0.0..3600.0),
                Disturbance::ExpireTokens,
            ));
        }
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    events
}

/// Carries out the schedule.
async fn disturb(
    sandbox: Arc<Sandbox>,
    clock: Clock,
    schedule: Vec<(f64, Disturbance)>,
    faulty: Arc<AtomicBool>,
) {
    for (at, disturbance) in schedule {
        clock.sleep_until(at).await;
        match disturbance {
            Disturbance::FaultsOn(faults) => {
                sandbox.set_faults(Some(faults));
                faulty.store(true, Ordering::Relaxed);
            }
            Disturbance::FaultsOff => {
                sandbox.set_faults(None);
                faulty.store(false, Ordering::Relaxed);
            }
            Disturbance::CutWebsockets => sandbox.cut_websockets(),
            Disturbance::WebsocketDown => sandbox.set_voipbin_websocket_down(true),
            Disturbance::WebsocketUp => sandbox.set_voipbin_websocket_down(false),
            Disturbance::ExpireTokens => sandbox.expire_voipbin_tokens(),
        }
    }
}

/// The process's memory, descriptors and this runtime's tasks now.
fn sample_process(hour: u32) -> Sample {
    Sample {
        hour,
        rss_kb: proc_kb("/proc/self/status", "VmRSS:").unwrap_or(0),
        pss_kb: proc_kb("/proc/self/smaps_rollup", "Pss:").unwrap_or(0),
        fds: open_fds(),
        tasks: tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks(),
        ..Sample::default()
    }
}

/// The `key:` line's value in kB of a `/proc` file.
fn proc_kb(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
}

/// Open file descriptors (entries of `/proc/self/fd`, less the one reading it).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|entries| entries.count().saturating_sub(1))
        .unwrap_or(0)
}

/// The database with its WAL and shared-memory files.
fn database_bytes(data_dir: &Path) -> u64 {
    let db = parley_core::store::DATABASE_FILE;
    [db.to_string(), format!("{db}-wal"), format!("{db}-shm")]
        .iter()
        .filter_map(|name| std::fs::metadata(data_dir.join(name)).ok())
        .map(|meta| meta.len())
        .sum()
}

/// Outbox entries by state.
async fn outbox_states(parley: &Parley) -> BTreeMap<&'static str, usize> {
    let mut states = BTreeMap::new();
    if let Ok(entries) = parley.outbox().await {
        for entry in entries {
            *states.entry(entry.status.as_str()).or_default() += 1;
        }
    }
    states
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn print_sample(sample: &Sample) {
    let unsent = sample.outbox.get("pending").copied().unwrap_or(0)
        + sample.outbox.get("sent").copied().unwrap_or(0);
    println!(
        "{:>4} {:>7.1} {:>8.1} {:>8.1} {:>5} {:>5} {:>6} {:>9} {:>8} {:>8} {:>7} {:>7.1} {:>8}",
        sample.hour,
        sample.real_seconds,
        mb(sample.rss_kb),
        mb(sample.pss_kb),
        sample.fds,
        sample.tasks,
        sample.sends,
        sample.customers,
        unsent,
        sample.outbox.get("failed").copied().unwrap_or(0),
        sample.cached_messages,
        sample.db_bytes as f64 / 1_048_576.0,
        sample.faults
    );
}

/// What the loops did over the day.
fn report_day(
    app: &App,
    sandbox: &Sandbox,
    samples: &[Sample],
    before_setup: &Sample,
    after: &Sample,
    day_real: Duration,
) {
    let counters = &app.counters;
    println!(
        "(unsent = outbox entries pending or sent at that moment; cached = message rows; db = database \
         + WAL; faults = requests the sandbox failed on purpose so far)"
    );
    println!(
        "process before the sandbox and the core: RSS {:.1} MB, PSS {:.1} MB, {} fds; after the day, \
         the drain and the last sync: RSS {:.1} MB, PSS {:.1} MB, {} fds, {} tasks",
        mb(before_setup.rss_kb),
        mb(before_setup.pss_kb),
        before_setup.fds,
        mb(after.rss_kb),
        mb(after.pss_kb),
        after.fds,
        after.tasks
    );
    if let Some(last) = samples.last() {
        println!(
            "day: {:.1} s real for {} simulated hours",
            day_real.as_secs_f64(),
            last.hour
        );
    }

    println!();
    println!("== Background work ==");
    let failures = locked(&counters.sync_failures);
    println!(
        "account syncs: {} ok, {} failed ({}); 429s seen by the core {}",
        get(&counters.syncs_ok),
        failures.values().sum::<u64>(),
        failures
            .iter()
            .map(|(what, n)| format!("{what} x{n}"))
            .collect::<Vec<_>>()
            .join(", "),
        get(&counters.rate_limited)
    );
    let outbox_errors = locked(&counters.outbox_errors);
    println!(
        "outbox runs: {} ({} follow_send tasks), {} stopped on a local error{}",
        get(&counters.outbox_runs),
        get(&counters.follows),
        outbox_errors.len(),
        outbox_errors
            .first()
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    println!(
        "VoIPbin live: {} connects, {} disconnects, {} catch-ups, {} messages reported, {} watcher \
         restarts{}",
        get(&counters.live_connects),
        get(&counters.live_disconnects),
        get(&counters.live_catch_ups),
        get(&counters.live_messages),
        get(&counters.live_restarts),
        locked(&counters.live_ended)
            .as_ref()
            .map(|e| format!("; the watcher ENDED: {e}"))
            .unwrap_or_default()
    );
    let queue_errors = locked(&counters.queue_errors);
    if !queue_errors.is_empty() {
        println!(
            "queue_send refused {} sends (first: {})",
            queue_errors.len(),
            queue_errors[0]
        );
    }
    let stats = sandbox.stats();
    println!(
        "sandbox: {} p1 + {} p2 requests, {} p2 answered 429, {} faults injected ({}), {} VoIPbin \
         logins, {} Pact messages accepted",
        stats.requests,
        stats.p2_requests,
        stats.p2_rate_limited,
        stats.faults_injected,
        stats
            .faults_by_kind
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        sandbox.voipbin_logins(),
        stats.messages_accepted
    );
}

/// How many copies of each send the server (and the cache) holds.
async fn report_sends(
    parley: &Parley,
    sandbox: &Sandbox,
    sends: &[AgentSend],
    pact_ids: &[String],
    voipbin_ids: &[String],
) -> BenchResult<()> {
    // The server's outgoing messages by text, and the files by content.
    let mut server: HashMap<String, Vec<String>> = HashMap::new();
    let mut files: HashMap<Vec<u8>, usize> = HashMap::new();
    for id in pact_ids {
        let Ok(number) = id.parse::<i64>() else {
            continue;
        };
        for message in sandbox.messages(number) {
            if message.income {
                continue;
            }
            for attachment in &message.attachments {
                *files.entry(attachment.bytes.clone()).or_default() += 1;
            }
            if let Some(text) = &message.text {
                server.entry(text.clone()).or_default().push(format!(
                    "pact/{id} message {} at {} ({}, {} files)",
                    message.id,
                    message.created_at.format("%H:%M:%S%.3f"),
                    message.status,
                    message.attachments.len()
                ));
            }
        }
    }
    for id in voipbin_ids {
        for message in sandbox.voipbin_messages(id) {
            if !message.incoming {
                server
                    .entry(message.text.clone())
                    .or_default()
                    .push(format!(
                        "voipbin/{id} message {} at {}",
                        message.id,
                        message.created_at.format("%H:%M:%S%.3f")
                    ));
            }
        }
    }
    let cached: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
        "SELECT text, COUNT(*) FROM messages WHERE direction = 'out' AND text LIKE ? GROUP BY text",
    )
    .bind(format!("{SEND_PREFIX} %"))
    .fetch_all(parley.store().pool())
    .await?
    .into_iter()
    .collect();
    let outbox: HashMap<i64, parley_core::OutboxEntryView> = parley
        .outbox()
        .await?
        .into_iter()
        .map(|entry| (entry.id, entry))
        .collect();

    println!();
    println!("== Sends: attempted / arrived once / doubled / lost (the server's copy) ==");
    let mut table: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    let mut file_counts = [0usize; 4];
    let mut cache_counts = [0usize; 3];
    let mut odd = Vec::new();
    for send in sends {
        let copies = server.get(&send.text).map_or(0, Vec::len);
        for row in [send.account, "all"] {
            let counts = table.entry(row).or_default();
            counts[0] += 1;
            match copies {
                0 => counts[3] += 1,
                1 => counts[1] += 1,
                _ => counts[2] += 1,
            }
        }
        if let Some(content) = &send.file {
            let file_copies = files.get(content).copied().unwrap_or(0);
            file_counts[0] += 1;
            match file_copies {
                0 => file_counts[3] += 1,
                1 => file_counts[1] += 1,
                _ => file_counts[2] += 1,
            }
        }
        match cached.get(&send.text).copied().unwrap_or(0) {
            0 => cache_counts[2] += 1,
            1 => cache_counts[0] += 1,
            _ => cache_counts[1] += 1,
        }
        if copies != 1 || cached.get(&send.text).copied().unwrap_or(0) != 1 {
            odd.push(send);
        }
    }
    println!(
        "{:<8} {:>9} {:>12} {:>8} {:>5}",
        "", "attempted", "arrived once", "doubled", "lost"
    );
    for (row, [attempted, once, doubled, lost]) in &table {
        println!("{row:<8} {attempted:>9} {once:>12} {doubled:>8} {lost:>5}");
    }
    let [attempted, once, doubled, lost] = file_counts;
    println!(
        "{:<8} {attempted:>9} {once:>12} {doubled:>8} {lost:>5}",
        "files"
    );
    let all = table.get("all").copied().unwrap_or_default();
    println!(
        "closing criterion (0 doubled, 0 lost): {}",
        verdict(all[2] == 0 && all[3] == 0 && file_counts[2] == 0 && file_counts[3] == 0)
    );
    println!(
        "in the cache: {} once, {} more than once, {} missing",
        cache_counts[0], cache_counts[1], cache_counts[2]
    );
    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in outbox.values() {
        *states.entry(entry.status.as_str()).or_default() += 1;
    }
    println!(
        "outbox at the end: {}; attempts per entry: max {}, mean {:.2}",
        states
            .iter()
            .map(|(state, n)| format!("{state} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        outbox.values().map(|e| e.attempts).max().unwrap_or(0),
        outbox.values().map(|e| e.attempts as f64).sum::<f64>() / outbox.len().max(1) as f64
    );
    let mut errors_seen: BTreeMap<String, usize> = BTreeMap::new();
    for entry in outbox.values() {
        if let Some(code) = &entry.last_error_code {
            *errors_seen.entry(code.clone()).or_default() += 1;
        }
    }
    println!(
        "coverage: {} sends queued inside a fault window; {} entries took more than one attempt; \
         {} ended with an error on record{}",
        sends.iter().filter(|s| s.in_fault_window).count(),
        outbox.values().filter(|e| e.attempts > 1).count(),
        errors_seen.values().sum::<usize>(),
        if errors_seen.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                errors_seen
                    .iter()
                    .map(|(code, n)| format!("{code} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    for send in odd.iter().take(20) {
        let entry = send.outbox_id.and_then(|id| outbox.get(&id));
        println!(
            "  {:?} queued at {:.0} simulated s: {} on the server, {} cached; outbox {}",
            send.text,
            send.at,
            server.get(&send.text).map_or(0, Vec::len),
            cached.get(&send.text).copied().unwrap_or(0),
            entry.map_or("none".to_string(), |e| format!(
                "#{} {} after {} attempts, message {:?}, last error {:?} ({:?})",
                e.id,
                e.status.as_str(),
                e.attempts,
                e.message_id,
                e.last_error,
                e.last_error_code
            ))
        );
        for copy in server.get(&send.text).into_iter().flatten() {
            println!("      {copy}");
        }
    }
    if odd.len() > 20 {
        println!("  ... and {} more", odd.len() - 20);
    }
    Ok(())
}

/// Whether every customer's message is cached exactly once.
async fn report_customers(parley: &Parley, incoming: &[Incoming]) -> BenchResult<()> {
    let cached: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
        "SELECT text, COUNT(*) FROM messages WHERE direction = 'in' AND text LIKE ? GROUP BY text",
    )
    .bind(format!("{CUSTOMER_PREFIX} %"))
    .fetch_all(parley.store().pool())
    .await?
    .into_iter()
    .collect();
    let mut counts = [0usize; 3];
    for message in incoming {
        match cached.get(&message.text).copied().unwrap_or(0) {
            0 => counts[2] += 1,
            1 => counts[0] += 1,
            _ => counts[1] += 1,
        }
    }
    println!();
    println!("== Customers' messages in the cache ==");
    println!(
        "written {}, cached once {}, more than once {}, missing {} {}",
        incoming.len(),
        counts[0],
        counts[1],
        counts[2],
        verdict(counts[1] == 0 && counts[2] == 0)
    );
    Ok(())
}

/// Growth between the second hour and the last.
fn report_growth(samples: &[Sample], hours: u32) {
    let base_hour = 2.min(hours);
    let (Some(base), Some(end), Some(start)) = (
        samples.iter().find(|s| s.hour == base_hour),
        samples.last(),
        samples.first(),
    ) else {
        return;
    };
    println!();
    println!(
        "== Start / hour {base_hour} / end (hour {}); growth hour {base_hour} -> {} (goal under {GROWTH_GOAL_PERCENT} %) ==",
        end.hour, end.hour
    );
    let rows: [(&str, f64, f64, f64, bool); 4] = [
        (
            "RSS MB",
            mb(start.rss_kb),
            mb(base.rss_kb),
            mb(end.rss_kb),
            true,
        ),
        (
            "PSS MB",
            mb(start.pss_kb),
            mb(base.pss_kb),
            mb(end.pss_kb),
            true,
        ),
        (
            "open fds",
            start.fds as f64,
            base.fds as f64,
            end.fds as f64,
            true,
        ),
        (
            "tasks",
            start.tasks as f64,
            base.tasks as f64,
            end.tasks as f64,
            false,
        ),
    ];
    for (name, at_start, at_base, at_end, criterion) in rows {
        let growth = if at_base > 0.0 {
            (at_end - at_base) / at_base * 100.0
        } else {
            f64::NAN
        };
        println!(
            "{name:<9} {at_start:>8.1} {at_base:>8.1} {at_end:>8.1}   {growth:+6.1} % {}",
            if criterion {
                verdict(growth < GROWTH_GOAL_PERCENT)
            } else {
                ""
            }
        );
    }
    println!(
        "(tasks include the follow_send tasks of sends still in flight at the moment of the look)"
    );
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "[ok]"
    } else {
        "[MISSED]"
    }
}
