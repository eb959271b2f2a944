//! The domain types the shells see: accounts, conversations, messages, outbox entries and search hits.

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use crate::error::{CoreError, Result};

/// Which API an account talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ProviderKind {
    /// Pact.im through both of its APIs with one token: v2 (`https://api.pact.im/api/p2/`) for
    /// conversations, messages, sends, assignment and states, v1 for companies, notes and Bitrix.
    #[serde(rename = "pact")]
    Pact,
    /// Pact.im private API v1 (`https://api.pact.im/p1/`) alone, which Pact marks deprecated.
    #[serde(rename = "pact-p1")]
    PactP1,
    /// VoIPbin conversations (`https://api.voipbin.net/v1.0/`).
    #[serde(rename = "voipbin")]
    Voipbin,
}

impl ProviderKind {
    /// The name used on the command line and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pact => "pact",
            Self::PactP1 => "pact-p1",
            Self::Voipbin => "voipbin",
        }
    }

    /// What the provider's API lets Parley do, for the UI to enable or explain.
    pub fn features(self) -> AccountFeatures {
        match self {
            Self::Pact => AccountFeatures {
                attachments: Feature::available(),
                notes: Feature::available(),
                bitrix: Feature::available(),
                unassign: Feature::available(),
                archive: Feature::available(),
                replied: Feature::available(),
                reply: Feature::available(),
                delete: Feature::available(),
                start: Feature::available(),
                attach_url: Feature::available(),
            },
            Self::PactP1 => AccountFeatures {
                attachments: Feature::available(),
                notes: Feature::available(),
                bitrix: Feature::available(),
                unassign: Feature::missing("Pact p1 has no way to clear an assignment"),
                archive: Feature::missing(PACT_P1_ONLY),
                replied: Feature::missing(PACT_P1_ONLY),
                reply: Feature::missing(PACT_P1_ONLY),
                delete: Feature::missing(PACT_P1_ONLY),
                start: Feature::available(),
                attach_url: Feature::available(),
            },
            Self::Voipbin => AccountFeatures {
                attachments: Feature::missing("VoIPbin's API sends text only; files are dropped"),
                notes: Feature::missing("VoIPbin conversations have no notes"),
                bitrix: Feature::missing("Bitrix openlines are a Pact feature, not VoIPbin's"),
                unassign: Feature::available(),
                archive: Feature::missing("VoIPbin conversations cannot be archived"),
                replied: Feature::missing("VoIPbin has no replied state"),
                reply: Feature::missing("VoIPbin's API cannot quote a message"),
                delete: Feature::missing("VoIPbin's API cannot delete a message"),
                start: Feature::available(),
                attach_url: Feature::missing("VoIPbin's API sends text only; files are dropped"),
            },
        }
    }

    /// Parses the command-line / database name.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "pact" => Ok(Self::Pact),
            "pact-p1" => Ok(Self::PactP1),
            "voipbin" => Ok(Self::Voipbin),
            other => Err(CoreError::InvalidInput(format!(
                "unknown provider \"{other}\" (known: pact, pact-p1, voipbin)"
            ))),
        }
    }

    /// True for the kinds that talk to Pact.
    pub fn is_pact(self) -> bool {
        matches!(self, Self::Pact | Self::PactP1)
    }
}

/// Why a feature of Pact's current API is not offered on a p1-only account.
const PACT_P1_ONLY: &str =
    "this account uses Pact's deprecated p1 API; switch it to p2 (parley-cli account upgrade)";

/// Whether one feature can be used with an account, and if not, a one-line reason to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feature {
    /// True when the provider offers it.
    pub enabled: bool,
    /// Why it is disabled (`None` when enabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

impl Feature {
    fn available() -> Self {
        Self {
            enabled: true,
            reason: None,
        }
    }

    fn missing(reason: &'static str) -> Self {
        Self {
            enabled: false,
            reason: Some(reason),
        }
    }
}

/// What an account's provider supports beyond reading and sending text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountFeatures {
    /// Files on send.
    pub attachments: Feature,
    /// The conversation note.
    pub notes: Feature,
    /// The Bitrix openlines block.
    pub bitrix: Feature,
    /// Clearing an assignment.
    pub unassign: Feature,
    /// Archiving and reopening conversations.
    pub archive: Feature,
    /// Marking a conversation replied or unreplied.
    pub replied: Feature,
    /// Answering a quoted message.
    pub reply: Feature,
    /// Deleting a sent message (where the messenger allows it).
    pub delete: Feature,
    /// Starting a conversation with a new contact (VoIPbin: only where the server still answers
    /// the legacy setup; the account says why not once it answered 404).
    pub start: Feature,
    /// Attaching a file by link (`file_url`).
    pub attach_url: Feature,
}

/// A configured account. The token is not here: it lives in the keyring.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    /// Local id.
    #[serde(skip)]
    pub id: i64,
    /// The user's name for the account, unique.
    pub name: String,
    /// The API it talks to.
    pub provider: ProviderKind,
    /// A replacement for the provider's public endpoint, if any.
    pub base_url: Option<String>,
    /// The provider company ids this account syncs; empty means every company of the token.
    pub companies: Vec<String>,
    /// The keyring entry holding the token.
    #[serde(skip)]
    pub secret_ref: String,
    /// Conversations with customer messages not yet opened.
    pub unread_conversations: i64,
    /// The login name, for accounts that sign in with a username and password (VoIPbin); the
    /// password itself is in the keyring.
    pub username: Option<String>,
    /// What the provider supports, with reasons for what it does not.
    pub features: AccountFeatures,
}

/// What `add_account` needs besides the token.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The account's unique name.
    pub name: String,
    /// The API it talks to.
    pub provider: ProviderKind,
    /// A replacement for the provider's public endpoint.
    pub base_url: Option<String>,
    /// Only these companies (provider ids); empty for every company of the token.
    pub company_ids: Vec<String>,
}

/// Names a conversation as `ACCOUNT/ID`, ID being the provider's conversation id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRef {
    /// The account's name.
    pub account: String,
    /// The provider's conversation id.
    pub id: String,
}

impl ConversationRef {
    /// Parses `ACCOUNT/ID`; the account name may itself contain `/`, the id is after the last one.
    pub fn parse(text: &str) -> Result<Self> {
        match text.rsplit_once('/') {
            Some((account, id)) if !account.is_empty() && !id.is_empty() => Ok(Self {
                account: account.to_string(),
                id: id.to_string(),
            }),
            _ => Err(CoreError::InvalidInput(format!(
                "\"{text}\" is not a conversation; write it as ACCOUNT/ID"
            ))),
        }
    }
}

impl std::fmt::Display for ConversationRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.account, self.id)
    }
}

/// A conversation as the inbox lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationView {
    /// The account's name.
    pub account: String,
    /// The provider's conversation id.
    pub id: String,
    /// The provider's company id.
    pub company_id: String,
    /// The contact's name as the provider gives it (may be absent).
    pub title: Option<String>,
    /// The messenger: whatsapp, telegram_personal, ...
    pub channel: Option<String>,
    /// The newest activity known.
    pub last_message_at: Option<DateTime<Utc>>,
    /// The teammate the conversation is assigned to.
    pub assignee_id: Option<String>,
    /// The team's note on the conversation.
    pub note: Option<String>,
    /// Whether Bitrix openlines are blocked for it, when known.
    pub bitrix_openlines: Option<bool>,
    /// True when the customer wrote since the conversation was last opened.
    pub unread: bool,
    /// `open` or `archived`.
    pub state: String,
    /// Whether the team answered the customer's last message, when the provider says.
    pub replied: Option<bool>,
}

/// An attachment's metadata.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AttachmentView {
    /// The file name as the sender gave it.
    pub name: Option<String>,
    /// Size in bytes, when known.
    pub size: Option<i64>,
    /// MIME type, when known.
    pub mime: Option<String>,
    /// Where the bytes are once fetched into the data folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_path: Option<String>,
}

/// A message in a thread (a cached server message, or an outbox entry not yet on the server).
#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    /// The provider's message id; `None` while the message is only in the outbox.
    pub id: Option<String>,
    /// `in` from the customer, `out` from the team.
    pub direction: &'static str,
    /// The text; `None` for attachment-only messages.
    pub text: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// received, pending, sent, delivered or failed.
    pub status: String,
    /// The attachments, in order.
    pub attachments: Vec<AttachmentView>,
    /// The outbox entry behind an outgoing message, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbox_id: Option<i64>,
    /// Why sending failed (a failed outbox entry) or why the server reports `error`.
    pub error: Option<String>,
    /// The class of a failed or retried send (`offline`, `unauthorized`, `server_error`, ...), so
    /// the window can say it in plain words; `error` keeps the detail for the log and support.
    pub error_code: Option<String>,
    /// The provider id of the message this one answers, when it is cached.
    pub reply_to: Option<String>,
    /// True when the message was deleted.
    pub deleted: bool,
}

/// The state of an outbox entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Stored locally, not yet accepted by the server.
    Pending,
    /// Accepted by the server, delivery in progress.
    Sent,
    /// Delivered to the customer's messenger.
    Delivered,
    /// Gave up; `last_error` says why. Retry makes it pending again.
    Failed,
}

impl OutboxState {
    /// The database / JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// Parses the database name.
    pub fn parse(text: &str) -> Self {
        match text {
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }

    /// True once nothing more will happen without the user.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Failed)
    }
}

/// An outbox entry as the shells show it.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxEntryView {
    /// The entry's id (`outbox_id`).
    pub id: i64,
    /// `ACCOUNT/ID` of the conversation.
    pub conversation: String,
    /// Where it is.
    pub status: OutboxState,
    /// The text.
    pub text: Option<String>,
    /// The attached files' names.
    pub attachments: Vec<String>,
    /// How many send attempts were made.
    pub attempts: i64,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// The last failure's code, if any.
    pub last_error_code: Option<String>,
    /// The provider's message id once delivered.
    pub message_id: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// One search result.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    /// The account's name.
    pub account: String,
    /// `ACCOUNT/ID` of the conversation.
    pub conversation: String,
    /// The provider's message id; `None` when the conversation's name matched.
    pub message_id: Option<String>,
    /// The matching text around the match.
    pub snippet: String,
    /// When the message was written (or the conversation last active).
    pub created_at: Option<DateTime<Utc>>,
}

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// The account's name.
    pub account: String,
    /// Conversations cached for the account after the sync.
    pub conversations: i64,
    /// Messages cached for the account after the sync.
    pub messages: i64,
    /// Messages this sync added.
    pub new_messages: i64,
    /// How many times the server answered 429 (too many requests) during the sync.
    pub rate_limited: u64,
}

/// Progress of a running sync, for a progress bar.
#[derive(Debug, Clone, Serialize)]
pub struct SyncProgress {
    /// The account's name.
    pub account: String,
    /// Conversations whose threads are done.
    pub conversations_done: usize,
    /// Conversations whose threads need work in this sync.
    pub conversations_total: usize,
    /// Messages written so far in this sync.
    pub messages_fetched: i64,
    /// Threads whose older history is still to be downloaded (paced providers).
    pub history_waiting: usize,
    /// About how long the remaining work needs under the provider's rate limits, when known.
    pub eta_seconds: Option<u64>,
    /// While other clients (other computers with the same token) use the provider's rate limits
    /// too: the fraction of them this computer takes, in (0, 1), which `eta_seconds` allows for.
    /// `None` while it has the limits to itself.
    pub limit_share: Option<f64>,
}

/// Converts stored milliseconds to a UTC time.
pub(crate) fn from_millis(millis: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(millis)
        .single()
        .unwrap_or_default()
}

/// The current time in stored milliseconds.
pub(crate) fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ref_takes_the_id_after_the_last_slash() {
        let parsed = ConversationRef::parse("team/eu/42").unwrap();
        assert_eq!(parsed.account, "team/eu");
        assert_eq!(parsed.id, "42");
        assert!(ConversationRef::parse("42").is_err());
        assert!(ConversationRef::parse("acme/").is_err());
    }
}
