//! A team on one Pact token: 1, 3 and 5 `parley-cli` processes, each with its own data folder (as
//! five computers have), sync the same account against the sandbox with p2's rate limits at a
//! scaled clock, and keep syncing while customers write. Numbers only; it asserts nothing.
//!
//! For each team size it prints:
//! - the p2 requests and the 429s among them, as a share (goal: at most 1 % with 3 and 5);
//! - each process's time to a full cache (its first `sync` returning, every thread complete),
//!   beside the minimum the shared limit imposes: every accepted thread read of all processes up
//!   to then, divided by p2's 20 a minute (goals: at most 1.2x with 3 and 5, 1.05x alone);
//! - the time for a customer message to reach every cache, p50 and p95;
//! - whether every cache equals the server's messages exactly, with no duplicates;
//! - the sandbox's per-client counts (by User-Agent: Parley names its process there).
//!
//! Run it inside a keyring session, with the CLI built in the same profile:
//!
//! ```text
//! cargo build -p parley-cli
//! bash src-tauri/scripts/with-keyring.sh cargo bench --profile dev -p parley-tests --bench shared_limits
//! ```
//!
//! Environment: `PARLEY_BENCH_SCALE` (default 30: a minute lasts 2 s), `PARLEY_BENCH_TEAMS`
//! (default `1,3,5`), `PARLEY_BENCH_CONVERSATIONS` (120) and `PARLEY_BENCH_MESSAGES` (20: the
//! issue's 2,400 messages), `PARLEY_BENCH_PUSH_EVERY` (a customer message every this many real
//! seconds while the backfill runs, default 60); `PARLEY_BENCH_VERBOSE` (set: each client's counts
//! and the log lines in which a budget moved its share).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parley_sandbox::Sandbox;
use parley_tests::cli::Cli;
use parley_tests::{sandbox_config, World};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};

const ACCOUNT: &str = "team";
const SEED: u64 = 20_020;
/// p2's documented limits a minute: thread reads and conversation listings.
const THREAD_READS_PER_MINUTE: f64 = 20.0;
const LISTINGS_PER_MINUTE: f64 = 10.0;
const POLL_EVERY: Duration = Duration::from_millis(50);
/// One `sync` may take at most this long before the bench calls the run failed.
const SYNC_TIMEOUT: Duration = Duration::from_secs(900);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(default)
}

/// The bench's settings.
#[derive(Debug, Clone)]
struct Settings {
    scale: f64,
    conversations: usize,
    messages: usize,
    push_every_real: f64,
}

fn main() {
    let settings = Settings {
        scale: env_or("PARLEY_BENCH_SCALE", 30.0_f64).max(1.0),
        conversations: env_or("PARLEY_BENCH_CONVERSATIONS", 120),
        messages: env_or("PARLEY_BENCH_MESSAGES", 20),
        push_every_real: env_or("PARLEY_BENCH_PUSH_EVERY", 60.0_f64).max(1.0),
    };
    let teams: Vec<usize> = std::env::var("PARLEY_BENCH_TEAMS")
        .unwrap_or_else(|_| "1,3,5".to_string())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .filter(|n| *n > 0)
        .collect();
    println!(
        "Parley benchmark: a team on one Pact token (parley-cli processes, one data folder each)"
    );
    println!(
        "sandbox: {} conversations x {} messages, 2 companies; p2 limits at time scale S = {} \
         (a minute lasts {:.2} s); a customer message every {} s real while the backfill runs",
        settings.conversations,
        settings.messages,
        settings.scale,
        60.0 / settings.scale,
        settings.push_every_real
    );
    for processes in teams {
        let outcome = run_team(&settings, processes);
        outcome.print(&settings);
    }
}

/// One process of the team: its CLI and data folder, and what its runs told.
struct Member {
    cli: Cli,
    /// When its first `sync` returned (the cache complete).
    full_at: Option<Instant>,
    /// 429s its syncs reported, summed.
    rate_limited: u64,
    syncs: usize,
    failures: Vec<String>,
}

/// What the watcher saw: pushed messages and when each reached each cache.
#[derive(Default)]
struct Arrivals {
    /// Message id -> (pushed at, caches it reached: member index -> when).
    pushed: HashMap<String, (Instant, HashMap<usize, Instant>)>,
}

/// Everything one team size measured.
struct Outcome {
    processes: usize,
    started: Instant,
    members: Vec<Member>,
    stats: parley_sandbox::SandboxStats,
    reads_until_full: usize,
    listings_until_full: usize,
    delays: Vec<f64>,
    unreached: usize,
    exact: Vec<String>,
    /// Each data folder's inferred share at the end and the 429s that told of the others.
    shares: Vec<Option<(f64, i64)>>,
}

fn run_team(settings: &Settings, processes: usize) -> Outcome {
    let mut config = sandbox_config(SEED, settings.conversations, settings.messages);
    config.p2_limit_scale = Some(settings.scale);
    config.job_delay = Duration::ZERO;
    let world = World::start(config);
    let members: Vec<Arc<Mutex<Member>>> = (0..processes)
        .map(|i| Arc::new(Mutex::new(add_member(&world, settings, i))))
        .collect();
    let folders: Vec<PathBuf> = members
        .iter()
        .map(|m| lock(m).cli.data_dir().to_path_buf())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let arrivals = Arc::new(Mutex::new(Arrivals::default()));
    let started = Instant::now();
    let syncers: Vec<_> = members
        .iter()
        .map(|member| {
            let (member, stop) = (Arc::clone(member), Arc::clone(&stop));
            std::thread::spawn(move || keep_syncing(&member, &stop))
        })
        .collect();
    let watcher = {
        let (arrivals, stop) = (Arc::clone(&arrivals), Arc::clone(&stop));
        let folders = folders.clone();
        let handle = world.runtime().handle().clone();
        std::thread::spawn(move || handle.block_on(watch(folders, arrivals, stop)))
    };
    let push_for = minimum_seconds(settings, processes);
    push_and_wait(&world, settings, &members, &arrivals, push_for);
    stop.store(true, Ordering::SeqCst);
    for syncer in syncers {
        let _ = syncer.join();
    }
    let _ = watcher.join();
    let members: Vec<Member> = members
        .into_iter()
        .map(|m| {
            Arc::try_unwrap(m)
                .ok()
                .expect("syncers joined")
                .into_inner()
                .unwrap()
        })
        .collect();
    let last_full = members.iter().filter_map(|m| m.full_at).max();
    let (reads_until_full, listings_until_full) = accepted_until(world.sandbox(), last_full);
    let (delays, unreached) = delays_of(&arrivals, processes);
    let exact = world.block_on(compare_caches(world.sandbox(), &folders));
    let shares = world.block_on(shares_of(&folders));
    if std::env::var_os("PARLEY_BENCH_VERBOSE").is_some() {
        print_share_log(&folders);
    }
    Outcome {
        processes,
        started,
        members,
        stats: world.sandbox().stats(),
        reads_until_full,
        listings_until_full,
        delays,
        unreached,
        exact,
        shares,
    }
}

/// A data folder with the account added (the same token for everyone).
fn add_member(world: &World, settings: &Settings, index: usize) -> Member {
    let cli = world
        .cli_in(&format!("computer-{index}"))
        .with_env("PARLEY_RATE_LIMIT_SCALE", &settings.scale.to_string());
    world.add_pact_account(&cli, ACCOUNT).assert_ok();
    Member {
        cli,
        full_at: None,
        rate_limited: 0,
        syncs: 0,
        failures: Vec::new(),
    }
}

/// Runs `sync` again and again until told to stop, as the app syncs in the background.
fn keep_syncing(member: &Mutex<Member>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let cli = lock(member).cli.clone();
        let outcome = cli.run_timeout(
            &["sync", "--account", ACCOUNT, "--json"],
            None,
            SYNC_TIMEOUT,
        );
        let mut member = lock(member);
        member.syncs += 1;
        if !outcome.success() {
            member.failures.push(outcome.describe());
            return;
        }
        member.full_at.get_or_insert_with(Instant::now);
        let report: Value = serde_json::from_str(outcome.stdout.trim()).unwrap_or(Value::Null);
        member.rate_limited += report["rate_limited"].as_u64().unwrap_or(0);
    }
}

/// Pushes a customer message every `push_every_real / scale` seconds for `push_for` seconds, then
/// waits until every process has a full cache and every pushed message reached every cache.
fn push_and_wait(
    world: &World,
    settings: &Settings,
    members: &[Arc<Mutex<Member>>],
    arrivals: &Mutex<Arrivals>,
    push_for: f64,
) {
    let sandbox = world.sandbox();
    let ids: Vec<i64> = sandbox.conversations().iter().map(|c| c.id).collect();
    let mut rng = StdRng::seed_from_u64(SEED);
    let every = Duration::from_secs_f64(settings.push_every_real / settings.scale);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(push_for * 10.0) + SYNC_TIMEOUT;
    let mut next_push = started + every;
    let mut pushed = 0;
    loop {
        let now = Instant::now();
        if now >= next_push && now.duration_since(started).as_secs_f64() < push_for {
            pushed += 1;
            let conversation = ids[rng.gen_range(0..ids.len())];
            let id = sandbox.push_incoming_message(conversation, &format!("customer {pushed}"));
            if id != 0 {
                lock(arrivals)
                    .pushed
                    .insert(id.to_string(), (Instant::now(), HashMap::new()));
            }
            next_push += every;
        }
        let pushing = now.duration_since(started).as_secs_f64() < push_for;
        let all_full = members.iter().all(|m| lock(m).full_at.is_some());
        let failed = members.iter().any(|m| !lock(m).failures.is_empty());
        let all_reached = lock(arrivals)
            .pushed
            .values()
            .all(|(_, reached)| reached.len() == members.len());
        if failed || now >= deadline || (!pushing && all_full && all_reached) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Polls every cache for the pushed messages until told to stop.
async fn watch(folders: Vec<PathBuf>, arrivals: Arc<Mutex<Arrivals>>, stop: Arc<AtomicBool>) {
    let mut connections: Vec<Option<SqliteConnection>> = folders.iter().map(|_| None).collect();
    while !stop.load(Ordering::SeqCst) {
        for (index, folder) in folders.iter().enumerate() {
            let pending: Vec<String> = lock(&arrivals)
                .pushed
                .iter()
                .filter(|(_, (_, reached))| !reached.contains_key(&index))
                .map(|(id, _)| id.clone())
                .collect();
            if pending.is_empty() {
                continue;
            }
            if connections[index].is_none() {
                connections[index] = open_read_only(folder).await;
            }
            let Some(connection) = connections[index].as_mut() else {
                continue;
            };
            let found = cached_among(connection, &pending).await;
            let now = Instant::now();
            let mut arrivals = lock(&arrivals);
            for id in found {
                if let Some((_, reached)) = arrivals.pushed.get_mut(&id) {
                    reached.entry(index).or_insert(now);
                }
            }
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

async fn open_read_only(folder: &Path) -> Option<SqliteConnection> {
    SqliteConnectOptions::new()
        .filename(folder.join("parley.db"))
        .read_only(true)
        .connect()
        .await
        .ok()
}

async fn cached_among(connection: &mut SqliteConnection, ids: &[String]) -> Vec<String> {
    let placeholders = vec!["?"; ids.len()].join(",");
    let sql = format!("SELECT provider_id FROM messages WHERE provider_id IN ({placeholders})");
    let mut query = sqlx::query_scalar::<_, String>(&sql);
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(connection).await.unwrap_or_default()
}

/// Seconds (scaled) the shared limit needs for every process's first full sync: all their thread
/// reads at 20 a minute. The pushes run this long.
fn minimum_seconds(settings: &Settings, processes: usize) -> f64 {
    let reads = (settings.conversations * processes) as f64;
    reads / THREAD_READS_PER_MINUTE * 60.0 / settings.scale
}

/// Accepted thread reads and listings (all processes) up to `until` (all, when `None`).
fn accepted_until(sandbox: &Sandbox, until: Option<Instant>) -> (usize, usize) {
    let log = sandbox.p2_request_log();
    let count = |bucket: &str| {
        log.iter()
            .filter(|(name, at)| name == bucket && until.is_none_or(|until| *at <= until))
            .count()
    };
    (count("list_messages"), count("list_conversations"))
}

/// Seconds from each push until it was in every cache; and how many never reached them all.
fn delays_of(arrivals: &Mutex<Arrivals>, processes: usize) -> (Vec<f64>, usize) {
    let arrivals = lock(arrivals);
    let mut delays = Vec::new();
    let mut unreached = 0;
    for (pushed_at, reached) in arrivals.pushed.values() {
        match reached.values().max() {
            Some(last) if reached.len() == processes => {
                delays.push(last.duration_since(*pushed_at).as_secs_f64())
            }
            _ => unreached += 1,
        }
    }
    delays.sort_by(f64::total_cmp);
    (delays, unreached)
}

/// Each data folder's stored share of the token's limits and its count of telling 429s.
async fn shares_of(folders: &[PathBuf]) -> Vec<Option<(f64, i64)>> {
    let mut shares = Vec::new();
    for folder in folders {
        let share = match open_read_only(folder).await {
            Some(mut connection) => sqlx::query_as("SELECT share, refusals FROM request_share")
                .fetch_optional(&mut connection)
                .await
                .ok()
                .flatten(),
            None => None,
        };
        shares.push(share);
    }
    shares
}

/// The log lines in which each process's budget moved its share (`PARLEY_BENCH_VERBOSE`).
fn print_share_log(folders: &[PathBuf]) {
    for (index, folder) in folders.iter().enumerate() {
        let log = std::fs::read_to_string(folder.join("logs").join("cli.log")).unwrap_or_default();
        for line in log.lines().filter(|line| line.contains("share")) {
            println!("  computer-{index} log: {line}");
        }
    }
}

/// For each cache, what differs from the server's messages (empty: exactly equal, no duplicates).
async fn compare_caches(sandbox: &Sandbox, folders: &[PathBuf]) -> Vec<String> {
    let server: BTreeMap<String, (String, String)> = sandbox
        .conversations()
        .iter()
        .flat_map(|c| sandbox.messages(c.id))
        .map(|m| {
            let direction = if m.income { "in" } else { "out" };
            (
                m.id.to_string(),
                (direction.to_string(), m.text.unwrap_or_default()),
            )
        })
        .collect();
    let mut verdicts = Vec::new();
    for (index, folder) in folders.iter().enumerate() {
        let Some(mut connection) = open_read_only(folder).await else {
            verdicts.push(format!("computer-{index}: cache unreadable"));
            continue;
        };
        let rows: Vec<(String, String, Option<String>)> =
            sqlx::query_as("SELECT provider_id, direction, text FROM messages")
                .fetch_all(&mut connection)
                .await
                .unwrap_or_default();
        let distinct: HashSet<&str> = rows.iter().map(|(id, _, _)| id.as_str()).collect();
        let duplicates = rows.len() - distinct.len();
        let cached: BTreeMap<String, (String, String)> = rows
            .iter()
            .map(|(id, direction, text)| {
                (
                    id.clone(),
                    (direction.clone(), text.clone().unwrap_or_default()),
                )
            })
            .collect();
        let missing = server.keys().filter(|id| !cached.contains_key(*id)).count();
        let extra = cached.keys().filter(|id| !server.contains_key(*id)).count();
        let changed = server
            .iter()
            .filter(|(id, row)| cached.get(*id).is_some_and(|cached| cached != *row))
            .count();
        let _ = connection.close().await;
        if duplicates + missing + extra + changed > 0 {
            verdicts.push(format!(
                "computer-{index}: {missing} missing, {extra} not on the server, {changed} different, {duplicates} duplicates"
            ));
        }
    }
    verdicts
}

impl Outcome {
    fn print(&self, settings: &Settings) {
        let scale = settings.scale;
        println!();
        println!("== {} process(es) on one token ==", self.processes);
        let refused = self.stats.p2_rate_limited;
        let requests = self.stats.p2_requests;
        let share = 100.0 * refused as f64 / requests.max(1) as f64;
        let goal = if self.processes > 1 {
            " (goal <= 1 %)"
        } else {
            ""
        };
        println!("p2 requests {requests}, answered 429: {refused} = {share:.2} %{goal}");
        let reads_minimum = self.reads_until_full as f64 / THREAD_READS_PER_MINUTE * 60.0 / scale;
        let listings_minimum = self.listings_until_full as f64 / LISTINGS_PER_MINUTE * 60.0 / scale;
        let minimum = reads_minimum.max(listings_minimum);
        println!(
            "limit minimum until the last full cache: {} thread reads / 20 a min = {reads_minimum:.2} s, \
             {} listings / 10 a min = {listings_minimum:.2} s -> {minimum:.2} s scaled ({:.1} min real)",
            self.reads_until_full,
            self.listings_until_full,
            minimum * scale / 60.0
        );
        let goal = if self.processes > 1 { 1.2 } else { 1.05 };
        for (index, member) in self.members.iter().enumerate() {
            let full = member
                .full_at
                .map(|at| at.duration_since(self.started).as_secs_f64());
            match full {
                Some(full) => println!(
                    "  computer-{index}: full cache after {full:.2} s scaled ({:.1} min real), \
                     {:.3}x the minimum (goal <= {goal}); {} syncs, 429s it met {}",
                    full * scale / 60.0,
                    full / minimum,
                    member.syncs,
                    member.rate_limited
                ),
                None => println!("  computer-{index}: never had a full cache"),
            }
            match self.shares.get(index).copied().flatten() {
                Some((share, told)) => println!(
                    "    its share of the token's limits at the end: {:.0} % ({told} 429s told of others)",
                    share * 100.0
                ),
                None => println!("    its share at the end: all of the limits (it never met another client)"),
            }
            for failure in &member.failures {
                println!("    failed: {failure}");
            }
        }
        self.print_delays(scale);
        match self.exact.is_empty() {
            true => println!(
                "caches: all {} equal the server's messages exactly, no duplicates",
                self.processes
            ),
            false => println!("caches DIFFER: {}", self.exact.join("; ")),
        }
        self.print_clients();
    }

    fn print_delays(&self, scale: f64) {
        if self.delays.is_empty() {
            println!(
                "customer messages: none reached every cache ({} pushed)",
                self.unreached
            );
            return;
        }
        println!(
            "customer message to every cache: {} messages, p50 {:.2} s scaled ({:.0} s real), \
             p95 {:.2} s scaled ({:.0} s real), max {:.0} s real; {} never reached them all",
            self.delays.len(),
            quantile(&self.delays, 0.5),
            quantile(&self.delays, 0.5) * scale,
            quantile(&self.delays, 0.95),
            quantile(&self.delays, 0.95) * scale,
            quantile(&self.delays, 1.0) * scale,
            self.unreached
        );
    }

    fn print_clients(&self) {
        let parley: Vec<_> = self
            .stats
            .p2_clients
            .iter()
            .filter(|(agent, _)| agent.starts_with("parley/"))
            .collect();
        if std::env::var_os("PARLEY_BENCH_VERBOSE").is_some() {
            for (agent, counts) in &parley {
                println!(
                    "  {agent}: {} requests, {} answered 429",
                    counts.requests, counts.rate_limited
                );
            }
        }
        let refused_by: Vec<u64> = parley.iter().map(|(_, c)| c.rate_limited).collect();
        println!(
            "sandbox per client: {} parley processes (one per sync run), 429s per process: max {}, \
             processes that met any: {}",
            parley.len(),
            refused_by.iter().max().copied().unwrap_or(0),
            refused_by.iter().filter(|n| **n > 0).count()
        );
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
