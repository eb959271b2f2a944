//! Attachment commands: the bytes of an image attachment for its preview in the thread (fetched into the
//! data folder on demand, shown by the UI through a `blob:` URL, so the page needs no file access).

use tauri::ipc::Response;
use tauri::State;

use super::{conversation, AppState};
use crate::error::{CommandResult, IpcError};

/// The largest image the thread previews.
const MAX_PREVIEW_BYTES: u64 = 10 * 1024 * 1024;

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
