//! Background work while the window is open: a sync of every account on a timer (or at once when the
//! tray's "Sync now" or demo mode asks), and the outbox worked as soon as an entry falls due (so a message
//! written offline goes out when the network returns). The UI never polls: it hears about changes
//! through events. It begins once the window has its first inbox page (or after
//! [`WAIT_FOR_FIRST_PAGE`]), so the start-up's reads of the cache do not queue behind a sync.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::Notify;

use crate::commands::messages::{work_outbox_reporting_uploads, OUTBOX_CHANGED};
use crate::commands::sync::{app_state, sync_accounts};

/// How often every account is synced. Pact p1 documents no rate limit; a minute keeps the inbox fresh
/// at a cost of a few requests per account per minute (conversation list pages plus changed threads).
const SYNC_EVERY: Duration = Duration::from_secs(60);
/// How often the servers are tried while they cannot be reached, so the offline banner goes and queued
/// messages go out soon after the network returns.
const RETRY_OFFLINE_EVERY: Duration = Duration::from_secs(10);
/// The shortest pause between two rounds, so a failing server is never hammered.
const MIN_PAUSE: Duration = Duration::from_secs(2);
/// The longest the background work waits for the window's first inbox page (a window that never
/// asks, e.g. one that failed to load, must not stop syncing).
const WAIT_FOR_FIRST_PAGE: Duration = Duration::from_secs(3);

/// Set once the window has been served its first inbox page.
#[derive(Debug, Default)]
struct FirstPage {
    served: AtomicBool,
    notify: Notify,
}

/// Wakes the background loop for a sync now.
#[derive(Debug, Default)]
struct Wake(Notify);

/// Starts the background loop on Tauri's runtime.
pub fn start(app: AppHandle) {
    app.manage(Wake::default());
    app.manage(FirstPage::default());
    tauri::async_runtime::spawn(run(app));
}

/// Asks the background loop to sync every account now (tray "Sync now", demo mode's new messages).
pub fn sync_soon(app: &AppHandle) {
    if let Some(wake) = app.try_state::<Wake>() {
        wake.0.notify_one();
    }
}

/// Tells the background work the window has its first inbox page, so it may begin.
pub fn first_page_served(app: &AppHandle) {
    let Some(first) = app.try_state::<FirstPage>() else {
        return;
    };
    if !first.served.swap(true, Ordering::SeqCst) {
        crate::startup::done("first inbox page served");
        first.notify.notify_one();
    }
}

async fn run(app: AppHandle) {
    let first = app.state::<FirstPage>();
    let _ = tokio::time::timeout(WAIT_FOR_FIRST_PAGE, first.notify.notified()).await;
    crate::notify::remember_inbox(&app).await;
    let mut next_sync = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_sync {
            // Failures reach the UI as events (connectivity) and on the outbox entries; keep going.
            let result = sync_accounts(&app, &app_state(&app), None).await;
            let offline = result.is_err_and(|error| error.code == "offline");
            let every = if offline {
                RETRY_OFFLINE_EVERY
            } else {
                SYNC_EVERY
            };
            next_sync = tokio::time::Instant::now() + every;
        }
        work_due_outbox(&app).await;
        let pause = pause_until_next_work(&app, next_sync).await;
        let wake = app.state::<Wake>();
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = wake.0.notified() => next_sync = tokio::time::Instant::now(),
        }
    }
}

/// Sends whatever the outbox has due, and tells the UI when something moved.
async fn work_due_outbox(app: &AppHandle) {
    let state = app_state(app);
    let Ok(Some(due_in)) = state.parley.outbox_next_due_in().await else {
        return;
    };
    if due_in.is_zero() && work_outbox_reporting_uploads(app, None).await {
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
