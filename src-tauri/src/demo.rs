//! Demo mode (`parley --demo`): the sandbox server runs inside the app on 127.0.0.1 (a free port), with
//! demo accounts in a temporary data folder that is removed on exit. Tokens stay in memory (no keyring
//! needed). The first sync runs in the background with progress, and every 20–40 s a customer writes in
//! a random conversation, so notifications and live updates can be seen with no token and no network.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parley_core::{MemorySecretStore, NewAccount, Parley, ProviderKind, Secret};
use parley_sandbox::{Sandbox, SandboxConfig};
use rand::Rng;
use tauri::{AppHandle, Manager};

use crate::background;

/// The command-line switch.
pub const FLAG: &str = "--demo";
/// The shortest and longest pause between two incoming demo messages.
const INCOMING_EVERY: (Duration, Duration) = (Duration::from_secs(20), Duration::from_secs(40));

/// A running demo: the sandbox and the temporary data folder, both gone when dropped.
pub struct Demo {
    sandbox: Sandbox,
    folder: tempfile::TempDir,
}

/// One account the demo adds.
struct DemoAccount {
    account: NewAccount,
    token: Secret,
}

/// The demo, kept by the app until it exits.
#[derive(Default)]
pub struct DemoState(Mutex<Option<Demo>>);

impl Demo {
    /// Starts the sandbox and makes the temporary data folder.
    pub async fn start() -> std::io::Result<Demo> {
        let folder = tempfile::Builder::new().prefix("parley-demo-").tempdir()?;
        let sandbox = Sandbox::start(sandbox_config()).await?;
        Ok(Demo { sandbox, folder })
    }

    /// The temporary data folder.
    pub fn data_dir(&self) -> PathBuf {
        self.folder.path().join("data")
    }

    /// Opens the core over the temporary folder with an in-memory token store and adds the demo
    /// accounts (one server round trip each, to check the token).
    pub async fn open_core(&self) -> Result<Parley, String> {
        let parley = Parley::open(&self.data_dir(), Arc::new(MemorySecretStore::default()))
            .await
            .map_err(|error| error.to_string())?;
        for demo in self.accounts() {
            let name = demo.account.name.clone();
            parley
                .add_account(demo.account, demo.token)
                .await
                .map_err(|error| format!("cannot add the demo account {name}: {error}"))?;
        }
        Ok(parley)
    }

    /// The accounts the demo shows. A second provider's demo account is one more entry here.
    fn accounts(&self) -> Vec<DemoAccount> {
        vec![
            DemoAccount {
                account: NewAccount {
                    name: "demo".to_string(),
                    // Pact's current API, inside its real rate limits: the inbox lists at once, the
                    // open conversation's thread comes first, the rest follows at p2's pace.
                    provider: ProviderKind::Pact,
                    base_url: Some(self.sandbox.pact_root_url()),
                    company_ids: Vec::new(),
                },
                token: Secret::new(self.sandbox.token()),
            },
            DemoAccount {
                account: NewAccount {
                    name: "demo-voipbin".to_string(),
                    provider: ProviderKind::Voipbin,
                    base_url: Some(self.sandbox.voipbin_base_url()),
                    company_ids: Vec::new(),
                },
                token: Secret::new(self.sandbox.voipbin_access_key()),
            },
        ]
    }

    /// Where the data folder is, for the log line at start.
    pub fn folder(&self) -> &Path {
        self.folder.path()
    }
}

/// The demo data: two companies, enough conversations to scroll, threads long enough to page, and
/// deliveries that take a moment so "sent" then "delivered" can be seen.
fn sandbox_config() -> SandboxConfig {
    SandboxConfig {
        seed: 42,
        companies: 2,
        conversations: 120,
        messages_per_conversation: 60,
        token: "demo-token".to_string(),
        job_delay: Duration::from_millis(1500),
        live_incoming_every: None,
        voipbin_conversations: 30,
        voipbin_messages_per_conversation: 40,
        ..SandboxConfig::default()
    }
}

/// Keeps the demo until the app exits, and starts the task that brings in customer messages.
pub fn run(app: &AppHandle, demo: Demo) {
    eprintln!(
        "parley: demo mode: sandbox on {}, data in {} (removed on exit)",
        demo.sandbox.pact_root_url(),
        demo.folder().display()
    );
    app.manage(DemoState(Mutex::new(Some(demo))));
    tauri::async_runtime::spawn(bring_in_messages(app.clone()));
    stop_on_signals(app);
}

/// Stops the sandbox and removes the temporary folder (at exit).
pub fn finish(app: &AppHandle) {
    if let Some(state) = app.try_state::<DemoState>() {
        let demo = state
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        drop(demo);
    }
}

/// Where a demo customer writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DemoChannel {
    /// A Pact conversation: the app learns of it by syncing, so a sync follows at once.
    Pact,
    /// A VoIPbin conversation: announced on the WebSocket, so the live watcher shows it by itself.
    Voipbin,
}

/// Every 20–40 s a customer writes in a random conversation of either demo account.
async fn bring_in_messages(app: AppHandle) {
    loop {
        let (pause, channel) = {
            let mut rng = rand::thread_rng();
            let channel = if rng.gen_bool(0.5) {
                DemoChannel::Pact
            } else {
                DemoChannel::Voipbin
            };
            (rng.gen_range(INCOMING_EVERY.0..=INCOMING_EVERY.1), channel)
        };
        tokio::time::sleep(pause).await;
        let pushed = app.try_state::<DemoState>().and_then(|state| {
            let guard = state
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            guard.as_ref().map(|demo| match channel {
                DemoChannel::Pact => demo.sandbox.push_live_incoming().is_some(),
                DemoChannel::Voipbin => demo.sandbox.push_live_voipbin_incoming().is_some(),
            })
        });
        match pushed {
            Some(true) if channel == DemoChannel::Pact => background::sync_soon(&app),
            Some(_) => {}
            None => return,
        }
    }
}

/// Ctrl+C or a TERM signal ends the app normally, so the temporary folder is removed.
fn stop_on_signals(app: &AppHandle) {
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        wait_for_signal().await;
        handle.exit(0);
    });
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
