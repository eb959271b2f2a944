//! Build script: compiles the Tauri config, capabilities and icons into the app.
//!
//! The config lives at the repository root (`../tauri.conf.json`), so paths inside it
//! (`ui`, `icons/...`) are relative to the root.

/// Every command the app registers; each gets generated `allow-<command>` / `deny-<command>` permissions,
/// and the capability grants exactly the ones the UI uses. Kept in step with `generate_handler!` in main.rs.
const COMMANDS: &[&str] = &[
    "accounts_list",
    "accounts_add",
    "accounts_remove",
    "conversations_assign",
    "conversations_unassign",
    "conversations_note",
    "conversations_bitrix",
    "conversations_mark_read",
    "conversations_focus",
    "conversations_mark_unread",
    "conversations_next_unread",
    "conversations_related",
    "conversations_archive",
    "conversations_set_replied",
    "files_pick",
    "messages_list",
    "messages_send",
    "messages_delete",
    "outbox_retry",
    "search_query",
    "sync_run",
    "companies_list",
    "conversations_page",
    "conversations_get",
    "drafts_get",
    "drafts_save",
    "settings_get",
    "settings_set",
    "attachments_preview",
    "attachments_media",
    "window_focus_conversation",
    "links_open",
    "attachments_open",
    "attachments_save",
    "app_locale",
    "cache_recovery",
    "cache_acknowledge",
    "files_describe",
    "files_stage_pasted",
    "conversations_start_options",
    "conversations_templates",
    "conversations_start",
    "conversations_resolve",
    "replies_list",
    "replies_add",
    "replies_update",
    "replies_remove",
    "replies_fill",
    "teammates_list",
    "teammates_refresh",
    "teammates_label",
    "diagnostics_copy",
    "app_about",
    "deep_link_ready",
    "deep_link_for",
    "updates_status",
    "updates_check",
    "updates_install",
];

fn main() {
    export_version();
    compress_licences();
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        eprintln!("tauri-build failed: {error:#}");
        std::process::exit(1);
    }
}

/// Writes `$OUT_DIR/third-party.json.br`: the cargo-about licence list (about 440 KB of text, mostly
/// the same few licences with different copyright lines) brotli-compressed to about 30 KB for the
/// binary; the About view decompresses it when opened (src/about.rs).
fn compress_licences() {
    const LIST: &str = "licenses/third-party.json";
    println!("cargo:rerun-if-changed={LIST}");
    let json =
        std::fs::read(LIST).expect("licenses/third-party.json (scripts/licences.sh writes it)");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut compressed = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 9,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &json[..], &mut compressed, &params).expect("brotli in memory");
    std::fs::write(out.join("third-party.json.br"), compressed).expect("write to OUT_DIR");
}

/// Exports `PARLEY_VERSION`, the one version the app reports (`parley --version`, the About view,
/// diagnostics, the updater's current version): the same as Tauri's `package_info().version`, i.e.
/// the config's `version` after the Tauri CLI's `--config` overlay (which reaches build scripts as
/// the JSON in `TAURI_CONFIG`), else the committed config's, else the crate's.
fn export_version() {
    println!("cargo:rerun-if-env-changed=TAURI_CONFIG");
    let from_overlay = std::env::var("TAURI_CONFIG")
        .ok()
        .and_then(|json| config_version(&json));
    let from_config = || {
        std::fs::read_to_string("../tauri.conf.json")
            .ok()
            .and_then(|json| config_version(&json))
    };
    let version = from_overlay.or_else(from_config).unwrap_or_else(|| {
        std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION")
    });
    println!("cargo:rustc-env=PARLEY_VERSION={version}");
}

/// The `version` field of a Tauri config given as JSON text, if it has one.
fn config_version(json: &str) -> Option<String> {
    let config: serde_json::Value = serde_json::from_str(json).ok()?;
    config.get("version")?.as_str().map(str::to_owned)
}
