//! Build script: compiles the Tauri config, capabilities and icons into the app.
//!
//! The config lives at the repository root (`../tauri.conf.json`), so paths inside it
//! (`ui`, `icons/...`) are relative to the root.

fn main() {
    let attributes = tauri_build::Attributes::new().config_path("../tauri.conf.json");
    if let Err(error) = tauri_build::try_build(attributes) {
        eprintln!("tauri-build failed: {error:#}");
        std::process::exit(1);
    }
}
