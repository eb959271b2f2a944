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
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        eprintln!("tauri-build failed: {error:#}");
        std::process::exit(1);
    }
}
