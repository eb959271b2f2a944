//! Message commands: read a thread, send through the outbox.

use std::path::PathBuf;

use parley_core::MessageView;
use tauri::{AppHandle, Emitter, Manager, State};

use super::{conversation, AppState};
use crate::error::CommandResult;

/// The event the UI listens to for outbox changes; its payload is the outbox entry id.
pub const OUTBOX_CHANGED: &str = "outbox-changed";

/// The newest `limit` messages of a thread, oldest first (pending outbox entries included).
#[tauri::command]
pub async fn messages_list(
    state: State<'_, AppState>,
    account: String,
    id: String,
    limit: Option<i64>,
) -> CommandResult<Vec<MessageView>> {
    Ok(state
        .parley
        .messages(&conversation(account, id), limit)
        .await?)
}

/// Queues a message with text and/or files and starts sending it in the background; returns the outbox id
/// at once, so sending works offline and the UI shows the entry as pending.
#[tauri::command]
pub async fn messages_send(
    app: AppHandle,
    state: State<'_, AppState>,
    account: String,
    id: String,
    text: Option<String>,
    files: Vec<String>,
) -> CommandResult<i64> {
    let files: Vec<PathBuf> = files.into_iter().map(PathBuf::from).collect();
    let outbox_id = state
        .parley
        .queue_message(&conversation(account, id), text, &files)
        .await?;
    tauri::async_runtime::spawn(async move {
        let state = app.state::<AppState>();
        // A failed send is recorded on the outbox entry itself; this only notes that the worker stopped.
        if let Err(error) = state.parley.process_outbox(Some(outbox_id)).await {
            eprintln!("parley: outbox worker stopped: {error}");
        }
        let _ = app.emit(OUTBOX_CHANGED, outbox_id);
    });
    Ok(outbox_id)
}
