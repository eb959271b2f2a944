//! Sync: the "Sync now" command and the one routine the background timer shares with it.

use parley_core::{ErrorCode, SyncProgress, SyncReport};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, State};

use super::AppState;
use crate::error::{CommandResult, IpcError};

/// The event carrying [`SyncProgress`] while a sync runs.
pub const SYNC_PROGRESS: &str = "sync-progress";
/// The event sent after a sync that brought new messages; its payload is how many.
pub const INBOX_CHANGED: &str = "inbox-changed";
/// The event telling the UI whether the servers can be reached.
pub const CONNECTIVITY: &str = "connectivity";

/// Payload of [`CONNECTIVITY`].
#[derive(Debug, Clone, Serialize)]
pub struct Connectivity {
    /// False when the last sync could not reach a server.
    pub online: bool,
}

/// Syncs one account, or all of them, now.
#[tauri::command]
pub async fn sync_run(
    app: AppHandle,
    state: State<'_, AppState>,
    account: Option<String>,
) -> CommandResult<Vec<SyncReport>> {
    sync_accounts(&app, &state, account).await
}

/// Syncs (every account when `only` is `None`), emitting progress, connectivity and inbox changes.
/// Waits for a sync already running instead of starting a second one.
pub async fn sync_accounts(
    app: &AppHandle,
    state: &AppState,
    only: Option<String>,
) -> CommandResult<Vec<SyncReport>> {
    let _running = state.sync_lock.lock().await;
    let names = match only {
        Some(name) => vec![name],
        None => state
            .parley
            .accounts()
            .await?
            .into_iter()
            .map(|account| account.name)
            .collect(),
    };
    let mut reports = Vec::with_capacity(names.len());
    for name in names {
        let handle = app.clone();
        let mut emit_progress = move |progress: SyncProgress| {
            let _ = handle.emit(SYNC_PROGRESS, progress);
        };
        let progress: &mut (dyn FnMut(SyncProgress) + Send) = &mut emit_progress;
        match state.parley.sync(&name, progress).await {
            Ok(report) => reports.push(report),
            Err(error) => {
                let offline = error.code() == ErrorCode::Offline;
                let _ = app.emit(CONNECTIVITY, Connectivity { online: !offline });
                return Err(IpcError::from(error));
            }
        }
    }
    let _ = app.emit(CONNECTIVITY, Connectivity { online: true });
    let fresh: i64 = reports.iter().map(|report| report.new_messages).sum();
    if fresh > 0 {
        let _ = app.emit(INBOX_CHANGED, fresh);
    }
    Ok(reports)
}

/// The app's state, for background tasks that hold only the handle.
pub fn app_state(app: &AppHandle) -> tauri::State<'_, AppState> {
    app.state::<AppState>()
}
