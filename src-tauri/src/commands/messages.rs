//! Message commands: read a thread, send (or reply) through the outbox, delete a sent message.

use std::path::PathBuf;
use std::time::Duration;

use parley_core::{MessageView, OutboxState, Outgoing, UploadProgress};
use tauri::{AppHandle, Emitter, Manager, State};

use super::{conversation, AppState};
use crate::error::CommandResult;

/// The event the UI listens to for outbox changes; its payload is the outbox entry id.
pub const OUTBOX_CHANGED: &str = "outbox-changed";

/// How many messages a thread page holds when the UI does not say.
const DEFAULT_PAGE: i64 = 200;

/// The newest `limit` messages of a thread, oldest first (pending outbox entries included); with
/// `before` (a message id), the `limit` cached messages written just before that one.
#[tauri::command]
pub async fn messages_list(
    state: State<'_, AppState>,
    account: String,
    id: String,
    limit: Option<i64>,
    before: Option<String>,
) -> CommandResult<Vec<MessageView>> {
    let conversation = conversation(account, id);
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    Ok(match before {
        Some(before) => {
            state
                .parley
                .messages_before(&conversation, &before, limit)
                .await?
        }
        None => state.parley.messages(&conversation, Some(limit)).await?,
    })
}

/// Queues a message with text, files and/or links (http(s) addresses the server fetches and attaches
/// itself) and starts sending it in the background; returns the outbox id at once, so sending works
/// offline and the UI shows the entry as pending. With `reply_to` (a message's provider id) the
/// message answers that one, which the customer sees quoted.
#[allow(clippy::too_many_arguments)]
#[tauri::command]
pub async fn messages_send(
    app: AppHandle,
    state: State<'_, AppState>,
    account: String,
    id: String,
    text: Option<String>,
    files: Vec<String>,
    links: Option<Vec<String>>,
    reply_to: Option<String>,
) -> CommandResult<i64> {
    let message = Outgoing {
        text,
        files: files.into_iter().map(PathBuf::from).collect(),
        links: links.unwrap_or_default(),
        reply_to,
    };
    let outbox_id = state
        .parley
        .queue_send(&conversation(account, id), message)
        .await?;
    tauri::async_runtime::spawn(follow_send(app, outbox_id));
    Ok(outbox_id)
}

/// Deletes one of the team's sent messages (`message_id`, its provider id) in the customer's messenger.
#[tauri::command]
pub async fn messages_delete(
    state: State<'_, AppState>,
    account: String,
    id: String,
    message_id: String,
) -> CommandResult<()> {
    Ok(state
        .parley
        .delete_message(&conversation(account, id), &message_id)
        .await?)
}

/// The event carrying an [`parley_core::UploadProgress`] while a send's files upload.
pub const OUTBOX_PROGRESS: &str = "outbox-progress";
/// How often the upload progress of a send is looked at while it is being worked.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// How long a fresh send is followed here before the background loop's timer takes over.
const FOLLOW_FOR: Duration = Duration::from_secs(60);

/// Works a fresh (or retried) outbox entry at once and keeps working it while it waits for delivery,
/// telling the UI after every step, so "pending → sent → delivered" shows as it happens rather than at
/// the background loop's next round. A failed send is recorded on the entry itself.
pub async fn follow_send(app: AppHandle, outbox_id: i64) {
    let state = app.state::<AppState>();
    let deadline = tokio::time::Instant::now() + FOLLOW_FOR;
    loop {
        work_outbox_reporting_uploads(&app, Some(outbox_id)).await;
        let _ = app.emit(OUTBOX_CHANGED, outbox_id);
        let waiting = matches!(
            state
                .parley
                .outbox_entry(outbox_id)
                .await
                .map(|entry| entry.status),
            Ok(OutboxState::Sent)
        );
        let due_in = state.parley.outbox_next_due_in().await.ok().flatten();
        let (true, Some(due_in)) = (waiting, due_in) else {
            return;
        };
        let wake_at = tokio::time::Instant::now() + due_in.max(Duration::from_millis(100));
        if wake_at > deadline {
            return;
        }
        tokio::time::sleep_until(wake_at).await;
    }
}

/// Works the outbox once (only entry `only`, or everything due); while it runs, tells the UI how far
/// each file on its way has got. Returns whether the work went through without a local error.
pub async fn work_outbox_reporting_uploads(app: &AppHandle, only: Option<i64>) -> bool {
    let state = app.state::<AppState>();
    let mut reported: Vec<UploadProgress> = Vec::new();
    let result = state
        .parley
        .process_outbox_watching_uploads(only, PROGRESS_EVERY, |uploads| {
            for progress in uploads
                .iter()
                .filter(|progress| !reported.contains(progress))
            {
                let _ = app.emit(OUTBOX_PROGRESS, progress);
            }
            reported = uploads.to_vec();
        })
        .await;
    if let Err(error) = &result {
        eprintln!("parley: outbox worker stopped: {error}");
        tracing::warn!(
            "outbox worker stopped: {}",
            parley_core::logging::describe_error(error)
        );
    }
    result.is_ok()
}
