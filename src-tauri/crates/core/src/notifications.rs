//! The agent's notification preferences (Settings → Notifications), kept in the core's settings as
//! one JSON value, and the rule that applies them to a conversation with new customer messages.

use serde::{Deserialize, Serialize};

use crate::{ConversationView, Parley, Result};

/// The settings key the preferences are kept under.
pub const NOTIFICATIONS_KEY: &str = "notifications";
/// The settings key prefix of the agent's own user id per account (`my_user_id.<account>`).
pub const MY_ID_PREFIX: &str = "my_user_id.";

/// What the agent wants to be told about, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationPreferences {
    /// Play the system's notification sound.
    pub sound: bool,
    /// Only while Parley's window does not have the focus.
    pub only_when_unfocused: bool,
    /// Only conversations assigned to the agent (their own id on the account) or to nobody.
    pub only_mine_or_unassigned: bool,
    /// Accounts (by name) that never notify.
    pub muted_accounts: Vec<String>,
}

impl Default for NotificationPreferences {
    /// Sound on, always, everything: what Parley did before the preferences existed.
    fn default() -> Self {
        Self {
            sound: true,
            only_when_unfocused: false,
            only_mine_or_unassigned: false,
            muted_accounts: Vec::new(),
        }
    }
}

impl NotificationPreferences {
    /// Whether new customer messages in `conversation` notify. `focused`: the window has the
    /// focus; `my_id`: the agent's own user id on the conversation's account, if known.
    pub fn wants(
        &self,
        conversation: &ConversationView,
        focused: bool,
        my_id: Option<&str>,
    ) -> bool {
        if focused && self.only_when_unfocused {
            return false;
        }
        if self
            .muted_accounts
            .iter()
            .any(|muted| muted == &conversation.account)
        {
            return false;
        }
        if !self.only_mine_or_unassigned {
            return true;
        }
        match conversation
            .assignee_id
            .as_deref()
            .filter(|id| !id.is_empty())
        {
            None => true,
            Some(assignee) => my_id.is_some_and(|mine| mine == assignee),
        }
    }
}

impl Parley {
    /// The agent's notification preferences; the defaults when never saved or unreadable.
    pub async fn notification_preferences(&self) -> Result<NotificationPreferences> {
        let stored = self.setting(NOTIFICATIONS_KEY).await?;
        Ok(stored
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default())
    }

    /// Saves the agent's notification preferences.
    pub async fn set_notification_preferences(
        &self,
        preferences: &NotificationPreferences,
    ) -> Result<()> {
        let json = serde_json::to_string(preferences)
            .map_err(|error| crate::CoreError::InvalidInput(error.to_string()))?;
        self.set_setting(NOTIFICATIONS_KEY, &json).await
    }

    /// The agent's own user id on `account`, when they gave it.
    pub async fn my_user_id(&self, account: &str) -> Result<Option<String>> {
        Ok(self
            .setting(&format!("{MY_ID_PREFIX}{account}"))
            .await?
            .filter(|id| !id.trim().is_empty()))
    }
}
