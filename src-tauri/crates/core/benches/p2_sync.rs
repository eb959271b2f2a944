//! Parley's paced-sync benchmark: a full sync of a Pact (p2) account against the in-process sandbox
//! with p2's documented rate limits enforced at scaled time, compared with the minimum those limits
//! impose. It prints numbers and asserts nothing.
//!
//! Run with `cargo bench -p parley-core --bench p2_sync`. Environment:
//! - `PARLEY_BENCH_SCALE` (default 60): the time scale S; a real minute lasts 60/S seconds, both in
//!   the sandbox and in the core's request budget (through `PARLEY_RATE_LIMIT_SCALE`).
//! - `PARLEY_BENCH_CONVERSATIONS` (default 1,000) and `PARLEY_BENCH_MESSAGES` (default 40 per
//!   conversation): the sandbox's size (2 companies).
//!
//! While the sync runs, a customer's message arrives in a random conversation every 2 s of real
//! time (2/S s here) for as long as the theoretical backfill takes (pushing for longer than that
//! would outrun the message-list budget, 20/min, and the sync would never end); a watcher polls the
//! cache every 20 ms for those messages and for the latest message of the newest 100 conversations.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::error::Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parley_core::{MemorySecretStore, NewAccount, Parley, ProviderKind, Secret, SyncProgress};
use parley_sandbox::{Sandbox, SandboxConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::SqlitePool;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const ACCOUNT: &str = "bench";
const DEFAULT_SCALE: f64 = 60.0;
const DEFAULT_CONVERSATIONS: usize = 1_000;
const DEFAULT_MESSAGES: usize = 40;
/// p2 page sizes (the largest each list allows).
const CONVERSATIONS_PER_PAGE: usize = 100;
const MESSAGES_PER_PAGE: usize = 150;
/// p2 limits per minute (strict sliding windows: a full window's worth may start at once).
const LISTINGS_PER_MINUTE: f64 = 10.0;
const MESSAGE_LISTS_PER_MINUTE: f64 = 20.0;
const LISTING_ROUTE: &str = "GET /api/p2/conversations";
/// How many of the newest conversations the "first screen" measure waits for.
const NEWEST: usize = 100;
/// A customer's message every this many real-time seconds during the backfill (by default 6 a
/// minute, well inside the 20 thread reads a minute p2 allows: every new message costs one read, so
/// a faster stream could not be kept up with by any schedule). `PARLEY_BENCH_PUSH_EVERY` changes it.
const PUSH_EVERY_REAL_SECONDS: f64 = 10.0;
const POLL_EVERY: Duration = Duration::from_millis(20);
const RATIO_GOAL: f64 = 1.1;
const P95_GOAL_REAL_SECONDS: f64 = 15.0;

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

/// What the watcher saw.
#[derive(Default)]
struct Watch {
    /// Pushed messages not cached yet: provider id -> (when pushed, whether its conversation had
    /// been read by then).
    pending: HashMap<String, (Instant, bool)>,
    /// Delays of pushed messages that reached the cache, with the same flag.
    delays: Vec<(Duration, bool)>,
    /// When the latest messages of the newest conversations were all cached.
    newest_done: Option<Instant>,
    pushed: usize,
}

async fn run() -> BenchResult<()> {
    let scale: f64 = env_or("PARLEY_BENCH_SCALE", DEFAULT_SCALE);
    let scale = if scale.is_finite() && scale >= 1.0 {
        scale
    } else {
        DEFAULT_SCALE
    };
    let conversations: usize = env_or("PARLEY_BENCH_CONVERSATIONS", DEFAULT_CONVERSATIONS);
    let messages: usize = env_or("PARLEY_BENCH_MESSAGES", DEFAULT_MESSAGES);
    // The core honours the scale for loopback servers; set before the account's provider is built.
    std::env::set_var(parley_core::RATE_LIMIT_SCALE_ENV, scale.to_string());

    println!("Parley p2 paced-sync benchmark");
    println!(
        "sandbox: {conversations} conversations x {messages} messages, 2 companies; p2 limits at \
         time scale S = {scale} (a real minute lasts {:.2} s)",
        60.0 / scale
    );

    let started = Instant::now();
    let sandbox = Arc::new(
        Sandbox::start(SandboxConfig {
            conversations,
            messages_per_conversation: messages,
            p2_limit_scale: Some(scale),
            job_delay: Duration::ZERO,
            ..SandboxConfig::default()
        })
        .await?,
    );
    println!("sandbox seeded in {:.2} s", started.elapsed().as_secs_f64());

    // The server's world before the sync.
    let server_conversations = sandbox.conversations();
    let mut per_company: BTreeMap<i64, usize> = BTreeMap::new();
    for conversation in &server_conversations {
        *per_company.entry(conversation.company_id).or_default() += 1;
    }
    let mut by_activity: Vec<_> = server_conversations
        .iter()
        .map(|c| (c.last_message_at, c.id))
        .collect();
    by_activity.sort_unstable_by(|a, b| b.cmp(a));
    let newest_latest: Vec<String> = by_activity
        .iter()
        .take(NEWEST)
        .filter_map(|(_, id)| sandbox.messages(*id).last().map(|m| m.id.to_string()))
        .collect();
    let conversation_ids: Vec<i64> = server_conversations.iter().map(|c| c.id).collect();

    // Theoretical request counts and the minimum time they need.
    let theory_listings: usize = per_company
        .values()
        .map(|n| n.div_ceil(CONVERSATIONS_PER_PAGE).max(1))
        .sum();
    let pages_per_thread = messages.div_ceil(MESSAGES_PER_PAGE).max(1);
    let theory_message_lists = conversation_ids.len() * pages_per_thread;
    let theory_min = minimum_seconds(theory_listings, theory_message_lists, scale);
    let push_for = Duration::from_secs_f64(theory_min.0.max(theory_min.1));
    let push_every_real: f64 = env_or("PARLEY_BENCH_PUSH_EVERY", PUSH_EVERY_REAL_SECONDS);
    let push_every = Duration::from_secs_f64(push_every_real / scale);

    let dir = tempfile::Builder::new()
        .prefix("parley-p2-bench-")
        .tempdir()?;
    let parley = Parley::open(dir.path(), Arc::new(MemorySecretStore::default())).await?;
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
        .await?;
    let pool = parley.store().pool().clone();

    let watch = Arc::new(Mutex::new(Watch::default()));
    let done = Arc::new(AtomicBool::new(false));
    let sync_started = Instant::now();

    let watcher = tokio::spawn(watch_cache(
        pool.clone(),
        newest_latest.clone(),
        Arc::clone(&watch),
        Arc::clone(&done),
    ));
    let pusher = tokio::spawn(push_messages(
        pool.clone(),
        Arc::clone(&sandbox),
        conversation_ids.clone(),
        Arc::clone(&watch),
        Arc::clone(&done),
        push_every,
        push_for,
    ));

    let mut progress_calls = 0usize;
    let mut most_waiting = 0usize;
    let mut last_progress: Option<SyncProgress> = None;
    let result = parley
        .sync(ACCOUNT, &mut |step: SyncProgress| {
            progress_calls += 1;
            most_waiting = most_waiting.max(step.history_waiting);
            last_progress = Some(step);
        })
        .await;
    let wall = sync_started.elapsed();
    done.store(true, Ordering::SeqCst);
    pusher.await?;
    watcher.await?;
    let report = result?;

    // The server's counts after the sync.
    let stats = sandbox.stats();
    let listings = stats.per_route.get(LISTING_ROUTE).copied().unwrap_or(0) as usize;
    let message_lists = stats
        .per_route
        .iter()
        .filter(|(route, _)| {
            route.starts_with("GET /api/p2/conversations/") && route.ends_with("/messages")
        })
        .map(|(_, n)| *n as usize)
        .sum::<usize>();
    let actual_min = minimum_seconds(listings, message_lists, scale);
    let minimum = actual_min.0.max(actual_min.1);
    let wall_s = wall.as_secs_f64();

    println!();
    println!("== Full sync ==");
    println!(
        "wall time: {wall_s:.2} s (real-time equivalent {:.1} min)",
        wall_s * scale / 60.0
    );
    println!(
        "report: {} conversations, {} messages, {} new, {} rate-limited (429s seen by the core)",
        report.conversations, report.messages, report.new_messages, report.rate_limited
    );
    println!(
        "progress callback: {progress_calls} calls, at most {most_waiting} threads waiting, last eta {:?}",
        last_progress.and_then(|p| p.eta_seconds)
    );
    println!(
        "server: {} p2 requests, {} answered 429",
        stats.p2_requests, stats.p2_rate_limited
    );
    println!("requests per route:");
    for (route, count) in &stats.per_route {
        println!("  {count:>6}  {route}");
    }

    println!();
    println!("== Limit-imposed minimum (strict windows: a full window may start at once) ==");
    println!(
        "theory (no pushes): listings {theory_listings} (ceil(conversations per company / {CONVERSATIONS_PER_PAGE}) \
         per company: {:?}), message lists {theory_message_lists} ({pages_per_thread} per thread)",
        per_company.values().collect::<Vec<_>>()
    );
    println!(
        "  minimum: listings {:.2} s, message lists {:.2} s -> {:.2} s scaled ({:.1} min real)",
        theory_min.0,
        theory_min.1,
        theory_min.0.max(theory_min.1),
        theory_min.0.max(theory_min.1) * scale / 60.0
    );
    println!("actual requests (incl. top-ups for pushed messages and polls of page 1):");
    println!(
        "  listings {listings} at {LISTINGS_PER_MINUTE}/min -> {:.2} s; message lists {message_lists} at \
         {MESSAGE_LISTS_PER_MINUTE}/min -> {:.2} s",
        actual_min.0, actual_min.1
    );
    println!(
        "  minimum: {minimum:.2} s scaled ({:.1} min real)",
        minimum * scale / 60.0
    );
    let ratio = if minimum > 0.0 {
        wall_s / minimum
    } else {
        f64::NAN
    };
    println!(
        "ratio wall / minimum (actual requests): {ratio:.3} (goal <= {RATIO_GOAL}) {}",
        verdict(ratio <= RATIO_GOAL)
    );
    let theory_ratio = wall_s / theory_min.0.max(theory_min.1);
    println!("ratio wall / minimum (theory, no pushes): {theory_ratio:.3}");
    pacing_report(&sandbox, sync_started, scale);

    println!();
    println!("== Time to the first screen ==");
    let watch = std::mem::take(&mut *watch.lock().unwrap_or_else(|p| p.into_inner()));
    match watch.newest_done {
        Some(at) => {
            let s = at.duration_since(sync_started).as_secs_f64();
            println!(
                "latest message of the newest {} conversations cached after {s:.2} s scaled ({:.1} s real, {:.2} min real)",
                newest_latest.len(),
                s * scale,
                s * scale / 60.0
            );
        }
        None => {
            println!("the newest {NEWEST} conversations' latest messages were never all cached")
        }
    }

    println!();
    println!("== Customer messages during the backfill ==");
    println!(
        "pushed {} (every {:.0} ms scaled = {push_every_real} s real, for {:.1} s scaled), cached during the sync {}, \
         not cached when the sync returned {}",
        watch.pushed,
        push_every.as_secs_f64() * 1000.0,
        push_for.as_secs_f64(),
        watch.delays.len(),
        watch.pending.len()
    );
    for (label, read) in [
        ("into threads already read", true),
        ("into threads not read yet", false),
    ] {
        let mut some: Vec<f64> = watch
            .delays
            .iter()
            .filter(|(_, r)| *r == read)
            .map(|(d, _)| d.as_secs_f64())
            .collect();
        some.sort_by(f64::total_cmp);
        if !some.is_empty() {
            println!(
                "  {} {label}: p50 {:.1} s real, p95 {:.1} s real, max {:.1} s real",
                some.len(),
                quantile(&some, 0.5) * scale,
                quantile(&some, 0.95) * scale,
                quantile(&some, 1.0) * scale
            );
        }
    }
    let mut delays: Vec<f64> = watch.delays.iter().map(|(d, _)| d.as_secs_f64()).collect();
    delays.sort_by(f64::total_cmp);
    if delays.is_empty() {
        println!("no delays measured");
    } else {
        for (name, q) in [("p50", 0.50), ("p95", 0.95), ("max", 1.0)] {
            let d = quantile(&delays, q);
            println!(
                "  {name}: {:.0} ms scaled = {:.1} s real",
                d * 1000.0,
                d * scale
            );
        }
        let p95_real = quantile(&delays, 0.95) * scale;
        println!(
            "p95 real-equivalent {p95_real:.1} s (goal < {P95_GOAL_REAL_SECONDS} s) {}",
            verdict(p95_real < P95_GOAL_REAL_SECONDS)
        );
        let over: usize = delays
            .iter()
            .filter(|d| **d * scale >= P95_GOAL_REAL_SECONDS)
            .count();
        println!(
            "  {over} of {} took {P95_GOAL_REAL_SECONDS} s real or longer",
            delays.len()
        );
    }

    println!();
    println!("== Exactly once ==");
    let server_ids: Vec<String> = conversation_ids
        .iter()
        .flat_map(|id| sandbox.messages(*id).into_iter().map(|m| m.id.to_string()))
        .collect();
    let server_set: HashSet<&str> = server_ids.iter().map(String::as_str).collect();
    let cached_ids: Vec<String> = sqlx::query_scalar("SELECT provider_id FROM messages")
        .fetch_all(&pool)
        .await?;
    let cached_set: HashSet<&str> = cached_ids.iter().map(String::as_str).collect();
    let missing = server_set.difference(&cached_set).count();
    let extra = cached_set.difference(&server_set).count();
    let duplicates = cached_ids.len() - cached_set.len();
    println!(
        "server messages {}, cached rows {}, distinct cached {}, missing {missing}, not on the server {extra}, duplicates {duplicates} {}",
        server_ids.len(),
        cached_ids.len(),
        cached_set.len(),
        verdict(missing == 0 && extra == 0 && duplicates == 0 && server_ids.len() == cached_ids.len())
    );
    println!(
        "429s: core {} / server {} {}",
        report.rate_limited,
        stats.p2_rate_limited,
        verdict(report.rate_limited == 0 && stats.p2_rate_limited == 0)
    );
    println!("total bench time {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The limit-imposed minimum seconds (scaled) for the listing and the message-list buckets.
fn minimum_seconds(listings: usize, message_lists: usize, scale: f64) -> (f64, f64) {
    let bucket = |requests: usize, per_minute: f64| {
        let beyond_burst = (requests as f64 - per_minute).max(0.0);
        beyond_burst / per_minute * 60.0 / scale
    };
    (
        bucket(listings, LISTINGS_PER_MINUTE),
        bucket(message_lists, MESSAGE_LISTS_PER_MINUTE),
    )
}

/// Where the time went, from the sandbox's log of accepted p2 request starts.
fn pacing_report(sandbox: &Sandbox, sync_started: Instant, scale: f64) {
    let log = sandbox.p2_request_log();
    let starts = |bucket: &str| -> Vec<f64> {
        log.iter()
            .filter(|(name, _)| name == bucket)
            .map(|(_, at)| at.saturating_duration_since(sync_started).as_secs_f64())
            .collect()
    };
    let messages = starts("list_messages");
    let listings = starts("list_conversations");
    let slot = 60.0 / MESSAGE_LISTS_PER_MINUTE / scale;
    println!("pacing (accepted starts from the sandbox's log):");
    if let (Some(first), Some(last)) = (messages.first(), messages.last()) {
        println!(
            "  list_messages: first at {first:.3} s, last at {last:.3} s; sustained slot {:.1} ms",
            slot * 1000.0
        );
        let after_burst: Vec<f64> = messages
            .iter()
            .skip(MESSAGE_LISTS_PER_MINUTE as usize)
            .copied()
            .collect();
        if after_burst.len() > 1 {
            let span = after_burst[after_burst.len() - 1] - after_burst[0];
            let mean = span / (after_burst.len() - 1) as f64;
            // A start is late by how much it trails the one a full window's worth earlier + window.
            let window = 60.0 / scale;
            let per_window = MESSAGE_LISTS_PER_MINUTE as usize;
            let mut late = Vec::new();
            for i in per_window..messages.len() {
                late.push(messages[i] - (messages[i - per_window] + window));
            }
            late.sort_by(f64::total_cmp);
            let lost: f64 = late.iter().filter(|l| **l > 0.0).sum();
            println!(
                "  after the burst: mean interval {:.1} ms ({:.2}x the slot); lateness vs the window: \
                 p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms; summed {:.2} s over {} starts",
                mean * 1000.0,
                mean / slot,
                quantile(&late, 0.5) * 1000.0,
                quantile(&late, 0.95) * 1000.0,
                quantile(&late, 1.0) * 1000.0,
                lost,
                late.len()
            );
            println!(
                "  (summed lateness / {per_window} = {:.2} s of wall time the message bucket sat unused)",
                lost / per_window as f64
            );
        }
    }
    if !listings.is_empty() {
        let gaps: Vec<f64> = listings.windows(2).map(|w| w[1] - w[0]).collect();
        let mut sorted = gaps.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "  list_conversations: {} starts, first at {:.3} s, last at {:.3} s; gaps p50 {:.0} ms, max {:.0} ms",
            listings.len(),
            listings[0],
            listings[listings.len() - 1],
            if sorted.is_empty() {
                0.0
            } else {
                quantile(&sorted, 0.5) * 1000.0
            },
            if sorted.is_empty() {
                0.0
            } else {
                quantile(&sorted, 1.0) * 1000.0
            }
        );
    }
}

/// Polls the cache every 20 ms until the sync is done, then once more.
async fn watch_cache(
    pool: SqlitePool,
    newest_latest: Vec<String>,
    watch: Arc<Mutex<Watch>>,
    done: Arc<AtomicBool>,
) {
    let mut newest_left: HashSet<String> = newest_latest.into_iter().collect();
    loop {
        let finished = done.load(Ordering::SeqCst);
        if !newest_left.is_empty() {
            let ids: Vec<String> = newest_left.iter().cloned().collect();
            let found = cached_among(&pool, &ids).await;
            for id in found {
                newest_left.remove(&id);
            }
            if newest_left.is_empty() {
                lock(&watch).newest_done = Some(Instant::now());
            }
        }
        let pending: Vec<String> = lock(&watch).pending.keys().cloned().collect();
        if !pending.is_empty() {
            let found = cached_among(&pool, &pending).await;
            let now = Instant::now();
            let mut watch = lock(&watch);
            for id in found {
                if let Some((pushed_at, read)) = watch.pending.remove(&id) {
                    watch.delays.push((now.duration_since(pushed_at), read));
                }
            }
        }
        if finished {
            break;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Which of `ids` (message provider ids) are cached.
async fn cached_among(pool: &SqlitePool, ids: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for chunk in ids.chunks(500) {
        let placeholders = vec!["?"; chunk.len()].join(",");
        let sql = format!("SELECT provider_id FROM messages WHERE provider_id IN ({placeholders})");
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for id in chunk {
            query = query.bind(id);
        }
        if let Ok(rows) = query.fetch_all(pool).await {
            found.extend(rows);
        }
    }
    found
}

/// A customer's message in a random conversation every `every`, for `push_for` or until done.
async fn push_messages(
    pool: SqlitePool,
    sandbox: Arc<Sandbox>,
    conversation_ids: Vec<i64>,
    watch: Arc<Mutex<Watch>>,
    done: Arc<AtomicBool>,
    every: Duration,
    push_for: Duration,
) {
    if conversation_ids.is_empty() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(7);
    let started = Instant::now();
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut n = 0usize;
    while !done.load(Ordering::SeqCst) && started.elapsed() < push_for {
        ticker.tick().await;
        let conversation = conversation_ids[rng.gen_range(0..conversation_ids.len())];
        n += 1;
        let read = thread_read(&pool, conversation).await;
        let id = sandbox.push_incoming_message(conversation, &format!("bench push {n}"));
        if id != 0 {
            let mut watch = lock(&watch);
            watch.pending.insert(id.to_string(), (Instant::now(), read));
            watch.pushed += 1;
        }
    }
}

/// Whether the conversation has any cached message (its thread was read at least once).
async fn thread_read(pool: &SqlitePool, conversation_id: i64) -> bool {
    sqlx::query_scalar::<_, i64>(
        "SELECT EXISTS (SELECT 1 FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE c.provider_id = ?)",
    )
    .bind(conversation_id.to_string())
    .fetch_one(pool)
    .await
    .is_ok_and(|found| found != 0)
}

fn lock(watch: &Mutex<Watch>) -> std::sync::MutexGuard<'_, Watch> {
    watch.lock().unwrap_or_else(|p| p.into_inner())
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "[ok]"
    } else {
        "[MISSED]"
    }
}
