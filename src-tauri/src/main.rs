//! Parley desktop app: opens the main window with the bundled `ui/` page.
//!
//! For now the window shows a placeholder; the inbox arrives with the IPC commands.

// Without this, a release build on Windows opens a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

fn main() -> ExitCode {
    if let Err(problem) = check_display() {
        eprintln!("parley: {problem}");
        return ExitCode::FAILURE;
    }
    let context = tauri::generate_context!("../tauri.conf.json");
    match tauri::Builder::default().run(context) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("parley: could not start the app window: {error}");
            ExitCode::FAILURE
        }
    }
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
