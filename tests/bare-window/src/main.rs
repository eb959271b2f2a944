//! A bare Tauri 2 window: the default builder, no plugins, no commands, one static page (`page/`)
//! that sets `performance.mark("inbox-painted")` once its content is drawn, as Parley's inbox does.
//! `tests/benches/lighter.rs` measures Parley against it, built with the same Tauri and release profile.

// As in the app: no console window next to a release build on Windows.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("the bare window runs");
}
