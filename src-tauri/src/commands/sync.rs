//! Sync command: brings every account (or one) up to date and reports progress as events.

use parley_core::{SyncProgress, SyncReport};
use tauri::{AppHandle, Emitter, State};

use super::AppState;
use crate::error::CommandResult;

/// The event carrying [`SyncProgress`] while a sync runs.
pub const SYNC_PROGRESS: &str = "sync-progress";

/// Syncs one account, or all of them; stops at the first failure.
#[tauri::command]
pub async fn sync_run(
    app: AppHandle,
    state: State<'_, AppState>,
    account: Option<String>,
) -> CommandResult<Vec<SyncReport>> {
    let names = match account {
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
        reports.push(state.parley.sync(&name, progress).await?);
    }
    Ok(reports)
}
