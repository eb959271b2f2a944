//! Parley desktop app: opens the core over the shared data folder (or, with `--demo`, over a temporary
//! one served by the embedded sandbox), then the main window with the bundled `ui/` page, which reaches
//! the core only through the commands in [`commands`]. Around it: the tray, notifications, a single
//! instance, the window's size and place remembered, and a native error dialog when it cannot start.

// Without this, a release build on Windows opens a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod about;
mod background;
mod commands;
mod deep_link;
#[cfg(feature = "demo")]
mod demo;
// The installed app has no demo: `--demo` says where it is (src-tauri/scripts/demo.sh).
#[cfg(not(feature = "demo"))]
#[path = "no_demo.rs"]
mod demo;
mod error;
mod links;
mod live;
mod locale;
mod main_window;
mod notify;
mod startup;
mod tray;
mod updates;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use commands::AppState;
use demo::Demo;
use parley_core::{logging, paths, KeyringStore, Parley};
use tauri::RunEvent;
use tauri_plugin_window_state::StateFlags;

/// The version this build reports everywhere (`--version`, About, diagnostics, the updater): the
/// Tauri config's, including a `--config` overlay given to the Tauri CLI (see build.rs).
pub const APP_VERSION: &str = env!("PARLEY_VERSION");

fn main() -> ExitCode {
    if let Some(answer) = command_line_answer(std::env::args().skip(1)) {
        println!("{answer}");
        return ExitCode::SUCCESS;
    }
    startup::begin();
    let demo_mode = std::env::args().skip(1).any(|arg| arg == demo::FLAG);
    logging::install_panic_hook();
    // The demo logs into its temporary folder once that exists; the app into the shared data folder.
    let mut _log = (!demo_mode).then(|| start_logging(&data_dir())).flatten();
    if let Err(problem) = check_display() {
        eprintln!("parley: {problem}");
        tracing::error!("cannot start: {problem}");
        logging::flush();
        return ExitCode::FAILURE;
    }
    let opened = if demo_mode {
        open_demo()
    } else {
        open_core().map(|state| (state, None))
    };
    let (state, demo) = match opened {
        Ok(opened) => opened,
        Err(problem) => return fail_to_start(&problem),
    };
    startup::done("process: logging, display check and core opened");
    if let Some(demo) = &demo {
        _log = start_logging(&demo.data_dir());
    }
    let context = tauri::generate_context!("../tauri.conf.json");
    let updates_configured = updates::configured(context.config());
    let mut builder = tauri::Builder::default();
    if !demo_mode {
        // First, so a second launch hands over before anything else starts.
        // With its deep-link feature, a second `parley parley://open/…` hands the link to the plugin below.
        builder = builder.plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            main_window::show(app);
            deep_link::refuse_undelivered(app, &args);
        }));
        builder = builder.plugin(tauri_plugin_deep_link::init());
    }
    if updates_configured {
        // Only a build whose config has plugins.updater (pubkey, endpoints) can have the plugin.
        builder = builder.plugin(tauri_plugin_updater::Builder::new().build());
    }
    let app = builder
        .manage(state)
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED)
                .build(),
        )
        .manage(updates::Updates::new(updates_configured))
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(
            tauri_plugin_opener::Builder::new()
                .open_js_links_on_click(false)
                .build(),
        )
        .setup(move |app| {
            let handle = app.handle().clone();
            startup::done("Tauri and its plugins built");
            notify::setup(&handle);
            // The demo has no single instance, so it takes no links (they belong to the installed app).
            deep_link::setup(&handle, !demo_mode);
            tray::create(&handle);
            startup::done("notifications and tray");
            main_window::create(&handle)?;
            startup::done("main window created");
            if let Some(demo) = demo {
                demo::run(&handle, demo);
            }
            live::start(&handle);
            updates::start(&handle);
            background::start(handle);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::accounts::accounts_list,
            commands::accounts::accounts_add,
            commands::accounts::accounts_remove,
            commands::conversations::conversations_assign,
            commands::conversations::conversations_unassign,
            commands::conversations::conversations_note,
            commands::conversations::conversations_bitrix,
            commands::conversations::conversations_mark_read,
            commands::conversations::conversations_focus,
            commands::conversations::conversations_mark_unread,
            commands::conversations::conversations_next_unread,
            commands::conversations::conversations_related,
            commands::conversations::conversations_archive,
            commands::conversations::conversations_set_replied,
            commands::conversations::conversations_start_options,
            commands::conversations::conversations_templates,
            commands::conversations::conversations_start,
            commands::conversations::conversations_resolve,
            commands::replies::replies_list,
            commands::replies::replies_add,
            commands::replies::replies_update,
            commands::replies::replies_remove,
            commands::replies::replies_fill,
            commands::teammates::teammates_list,
            commands::teammates::teammates_refresh,
            commands::teammates::teammates_label,
            commands::files::files_pick,
            commands::files::files_describe,
            commands::files::files_stage_pasted,
            commands::messages::messages_list,
            commands::messages::messages_send,
            commands::messages::messages_delete,
            commands::outbox::outbox_retry,
            commands::search::search_query,
            commands::sync::sync_run,
            commands::accounts::companies_list,
            commands::conversations::conversations_page,
            commands::conversations::conversations_get,
            commands::drafts::drafts_get,
            commands::drafts::drafts_save,
            commands::settings::settings_get,
            commands::settings::settings_set,
            commands::diagnostics::diagnostics_copy,
            commands::attachments::attachments_preview,
            commands::attachments::attachments_media,
            notify::window_focus_conversation,
            links::links_open,
            links::attachments_open,
            links::attachments_save,
            locale::app_locale,
            about::app_about,
            deep_link::deep_link_ready,
            deep_link::deep_link_for,
            commands::cache::cache_recovery,
            commands::cache::cache_acknowledge,
            updates::updates_status,
            updates::updates_check,
            updates::updates_install,
        ])
        .build(context);
    match app {
        Ok(app) => {
            app.run(|app, event| {
                if let RunEvent::Exit = event {
                    tracing::info!("app exiting");
                    // Tauri ends the process without returning here, so the log is written out now.
                    logging::flush();
                    demo::finish(app);
                }
            });
            ExitCode::SUCCESS
        }
        Err(error) => fail_to_start(&format!("could not start the app window: {error}")),
    }
}

/// Says why the app cannot start, on stderr and in a native dialog (a blank window or a message only
/// on stderr would leave a user who started it from the desktop guessing).
fn fail_to_start(problem: &str) -> ExitCode {
    eprintln!("parley: {problem}");
    tracing::error!("cannot start: {}", logging::redact(problem));
    logging::flush();
    let texts = locale::texts();
    let _ = rfd::MessageDialog::new()
        .set_level(rfd::MessageLevel::Error)
        .set_title(texts.error_title)
        .set_description(problem)
        .set_buttons(rfd::MessageButtons::Ok)
        .show();
    ExitCode::FAILURE
}

/// Starts the log file `<data>/logs/app.log` (also on stderr when that is a terminal). Logging that
/// cannot start (a read-only folder) does not stop the app.
fn start_logging(data_dir: &Path) -> Option<logging::LogGuard> {
    match logging::init(data_dir, "app", std::io::stderr().is_terminal()) {
        Ok(guard) => Some(guard),
        Err(error) => {
            eprintln!("parley: no log file: {error}");
            None
        }
    }
}

/// The data folder shared with `parley-cli`: `PARLEY_DATA_DIR` or the OS default.
fn data_dir() -> PathBuf {
    std::env::var_os(paths::DATA_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(paths::default_data_dir)
}

/// Opens the core over the shared data folder, with tokens in the OS keyring.
fn open_core() -> Result<AppState, String> {
    let data_dir = data_dir();
    tauri::async_runtime::block_on(Parley::open(&data_dir, Arc::new(KeyringStore)))
        .map(app_state)
        .map_err(|error| {
            format!(
                "{}\n\n{}\n\n{error}",
                locale::texts().cannot_open_data,
                data_dir.display()
            )
        })
}

/// Starts the embedded sandbox and opens the core over the demo's temporary folder.
fn open_demo() -> Result<(AppState, Option<Demo>), String> {
    tauri::async_runtime::block_on(async {
        let demo = Demo::start().await.map_err(|error| error.to_string())?;
        let parley = demo.open_core().await?;
        Ok((app_state(parley), Some(demo)))
    })
    .map_err(|error: String| format!("{}\n\n{error}", locale::texts().cannot_start_demo))
}

fn app_state(parley: Parley) -> AppState {
    AppState {
        parley,
        sync_lock: tokio::sync::Mutex::new(()),
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

/// What `parley --version` / `-V` and `--help` / `-h` print: answered before anything else starts
/// (no window, no display, no data folder touched).
fn command_line_answer(mut args: impl Iterator<Item = String>) -> Option<String> {
    args.find_map(|arg| match arg.as_str() {
        "--version" | "-V" => Some(format!("parley {APP_VERSION}")),
        "--help" | "-h" => Some(format!(
            "parley {}: your Pact.im and VoIPbin inbox\n\n\
             usage: parley [--demo]\n\n\
             \x20 --demo          open a demo inbox against a sandbox in a temporary folder\n\
             \x20                 (builds with the demo feature: src-tauri/scripts/demo.sh)\n\
             \x20 -V, --version   print the version\n\
             \x20 -h, --help      print this help\n\n\
             The data folder is PARLEY_DATA_DIR, else the OS's (see the README); logs are in its logs/.",
            APP_VERSION
        )),
        _ => None,
    })
}
