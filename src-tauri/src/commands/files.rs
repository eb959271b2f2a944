//! Files for the composer: the native picker (opened from Rust, so the UI needs no dialog permission)
//! and what a drop on the window carries.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tauri::{AppHandle, Emitter};
use tauri_plugin_dialog::DialogExt;

use crate::error::CommandResult;

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
