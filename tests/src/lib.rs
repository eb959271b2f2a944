//! Acceptance-test harness: an in-process Pact p1 sandbox, a private folder per test, and the real
//! `parley-cli` binary run as a child process with a timeout, its every output kept in a transcript.
//!
//! Tests need a Secret Service. Run them inside a private D-Bus session with an unlocked gnome-keyring
//! (see [`require_session_bus`]); `src-tauri/scripts/test.sh` does that for CI.

pub mod cli;
pub mod compare;
pub mod daily;
pub mod media_files;
pub mod plain_text;
pub mod process;
pub mod relay;
pub mod rows;
pub mod store;
pub mod voipbin;
pub mod window;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use parley_sandbox::{Sandbox, SandboxConfig};

pub use cli::{Cli, Outcome, RunningCli, Transcript};
pub use relay::Relay;

/// A distinctive token, long enough that finding it anywhere cannot be a coincidence.
pub const SANDBOX_TOKEN: &str =
    "pk-sandbox-7Q4vXz9LmR2tW8yBnK5cJ3hF6dG1sA0pE-unmistakable-token-3b9d2f7a1c8e";

/// The command line to run the suite locally, printed when no session bus is there.
pub const LOCAL_RUN_HINT: &str =
    "dbus-run-session -- sh -c 'export RUSTUP_HOME=\"${RUSTUP_HOME:-$HOME/.rustup}\" \
CARGO_HOME=\"${CARGO_HOME:-$HOME/.cargo}\"; export HOME=$(mktemp -d); \
echo -n pw | gnome-keyring-daemon --unlock --components=secrets; cargo test -p parley-tests'";

/// Fails the test with instructions unless a D-Bus session bus (for the keyring) is available.
pub fn require_session_bus() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        panic!(
            "DBUS_SESSION_BUS_ADDRESS is not set: these tests store tokens in a Secret Service keyring.\n\
             Run them inside a private D-Bus session with an unlocked gnome-keyring, e.g.\n    {LOCAL_RUN_HINT}\n\
             (src-tauri/scripts/test.sh does this for CI)"
        );
    }
}

/// Where `parley-cli` is: `PARLEY_CLI_BIN` if set, else next to this test executable's `deps/` folder.
pub fn cli_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PARLEY_CLI_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps");
    let binary = profile_dir.join(format!("parley-cli{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} does not exist: build it first: cargo build -p parley-cli",
        binary.display()
    );
    warn_if_stale(&binary);
    binary
}

/// Says so on stderr when a source of the CLI or the crates under it is newer than the binary.
fn warn_if_stale(binary: &Path) {
    let Ok(built) = std::fs::metadata(binary).and_then(|m| m.modified()) else {
        return;
    };
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../src-tauri/crates");
    let newer = store::files_under(&crates).into_iter().find(|path| {
        path.components().any(|part| part.as_os_str() == "src")
            && std::fs::metadata(path)
                .and_then(|m| m.modified())
                .is_ok_and(|modified| modified > built)
    });
    if let Some(path) = newer {
        eprintln!(
            "warning: {} is newer than {}: the tests may run a stale binary \
             (cargo build -p parley-cli)",
            path.display(),
            binary.display()
        );
    }
}

/// A sandbox configuration with the suite's token and no latency; adjust the sizes per test.
pub fn sandbox_config(seed: u64, conversations: usize, messages: usize) -> SandboxConfig {
    SandboxConfig {
        seed,
        companies: 2,
        conversations,
        messages_per_conversation: messages,
        token: SANDBOX_TOKEN.to_string(),
        latency: Duration::ZERO,
        job_delay: Duration::from_millis(200),
        live_incoming_every: None,
        ..SandboxConfig::default()
    }
}

/// How many message-list requests (`GET .../conversations/ID/messages`) the sandbox has served.
pub fn message_list_requests(stats: &parley_sandbox::SandboxStats) -> u64 {
    stats
        .per_route
        .iter()
        .filter(|(route, _)| route.starts_with("GET ") && route.ends_with("/messages"))
        .map(|(_, count)| count)
        .sum()
}

/// One test's world: a running sandbox, a private folder, and the transcript of every CLI run.
pub struct World {
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
    root: tempfile::TempDir,
    transcript: Transcript,
    binary: PathBuf,
    added_accounts: Mutex<Vec<(PathBuf, String)>>,
}

impl World {
    /// Checks the prerequisites and starts a sandbox with `config`.
    pub fn start(config: SandboxConfig) -> World {
        require_session_bus();
        let binary = cli_binary();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let sandbox = runtime
            .block_on(Sandbox::start(config))
            .expect("the sandbox starts");
        let root = tempfile::Builder::new()
            .prefix("parley-acceptance-")
            .tempdir()
            .expect("a temp dir");
        World {
            runtime,
            sandbox: Some(sandbox),
            root,
            transcript: Transcript::default(),
            binary,
            added_accounts: Mutex::new(Vec::new()),
        }
    }

    /// The running sandbox.
    pub fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().expect("the sandbox is running")
    }

    /// Stops the current sandbox and starts another with `config` (new port, new state).
    pub fn restart_sandbox(&mut self, mut config: SandboxConfig) {
        if let Some(old) = self.sandbox.take() {
            // The same seed serves the same data only at the same anchor time.
            config.seed_anchor = config.seed_anchor.or(Some(old.seed_anchor()));
            self.runtime.block_on(old.shutdown());
        }
        let fresh = self
            .runtime
            .block_on(Sandbox::start(config))
            .expect("the sandbox restarts");
        self.sandbox = Some(fresh);
    }

    /// The sandbox's p1 base URL, e.g. `http://127.0.0.1:PORT/p1/`.
    pub fn base_url(&self) -> String {
        self.sandbox().pact_p1_base_url()
    }

    /// The folder every file of this test lives under (data dirs, HOME, XDG folders).
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Every stdout and stderr captured so far.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// Runs a future on the world's runtime (for sqlx checks and the relay).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The world's tokio runtime.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// A CLI bound to the data dir `<root>/data`.
    pub fn cli(&self) -> Cli {
        self.cli_in("data")
    }

    /// A CLI bound to the data dir `<root>/<name>` (created), sharing HOME and the transcript.
    pub fn cli_in(&self, name: &str) -> Cli {
        let data_dir = self.root().join(name);
        std::fs::create_dir_all(&data_dir).expect("create the data dir");
        Cli::new(
            self.binary.clone(),
            data_dir,
            self.root().join("home"),
            self.transcript.clone(),
        )
    }

    /// `account add --provider pact-p1 --name NAME --base-url <sandbox>` with the sandbox token on stdin.
    pub fn add_account(&self, cli: &Cli, name: &str, extra_args: &[&str]) -> Outcome {
        let base_url = self.base_url();
        self.add_account_with(cli, name, &base_url, SANDBOX_TOKEN, extra_args)
    }

    /// `account add` with an explicit base URL and token (the token goes through stdin only).
    pub fn add_account_with(
        &self,
        cli: &Cli,
        name: &str,
        base_url: &str,
        token: &str,
        extra_args: &[&str],
    ) -> Outcome {
        let mut args = vec![
            "account",
            "add",
            "--provider",
            "pact-p1",
            "--name",
            name,
            "--base-url",
            base_url,
        ];
        args.extend_from_slice(extra_args);
        self.remember_account(cli, name);
        cli.run_with_stdin(&args, &format!("{token}\n"))
    }

    /// `account add --provider pact --name NAME --base-url <sandbox root>` (Pact's current API, p2
    /// with p1 beside it), the sandbox token on stdin.
    pub fn add_pact_account(&self, cli: &Cli, name: &str) -> Outcome {
        let root = self.sandbox().pact_root_url();
        self.remember_account(cli, name);
        cli.run_with_stdin(
            &[
                "account",
                "add",
                "--provider",
                "pact",
                "--name",
                name,
                "--base-url",
                &root,
            ],
            &format!("{SANDBOX_TOKEN}\n"),
        )
    }

    fn remember_account(&self, cli: &Cli, name: &str) {
        let mut accounts = self
            .added_accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        accounts.push((cli.data_dir().to_path_buf(), name.to_string()));
    }

    /// Best effort: removes the keyring entries of the accounts this test added, so a run against a
    /// real desktop session leaves nothing behind.
    fn forget_accounts(&self) {
        let accounts = std::mem::take(
            &mut *self
                .added_accounts
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for (data_dir, name) in accounts {
            let cli = Cli::new(
                self.binary.clone(),
                data_dir,
                self.root().join("home"),
                Transcript::default(),
            );
            let _ = cli.run_timeout(&["account", "remove", &name], None, Duration::from_secs(20));
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.forget_accounts();
        if let Some(sandbox) = self.sandbox.take() {
            self.runtime.block_on(sandbox.shutdown());
        }
    }
}

/// Polls the sandbox until `check` holds for conversation `id` (at most `timeout`), failing the test
/// with what the sandbox has otherwise.
pub async fn wait_for_conversation(
    sandbox: &Sandbox,
    id: i64,
    what: &str,
    timeout: Duration,
    check: impl Fn(&parley_sandbox::SnapshotConversation) -> bool,
) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let conversation = sandbox
            .conversations()
            .into_iter()
            .find(|c| c.id == id)
            .expect("the conversation is in the sandbox");
        if check(&conversation) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sandbox did not get {what}; it has {conversation:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
