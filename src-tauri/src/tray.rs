//! The tray icon: the unread total in its tooltip (and title, where the OS shows one), and a menu with
//! Show / Hide, Sync now, About Parley (the window's About view) and Quit. Whether closing the window
//! keeps the app in the tray is a setting (`close_to_tray` = `1` / `0`, as in Ferdium and Franz);
//! unset, the app stays in the tray only when a tray is really there to bring it back (on Linux: a
//! StatusNotifierWatcher on the session bus), and otherwise closing the window quits.

use std::sync::OnceLock;

use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager};

use crate::commands::sync::app_state;
use crate::{background, locale, main_window};

/// The tray icon's id.
const TRAY: &str = "main";
const SHOW_HIDE: &str = "show-hide";
const SYNC_NOW: &str = "sync-now";
const ABOUT: &str = "about";
/// The event asking the UI to open the About view.
pub const SHOW_ABOUT: &str = "show-about";
const QUIT: &str = "quit";

/// `PARLEY_CLOSE_TO_TRAY=1` or `0` overrides whether closing the window keeps the app in the tray.
pub const CLOSE_TO_TRAY_ENV: &str = "PARLEY_CLOSE_TO_TRAY";
/// The setting (core settings, `settings_set` from the UI) that chooses it: `1` or `0`.
pub const CLOSE_TO_TRAY_SETTING: &str = "close_to_tray";

/// What closing the window does when the setting is not set.
#[derive(Debug, Default)]
pub struct TrayState {
    /// True when the tray icon was created and a tray host shows it (or the environment says so).
    close_to_tray: OnceLock<bool>,
}

/// Creates the tray icon with its menu. A failure (no tray support) is not fatal: the app then quits on
/// close, as an app without a tray must.
pub fn create(app: &AppHandle) {
    app.manage(TrayState::default());
    let created = match build(app) {
        Ok(()) => true,
        Err(error) => {
            eprintln!("parley: no tray icon ({error}); closing the window quits");
            tracing::warn!(%error, "no tray icon; closing the window quits");
            false
        }
    };
    let close_to_tray = std::env::var(CLOSE_TO_TRAY_ENV)
        .ok()
        .map(|value| value == "1")
        .unwrap_or_else(|| created && tray_host_present());
    let _ = app.state::<TrayState>().close_to_tray.set(close_to_tray);
}

fn build(app: &AppHandle) -> tauri::Result<()> {
    let texts = locale::texts();
    let show_hide = MenuItem::with_id(app, SHOW_HIDE, texts.show_hide, true, None::<&str>)?;
    let sync_now = MenuItem::with_id(app, SYNC_NOW, texts.sync_now, true, None::<&str>)?;
    let about = MenuItem::with_id(app, ABOUT, texts.about, true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let quit = MenuItem::with_id(app, QUIT, texts.quit, true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show_hide, &sync_now, &about, &separator, &quit])?;
    let mut builder = TrayIconBuilder::with_id(TRAY)
        .tooltip("Parley")
        .menu(&menu)
        .on_menu_event(on_menu);
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    Ok(())
}

fn on_menu(app: &AppHandle, event: MenuEvent) {
    match event.id().as_ref() {
        SHOW_HIDE => main_window::toggle(app),
        SYNC_NOW => background::sync_soon(app),
        ABOUT => {
            main_window::show(app);
            let _ = app.emit(SHOW_ABOUT, ());
        }
        QUIT => app.exit(0),
        _ => {}
    }
}

/// Whether closing the main window should hide it instead of quitting: the environment override, else
/// the user's setting, else whether a tray can bring the window back.
pub fn keeps_app_running(app: &AppHandle) -> bool {
    let tray_shown = app
        .try_state::<TrayState>()
        .and_then(|state| state.close_to_tray.get().copied())
        .unwrap_or(false);
    if std::env::var_os(CLOSE_TO_TRAY_ENV).is_some() || !tray_shown {
        return tray_shown;
    }
    let setting =
        tauri::async_runtime::block_on(app_state(app).parley.setting(CLOSE_TO_TRAY_SETTING));
    match setting.ok().flatten().as_deref() {
        Some("0") => false,
        Some("1") | None => true,
        Some(_) => tray_shown,
    }
}

/// Mirrors the window title ("Parley" or "Parley (N)", set by the UI) to the tray: the tooltip says how
/// many conversations are unread, the title (shown beside the icon where the OS does) is the number.
pub fn show_title(app: &AppHandle, window_title: &str) {
    let Some(tray) = app.tray_by_id(TRAY) else {
        return;
    };
    let unread = unread_in_title(window_title);
    let tooltip = match unread {
        Some(count) => format!("Parley — {}", locale::texts().unread(count)),
        None => "Parley".to_string(),
    };
    let _ = tray.set_tooltip(Some(tooltip));
    let _ = tray.set_title(Some(
        unread.map(|count| count.to_string()).unwrap_or_default(),
    ));
}

/// N from "Parley (N)"; `None` for "Parley" or anything else.
pub fn unread_in_title(title: &str) -> Option<u64> {
    title
        .strip_prefix("Parley (")?
        .strip_suffix(')')?
        .parse()
        .ok()
        .filter(|count| *count > 0)
}

/// Linux: a tray icon is only visible when a StatusNotifierWatcher (the tray host of KDE, GNOME's
/// AppIndicator extension, XFCE, ...) owns its name on the session bus.
#[cfg(target_os = "linux")]
fn tray_host_present() -> bool {
    let Ok(connection) = zbus::blocking::Connection::session() else {
        return false;
    };
    let Ok(bus) = zbus::blocking::fdo::DBusProxy::new(&connection) else {
        return false;
    };
    zbus::names::BusName::try_from("org.kde.StatusNotifierWatcher")
        .ok()
        .and_then(|name| bus.name_has_owner(name).ok())
        .unwrap_or(false)
}

/// Windows and macOS always have a tray (notification area, menu bar).
#[cfg(not(target_os = "linux"))]
fn tray_host_present() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unread_count_comes_from_the_window_title() {
        assert_eq!(unread_in_title("Parley (12)"), Some(12));
        assert_eq!(unread_in_title("Parley"), None);
        assert_eq!(unread_in_title("Parley (0)"), None);
        assert_eq!(unread_in_title("Parley (x)"), None);
        assert_eq!(unread_in_title("<b>Parley (3)</b>"), None);
    }
}
