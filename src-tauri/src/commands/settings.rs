//! Settings commands: small values the window keeps (the user's own id per account, recent assignees).

use tauri::State;

use super::AppState;
use crate::error::CommandResult;

/// A setting's value, if set.
#[tauri::command]
pub async fn settings_get(
    state: State<'_, AppState>,
    key: String,
) -> CommandResult<Option<String>> {
    Ok(state.parley.setting(&key).await?)
}

/// Sets a setting (an empty value removes it).
#[tauri::command]
pub async fn settings_set(
    state: State<'_, AppState>,
    key: String,
    value: String,
) -> CommandResult<()> {
    Ok(state.parley.set_setting(&key, &value).await?)
}
