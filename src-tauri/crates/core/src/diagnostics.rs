//! "Copy diagnostics": what a support engineer asks first, in one text the user can paste into a
//! ticket: the version, the OS, where the data and the log are, each account's provider and state
//! (features it lacks, unread count, the outbox by state, the last sync) and the last warnings and
//! errors. Never a token, a message's text or a customer's name: only the user's own account names,
//! counts, codes and the log's [redacted](crate::logging::redact) messages.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::logging::{self, Problem};
use crate::model::{from_millis, Account, OutboxState, SyncReport};
use crate::store::StoredShare;
use crate::{Parley, Result};

/// Everything "Copy diagnostics" reports; [`Diagnostics::to_text`] is what goes on the clipboard.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostics {
    /// When it was put together.
    pub generated_at: DateTime<Utc>,
    /// The program's version (`0.1.0`).
    pub version: String,
    /// The operating system.
    pub os: OsInfo,
    /// The data folder.
    pub data_dir: PathBuf,
    /// The file this process logs to, if logging is on.
    pub log_file: Option<PathBuf>,
    /// Every account, in name order.
    pub accounts: Vec<AccountDiagnostics>,
    /// The last warnings and errors this process logged, oldest first.
    pub recent_problems: Vec<Problem>,
}

/// The operating system the program runs on.
#[derive(Debug, Clone, Serialize)]
pub struct OsInfo {
    /// `linux`, `macos`, `windows`, ...
    pub family: String,
    /// `x86_64`, `aarch64`, ...
    pub arch: String,
    /// The distribution's name and version on Linux (`PRETTY_NAME` of `/etc/os-release`), elsewhere
    /// the system's own (`Mac OS 14.5.0`, `Windows 10.0.22631`), if known.
    pub name: Option<String>,
    /// The system's version (`12` on Debian 12, `14.5.0` on macOS, `10.0.22631` on Windows), if known.
    pub version: Option<String>,
}

impl OsInfo {
    /// This computer's.
    pub fn current() -> Self {
        let system = os_info::get();
        let version = match system.version() {
            os_info::Version::Unknown => None,
            known => Some(known.to_string()),
        };
        let described = version
            .as_ref()
            .map(|version| format!("{} {version}", system.os_type()));
        Self {
            family: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
            name: os_release_name().or(described),
            version,
        }
    }
}

/// One account's state.
#[derive(Debug, Clone, Serialize)]
pub struct AccountDiagnostics {
    /// The user's name for it.
    pub name: String,
    /// `pact`, `pact-p1` or `voipbin`.
    pub provider: String,
    /// The server it talks to when not the provider's own: scheme, host and port only.
    pub server: Option<String>,
    /// Whether it signs in with a username and password (else a token or access key).
    pub signs_in_with_password: bool,
    /// Companies cached for it.
    pub companies: usize,
    /// Conversations cached for it.
    pub conversations: i64,
    /// Conversations with customer messages not yet opened.
    pub unread_conversations: i64,
    /// The features its provider lacks, each with the reason.
    pub disabled_features: Vec<DisabledFeature>,
    /// Its outbox entries by state (`pending`, `sent`, `delivered`, `failed`).
    pub outbox: BTreeMap<String, usize>,
    /// The code of the newest failed outbox entry's error, if any.
    pub last_outbox_error: Option<String>,
    /// The last sync this process ran for it, if any.
    pub last_sync: Option<SyncNote>,
    /// The share of its token's rate limits this data folder takes, when it has found other clients
    /// of the token (other computers of the team) through their 429s.
    pub limit_share: Option<LimitShareNote>,
}

/// What the request budget inferred about other clients of an account's token.
#[derive(Debug, Clone, Serialize)]
pub struct LimitShareNote {
    /// The fraction of every limit this data folder takes now, in (0, 1]; 1: alone again.
    pub share: f64,
    /// How many 429s told of other clients, all time.
    pub refusals: i64,
    /// When the newest of them came.
    pub last_refusal_at: Option<DateTime<Utc>>,
}

impl LimitShareNote {
    fn of(stored: StoredShare) -> Self {
        Self {
            share: stored.share.share,
            refusals: stored.refusals,
            last_refusal_at: stored.last_refusal_at.map(from_millis),
        }
    }

    /// "shared with other clients of the token: this computer takes 20 % of them (7 429s told of
    /// them, the last 2026-12-07T09:12:00Z)".
    fn to_text(&self) -> String {
        let told = match self.last_refusal_at {
            Some(at) => format!(
                "{} 429s told of other clients, the last {}",
                self.refusals,
                at.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
            None => format!("{} 429s told of other clients", self.refusals),
        };
        if self.share < 1.0 {
            format!(
                "shared with other clients of the token: this computer takes {:.0} % of them ({told})",
                self.share * 100.0
            )
        } else {
            format!("its own again, in full ({told})")
        }
    }
}

/// A feature an account cannot use.
#[derive(Debug, Clone, Serialize)]
pub struct DisabledFeature {
    /// The feature (`attachments`, `notes`, ...).
    pub feature: String,
    /// Why not.
    pub reason: Option<String>,
}

/// How a sync ended.
#[derive(Debug, Clone, Serialize)]
pub struct SyncNote {
    /// When it ended.
    pub at: DateTime<Utc>,
    /// `None` when it succeeded, else the error's code.
    pub error_code: Option<String>,
    /// The error as the log writes it ([`logging::describe_error`]).
    pub error: Option<String>,
    /// New messages it brought, when it succeeded.
    pub new_messages: Option<i64>,
}

/// The last sync per (data folder, account) in this process.
static LAST_SYNCS: Mutex<Option<HashMap<(PathBuf, String), SyncNote>>> = Mutex::new(None);

/// Remembers how a sync of `account` ended, for the diagnostics.
pub(crate) fn note_sync(data_dir: &Path, account: &str, result: &Result<SyncReport>) {
    let note = match result {
        Ok(report) => SyncNote {
            at: Utc::now(),
            error_code: None,
            error: None,
            new_messages: Some(report.new_messages),
        },
        Err(error) => SyncNote {
            at: Utc::now(),
            error_code: Some(error.code().as_str().to_string()),
            error: Some(logging::describe_error(error)),
            new_messages: None,
        },
    };
    LAST_SYNCS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert((data_dir.to_path_buf(), account.to_string()), note);
}

fn last_sync(data_dir: &Path, account: &str) -> Option<SyncNote> {
    LAST_SYNCS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .as_ref()?
        .get(&(data_dir.to_path_buf(), account.to_string()))
        .cloned()
}

impl Parley {
    /// What "Copy diagnostics" reports, for a program of `version`.
    pub async fn diagnostics(&self, version: &str) -> Result<Diagnostics> {
        let accounts = self.accounts().await?;
        let summaries = self.company_summaries().await?;
        let outbox = self.outbox().await?;
        let mut shares = HashMap::new();
        for account in &accounts {
            if let Some(stored) = self.store().account_budget_share(account.id).await? {
                shares.insert(account.id, LimitShareNote::of(stored));
            }
        }
        let accounts = accounts
            .iter()
            .map(|account| {
                let companies: Vec<_> = summaries
                    .iter()
                    .filter(|summary| summary.account == account.name)
                    .collect();
                let prefix = format!("{}/", account.name);
                let entries: Vec<_> = outbox
                    .iter()
                    .filter(|entry| entry.conversation.starts_with(&prefix))
                    .collect();
                let mut by_state = BTreeMap::new();
                for entry in &entries {
                    *by_state
                        .entry(entry.status.as_str().to_string())
                        .or_insert(0) += 1;
                }
                let last_outbox_error = entries
                    .iter()
                    .filter(|entry| entry.status == OutboxState::Failed)
                    .max_by_key(|entry| (entry.created_at, entry.id))
                    .and_then(|entry| entry.last_error_code.clone());
                AccountDiagnostics {
                    name: account.name.clone(),
                    provider: account.provider.as_str().to_string(),
                    server: account.base_url.as_deref().map(server_of),
                    signs_in_with_password: account.username.is_some(),
                    companies: companies.len(),
                    conversations: companies.iter().map(|summary| summary.conversations).sum(),
                    unread_conversations: account.unread_conversations,
                    disabled_features: disabled_features(account),
                    outbox: by_state,
                    last_outbox_error,
                    last_sync: last_sync(self.data_dir(), &account.name),
                    limit_share: shares.remove(&account.id),
                }
            })
            .collect();
        Ok(Diagnostics {
            generated_at: Utc::now(),
            version: version.to_string(),
            os: OsInfo::current(),
            data_dir: self.data_dir().to_path_buf(),
            log_file: logging::log_path(),
            accounts,
            recent_problems: logging::recent_problems(),
        })
    }
}

impl Diagnostics {
    /// The report as plain text, one fact a line, for pasting into a ticket.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let time = |at: &DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
        let _ = writeln!(text, "Parley diagnostics, {}", time(&self.generated_at));
        let _ = writeln!(text, "Version: {}", self.version);
        let _ = writeln!(
            text,
            "OS: {} ({} {})",
            self.os.name.as_deref().unwrap_or(&self.os.family),
            self.os.family,
            self.os.arch
        );
        let _ = writeln!(text, "Data folder: {}", self.data_dir.display());
        match &self.log_file {
            Some(path) => {
                let _ = writeln!(text, "Log file: {}", path.display());
            }
            None => text.push_str("Log file: none (logging is off)\n"),
        }
        let _ = writeln!(text, "Accounts: {}", self.accounts.len());
        for account in &self.accounts {
            let _ = writeln!(
                text,
                "- {}: provider {}{}, {}",
                account.name,
                account.provider,
                account
                    .server
                    .as_deref()
                    .map(|server| format!(" at {server}"))
                    .unwrap_or_default(),
                if account.signs_in_with_password {
                    "signs in with a password"
                } else {
                    "signs in with a token"
                }
            );
            let _ = writeln!(
                text,
                "  {} companies, {} conversations, {} unread",
                account.companies, account.conversations, account.unread_conversations
            );
            if !account.disabled_features.is_empty() {
                // Features disabled for the same reason share it.
                let mut groups: Vec<(Option<&str>, Vec<&str>)> = Vec::new();
                for feature in &account.disabled_features {
                    let reason = feature.reason.as_deref();
                    match groups.iter_mut().find(|(known, _)| *known == reason) {
                        Some((_, names)) => names.push(&feature.feature),
                        None => groups.push((reason, vec![&feature.feature])),
                    }
                }
                let disabled: Vec<String> = groups
                    .iter()
                    .map(|(reason, names)| match reason {
                        Some(reason) => format!("{} ({reason})", names.join(", ")),
                        None => names.join(", "),
                    })
                    .collect();
                let _ = writeln!(text, "  disabled: {}", disabled.join("; "));
            }
            let outbox: Vec<String> = account
                .outbox
                .iter()
                .map(|(state, count)| format!("{count} {state}"))
                .collect();
            let _ = writeln!(
                text,
                "  outbox: {}{}",
                if outbox.is_empty() {
                    "empty".to_string()
                } else {
                    outbox.join(", ")
                },
                account
                    .last_outbox_error
                    .as_deref()
                    .map(|code| format!(" (last failure: {code})"))
                    .unwrap_or_default()
            );
            match &account.last_sync {
                Some(SyncNote {
                    at,
                    error: Some(error),
                    ..
                }) => {
                    let _ = writeln!(text, "  last sync: {} failed: {error}", time(at));
                }
                Some(note) => {
                    let _ = writeln!(
                        text,
                        "  last sync: {} ok, {} new messages",
                        time(&note.at),
                        note.new_messages.unwrap_or(0)
                    );
                }
                None => text.push_str("  last sync: none since the start\n"),
            }
            if let Some(share) = &account.limit_share {
                let _ = writeln!(text, "  rate limits: {}", share.to_text());
            }
        }
        let _ = writeln!(
            text,
            "Recent warnings and errors: {}",
            self.recent_problems.len()
        );
        for problem in &self.recent_problems {
            let _ = writeln!(
                text,
                "- {} {} {}: {}",
                time(&problem.at),
                problem.level,
                problem.target,
                problem.message
            );
        }
        text
    }
}

/// The features `account`'s provider lacks, with the reasons.
fn disabled_features(account: &Account) -> Vec<DisabledFeature> {
    let features = serde_json::to_value(&account.features).unwrap_or_default();
    let Some(features) = features.as_object() else {
        return Vec::new();
    };
    features
        .iter()
        .filter(|(_, feature)| feature["enabled"] == serde_json::Value::Bool(false))
        .map(|(name, feature)| DisabledFeature {
            feature: name.clone(),
            reason: feature["reason"].as_str().map(str::to_string),
        })
        .collect()
}

/// A base URL without what could be secret: scheme, host and port only.
fn server_of(base_url: &str) -> String {
    match url::Url::parse(base_url) {
        Ok(url) => {
            let host = url.host_str().unwrap_or("");
            match url.port() {
                Some(port) => format!("{}://{host}:{port}", url.scheme()),
                None => format!("{}://{host}", url.scheme()),
            }
        }
        Err(_) => "(not a valid URL)".to_string(),
    }
}

/// `PRETTY_NAME` from `/etc/os-release` (Linux), if readable.
fn os_release_name() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .ok()?;
    text.lines().find_map(|line| {
        let value = line.strip_prefix("PRETTY_NAME=")?;
        let value = value.trim().trim_matches('"').trim_matches('\'');
        (!value.is_empty()).then(|| value.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::{server_of, LimitShareNote};

    #[test]
    fn a_server_keeps_no_credentials_path_or_query() {
        assert_eq!(
            server_of("https://user:secret@api.example.com:8443/p1/?accesskey=k"),
            "https://api.example.com:8443"
        );
        assert_eq!(server_of("http://127.0.0.1:4000/"), "http://127.0.0.1:4000");
        assert_eq!(server_of("not a url"), "(not a valid URL)");
    }

    #[test]
    fn the_share_line_says_how_much_of_the_limits_this_computer_takes() {
        let shared = LimitShareNote {
            share: 0.35,
            refusals: 7,
            last_refusal_at: Some("2026-12-07T09:12:00Z".parse().unwrap()),
        };
        assert_eq!(
            shared.to_text(),
            "shared with other clients of the token: this computer takes 35 % of them \
             (7 429s told of other clients, the last 2026-12-07T09:12:00Z)"
        );
        let alone = LimitShareNote {
            share: 1.0,
            ..shared
        };
        assert!(alone
            .to_text()
            .starts_with("its own again, in full (7 429s"));
    }
}
