//! Parley desktop app: opens the core over the shared data folder, then the main window with the bundled
//! `ui/` page, which reaches the core only through the commands in [`commands`].

// Without this, a release build on Windows opens a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod background;
mod commands;
mod error;

use std::process::ExitCode;
use std::sync::Arc;

use commands::AppState;
use parley_core::{paths, KeyringStore, Parley};
use tauri::Manager;

fn main() -> ExitCode {
    if let Err(problem) = check_display() {
        eprintln!("parley: {problem}");
        return ExitCode::FAILURE;
    }
    let state = match open_core() {
        Ok(state) => state,
        Err(problem) => {
            eprintln!("parley: {problem}");
            return ExitCode::FAILURE;
        }
    };
    let context = tauri::generate_context!("../tauri.conf.json");
    let app = tauri::Builder::default()
        .manage(state)
        .plugin(tauri_plugin_dialog::init())
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
                commands::files::announce_drop(window.app_handle(), paths);
            }
        })
        .setup(|app| {
            background::start(app.handle().clone());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::accounts::accounts_list,
            commands::accounts::accounts_add,
            commands::accounts::accounts_remove,
            commands::conversations::conversations_list,
            commands::conversations::conversations_assign,
            commands::conversations::conversations_note,
            commands::conversations::conversations_bitrix,
            commands::conversations::conversations_mark_read,
            commands::files::files_pick,
            commands::messages::messages_list,
            commands::messages::messages_send,
            commands::outbox::outbox_list,
            commands::outbox::outbox_retry,
            commands::search::search_query,
            commands::sync::sync_run,
        ]);
    match app.run(context) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("parley: could not start the app window: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the core over the data folder shared with `parley-cli` (`PARLEY_DATA_DIR` or the OS default).
fn open_core() -> Result<AppState, String> {
    let data_dir = std::env::var_os(paths::DATA_DIR_ENV)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(paths::default_data_dir);
    tauri::async_runtime::block_on(Parley::open(&data_dir, Arc::new(KeyringStore)))
        .map(|parley| AppState {
            parley,
            sync_lock: tokio::sync::Mutex::new(()),
        })
        .map_err(|error| {
            format!(
                "cannot open the data folder {}: {error}",
                data_dir.display()
            )
        })
}

/// GTK panics when it has no display, so say plainly what is missing before it gets there.
#[cfg(target_os = "linux")]
fn check_display() -> Result<(), &'static str> {
    let has = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    if has("DISPLAY") || has("WAYLAND_DISPLAY") {
        Ok(())
    } else {
        Err("no display: set DISPLAY or WAYLAND_DISPLAY, or run headless with `xvfb-run -a parley`")
    }
}

/// Other desktops always have a display.
#[cfg(not(target_os = "linux"))]
fn check_display() -> Result<(), &'static str> {
    Ok(())
}
