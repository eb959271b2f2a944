//! Outbox commands: retry a failed entry (failed sends show in their thread, with the reason).

use parley_core::OutboxEntryView;
use tauri::{AppHandle, State};

use super::AppState;
use crate::error::CommandResult;

/// Makes a failed entry pending again and sends it now.
#[tauri::command]
pub async fn outbox_retry(
    app: AppHandle,
    state: State<'_, AppState>,
    id: i64,
) -> CommandResult<OutboxEntryView> {
    state.parley.retry_outbox_entry(id).await?;
    state.parley.process_outbox(Some(id)).await?;
    let entry = state.parley.outbox_entry(id).await?;
    // Keep following it to delivery in the background, telling the UI as it moves.
    tauri::async_runtime::spawn(super::messages::follow_send(app, id));
    Ok(entry)
}
