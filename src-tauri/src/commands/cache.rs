//! Cache commands: what happened to a local cache that could not be used (moved aside at start-up),
//! for the window's notice, and dismissing that notice.

use parley_core::CacheRecovery;
use tauri::State;

use super::AppState;
use crate::error::CommandResult;

/// The cache that was moved aside and not yet acknowledged, if any.
#[tauri::command]
pub async fn cache_recovery(state: State<'_, AppState>) -> CommandResult<Option<CacheRecovery>> {
    Ok(state.parley.recovery())
}

/// The user read the notice: it is not shown again.
#[tauri::command]
pub async fn cache_acknowledge(state: State<'_, AppState>) -> CommandResult<()> {
    Ok(state.parley.acknowledge_recovery().await?)
}
