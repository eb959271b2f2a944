//! Background work while the window is open: a sync of every account on a timer, and the outbox worked as
//! soon as an entry falls due (so a message written offline goes out when the network returns). The UI
//! never polls: it hears about changes through events.

use std::time::Duration;

use tauri::{AppHandle, Emitter};

use crate::commands::messages::OUTBOX_CHANGED;
use crate::commands::sync::{app_state, sync_accounts};

/// How often every account is synced. Pact p1 documents no rate limit; a minute keeps the inbox fresh
/// at a cost of a few requests per account per minute (conversation list pages plus changed threads).
const SYNC_EVERY: Duration = Duration::from_secs(60);
/// The shortest pause between two rounds, so a failing server is never hammered.
const MIN_PAUSE: Duration = Duration::from_secs(2);

/// Starts the background loop on Tauri's runtime.
pub fn start(app: AppHandle) {
    tauri::async_runtime::spawn(run(app));
}

async fn run(app: AppHandle) {
    let mut next_sync = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_sync {
            // Failures reach the UI as events (connectivity) and on the outbox entries; keep going.
            let _ = sync_accounts(&app, &app_state(&app), None).await;
            next_sync = tokio::time::Instant::now() + SYNC_EVERY;
        }
        work_due_outbox(&app).await;
        tokio::time::sleep(pause_until_next_work(&app, next_sync).await).await;
    }
}

/// Sends whatever the outbox has due, and tells the UI when something moved.
async fn work_due_outbox(app: &AppHandle) {
    let state = app_state(app);
    let Ok(Some(due_in)) = state.parley.outbox_next_due_in().await else {
        return;
    };
    if due_in.is_zero() && state.parley.process_outbox(None).await.is_ok() {
        let _ = app.emit(OUTBOX_CHANGED, ());
    }
}

/// Sleeps until the next sync or the next outbox entry, whichever comes first.
async fn pause_until_next_work(app: &AppHandle, next_sync: tokio::time::Instant) -> Duration {
    let until_sync = next_sync.saturating_duration_since(tokio::time::Instant::now());
    let until_outbox = app_state(app)
        .parley
        .outbox_next_due_in()
        .await
        .ok()
        .flatten()
        .unwrap_or(SYNC_EVERY);
    until_sync.min(until_outbox).max(MIN_PAUSE)
}
