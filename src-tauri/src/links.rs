//! What leaves the app on the user's click: links in customer messages open in the system browser, only
//! for http(s) (every other scheme — `file:`, `javascript:`, `smb:`, custom app schemes — is refused,
//! since customer content is hostile and the OS would happily hand those to other programs); attachments
//! are opened with their usual app (never a program or launcher file) or saved where the user picks.

use std::path::{Path, PathBuf};

use parley_core::ConversationRef;
use tauri::{AppHandle, State, Url};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

use crate::commands::AppState;
use crate::error::{CommandResult, IpcError};

/// File types that run code when "opened"; such attachments can only be saved.
const RUNNABLE: &[&str] = &[
    "app", "appimage", "apk", "bat", "bin", "cmd", "com", "cpl", "deb", "desktop", "dmg", "exe",
    "hta", "jar", "js", "jse", "lnk", "msi", "msp", "pkg", "ps1", "py", "rpm", "run", "scr", "sh",
    "vbe", "vbs", "wsf",
];

/// Longer URLs are refused: no real link is this long, and the OS passes it to a browser's command line.
const MAX_URL_LEN: usize = 8 * 1024;

/// Opens an http(s) URL in the system browser; any other URL is an `invalid_input` error.
#[tauri::command]
pub fn links_open(app: AppHandle, url: String) -> CommandResult<()> {
    let checked = web_url(&url)?;
    app.opener()
        .open_url(checked.as_str(), None::<&str>)
        .map_err(|error| IpcError {
            code: "unavailable",
            message: format!("cannot open the browser: {error}"),
            retryable: false,
        })
}

/// Downloads (once) attachment `position` (from 0) of message `message_id` and opens it with the app the
/// OS associates with its type. Programs and launchers are refused: save them instead.
#[tauri::command]
pub async fn attachments_open(
    app: AppHandle,
    state: State<'_, AppState>,
    account: String,
    id: String,
    message_id: String,
    position: i64,
) -> CommandResult<()> {
    let path = state
        .parley
        .fetch_attachment(&ConversationRef { account, id }, &message_id, position)
        .await?;
    if is_runnable(&path) {
        return Err(IpcError {
            code: "invalid_input",
            message: "this file could run a program, so it is not opened; save it instead"
                .to_string(),
            retryable: false,
        });
    }
    open_path(&app, &path)
}

/// Downloads (once) attachment `position` of message `message_id`, asks where to save it (native
/// dialog) and copies it there; resolves `false` when the user cancels.
#[tauri::command]
pub async fn attachments_save(
    app: AppHandle,
    state: State<'_, AppState>,
    account: String,
    id: String,
    message_id: String,
    position: i64,
) -> CommandResult<bool> {
    let path = state
        .parley
        .fetch_attachment(&ConversationRef { account, id }, &message_id, position)
        .await?;
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(target) = ask_where_to_save(&app, &name).await else {
        return Ok(false);
    };
    tokio::fs::copy(&path, &target)
        .await
        .map_err(|error| IpcError {
            code: "io",
            message: format!("cannot save to {}: {error}", target.display()),
            retryable: false,
        })?;
    Ok(true)
}

/// The native save dialog, proposing `name`; `None` when cancelled.
async fn ask_where_to_save(app: &AppHandle, name: &str) -> Option<PathBuf> {
    let (chosen, answer) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title(crate::locale::texts().save_attachment)
        .set_file_name(name)
        .save_file(move |path| {
            let _ = chosen.send(path);
        });
    answer.await.ok().flatten()?.into_path().ok()
}

/// Whether the file's extension is one that runs code when opened.
fn is_runnable(path: &Path) -> bool {
    path.extension()
        .map(|extension| extension.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|extension| RUNNABLE.contains(&extension.as_str()))
}

/// Opens a file with the app the OS associates with it (for attachments, on the user's action).
pub fn open_path(app: &AppHandle, path: &Path) -> CommandResult<()> {
    app.opener()
        .open_path(path.to_string_lossy(), None::<&str>)
        .map_err(|error| IpcError {
            code: "unavailable",
            message: format!("cannot open the file: {error}"),
            retryable: false,
        })
}

/// The URL, parsed, if it is an absolute http(s) URL with a host.
pub fn web_url(text: &str) -> CommandResult<Url> {
    let refuse = |why: &str| IpcError {
        code: "invalid_input",
        message: format!("not opened: {why}"),
        retryable: false,
    };
    if text.len() > MAX_URL_LEN {
        return Err(refuse("the link is too long"));
    }
    let url = Url::parse(text.trim()).map_err(|_| refuse("not a web address"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("only http and https links open"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse("the link has no host"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_links_pass() {
        for url in [
            "https://pact.im/",
            "http://example.com/a?b=c#d",
            "  https://пример.рф/путь  ",
        ] {
            assert!(web_url(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn every_other_scheme_is_refused() {
        for url in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "smb://host/share",
            "mailto:a@b.c",
            "vscode://file/x",
            "http://",
            "https://",
            "/relative/path",
            "example.com",
            "",
        ] {
            let error = web_url(url).expect_err(url);
            assert_eq!(error.code, "invalid_input", "{url}");
        }
        assert!(web_url(&format!("https://a.b/{}", "x".repeat(MAX_URL_LEN))).is_err());
    }

    #[test]
    fn programs_and_launchers_are_not_opened() {
        for name in [
            "setup.exe",
            "x.desktop",
            "RUN.SH",
            "a.tar.AppImage",
            "invoice.pdf.js",
        ] {
            assert!(is_runnable(Path::new(name)), "{name}");
        }
        for name in ["invoice.pdf", "photo.JPG", "notes.txt", "no-extension"] {
            assert!(!is_runnable(Path::new(name)), "{name}");
        }
    }
}
