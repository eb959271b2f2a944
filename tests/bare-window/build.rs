//! Build script: compiles the bare window's own `tauri.conf.json` into it.

fn main() {
    tauri_build::build();
}
