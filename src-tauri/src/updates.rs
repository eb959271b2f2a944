//! In-app updates: checks the release server (tauri-plugin-updater) a moment after start and daily,
//! tells the window what is available, and on one click downloads the package, checks its signature,
//! installs it and restarts as the new version. The UI reaches it only through `updates_status`,
//! `updates_check` and `updates_install`, and hears of every change (an update found, download
//! progress, a failure) through the [`STATUS_EVENT`] event, whose payload is an [`UpdatesStatus`].
//!
//! Builds whose config has no `plugins.updater` (a developer's `cargo build`, the window tests, the
//! demo) have no plugin and say that updates are not set up; the release workflow supplies the
//! public key and the endpoint. What needs no Tauri (release notes made plain, what a failure means,
//! when to check next, the status's steps) is plain code with tests at the bottom.

use std::sync::Mutex;
use std::time::Duration;

use parley_core::logging;
use serde::Serialize;
use tauri::utils::config::BundleType;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_updater::{Update, UpdaterExt};

use crate::APP_VERSION;

/// The event that carries every change of the [`UpdatesStatus`] to the window.
pub const STATUS_EVENT: &str = "updates-status";
/// The first check waits this long after start, so it never delays the first paint.
const FIRST_CHECK_AFTER: Duration = Duration::from_secs(3);
/// How often a running app checks again after a check that worked.
const CHECK_EVERY: Duration = Duration::from_secs(24 * 60 * 60);
/// How soon it tries again after a check that failed (offline, the server's error).
const RETRY_AFTER: Duration = Duration::from_secs(60 * 60);
/// How long one check of the manifest may take (the download has no overall limit).
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of the release notes the window shows.
const NOTES_MAX_CHARS: usize = 4000;

/// What the window shows about updates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpdatesStatus {
    /// Whether this build can update itself (an updater config and an installed package).
    pub configured: bool,
    /// The version running now.
    pub current_version: String,
    /// What is happening now.
    pub phase: Phase,
    /// The newer version the server offers, if any.
    pub offer: Option<Offer>,
    /// How much of the offer has been downloaded, while downloading.
    pub progress: Option<Progress>,
    /// Why the last check or install failed; cleared by the next one that works.
    pub problem: Option<Problem>,
}

/// What the updates side is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Waiting for the next check or a click.
    Idle,
    /// Asking the server for its manifest.
    Checking,
    /// Downloading the package.
    Downloading,
    /// The package's signature matched; the OS's package manager is installing it.
    Installing,
    /// Installed; the app is about to restart as the new version.
    Restarting,
}

/// A newer version on offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Offer {
    /// Its version (parsed by the plugin as semver, so it holds no markup).
    pub version: String,
    /// Its release notes as plain text (they come from a server: shown as text only).
    pub notes: String,
}

/// Download progress in bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Bytes received so far.
    pub downloaded: u64,
    /// The package's size, when the server said.
    pub total: Option<u64>,
}

/// A failure, by what it means for the user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Which kind of failure.
    pub kind: ProblemKind,
    /// The updater's own words, for the curious (may quote the server).
    pub detail: String,
}

/// The kinds of failure the window words differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The check could not reach the server or read its answer; tried again later.
    CheckFailed,
    /// The package does not match the release key: nothing was installed.
    Signature,
    /// The package could not be downloaded: nothing was installed.
    Download,
    /// The package manager did not install it: the installed app is as it was.
    Install,
}

impl UpdatesStatus {
    /// The status at start: idle, nothing known yet.
    pub fn new(configured: bool, current_version: &str) -> Self {
        Self {
            configured,
            current_version: current_version.to_owned(),
            phase: Phase::Idle,
            offer: None,
            progress: None,
            problem: None,
        }
    }

    /// Starts a check; false when one cannot start now (not set up, or already busy).
    pub fn begin_check(&mut self) -> bool {
        if !self.configured || self.phase != Phase::Idle {
            return false;
        }
        self.phase = Phase::Checking;
        true
    }

    /// Records a check's answer: an offer, none (up to date), or why it failed (an earlier offer
    /// stays on offer then).
    pub fn checked(&mut self, answer: Result<Option<Offer>, String>) {
        self.phase = Phase::Idle;
        match answer {
            Ok(offer) => {
                self.offer = offer;
                self.problem = None;
            }
            Err(detail) => {
                self.problem = Some(Problem {
                    kind: ProblemKind::CheckFailed,
                    detail,
                });
            }
        }
    }

    /// Starts downloading the offer; false when there is none or something else is going on.
    pub fn begin_install(&mut self) -> bool {
        if self.offer.is_none() || self.phase != Phase::Idle {
            return false;
        }
        self.phase = Phase::Downloading;
        self.progress = Some(Progress {
            downloaded: 0,
            total: None,
        });
        self.problem = None;
        true
    }

    /// Counts a downloaded chunk; true when the window should hear of it (each whole percent, or
    /// each MiB when the size is unknown), so a large package does not flood the event loop.
    pub fn downloaded(&mut self, chunk: u64, total: Option<u64>) -> bool {
        let Some(progress) = self.progress.as_mut() else {
            return false;
        };
        let before = progress.downloaded;
        progress.downloaded += chunk;
        progress.total = total;
        let step = |bytes: u64| match total {
            Some(total) if total > 0 => bytes.saturating_mul(100) / total,
            _ => bytes / (1024 * 1024),
        };
        step(before) != step(progress.downloaded)
    }

    /// The download's signature matched; the package manager runs now.
    pub fn installing(&mut self) {
        self.phase = Phase::Installing;
    }

    /// Installed: the app restarts next.
    pub fn restarting(&mut self) {
        self.phase = Phase::Restarting;
    }

    /// The download or install failed: back to idle with the offer kept, so it can be tried again.
    pub fn failed(&mut self, kind: ProblemKind, detail: String) {
        self.phase = Phase::Idle;
        self.progress = None;
        self.problem = Some(Problem { kind, detail });
    }
}

/// Whether this build can update itself: its config has `plugins.updater`, and it runs from a
/// package the updater knows how to replace. A bare binary (a developer's `cargo build`, or the
/// release binary run from `target/`) has no bundle type, and the plugin would otherwise treat it
/// as an AppImage and write the download over it.
pub fn can_update(has_updater_config: bool, bundle: Option<BundleType>) -> bool {
    has_updater_config && bundle.is_some()
}

/// Whether the config the app was built with (including the Tauri CLI's `--config` overlays) has
/// the updater's settings; the plugin is registered only then, since it cannot start without them.
pub fn configured(config: &tauri::Config) -> bool {
    config.plugins.0.contains_key("updater")
}

/// When to check again after a check that worked (tomorrow) or failed (in an hour).
pub fn next_check_after(problem: Option<&Problem>) -> Duration {
    match problem {
        Some(problem) if problem.kind == ProblemKind::CheckFailed => RETRY_AFTER,
        _ => CHECK_EVERY,
    }
}

/// Release notes as plain text: control and bidirectional-override characters removed (a line
/// break and a tab kept), trimmed, and cut at [`NOTES_MAX_CHARS`].
pub fn plain_notes(body: Option<&str>) -> String {
    let kept: String = body
        .unwrap_or_default()
        .replace("\r\n", "\n")
        .chars()
        .filter(|&c| c == '\n' || c == '\t' || !(c.is_control() || is_bidi_control(c)))
        .collect();
    let trimmed = kept.trim();
    if trimmed.chars().count() <= NOTES_MAX_CHARS {
        return trimmed.to_owned();
    }
    let mut cut: String = trimmed.chars().take(NOTES_MAX_CHARS).collect();
    cut.push('…');
    cut
}

/// The characters that reorder the text around them (they could make a note read differently).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// What a download or install failure means for the user.
pub fn problem_kind(error: &tauri_plugin_updater::Error) -> ProblemKind {
    use tauri_plugin_updater::Error;
    match error {
        Error::Minisign(_)
        | Error::Base64(_)
        | Error::SignatureUtf8(_)
        | Error::SignedVersionMismatch { .. }
        | Error::MissingSignedVersion => ProblemKind::Signature,
        Error::Network(_) | Error::Reqwest(_) | Error::Http(_) => ProblemKind::Download,
        _ => ProblemKind::Install,
    }
}

/// The app's updates state: the status the window sees, and the plugin's update on offer.
pub struct Updates {
    status: Mutex<UpdatesStatus>,
    pending: Mutex<Option<Update>>,
}

impl Updates {
    /// The state at start; `has_updater_config` as [`configured`] said for the build's config.
    pub fn new(has_updater_config: bool) -> Self {
        let bundle = tauri::utils::platform::bundle_type();
        let configured = can_update(has_updater_config, bundle);
        if has_updater_config && !configured {
            tracing::info!("updates off: this binary was not installed from a package");
        }
        Self {
            status: Mutex::new(UpdatesStatus::new(configured, APP_VERSION)),
            pending: Mutex::new(None),
        }
    }

    /// A copy of the status.
    fn snapshot(&self) -> UpdatesStatus {
        self.status.lock().unwrap().clone()
    }

    /// Changes the status; returns the closure's answer and the status after it.
    fn change<T>(&self, step: impl FnOnce(&mut UpdatesStatus) -> T) -> (T, UpdatesStatus) {
        let mut status = self.status.lock().unwrap();
        let answer = step(&mut status);
        (answer, status.clone())
    }
}

/// Sends the status to the window.
fn announce(app: &AppHandle, status: &UpdatesStatus) {
    let _ = app.emit(STATUS_EVENT, status);
}

/// Changes the status and tells the window; returns the closure's answer.
fn change_and_announce<T>(app: &AppHandle, step: impl FnOnce(&mut UpdatesStatus) -> T) -> T {
    let (answer, status) = app.state::<Updates>().change(step);
    announce(app, &status);
    answer
}

/// Starts the checks: the first a moment after start, then daily (hourly after a failure). Does
/// nothing in a build that cannot update itself.
pub fn start(app: &AppHandle) {
    if !app.state::<Updates>().snapshot().configured {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut wait = FIRST_CHECK_AFTER;
        loop {
            tokio::time::sleep(wait).await;
            let status = check(&app).await;
            wait = next_check_after(status.problem.as_ref());
        }
    });
}

/// Asks the server whether there is a newer version; a failure is logged and kept in the status
/// (the window shows it only where the user asked), never a dialog.
async fn check(app: &AppHandle) -> UpdatesStatus {
    let updates = app.state::<Updates>();
    if !change_and_announce(app, UpdatesStatus::begin_check) {
        return updates.snapshot();
    }
    let found = match app.updater_builder().timeout(CHECK_TIMEOUT).build() {
        Ok(updater) => updater.check().await,
        Err(error) => Err(error),
    };
    let answer = match found {
        Ok(Some(update)) => {
            tracing::info!(version = %update.version, "update available");
            let offer = Offer {
                version: update.version.clone(),
                notes: plain_notes(update.body.as_deref()),
            };
            *updates.pending.lock().unwrap() = Some(update);
            Ok(Some(offer))
        }
        Ok(None) => {
            tracing::info!("no update: {APP_VERSION} is the newest");
            *updates.pending.lock().unwrap() = None;
            Ok(None)
        }
        Err(error) => {
            let detail = error.to_string();
            tracing::warn!(
                "update check failed, trying again later: {}",
                logging::redact(&detail)
            );
            Err(detail)
        }
    };
    change_and_announce(app, |status| {
        status.checked(answer);
        status.clone()
    })
}

/// Downloads the offered update, checks its signature, installs it with the OS's package manager
/// and restarts. A failure at any step leaves the installed app as it was and says why.
async fn install(app: &AppHandle) -> UpdatesStatus {
    let updates = app.state::<Updates>();
    let Some(update) = updates.pending.lock().unwrap().clone() else {
        return updates.snapshot();
    };
    if !change_and_announce(app, UpdatesStatus::begin_install) {
        return updates.snapshot();
    }
    tracing::info!(version = %update.version, "downloading update");
    match download_and_install(app, update).await {
        Ok(()) => {
            tracing::info!("update installed; restarting");
            let status = change_and_announce(app, |status| {
                status.restarting();
                status.clone()
            });
            // Exits through RunEvent::Exit and cleanup_before_exit, which also gives up the single
            // instance's D-Bus name before the new process starts, so it does not hand over to us.
            app.request_restart();
            status
        }
        Err(error) => {
            let kind = problem_kind(&error);
            let detail = error.to_string();
            tracing::warn!(?kind, "update not installed: {}", logging::redact(&detail));
            change_and_announce(app, |status| {
                status.failed(kind, detail);
                status.clone()
            })
        }
    }
}

/// The download (its signature checked by the plugin before it returns) and the install.
async fn download_and_install(
    app: &AppHandle,
    update: Update,
) -> Result<(), tauri_plugin_updater::Error> {
    let on_chunk = |chunk: usize, total: Option<u64>| {
        let (tell, status) = app
            .state::<Updates>()
            .change(|status| status.downloaded(chunk as u64, total));
        if tell {
            announce(app, &status);
        }
    };
    let bytes = update.download(on_chunk, || {}).await?;
    change_and_announce(app, UpdatesStatus::installing);
    // Runs the package manager (and waits for it), so off the async threads.
    tauri::async_runtime::spawn_blocking(move || update.install(bytes)).await?
}

/// The updates status, for the window at start.
#[tauri::command]
pub fn updates_status(app: AppHandle) -> UpdatesStatus {
    app.state::<Updates>().snapshot()
}

/// Checks for an update now (Settings → Check for updates) and returns what it found.
#[tauri::command]
pub async fn updates_check(app: AppHandle) -> UpdatesStatus {
    check(&app).await
}

/// Installs the offered update ("Install and restart"); returns the status after a failure, or
/// while the app restarts.
#[tauri::command]
pub async fn updates_install(app: AppHandle) -> UpdatesStatus {
    install(&app).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(version: &str) -> Offer {
        Offer {
            version: version.to_owned(),
            notes: "Faster sync.".to_owned(),
        }
    }

    #[test]
    fn a_build_without_updater_config_or_package_cannot_update() {
        assert!(!can_update(false, Some(BundleType::Deb)));
        assert!(!can_update(true, None));
        assert!(can_update(true, Some(BundleType::Deb)));
        assert!(can_update(true, Some(BundleType::Nsis)));
        let mut status = UpdatesStatus::new(false, "0.1.0");
        assert!(!status.begin_check(), "no check without the updater");
    }

    #[test]
    fn the_committed_config_has_no_updater_and_no_insecure_transport() {
        let config = include_str!("../../tauri.conf.json");
        let parsed: tauri::Config = serde_json::from_str(config).unwrap();
        assert!(!configured(&parsed));
        assert!(!config.contains("dangerousInsecureTransportProtocol"));
    }

    #[test]
    fn a_config_with_the_updater_is_configured() {
        let overlaid = r#"{"identifier":"im.parley.desktop","plugins":{"updater":
            {"pubkey":"KEY","endpoints":["https://example.com/latest.json"]}}}"#;
        let parsed: tauri::Config = serde_json::from_str(overlaid).unwrap();
        assert!(configured(&parsed));
    }

    #[test]
    fn a_check_offers_then_a_failed_install_keeps_the_offer_and_says_why() {
        let mut status = UpdatesStatus::new(true, "0.1.0");
        assert!(status.begin_check());
        assert!(!status.begin_check(), "one check at a time");
        status.checked(Ok(Some(offer("0.1.1"))));
        assert_eq!(status.phase, Phase::Idle);
        assert!(status.begin_install());
        assert!(!status.begin_check(), "no check while downloading");
        status.failed(ProblemKind::Signature, "bad".to_owned());
        assert_eq!(status.phase, Phase::Idle);
        assert_eq!(status.offer, Some(offer("0.1.1")));
        assert_eq!(
            status.problem.as_ref().unwrap().kind,
            ProblemKind::Signature
        );
        assert!(status.begin_install(), "the user may try again");
        assert_eq!(status.problem, None);
    }

    #[test]
    fn a_failed_check_keeps_an_earlier_offer_and_retries_sooner() {
        let mut status = UpdatesStatus::new(true, "0.1.0");
        status.begin_check();
        status.checked(Ok(Some(offer("0.2.0"))));
        assert_eq!(next_check_after(status.problem.as_ref()), CHECK_EVERY);
        status.begin_check();
        status.checked(Err("offline".to_owned()));
        assert_eq!(status.offer, Some(offer("0.2.0")));
        assert_eq!(next_check_after(status.problem.as_ref()), RETRY_AFTER);
        status.begin_check();
        status.checked(Ok(None));
        assert_eq!((status.offer.clone(), status.problem.clone()), (None, None));
        assert!(
            !status.begin_install(),
            "nothing to install once up to date"
        );
    }

    #[test]
    fn progress_is_told_per_percent_or_per_mib() {
        let mut status = UpdatesStatus::new(true, "0.1.0");
        status.checked(Ok(Some(offer("0.1.1"))));
        status.begin_install();
        let total = Some(1000);
        assert!(!status.downloaded(5, total), "half a percent");
        assert!(status.downloaded(5, total), "one percent");
        let told = (0..98).filter(|_| status.downloaded(10, total)).count();
        assert_eq!(told, 98);
        assert_eq!(status.progress.as_ref().unwrap().downloaded, 990);
        let mut unknown = UpdatesStatus::new(true, "0.1.0");
        unknown.checked(Ok(Some(offer("0.1.1"))));
        unknown.begin_install();
        let told = (0..64)
            .filter(|_| unknown.downloaded(64 * 1024, None))
            .count();
        assert_eq!(told, 4, "4 MiB in 64 KiB chunks");
    }

    #[test]
    fn release_notes_are_plain_text() {
        let notes = plain_notes(Some(
            "  Fixes\r\n- \u{202e}gnp.exe\u{1b}[31m\t<b>bold</b>\u{0}  ",
        ));
        assert_eq!(notes, "Fixes\n- gnp.exe[31m\t<b>bold</b>");
        assert_eq!(plain_notes(None), "");
        let long = plain_notes(Some(&"é".repeat(NOTES_MAX_CHARS + 10)));
        assert_eq!(long.chars().count(), NOTES_MAX_CHARS + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn failures_are_told_apart() {
        use tauri_plugin_updater::Error;
        let mismatch = Error::SignedVersionMismatch {
            signed: "0.1.0".to_owned(),
            announced: "0.1.1".to_owned(),
        };
        assert_eq!(problem_kind(&mismatch), ProblemKind::Signature);
        assert_eq!(
            problem_kind(&Error::MissingSignedVersion),
            ProblemKind::Signature
        );
        let status_404 = Error::Network("Download request failed with status: 404".to_owned());
        assert_eq!(problem_kind(&status_404), ProblemKind::Download);
        assert_eq!(
            problem_kind(&Error::PackageInstallFailed),
            ProblemKind::Install
        );
        assert_eq!(
            problem_kind(&Error::InvalidUpdaterFormat),
            ProblemKind::Install
        );
    }

    #[test]
    fn every_failure_is_worded_in_english_and_russian() {
        let strings = include_str!("../../ui/i18n.js");
        let (en, ru) = strings
            .split_once("const ru")
            .expect("i18n.js has en then ru");
        let signature_en =
            "The update's signature does not match Parley's release key, so nothing was installed.";
        let signature_ru = "Подпись обновления не совпадает с ключом выпусков Parley, поэтому ничего не установлено.";
        assert!(en.contains(signature_en), "English signature wording");
        assert!(ru.contains(signature_ru), "Russian signature wording");
        for key in [
            "updates.failed.signature",
            "updates.failed.download",
            "updates.failed.install",
            "updates.failed.check_failed",
            "updates.available",
            "updates.install",
            "updates.notConfigured",
        ] {
            let quoted = format!("\"{key}\":");
            assert!(en.contains(&quoted), "{key} in English");
            assert!(ru.contains(&quoted), "{key} in Russian");
        }
    }
}
