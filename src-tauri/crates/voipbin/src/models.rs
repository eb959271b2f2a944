//! VoIPbin objects in both shapes (the legacy one with `participants` / `reference_type` and today's
//! with `self` / `peer` / `type` / `dialog_id` / `owner_id`), plus the unified view the core needs.
//!
//! Every field is optional, unknown fields are ignored, and timestamps are kept as the raw strings the
//! server sent (the next page token is the last item's raw `tm_create`); read them with the helpers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::timestamp::{self, Timestamp};

/// The nil UUID the server uses for "no owner".
pub const NIL_UUID: &str = "00000000-0000-0000-0000-000000000000";

/// A party's address (`{type, target, target_name, name, detail}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    /// Address kind: `tel`, `line`, `email`, ...
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The address itself (phone number, LINE user id, ...); empty for "us" in legacy data.
    pub target: Option<String>,
    /// Display name of the target, when known.
    pub target_name: Option<String>,
    /// Name of the address entry.
    pub name: Option<String>,
    /// Free-text detail.
    pub detail: Option<String>,
}

impl Address {
    /// The best human name: `target_name`, then `name`, skipping blanks and the server's `Unknown`.
    pub fn display_name(&self) -> Option<&str> {
        [&self.target_name, &self.name]
            .into_iter()
            .filter_map(|value| non_blank(value.as_deref()))
            .find(|value| !value.eq_ignore_ascii_case("unknown"))
    }

    /// The non-blank target.
    pub fn target(&self) -> Option<&str> {
        non_blank(self.target.as_deref())
    }
}

/// The messaging channel of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// LINE.
    Line,
    /// SMS/MMS (`message` in today's shape, `sms`/`tel` elsewhere).
    Sms,
    /// WhatsApp.
    Whatsapp,
    /// Email.
    Email,
    /// The webchat widget.
    Webchat,
    /// A channel this client does not know, as the server named it.
    Other(String),
    /// The object does not say.
    Unknown,
}

impl Channel {
    /// Reads a channel name as the API spells it.
    pub fn from_api(name: &str) -> Self {
        match name.trim().to_ascii_lowercase().as_str() {
            "" => Self::Unknown,
            "line" => Self::Line,
            "message" | "sms" | "mms" | "tel" => Self::Sms,
            "whatsapp" => Self::Whatsapp,
            "email" => Self::Email,
            "webchat" => Self::Webchat,
            other => Self::Other(other.to_string()),
        }
    }

    /// A short lowercase name (`line`, `sms`, `whatsapp`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Line => "line",
            Self::Sms => "sms",
            Self::Whatsapp => "whatsapp",
            Self::Email => "email",
            Self::Webchat => "webchat",
            Self::Other(name) => name,
            Self::Unknown => "unknown",
        }
    }
}

/// A conversation in either shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Conversation {
    /// Conversation UUID.
    pub id: String,
    /// Owning customer (today's shape).
    pub customer_id: Option<String>,
    /// `agent` when assigned, empty otherwise (today's shape).
    pub owner_type: Option<String>,
    /// Assigned agent; the nil UUID or empty means unassigned (today's shape).
    pub owner_id: Option<String>,
    /// Messaging account (today's shape).
    pub account_id: Option<String>,
    /// Title (often auto-generated or the generic `conversation`).
    pub name: Option<String>,
    /// Description.
    pub detail: Option<String>,
    /// Channel type: `message`, `line`, `whatsapp`, `email`, `webchat` (today's shape).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Channel dialog id such as a phone number or LINE chat id (today's shape).
    pub dialog_id: Option<String>,
    /// Our side (today's shape).
    #[serde(rename = "self")]
    pub self_address: Option<Address>,
    /// The other side (today's shape).
    pub peer: Option<Address>,
    /// Channel type (legacy shape).
    pub reference_type: Option<String>,
    /// Channel-side id of the peer (legacy shape).
    pub reference_id: Option<String>,
    /// Both parties; ours has an empty target (legacy shape).
    #[serde(deserialize_with = "null_as_default")]
    pub participants: Vec<Address>,
    /// Creation time, raw.
    pub tm_create: Option<String>,
    /// Last update, raw.
    pub tm_update: Option<String>,
    /// Deletion time, raw (`9999-01-01 …` or null: not deleted).
    pub tm_delete: Option<String>,
}

impl Conversation {
    /// The conversation id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The remote party: `peer`, else the legacy participant that is not us.
    pub fn peer_address(&self) -> Option<&Address> {
        self.peer.as_ref().or_else(|| self.legacy_peer())
    }

    fn legacy_peer(&self) -> Option<&Address> {
        let reference = non_blank(self.reference_id.as_deref());
        self.participants
            .iter()
            .find(|p| reference.is_some() && p.target() == reference)
            .or_else(|| self.participants.iter().find(|p| p.target().is_some()))
    }

    /// A title for the inbox: the peer's name, else its target, else the conversation name, else the id.
    pub fn title(&self) -> String {
        let peer = self.peer_address();
        peer.and_then(Address::display_name)
            .or_else(|| peer.and_then(Address::target))
            .or_else(|| non_blank(self.dialog_id.as_deref()))
            .or_else(|| non_blank(self.reference_id.as_deref()))
            .or_else(|| non_blank(self.name.as_deref()))
            .unwrap_or(&self.id)
            .to_string()
    }

    /// The channel: `type`, else `reference_type`, else the peer's address kind.
    pub fn channel(&self) -> Channel {
        [
            self.kind.as_deref(),
            self.reference_type.as_deref(),
            self.peer_address().and_then(|p| p.kind.as_deref()),
        ]
        .into_iter()
        .flatten()
        .map(Channel::from_api)
        .find(|channel| *channel != Channel::Unknown)
        .unwrap_or(Channel::Unknown)
    }

    /// The assigned agent's id, or `None` when unassigned (absent, empty or the nil UUID).
    pub fn owner(&self) -> Option<&str> {
        non_blank(self.owner_id.as_deref()).filter(|id| *id != NIL_UUID)
    }

    /// Creation time.
    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        timestamp::parse_optional(self.tm_create.as_deref()).at()
    }

    /// Last activity: the update time, else the creation time.
    pub fn last_activity(&self) -> Option<DateTime<Utc>> {
        timestamp::parse_optional(self.tm_update.as_deref())
            .at()
            .or_else(|| self.created_at())
    }

    /// Whether the conversation has a real deletion time.
    pub fn is_deleted(&self) -> bool {
        matches!(
            timestamp::parse_optional(self.tm_delete.as_deref()),
            Timestamp::At(_)
        )
    }
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the customer's contact to us.
    Incoming,
    /// From us to the contact.
    Outgoing,
    /// The message does not say.
    Unknown,
}

/// A conversation message in either shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Message {
    /// Message UUID.
    pub id: String,
    /// Owning customer.
    pub customer_id: Option<String>,
    /// Parent conversation.
    pub conversation_id: Option<String>,
    /// `incoming` / `outgoing` (conversation API) or `inbound` / `outbound` (message API).
    pub direction: Option<String>,
    /// Delivery status (`progressing`, `done`, `failed`, legacy `sent`, `received`).
    pub status: Option<String>,
    /// Channel type.
    pub reference_type: Option<String>,
    /// Channel-side id of the peer.
    pub reference_id: Option<String>,
    /// The sender.
    pub source: Option<Address>,
    /// The receiver (today's shape).
    pub destination: Option<Address>,
    /// Sender target; empty for messages we sent (oldest shape, no `direction`).
    pub source_target: Option<String>,
    /// Body text.
    pub text: Option<String>,
    /// Media attachments, as sent.
    #[serde(deserialize_with = "null_as_default")]
    pub medias: Vec<serde_json::Value>,
    /// Creation time, raw.
    pub tm_create: Option<String>,
    /// Last status update, raw.
    pub tm_update: Option<String>,
    /// Deletion time, raw.
    pub tm_delete: Option<String>,
}

impl Message {
    /// The message id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The direction: the `direction` field in either spelling, else (oldest shape) an empty
    /// sender target means we sent it.
    pub fn direction(&self) -> Direction {
        if let Some(direction) = non_blank(self.direction.as_deref()) {
            return match direction.to_ascii_lowercase().as_str() {
                "incoming" | "inbound" => Direction::Incoming,
                "outgoing" | "outbound" => Direction::Outgoing,
                _ => Direction::Unknown,
            };
        }
        let sender = self
            .source_target
            .as_deref()
            .or_else(|| self.source.as_ref().and_then(|s| s.target.as_deref()));
        match sender {
            Some(target) if target.trim().is_empty() => Direction::Outgoing,
            Some(_) => Direction::Incoming,
            None => Direction::Unknown,
        }
    }

    /// The body text (empty when absent).
    pub fn text(&self) -> &str {
        self.text.as_deref().unwrap_or_default()
    }

    /// Creation time.
    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        timestamp::parse_optional(self.tm_create.as_deref()).at()
    }

    /// Last update time, else the creation time.
    pub fn updated_at(&self) -> Option<DateTime<Utc>> {
        timestamp::parse_optional(self.tm_update.as_deref())
            .at()
            .or_else(|| self.created_at())
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items that could be read, newest first.
    pub items: Vec<T>,
    /// The server's `next_page_token`, if it sent one.
    pub next_page_token: Option<String>,
    /// How many items on the page could not be read (no id, wrong types) and were left out.
    pub skipped: usize,
    /// The token that asks for the page after this one; in a page stream `None` once this page is
    /// the last (empty or short), so it can be stored to resume an interrupted listing.
    pub resume_token: Option<String>,
}

pub(crate) fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// `null` becomes the default value (an empty list).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
