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
//! `performance.mark("inbox-painted")` (both wall clock), so WebDriver's overhead is not in it. The start
//! time is placed on the wall clock through `/proc/uptime` (10 ms steps), not `btime` (whole seconds).
//! Each run also prints where the launch went (process start -> page navigation start -> DOM ready ->
//! inbox painted), the PSS after each step and per process, and how many rows the virtual list holds in
//! the DOM; it checks that the thread-painted mark follows the click and that the opened thread shows the
//! clicked conversation's newest messages, so a number that looks wrong can be traced.
//! Both marks are set in a `requestAnimationFrame` callback, i.e. just before the frame that shows the
//! change is painted: the paint itself is not in the numbers.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parley_tests::process::{median, pid_of, start_epoch_ms, tree_pss, TreeMemory};
use parley_tests::window::{app_environment, require_display, Driver, Window, UI_TIMEOUT};
use parley_tests::{rows, sandbox_config, World};
use serde_json::{json, Value};

const ACCOUNT: &str = "big";
const CONVERSATIONS: usize = 10_000;
const MESSAGES_PER_CONVERSATION: usize = 3;
const LONG_THREAD: usize = 5_000;
/// Messages a thread shows when it opens (ui/thread.js `THREAD_PAGE`).
const THREAD_PAGE: u64 = 200;
const LAUNCHES: usize = 3;
const IDLE_SETTLE: Duration = Duration::from_secs(15);
const PAINT_TIMEOUT: Duration = Duration::from_secs(120);
/// The processes the app's memory must include to be comparable with a bare Tauri window's.
const EXPECTED_PROCESSES: [&str; 3] = ["parley", "WebKitWebProces", "WebKitNetworkPr"];

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
        let run = world.block_on(measure_run(&window, &app, &long_thread));
        println!(
            "run {round}: launch -> inbox painted {:.0} ms; open {LONG_THREAD}-message thread \
             {:.0} ms; idle PSS {:.0} MB",
            run.launch_ms, run.open_ms, run.idle_pss_mb
        );
        launches.push(run.launch_ms);
        opens.push(run.open_ms);
        pss.push(run.idle_pss_mb);
        world.block_on(window.close());
        drop(driver);
    }
    let empty = empty_app_pss(&world, &app);
    println!("empty data folder: idle PSS {:.0} MB", empty.total_mb());
    println!("  idle PSS by process: {}", empty.describe());
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
    println!(
        "idle PSS with an empty data folder: {:.0} MB",
        empty.total_mb()
    );
}

/// One launch's numbers.
struct Run {
    launch_ms: f64,
    open_ms: f64,
    idle_pss_mb: f64,
}

/// Measures one launch in an open window: launch to inbox painted, opening the long thread, then the
/// idle memory after [`IDLE_SETTLE`]; prints the memory at each step and the list's state at idle.
async fn measure_run(window: &Window, app: &Path, long_thread: &LongThread) -> Run {
    let launch_ms = launch_to_inbox_painted(window, app).await;
    let at_inbox = tree_pss(pid_of(app).expect("the app runs"), &EXPECTED_PROCESSES).total_mb();
    let open_ms = open_thread(window, long_thread).await;
    let at_thread = tree_pss(pid_of(app).expect("the app runs"), &EXPECTED_PROCESSES).total_mb();
    tokio::time::sleep(IDLE_SETTLE).await;
    let idle = tree_pss(pid_of(app).expect("the app runs"), &EXPECTED_PROCESSES);
    println!(
        "  PSS: inbox painted {at_inbox:.0} MB -> thread open {at_thread:.0} MB -> idle {:.0} MB",
        idle.total_mb()
    );
    println!("  idle PSS by process: {}", idle.describe());
    println!("  {}", list_rows_in_dom(window).await);
    Run {
        launch_ms,
        open_ms,
        idle_pss_mb: idle.total_mb(),
    }
}

/// The long thread: its id in the sandbox and the text of its newest message.
struct LongThread {
    id: i64,
    newest_text: String,
}

/// Pushes incoming messages into the first conversation until it holds [`LONG_THREAD`].
fn fill_long_thread(world: &World) -> LongThread {
    let sandbox = world.sandbox();
    let id = sandbox.conversations()[0].id;
    for n in 0..LONG_THREAD.saturating_sub(MESSAGES_PER_CONVERSATION) {
        sandbox.push_incoming_message(id, &format!("Message number {n} of the long thread"));
    }
    let messages = sandbox.messages(id);
    assert_eq!(messages.len(), LONG_THREAD, "the long thread's size");
    let newest_text = messages
        .last()
        .and_then(|message| message.text.clone())
        .expect("the newest message has text");
    LongThread { id, newest_text }
}

/// `target/release/parley`, or `PARLEY_APP_BIN`.
fn app_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PARLEY_APP_BIN") {
        return PathBuf::from(path);
    }
    parley_tests::window::app_binary()
}

/// Milliseconds from the app process's start to the page's `inbox-painted` mark; prints the steps in
/// between (the page's navigation start and DOM ready, from its navigation timing).
async fn launch_to_inbox_painted(window: &Window, app: &Path) -> f64 {
    let painted = window.wait_for_mark("inbox-painted", PAINT_TIMEOUT).await;
    let started = start_epoch_ms(pid_of(app).expect("the app runs"));
    let page = window
        .js(
            "const n = performance.getEntriesByType('navigation')[0] || {};\
             return { origin: performance.timeOrigin, domReady: n.domContentLoadedEventEnd || null,\
                      load: n.loadEventEnd || null, skew: Date.now() - (performance.timeOrigin + performance.now()) };",
            vec![],
        )
        .await;
    let origin = page["origin"].as_f64().expect("performance.timeOrigin");
    println!(
        "  launch steps: process start -> page navigation start {:.0} ms -> DOM ready +{:.0} ms -> \
         load +{:.0} ms -> inbox painted +{:.0} ms (page clock vs Date.now: {:.0} ms)",
        origin - started,
        page["domReady"].as_f64().unwrap_or(f64::NAN),
        page["load"].as_f64().unwrap_or(f64::NAN),
        painted - origin,
        page["skew"].as_f64().unwrap_or(f64::NAN),
    );
    painted - started
}

/// Finds the long thread's row (`data-id` = `ACCOUNT/ID`, exactly) in the virtual list, clicks it, and
/// returns the milliseconds until the page's `thread-painted` mark that follows the click. Checks the
/// mark really came after the click and that the thread on screen is the clicked one with its newest
/// messages.
async fn open_thread(window: &Window, thread: &LongThread) -> f64 {
    let key = format!("{ACCOUNT}/{}", thread.id);
    window
        .js(
            "performance.clearMarks('thread-painted'); return true;",
            vec![],
        )
        .await;
    window.record_ipc().await;
    let clicked = click_row(window, &key).await;
    let at = clicked["at"].as_f64().expect("the click time");
    let painted = window.wait_for_mark("thread-painted", PAINT_TIMEOUT).await;
    assert!(
        painted >= at,
        "the 'thread-painted' mark ({painted}) is older than the click ({at})"
    );
    println!("  IPC while opening: {}", ipc_calls_since(window, at).await);
    let shown = window
        .js(
            "const items = document.querySelectorAll('#messages li.message');\
             const text = (li) => li?.querySelector('.message__text')?.textContent ?? null;\
             return { title: document.getElementById('thread-title').textContent, count: items.length,\
                      newest: text(items[items.length - 1]), oldest: text(items[0]) };",
            vec![],
        )
        .await;
    assert_eq!(
        shown["title"], clicked["title"],
        "the thread shown: {shown}"
    );
    assert_eq!(
        shown["newest"],
        json!(thread.newest_text),
        "the newest message at the bottom: {shown}"
    );
    assert_eq!(
        shown["count"],
        json!(THREAD_PAGE),
        "messages drawn: {shown}"
    );
    println!(
        "  thread shown: {} messages drawn, oldest {}, newest {}",
        shown["count"], shown["oldest"], shown["newest"]
    );
    painted - at
}

/// The commands called since `since` (epoch ms): when each started after it and how long it took.
async fn ipc_calls_since(window: &Window, since: f64) -> String {
    window
        .recorded_ipc()
        .await
        .iter()
        .filter(|call| !call.command.starts_with("plugin:"))
        .map(|call| {
            let took = call.end.map_or("unfinished".to_string(), |end| {
                format!("{:.0} ms", end - call.start)
            });
            format!(
                "{} at +{:.0} ms took {took}",
                call.command,
                call.start - since
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Clicks the row whose `data-id` is `key` once it is rendered (the list is virtual and re-renders,
/// so finding and clicking happen in one script); returns `{ at, title }` with the click's time.
async fn click_row(window: &Window, key: &str) -> Value {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let clicked = window
            .js(
                "const row = Array.from(document.querySelectorAll('#conversations li.conversation'))\
                   .find(r => r.dataset.id === arguments[0]);\
                 if (!row) return null;\
                 const title = row.querySelector('.conversation__title').textContent;\
                 const at = performance.timeOrigin + performance.now(); row.click();\
                 return { at, title };",
                vec![json!(key)],
            )
            .await;
        if !clicked.is_null() {
            return clicked;
        }
        let rows = window
            .js(
                "return Array.from(document.querySelectorAll('#conversations li.conversation'))\
                   .slice(0, 5).map(r => r.dataset.id);",
                vec![],
            )
            .await;
        assert!(
            Instant::now() < deadline,
            "no row with data-id {key} in the list within {UI_TIMEOUT:?}; first rows: {rows}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens the app on an empty data folder, lets it settle, and returns its process tree's memory.
fn empty_app_pss(world: &World, app: &Path) -> TreeMemory {
    let data = world.root().join("empty-data");
    std::fs::create_dir_all(&data).expect("create the empty data folder");
    let env = app_environment(&data, &world.root().join("home"));
    let driver = Driver::start(&env, &world.root().join("driver-empty.log"));
    let window = world.block_on(Window::open(&driver, app));
    std::thread::sleep(IDLE_SETTLE);
    let memory = tree_pss(pid_of(app).expect("the app runs"), &EXPECTED_PROCESSES);
    world.block_on(window.close());
    memory
}

/// How many rows the virtual conversation list holds in the DOM (it should be the rows in view plus
/// the overscan, about 70), and its box's height beside the inbox column's.
async fn list_rows_in_dom(window: &Window) -> String {
    let list = window
        .js(
            "const l = document.getElementById('conversations');\
             return { rows: l.querySelectorAll('li.conversation').length,\
                      placeholders: l.querySelectorAll('li.conversation-placeholder').length,\
                      listHeight: Math.round(l.getBoundingClientRect().height),\
                      inboxHeight: Math.round(document.querySelector('.inbox').getBoundingClientRect().height),\
                      domNodes: document.getElementsByTagName('*').length };",
            vec![],
        )
        .await;
    format!(
        "conversation list in the DOM at idle: {} rows + {} placeholders; list box {} px tall in a \
         {} px inbox column; {} DOM nodes",
        list["rows"], list["placeholders"], list["listHeight"], list["inboxHeight"], list["domNodes"]
    )
}
