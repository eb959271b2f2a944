//! Live updates in the window: one watcher per VoIPbin account follows the account's WebSocket (the
//! core writes every change into the cache and catches up over REST after each reconnect), and every
//! change it reports becomes an `inbox-changed` event, so the open thread, the list and the
//! notifications move within a moment of the customer writing. Watchers follow the account list:
//! [`refresh`] starts the missing ones and stops those of removed accounts.

use std::collections::HashMap;
use std::time::Duration;

use parley_core::{ErrorCode, LiveChange, LivePolicy, ProviderKind};
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::Mutex;

use crate::commands::sync::{app_state, Connectivity, CONNECTIVITY, INBOX_CHANGED};

/// The wait before a watcher that stopped on an error (other than rejected credentials) starts again.
/// The core already reconnects with backoff; this only covers failures it gives up on.
const RESTART_AFTER: Duration = Duration::from_secs(30);

/// The running watchers, by account name.
#[derive(Default)]
struct Watchers(Mutex<HashMap<String, JoinHandle<()>>>);

/// Registers the watcher list and starts a watcher for every VoIPbin account.
pub fn start(app: &AppHandle) {
    app.manage(Watchers::default());
    let handle = app.clone();
    tauri::async_runtime::spawn(async move { refresh(&handle).await });
}

/// Makes the watchers match the accounts: starts one for each new VoIPbin account, stops those whose
/// account is gone. Called at start and after an account is added or removed.
pub async fn refresh(app: &AppHandle) {
    let Some(watchers) = app.try_state::<Watchers>() else {
        return;
    };
    let Ok(accounts) = app_state(app).parley.accounts().await else {
        return;
    };
    let live: Vec<String> = accounts
        .into_iter()
        .filter(|account| account.provider == ProviderKind::Voipbin)
        .map(|account| account.name)
        .collect();
    let mut running = watchers.0.lock().await;
    running.retain(|name, task| {
        let keep = live.contains(name);
        if !keep {
            task.abort();
        }
        keep
    });
    for name in live {
        running
            .entry(name.clone())
            .or_insert_with(|| tauri::async_runtime::spawn(watch(app.clone(), name)));
    }
}

/// Stops the account's watcher, if it has one (before the account is removed).
pub async fn stop(app: &AppHandle, account: &str) {
    if let Some(watchers) = app.try_state::<Watchers>() {
        if let Some(task) = watchers.0.lock().await.remove(account) {
            task.abort();
        }
    }
}

/// Follows one account until its credentials are refused or the account is removed.
async fn watch(app: AppHandle, account: String) {
    loop {
        let emitter = app.clone();
        let mut on_change = move |change: LiveChange| announce(&emitter, &change);
        let result = app_state(&app)
            .parley
            .watch_live(&account, LivePolicy::default(), &mut on_change)
            .await;
        match result {
            Err(error) if error.code() == ErrorCode::Unauthorized => {
                // The next timer sync reports it to the UI with the account's name; retrying would
                // only repeat a refused login.
                return;
            }
            Err(error) if error.code() == ErrorCode::NotFound => return,
            _ => tokio::time::sleep(RESTART_AFTER).await,
        }
    }
}

/// Turns one change into the events the UI (and the notifications) listen to.
fn announce(app: &AppHandle, change: &LiveChange) {
    match change {
        LiveChange::Message { .. } | LiveChange::Conversation { .. } => {
            let _ = app.emit(INBOX_CHANGED, 1);
        }
        LiveChange::CaughtUp { new_messages, .. } if *new_messages > 0 => {
            let _ = app.emit(INBOX_CHANGED, *new_messages);
        }
        LiveChange::Connected { .. } => {
            let _ = app.emit(CONNECTIVITY, Connectivity { online: true });
        }
        _ => {}
    }
}
