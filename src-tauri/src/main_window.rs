//! The main window: built from the config's `main` entry at start-up (so Rust can watch its page title),
//! brought forward by the tray, a notification or a second launch, and hidden to the tray on close when a
//! tray is there to bring it back.

use tauri::{AppHandle, Manager, WebviewWindow, WebviewWindowBuilder, WindowEvent};

use crate::{notify, tray};

/// The main window's label (tauri.conf.json).
pub const MAIN: &str = "main";

/// Creates the main window from its config entry (`"create": false` there, so Tauri leaves it to us).
/// Every change of the page's `document.title` (the UI owns it: "Parley" or "Parley (N)") is mirrored to
/// the native window title and the tray.
pub fn create(app: &AppHandle) -> tauri::Result<WebviewWindow> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|window| window.label == MAIN)
        .cloned()
        .ok_or_else(|| tauri::Error::WindowNotFound)?;
    let window = WebviewWindowBuilder::from_config(app, &config)?
        .on_document_title_changed(|window, title| {
            let _ = window.set_title(&title);
            tray::show_title(window.app_handle(), &title);
        })
        .build()?;
    let watched = window.clone();
    window.on_window_event(move |event| on_event(&watched, event));
    Ok(window)
}

fn on_event(window: &WebviewWindow, event: &WindowEvent) {
    match event {
        WindowEvent::Focused(focused) => notify::window_focused(window.app_handle(), *focused),
        WindowEvent::CloseRequested { api, .. } if tray::keeps_app_running(window.app_handle()) => {
            api.prevent_close();
            let _ = window.hide();
        }
        WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) => {
            crate::commands::files::announce_drop(window.app_handle(), paths);
        }
        _ => {}
    }
}

/// Shows the main window, un-minimised and focused (best effort: some window managers refuse focus).
pub fn show(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Hides a visible main window, shows a hidden or minimised one.
pub fn toggle(app: &AppHandle) {
    let Some(window) = app.get_webview_window(MAIN) else {
        return;
    };
    let in_view = window.is_visible().unwrap_or(false) && !window.is_minimized().unwrap_or(false);
    if in_view {
        let _ = window.hide();
    } else {
        show(app);
    }
}
