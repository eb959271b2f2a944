//! Files for the composer: the native picker (opened from Rust, so the UI needs no dialog permission),
//! what a drop on the window carries, files pasted from the clipboard (their bytes as a raw IPC body,
//! written into the data folder by the core) and paths pasted as a `text/uri-list`.

use std::path::{Path, PathBuf};

use parley_core::ErrorCode;
use serde::Serialize;
use tauri::ipc::{InvokeBody, Request};
use tauri::{AppHandle, Emitter, State};
use tauri_plugin_dialog::DialogExt;

use super::AppState;
use crate::error::{CommandResult, IpcError};

/// The header naming a pasted file (percent-encoded UTF-8, as `encodeURIComponent` writes it).
const PASTED_NAME_HEADER: &str = "parley-file-name";
/// The header with a pasted file's MIME type.
const PASTED_TYPE_HEADER: &str = "parley-file-type";

/// The event carrying the [`StagedFile`]s dropped on the window.
pub const FILES_DROPPED: &str = "files-dropped";

/// A file the user chose to attach, as the composer shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StagedFile {
    /// Where it is on disk (sent back with `messages_send`).
    pub path: String,
    /// Its name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Describes a path as a staged file; directories and unreadable paths are left out.
pub fn staged_file(path: &Path) -> Option<StagedFile> {
    let metadata = std::fs::metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_file)?;
    Some(StagedFile {
        path: path.to_string_lossy().into_owned(),
        name: path.file_name()?.to_string_lossy().into_owned(),
        size: metadata.len(),
    })
}

/// Opens the native file picker; resolves with the chosen files (none when cancelled).
#[tauri::command]
pub async fn files_pick(app: AppHandle) -> CommandResult<Vec<StagedFile>> {
    let (chosen, answer) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Attach files")
        .pick_files(move |paths| {
            let _ = chosen.send(paths);
        });
    let paths: Vec<PathBuf> = answer
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|path| path.into_path().ok())
        .collect();
    Ok(paths.iter().filter_map(|path| staged_file(path)).collect())
}

/// Tells the UI which files were dropped on the window.
pub fn announce_drop(app: &AppHandle, paths: &[PathBuf]) {
    let files: Vec<StagedFile> = paths.iter().filter_map(|path| staged_file(path)).collect();
    if !files.is_empty() {
        let _ = app.emit(FILES_DROPPED, files);
    }
}

/// Describes paths the page got from a pasted `text/uri-list` (files copied in a file manager), as
/// the picker and a drop do; directories and unreadable paths are left out.
#[tauri::command]
pub async fn files_describe(paths: Vec<String>) -> CommandResult<Vec<StagedFile>> {
    Ok(paths
        .iter()
        .filter_map(|path| staged_file(Path::new(path)))
        .collect())
}

/// Keeps a file pasted from the clipboard: the raw IPC body is its bytes, the `Parley-File-Name`
/// header its name (percent-encoded) and `Parley-File-Type` its MIME type. The core writes it into
/// the data folder; the answer is staged like a picked file.
#[tauri::command]
pub async fn files_stage_pasted(
    state: State<'_, AppState>,
    request: Request<'_>,
) -> CommandResult<StagedFile> {
    let InvokeBody::Raw(bytes) = request.body() else {
        return Err(invalid("the pasted file must come as raw bytes"));
    };
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(percent_decoded)
    };
    let name = header(PASTED_NAME_HEADER).unwrap_or_default();
    let mime = header(PASTED_TYPE_HEADER).filter(|mime| !mime.is_empty());
    let path = state
        .parley
        .stage_pasted_file(&name, mime.as_deref(), bytes)
        .await?;
    staged_file(&path).ok_or_else(|| invalid("the pasted file cannot be read back"))
}

/// Undoes `encodeURIComponent` (HTTP headers carry only Latin-1, so the page encodes the name).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[at], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                at += 3;
            }
            (byte, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn invalid(message: &str) -> IpcError {
    IpcError {
        code: ErrorCode::InvalidInput.as_str(),
        message: message.to_string(),
        retryable: false,
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decoded;

    #[test]
    fn names_come_back_from_encode_uri_component() {
        assert_eq!(percent_decoded("pasted-image-1.png"), "pasted-image-1.png");
        assert_eq!(
            percent_decoded("%D0%BE%D1%82%D1%87%D1%91%D1%82%20(1).pdf"),
            "отчёт (1).pdf"
        );
        assert_eq!(percent_decoded("100%"), "100%", "a lone % stays");
        assert_eq!(percent_decoded("%zz"), "%zz");
    }
}
