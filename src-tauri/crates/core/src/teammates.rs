//! Teammates by name: the provider's list (VoIPbin agents), cached so it also answers offline, and
//! the names the agent gave user ids itself ("42 = Olga"), which win over the provider's.

use std::time::Duration;

use serde::Serialize;

use crate::error::{CoreError, ErrorCode, Result};
use crate::model::{now_millis, Account, ProviderKind};
use crate::store::StoredTeammate;
use crate::Parley;

/// How long the cached provider list is used as it is before [`Parley::teammates`] reads it again.
pub const TEAMMATES_MAX_AGE: Duration = Duration::from_secs(12 * 3600);
/// The longest teammate label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

/// A teammate an assignment can name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Teammate {
    /// The user id an assignment takes.
    pub id: String,
    /// The name to show; empty for a user id seen on conversations that nobody named yet.
    pub name: String,
    /// Where the name comes from: `provider` (the provider's list), `label` (the agent's own), or
    /// `seen` (no name yet: a user id conversations are assigned to).
    pub source: &'static str,
}

impl From<StoredTeammate> for Teammate {
    fn from(stored: StoredTeammate) -> Self {
        Self {
            id: stored.user_id,
            name: stored.name,
            source: if stored.labelled { "label" } else { "provider" },
        }
    }
}

/// Whether the provider's API lists an account's teammates (Pact has no users API).
fn lists_teammates(kind: ProviderKind) -> bool {
    matches!(kind, ProviderKind::Voipbin)
}

impl Parley {
    /// Teammates of an account by name: the provider's cached list merged with the agent's labels
    /// (a label wins), sorted by name. A cache never filled or older than [`TEAMMATES_MAX_AGE`] is
    /// read again first where the provider lists teammates; when that fails (offline, no
    /// permission) the answer comes from the cache.
    pub async fn teammates(&self, account: &str) -> Result<Vec<Teammate>> {
        let account = self.store.account(account).await?;
        if lists_teammates(account.provider) {
            let fetched_at = self.store.teammates_fetched_at(account.id).await?;
            let stale = fetched_at
                .is_none_or(|at| now_millis() - at > TEAMMATES_MAX_AGE.as_millis() as i64);
            if stale {
                if let Err(error) = self.refresh_account_teammates(&account).await {
                    tracing::info!(account = %account.name, error = %crate::logging::describe_error(&error), "teammates answered from the cache");
                }
            }
        }
        self.cached_teammates(&account).await
    }

    /// What the window's assign control offers: [`Parley::teammates`], then the user ids that
    /// conversations are assigned to but nobody named yet (`source` `seen`, empty name), so a
    /// provider without a users API (Pact) can have them named once.
    pub async fn teammates_with_seen(&self, account: &str) -> Result<Vec<Teammate>> {
        let mut teammates = self.teammates(account).await?;
        let account = self.store.account(account).await?;
        let mut seen = self.store.assignee_ids_seen(account.id).await?;
        seen.retain(|id| !teammates.iter().any(|teammate| &teammate.id == id));
        seen.sort();
        teammates.extend(seen.into_iter().map(|id| Teammate {
            id,
            name: String::new(),
            source: "seen",
        }));
        Ok(teammates)
    }

    /// Reads the provider's list into the cache again. A provider without one (Pact) is not an
    /// error: `Ok(false)`. A failure (offline, a VoIPbin agent without admin or manager
    /// permission: `forbidden`) keeps the cache and is returned.
    pub async fn refresh_teammates(&self, account: &str) -> Result<bool> {
        let account = self.store.account(account).await?;
        self.refresh_account_teammates(&account).await
    }

    /// Names a user id ("42 = Olga"), replacing an earlier label; `None` or an empty name removes
    /// the label.
    pub async fn label_teammate(
        &self,
        account: &str,
        user_id: &str,
        name: Option<&str>,
    ) -> Result<()> {
        let account = self.store.account(account).await?;
        let user_id = user_id.trim();
        if user_id.is_empty() {
            return Err(CoreError::InvalidInput(
                "give the teammate's user id to label".to_string(),
            ));
        }
        let name = name.map(str::trim).filter(|name| !name.is_empty());
        if let Some(name) = name {
            if name.chars().count() > MAX_LABEL_CHARS || name.chars().any(char::is_control) {
                return Err(CoreError::InvalidInput(format!(
                    "a teammate's name is one line of at most {MAX_LABEL_CHARS} characters"
                )));
            }
        }
        self.store
            .set_teammate_label(account.id, user_id, name)
            .await
    }

    async fn refresh_account_teammates(&self, account: &Account) -> Result<bool> {
        if !lists_teammates(account.provider) {
            return Ok(false);
        }
        let provider = self.provider(account).await?;
        match provider.teammates().await {
            Ok(teammates) => {
                self.store.replace_teammates(account.id, &teammates).await?;
                Ok(true)
            }
            Err(error) if error.code == ErrorCode::Unsupported => Ok(false),
            Err(error) => Err(CoreError::provider(&account.name, error)),
        }
    }

    async fn cached_teammates(&self, account: &Account) -> Result<Vec<Teammate>> {
        let mut teammates: Vec<Teammate> = self
            .store
            .teammates(account.id)
            .await?
            .into_iter()
            .map(Teammate::from)
            .collect();
        teammates
            .sort_by_cached_key(|teammate| (teammate.name.to_lowercase(), teammate.id.clone()));
        Ok(teammates)
    }
}
