//! How much heavier Parley is than a bare Tauri 2 window (`tests/bare-window`, same Tauri, same
//! release profile), measured the same way in the same run on this machine; numbers only, no
//! assertions. With 10,000 conversations cached it prints, for both programs:
//!
//! - launch: from the kernel's start of the process to the page's `performance.mark("inbox-painted")`
//!   (median of several launches after one uncounted warm-up each, the two programs taking turns), with the steps in between (page
//!   navigation start, DOM ready) and, for Parley, its own start-up lines from `app.log`;
//! - idle memory: PSS of the process tree (the program, WebKitWebProcess, WebKitNetworkProcess) after
//!   the same settle time, per process, and the DOM's size;
//! - bytes: the size of each stripped release binary and, given unstripped copies, the crates that
//!   take the most of each (symbol sizes by crate, as `cargo bloat --crates` counts them);
//!
//! and the three ratios beside the goals (launch <= 1.2x, idle PSS <= 1.15x, binary <= 2x).
//!
//! ```text
//! PATH=$PWD/target/tools/bin:$PATH bash src-tauri/scripts/with-keyring.sh \
//!     xvfb-run -a -s "-screen 0 1280x800x24" cargo bench -p parley-tests --bench lighter
//! ```
//!
//! It first builds both programs with `cargo build --release --features tauri/custom-protocol` (as the
//! Tauri CLI builds the installed app), each on its own so neither gets the other's features;
//! `PARLEY_LIGHTER_BUILD=0` uses the binaries already in `target/release`. `PARLEY_CLI_BIN` picks the
//! `parley-cli` that fills the cache (else `target/release/parley-cli`, built here too).
//! `PARLEY_APP_BIN` and `PARLEY_BARE_BIN` measure other binaries (their file names must stay
//! `parley` and `bare-window`, the process names). `PARLEY_LIGHTER_LAUNCHES` sets the launches per program (default 5). For the crates, point
//! `PARLEY_LIGHTER_APP_SYMBOLS` and `PARLEY_LIGHTER_BARE_SYMBOLS` at unstripped release links, e.g.
//! `cargo rustc --release -p parley-app --bin parley --features tauri/custom-protocol -- -C strip=none`
//! and a copy of `target/release/parley` (the same for `parley-bare-window --bin bare-window`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use parley_tests::process::{median, pid_of, start_epoch_ms, tree_pss, TreeMemory};
use parley_tests::window::{app_environment, require_display, Driver, Window};
use parley_tests::{rows, sandbox_config, World};

const ACCOUNT: &str = "big";
const CONVERSATIONS: usize = 10_000;
const MESSAGES_PER_CONVERSATION: usize = 3;
const DEFAULT_LAUNCHES: usize = 5;
const IDLE_SETTLE: Duration = Duration::from_secs(15);
const PAINT_TIMEOUT: Duration = Duration::from_secs(120);
/// The web processes every Tauri window on Linux has (names cut to 15 bytes by the kernel).
const WEB_PROCESSES: [&str; 2] = ["WebKitWebProces", "WebKitNetworkPr"];
/// The crates listed per binary.
const TOP_CRATES: usize = 15;

/// The goals: Parley's launch, idle PSS and binary size at most these multiples of the bare window's.
const GOALS: Goals = Goals {
    launch: 1.2,
    pss: 1.15,
    binary: 2.0,
};

struct Goals {
    launch: f64,
    pss: f64,
    binary: f64,
}

/// One program measured: Parley or the bare window.
struct Subject {
    /// Also its process name.
    name: &'static str,
    package: &'static str,
    binary: PathBuf,
    symbols_env: &'static str,
    runs: Vec<Run>,
}

/// One launch's numbers.
struct Run {
    launch_ms: f64,
    navigation_ms: f64,
    dom_ready_ms: f64,
    idle: TreeMemory,
    dom_nodes: f64,
}

fn main() {
    require_display();
    let release = workspace_root().join(target_dir()).join("release");
    let mut subjects = [
        Subject::new("parley", "parley-app", &release, "PARLEY_APP_BIN"),
        Subject::new(
            "bare-window",
            "parley-bare-window",
            &release,
            "PARLEY_BARE_BIN",
        ),
    ];
    if std::env::var("PARLEY_LIGHTER_BUILD").as_deref() != Ok("0") {
        for subject in &subjects {
            build_release(subject.package, &["--features", "tauri/custom-protocol"]);
        }
        if std::env::var_os("PARLEY_CLI_BIN").is_none() {
            build_release("parley-cli", &[]);
        }
    }
    let world = World::start(sandbox_config(7, CONVERSATIONS, MESSAGES_PER_CONVERSATION));
    let cli = world.cli();
    world.add_account(&cli, ACCOUNT, &[]).assert_ok();
    let report = rows::sync(&cli, ACCOUNT);
    println!(
        "setup: {CONVERSATIONS} conversations ({} messages) cached by parley-cli",
        report.new_messages
    );
    let home = world.root().join("home");
    let launches = launches();
    // Round 0 warms up (disk cache, the session's accessibility bus) and is not counted.
    for round in 0..=launches {
        for subject in &mut subjects {
            let data = match subject.name {
                "parley" => cli.data_dir().to_path_buf(),
                _ => world.root().join("bare-data"),
            };
            let env = app_environment(&data, &home);
            let log = world
                .root()
                .join(format!("driver-{}-{round}.log", subject.name));
            let driver = Driver::start(&env, &log);
            let window = world.block_on(Window::open(&driver, &subject.binary));
            let run = world.block_on(measure(&window, subject));
            println!(
                "{} run {round}: launch {:.0} ms (navigation start {:.0} ms, DOM ready +{:.0} ms), \
                 idle PSS {:.0} MB ({}), {} DOM nodes",
                subject.name,
                run.launch_ms,
                run.navigation_ms,
                run.dom_ready_ms,
                run.idle.total_mb(),
                run.idle.describe(),
                run.dom_nodes
            );
            if subject.name == "parley" {
                print_startup_lines(&data);
            }
            if round > 0 {
                subject.runs.push(run);
            }
            world.block_on(window.close());
            drop(driver);
        }
    }
    let [app, bare] = &subjects;
    print_summary(app, bare, launches);
    print_crates(app, bare);
}

impl Subject {
    /// The program built as `release/NAME`, or the binary in the environment variable `binary_env`.
    fn new(
        name: &'static str,
        package: &'static str,
        release: &Path,
        binary_env: &'static str,
    ) -> Subject {
        let binary = std::env::var_os(binary_env)
            .map(PathBuf::from)
            .unwrap_or_else(|| release.join(name));
        let symbols_env = match name {
            "parley" => "PARLEY_LIGHTER_APP_SYMBOLS",
            _ => "PARLEY_LIGHTER_BARE_SYMBOLS",
        };
        Subject {
            name,
            package,
            binary,
            symbols_env,
            runs: Vec::new(),
        }
    }

    fn median_of(&self, value: impl Fn(&Run) -> f64) -> f64 {
        median(&self.runs.iter().map(value).collect::<Vec<_>>())
    }

    fn range_of(&self, value: impl Fn(&Run) -> f64) -> (f64, f64) {
        let values: Vec<f64> = self.runs.iter().map(value).collect();
        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (low, high)
    }

    fn binary_mb(&self) -> f64 {
        let bytes = std::fs::metadata(&self.binary)
            .unwrap_or_else(|error| panic!("{}: {error}", self.binary.display()))
            .len();
        bytes as f64 / 1_000_000.0
    }
}

/// The repository root (this crate is `tests/`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn launches() -> usize {
    std::env::var("PARLEY_LIGHTER_LAUNCHES")
        .ok()
        .and_then(|value| value.parse().ok())
        .filter(|count| *count > 0)
        .unwrap_or(DEFAULT_LAUNCHES)
}

/// `cargo build --release -p PACKAGE EXTRA…`, on its own so its features are its own.
fn build_release(package: &str, extra: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["build", "--release", "-p", package])
        .args(extra)
        .status()
        .expect("run cargo build");
    assert!(
        status.success(),
        "cargo build --release -p {package} failed"
    );
    println!("built {package} (release) in {:.0?}", started.elapsed());
}

/// Launch to painted, then the idle memory after [`IDLE_SETTLE`] and the DOM's size.
async fn measure(window: &Window, subject: &Subject) -> Run {
    let painted = window.wait_for_mark("inbox-painted", PAINT_TIMEOUT).await;
    let pid = pid_of(&subject.binary).expect("the program runs");
    let started = start_epoch_ms(pid);
    let page = window
        .js(
            "const n = performance.getEntriesByType('navigation')[0] || {};\
             return { origin: performance.timeOrigin, domReady: n.domContentLoadedEventEnd || null };",
            vec![],
        )
        .await;
    let origin = page["origin"].as_f64().expect("performance.timeOrigin");
    tokio::time::sleep(IDLE_SETTLE).await;
    let mut expected = vec![subject.name];
    expected.extend(WEB_PROCESSES);
    let idle = tree_pss(pid, &expected);
    let dom_nodes = window
        .js("return document.getElementsByTagName('*').length;", vec![])
        .await
        .as_f64()
        .unwrap_or(f64::NAN);
    Run {
        launch_ms: painted - started,
        navigation_ms: origin - started,
        dom_ready_ms: page["domReady"].as_f64().unwrap_or(f64::NAN),
        idle,
        dom_nodes,
    }
}

/// The app's own account of its last start (`start-up:` lines in `logs/app.log`).
fn print_startup_lines(data_dir: &Path) {
    let log = std::fs::read_to_string(data_dir.join("logs").join("app.log")).unwrap_or_default();
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("start-up:"))
        .collect();
    let last_start = lines
        .iter()
        .rposition(|line| line.contains("start-up: process"))
        .unwrap_or(0);
    for line in &lines[last_start..] {
        println!("    {}", line.trim());
    }
}

fn print_summary(app: &Subject, bare: &Subject, launches: usize) {
    println!(
        "--- lighter: {} vs {}, {CONVERSATIONS} conversations cached, median of {launches} launches \
         each, same run ---",
        app.name, bare.name
    );
    let launch = |run: &Run| run.launch_ms;
    let pss = |run: &Run| run.idle.total_mb();
    ratio_line(
        "launch -> painted (ms)",
        app.median_of(launch),
        bare.median_of(launch),
        GOALS.launch,
    );
    ratio_line(
        "idle PSS, process tree (MB)",
        app.median_of(pss),
        bare.median_of(pss),
        GOALS.pss,
    );
    ratio_line(
        "stripped release binary (MB)",
        app.binary_mb(),
        bare.binary_mb(),
        GOALS.binary,
    );
    for subject in [app, bare] {
        let (low, high) = subject.range_of(launch);
        println!(
            "{}: launch {low:.0}-{high:.0} ms; navigation start {:.0} ms, DOM ready +{:.0} ms; \
             idle PSS {}: {:.0} MB, {}: {:.0} MB, {}: {:.0} MB; {:.0} DOM nodes",
            subject.name,
            subject.median_of(|run| run.navigation_ms),
            subject.median_of(|run| run.dom_ready_ms),
            subject.name,
            subject.median_of(|run| run.idle.named_mb(subject.name)),
            WEB_PROCESSES[0],
            subject.median_of(|run| run.idle.named_mb(WEB_PROCESSES[0])),
            WEB_PROCESSES[1],
            subject.median_of(|run| run.idle.named_mb(WEB_PROCESSES[1])),
            subject.median_of(|run| run.dom_nodes),
        );
    }
}

fn ratio_line(what: &str, app: f64, bare: f64, goal: f64) {
    let ratio = app / bare;
    let verdict = if ratio <= goal { "met" } else { "not met" };
    println!(
        "{what:<30} parley {app:>8.1}   bare {bare:>8.1}   ratio {ratio:.2}x   goal <= {goal:.2}x ({verdict})"
    );
}

/// The biggest crates of each binary, and what Parley has that the bare window has not.
fn print_crates(app: &Subject, bare: &Subject) {
    let (Some(app_symbols), Some(bare_symbols)) = (
        std::env::var_os(app.symbols_env),
        std::env::var_os(bare.symbols_env),
    ) else {
        println!(
            "crates: set {} and {} to unstripped release links to see them",
            app.symbols_env, bare.symbols_env
        );
        return;
    };
    let app_crates = crate_sizes(Path::new(&app_symbols));
    let bare_crates = crate_sizes(Path::new(&bare_symbols));
    for (subject, crates) in [(app, &app_crates), (bare, &bare_crates)] {
        let total: u64 = crates.values().sum();
        println!(
            "{}: biggest crates of {:.2} MB of symbols: {}",
            subject.name,
            total as f64 / 1e6,
            biggest(
                crates
                    .iter()
                    .map(|(name, size)| (name.clone(), *size as i64))
            )
        );
    }
    let extra = app_crates.iter().map(|(name, size)| {
        let base = bare_crates.get(name).copied().unwrap_or(0);
        (name.clone(), *size as i64 - base as i64)
    });
    println!(
        "{} minus {}, by crate: {}",
        app.name,
        bare.name,
        biggest(extra)
    );
}

/// `name N KB` for the [`TOP_CRATES`] largest, largest first.
fn biggest(sizes: impl Iterator<Item = (String, i64)>) -> String {
    let mut sizes: Vec<(String, i64)> = sizes.collect();
    sizes.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
    sizes
        .iter()
        .take(TOP_CRATES)
        .map(|(name, size)| format!("{name} {} KB", size / 1000))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Bytes of code and data per crate in an unstripped binary, from `nm`'s demangled symbols: a Rust
/// symbol's crate is its path's first segment (`<T as tokio::…>` counts for the trait's side only
/// when T has none); other symbols (sqlite3, C libraries) go under `[C]`.
fn crate_sizes(binary: &Path) -> HashMap<String, u64> {
    let output = Command::new("nm")
        .args([
            "--print-size",
            "--size-sort",
            "--demangle",
            "--defined-only",
        ])
        .arg(binary)
        .output()
        .expect("run nm (binutils)");
    let mut sizes = HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut fields = line.splitn(4, ' ');
        let (_, Some(size), Some(kind), Some(name)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if !matches!(kind, "t" | "T" | "r" | "R" | "d" | "D") {
            continue;
        }
        let size = u64::from_str_radix(size, 16).unwrap_or(0);
        *sizes.entry(crate_of(name)).or_insert(0) += size;
    }
    sizes
}

fn crate_of(symbol: &str) -> String {
    let path = symbol.trim_start_matches(['<', '&', '*', '(']);
    let path = path
        .strip_prefix("mut ")
        .or_else(|| path.strip_prefix("dyn "))
        .or_else(|| path.strip_prefix("const "))
        .unwrap_or(path);
    match path.split_once("::") {
        Some((first, _)) if first.chars().all(|c| c.is_alphanumeric() || c == '_') => {
            first.to_string()
        }
        _ => "[C]".to_string(),
    }
}
