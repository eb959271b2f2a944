//! Attachment commands: the bytes of an image attachment for its preview, and of an audio or video
//! attachment for the thread's players (fetched into the data folder on demand by the core, shown by
//! the UI through a `blob:` URL, so the page needs no file access and never loads a remote address).

use tauri::ipc::Response;
use tauri::State;

use super::{conversation, AppState};
use crate::error::{CommandResult, IpcError};

/// The largest image the thread previews.
const MAX_PREVIEW_BYTES: u64 = 10 * 1024 * 1024;
/// The largest audio or video file the thread plays inline (larger ones get a file card with Open).
const MAX_MEDIA_BYTES: u64 = 64 * 1024 * 1024;

/// Downloads (once) attachment `position` (from 0) of message `message_id` and returns its bytes, if it
/// is an image no larger than 10 MB.
#[tauri::command]
pub async fn attachments_preview(
    state: State<'_, AppState>,
    account: String,
    id: String,
    message_id: String,
    position: i64,
) -> CommandResult<Response> {
    let path = state
        .parley
        .fetch_attachment(&conversation(account, id), &message_id, position)
        .await?;
    let is_image = mime_of(&path).starts_with("image/");
    let size = std::fs::metadata(&path)
        .map(|m| m.len())
        .unwrap_or(u64::MAX);
    if !is_image || size > MAX_PREVIEW_BYTES {
        return Err(invalid("this file has no preview"));
    }
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| invalid("the downloaded file cannot be read"))?;
    Ok(Response::new(bytes))
}

/// Downloads (once) attachment `position` (from 0) of message `message_id` and returns its bytes for
/// an inline player, if it is no larger than 64 MB. The page picks the player by the attachment's
/// type and falls back to a file card when WebKit cannot play it.
#[tauri::command]
pub async fn attachments_media(
    state: State<'_, AppState>,
    account: String,
    id: String,
    message_id: String,
    position: i64,
) -> CommandResult<Response> {
    let path = state
        .parley
        .fetch_attachment(&conversation(account, id), &message_id, position)
        .await?;
    let size = tokio::fs::metadata(&path)
        .await
        .map(|m| m.len())
        .unwrap_or(u64::MAX);
    if size > MAX_MEDIA_BYTES {
        return Err(invalid(
            "this file is too large to play here; open it instead",
        ));
    }
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| invalid("the downloaded file cannot be read"))?;
    Ok(Response::new(bytes))
}

fn mime_of(path: &std::path::Path) -> String {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    }
    .to_string()
}

fn invalid(message: &str) -> IpcError {
    IpcError {
        code: "invalid_input",
        message: message.to_string(),
        retryable: false,
    }
}
