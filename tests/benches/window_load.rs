//! Measures the real window (no assertions, numbers only): the time from the app's launch to the cached
//! inbox painted with 10,000 conversations in the cache, the time to open a thread of 5,000 messages,
//! and the idle memory of the app's process tree as PSS (the app, WebKitWebProcess and
//! WebKitNetworkProcess), beside the same app on an empty data folder.
//!
//! Needs what the window tests need (Xvfb, tauri-driver, a keyring session) and release builds:
//!
//! ```text
//! cargo build --release -p parley-app -p parley-cli
//! PATH=$PWD/target/tools/bin:$PATH bash src-tauri/scripts/with-keyring.sh \
//!     xvfb-run -a -s "-screen 0 1280x800x24" cargo bench -p parley-tests --bench window_load
//! ```
//!
//! Launch time is measured from the kernel's start time of the `parley` process to the page's own
//! `performance.mark("inbox-painted")` (both wall clock), so WebDriver's overhead is not in it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parley_tests::window::{app_environment, require_display, Driver, Window};
use parley_tests::{rows, sandbox_config, World};
use serde_json::{json, Value};

const ACCOUNT: &str = "big";
const CONVERSATIONS: usize = 10_000;
const MESSAGES_PER_CONVERSATION: usize = 3;
const LONG_THREAD: usize = 5_000;
const LAUNCHES: usize = 3;
const IDLE_SETTLE: Duration = Duration::from_secs(15);
const PAINT_TIMEOUT: Duration = Duration::from_secs(120);

fn main() {
    require_display();
    let world = World::start(sandbox_config(7, CONVERSATIONS, MESSAGES_PER_CONVERSATION));
    let long_thread = fill_long_thread(&world);
    let cli = world.cli();
    world.add_account(&cli, ACCOUNT, &[]).assert_ok();
    let started = Instant::now();
    let report = rows::sync(&cli, ACCOUNT);
    println!(
        "setup: first sync of {CONVERSATIONS} conversations ({} messages) by parley-cli: {:.1?}",
        report.new_messages,
        started.elapsed()
    );

    let app = app_binary();
    println!("app: {}", app.display());
    let env = app_environment(cli.data_dir(), &world.root().join("home"));
    let mut launches = Vec::new();
    let mut opens = Vec::new();
    let mut pss = Vec::new();
    for round in 1..=LAUNCHES {
        let driver = Driver::start(&env, &world.root().join(format!("driver-{round}.log")));
        let window = world.block_on(Window::open(&driver, &app));
        let launch = world.block_on(launch_to_inbox_painted(&window, &app));
        let open = world.block_on(open_thread(&window, &long_thread));
        std::thread::sleep(IDLE_SETTLE);
        let memory = process_tree_pss_kib(&app);
        println!(
            "run {round}: launch -> inbox painted {launch:.0} ms; open {LONG_THREAD}-message thread \
             {open:.0} ms; idle PSS {:.0} MB",
            memory as f64 / 1024.0
        );
        launches.push(launch);
        opens.push(open);
        pss.push(memory as f64 / 1024.0);
        world.block_on(window.close());
        drop(driver);
    }
    let empty = empty_app_pss(&world, &app);
    println!("--- window, {CONVERSATIONS} conversations cached, median of {LAUNCHES} ---");
    println!(
        "launch -> cached inbox painted: {:.0} ms",
        median(&launches)
    );
    println!(
        "open a {LONG_THREAD}-message thread: {:.0} ms",
        median(&opens)
    );
    println!("idle PSS of the process tree: {:.0} MB", median(&pss));
    println!("idle PSS with an empty data folder: {empty:.0} MB");
}

/// Pushes incoming messages into the first conversation until it holds [`LONG_THREAD`].
fn fill_long_thread(world: &World) -> i64 {
    let sandbox = world.sandbox();
    let conversation = sandbox.conversations()[0].id;
    for n in 0..LONG_THREAD.saturating_sub(MESSAGES_PER_CONVERSATION) {
        sandbox.push_incoming_message(
            conversation,
            &format!("Message number {n} of the long thread"),
        );
    }
    conversation
}

/// `target/release/parley`, or `PARLEY_APP_BIN`.
fn app_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PARLEY_APP_BIN") {
        return PathBuf::from(path);
    }
    parley_tests::window::app_binary()
}

/// Milliseconds from the app process's start to the page's `inbox-painted` mark.
async fn launch_to_inbox_painted(window: &Window, app: &Path) -> f64 {
    let painted = wait_for_mark(window, "inbox-painted").await;
    let started = process_start_epoch_ms(app_pid(app).expect("the app runs"));
    painted - started
}

/// Clicks the long thread in the list and returns the milliseconds until its messages are painted
/// (the page's `thread-painted` mark after the click).
async fn open_thread(window: &Window, conversation: &i64) -> f64 {
    window
        .js(
            "performance.clearMarks('thread-painted'); return true;",
            vec![],
        )
        .await;
    let clicked = window
        .js(
            "const row = Array.from(document.querySelectorAll('#conversations li.conversation'))\
               .find(r => (r.dataset.id || '').endsWith(String(arguments[0])));\
             if (!row) return null; const t = performance.timeOrigin + performance.now(); row.click(); return t;",
            vec![json!(conversation)],
        )
        .await;
    let clicked = clicked
        .as_f64()
        .expect("the long thread is in the list (row with data-id)");
    wait_for_mark(window, "thread-painted").await - clicked
}

/// Waits for `performance.mark(name)` in the page and returns it as epoch milliseconds.
async fn wait_for_mark(window: &Window, name: &str) -> f64 {
    let deadline = Instant::now() + PAINT_TIMEOUT;
    loop {
        let value = window
            .js(
                "const m = performance.getEntriesByName(arguments[0], 'mark');\
                 return m.length ? performance.timeOrigin + m[m.length - 1].startTime : null;",
                vec![json!(name)],
            )
            .await;
        if let Value::Number(at) = value {
            return at.as_f64().expect("a number");
        }
        assert!(
            Instant::now() < deadline,
            "no '{name}' mark within {PAINT_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Opens the app on an empty data folder, lets it settle, and returns its process tree's PSS in MB.
fn empty_app_pss(world: &World, app: &Path) -> f64 {
    let data = world.root().join("empty-data");
    std::fs::create_dir_all(&data).expect("create the empty data folder");
    let env = app_environment(&data, &world.root().join("home"));
    let driver = Driver::start(&env, &world.root().join("driver-empty.log"));
    let window = world.block_on(Window::open(&driver, app));
    std::thread::sleep(IDLE_SETTLE);
    let memory = process_tree_pss_kib(app) as f64 / 1024.0;
    world.block_on(window.close());
    memory
}

/// The pid of the running app (the process whose executable is `app`).
fn app_pid(app: &Path) -> Option<u32> {
    let app = std::fs::canonicalize(app).ok()?;
    processes()
        .into_iter()
        .find(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == app))
}

/// Every pid in /proc.
fn processes() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

/// Field `index` (1-based, as in proc(5)) of /proc/PID/stat.
fn stat_field(pid: u32, index: usize) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    after_name.split(' ').nth(index - 3)?.parse().ok()
}

/// The process's start as epoch milliseconds (boot time + start ticks).
fn process_start_epoch_ms(pid: u32) -> f64 {
    let ticks = stat_field(pid, 22).expect("the process's start time") as f64;
    let boot = std::fs::read_to_string("/proc/stat")
        .expect("read /proc/stat")
        .lines()
        .find_map(|line| line.strip_prefix("btime ")?.trim().parse::<f64>().ok())
        .expect("btime in /proc/stat");
    (boot + ticks / clock_ticks_per_second()) * 1000.0
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Sum of `Pss:` over the app and all its descendants, in KiB.
fn process_tree_pss_kib(app: &Path) -> u64 {
    let root = app_pid(app).expect("the app runs");
    let all = processes();
    let mut tree = vec![root];
    let mut index = 0;
    while index < tree.len() {
        let parent = u64::from(tree[index]);
        tree.extend(
            all.iter()
                .filter(|pid| stat_field(**pid, 4) == Some(parent)),
        );
        index += 1;
    }
    tree.iter().map(|pid| pss_kib(*pid)).sum()
}

fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            line.strip_prefix("Pss:")?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
