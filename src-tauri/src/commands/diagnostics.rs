//! Diagnostics: the text the window's "Copy diagnostics" puts on the clipboard (version, OS, data
//! folder and log file, each account's provider and state, the last warnings and errors; never a token
//! or a message's text).

use tauri::State;

use super::AppState;
use crate::error::CommandResult;

/// The diagnostics as plain text, for the UI to copy.
#[tauri::command]
pub async fn diagnostics_copy(state: State<'_, AppState>) -> CommandResult<String> {
    let diagnostics = state.parley.diagnostics(crate::APP_VERSION).await?;
    tracing::info!(
        accounts = diagnostics.accounts.len(),
        problems = diagnostics.recent_problems.len(),
        "diagnostics copied"
    );
    Ok(diagnostics.to_text())
}
