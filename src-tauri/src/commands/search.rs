//! Search command over the cached messages and conversation names.

use parley_core::SearchHit;
use tauri::State;

use super::AppState;
use crate::error::CommandResult;

/// Conversation-name hits, then message hits newest first.
#[tauri::command]
pub async fn search_query(
    state: State<'_, AppState>,
    query: String,
    limit: Option<i64>,
) -> CommandResult<Vec<SearchHit>> {
    Ok(state.parley.search(&query, limit.unwrap_or(50)).await?)
}
