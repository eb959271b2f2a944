//! Draft commands: the composer's unsent text per conversation, kept across restarts.

use tauri::State;

use super::{conversation, AppState};
use crate::error::CommandResult;

/// The conversation's draft, if any.
#[tauri::command]
pub async fn drafts_get(
    state: State<'_, AppState>,
    account: String,
    id: String,
) -> CommandResult<Option<String>> {
    Ok(state.parley.draft(&conversation(account, id)).await?)
}

/// Keeps the conversation's draft (an empty text removes it).
#[tauri::command]
pub async fn drafts_save(
    state: State<'_, AppState>,
    account: String,
    id: String,
    text: String,
) -> CommandResult<()> {
    Ok(state
        .parley
        .save_draft(&conversation(account, id), &text)
        .await?)
}
