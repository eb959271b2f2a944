//! Response models: fields named as on the wire, everything but the id optional and tolerant of
//! drifting JSON types (see [`crate::lenient`]), unknown fields ignored.

use chrono::{DateTime, Utc};
use parley_http::exchange::sanitize;
use serde::Deserialize;
use serde_json::Value;

use parley_http::{lenient, timestamp};

/// One page of a list endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items on this page, in the server's order.
    pub items: Vec<T>,
    /// The page number (`meta.page`, else the one asked for).
    pub page: u32,
    /// The effective page size: `meta.per_page` when present and smaller than asked for (the
    /// server clamps silently), else the size asked for.
    pub per_page: u32,
    /// `meta.entries_count`, else the number of items.
    pub entries_count: usize,
    /// True when no page follows: fewer items than the effective page size, or none at all.
    pub is_last: bool,
}

/// A chat between the company and a client on some messenger.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Conversation {
    /// Conversation id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: i64,
    /// Company id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub company_id: Option<i64>,
    /// Sender (or group chat) name. Hostile customer text.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub sender_name: Option<String>,
    /// Sender phone, where the provider has phones.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub sender_phone: Option<String>,
    /// The conversation's id on the messenger.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub sender_external_id: Option<String>,
    /// The public id on the messenger (a username, a phone).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub sender_external_public_id: Option<String>,
    /// Provider, e.g. `whatsapp`, `telegram_personal`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub provider: Option<String>,
    /// Avatar URL of the sender or group.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub avatar_url: Option<String>,
    /// When Pact created the conversation.
    #[serde(default, deserialize_with = "timestamp::deserialize")]
    pub created_at: Option<DateTime<Utc>>,
    /// The provider time of the last message (`None` before the first message).
    #[serde(default, deserialize_with = "timestamp::deserialize")]
    pub last_updated_at: Option<DateTime<Utc>>,
    /// Id of the last message (`None` before the first message).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub last_message_id: Option<i64>,
    /// `open`, `archived`, `blocked` (or a value added later).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub operational_state: Option<String>,
    /// `initialized`, `replied` or `unreplied`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub replied_state: Option<String>,
    /// Whether this is a group chat.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub group: Option<bool>,
    /// The responsible user. Not documented in responses; read when a server sends it.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub assignee_id: Option<i64>,
}

/// One message of a conversation.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Message {
    /// Message id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: i64,
    /// The provider's message id (what replies refer to); a string or a number on the wire.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub external_id: Option<String>,
    /// Company id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub company_id: Option<i64>,
    /// Conversation id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub conversation_id: Option<i64>,
    /// Contact id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub contact_id: Option<i64>,
    /// External id of the message this one replies to.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub replied_to_id: Option<String>,
    /// When Pact stored the message.
    #[serde(default, deserialize_with = "timestamp::deserialize")]
    pub created_at: Option<DateTime<Utc>>,
    /// The provider's time (as a rule, when the message was really sent).
    #[serde(default, deserialize_with = "timestamp::deserialize")]
    pub external_created_at: Option<DateTime<Utc>>,
    /// True when the client wrote it (absent or null: outgoing).
    #[serde(default, deserialize_with = "lenient::bool_or_false")]
    pub income: bool,
    /// `created`, `sent`, `delivered`, `read` or `error`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub status: Option<String>,
    /// The text; `None` or empty for attachment-only messages. Hostile customer text.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
    /// Why the message was not delivered, when it was not (free-form JSON).
    #[serde(default, deserialize_with = "lenient::opt_value")]
    pub details: Option<Value>,
    /// Attached files (`null` or absent: none).
    #[serde(default, deserialize_with = "lenient::vec_or_empty")]
    pub attachments: Vec<Attachment>,
    /// Whether it was sent by the bulk mail feature.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub delivery: Option<bool>,
    /// Whether it was deleted (absent or null: no).
    #[serde(default, deserialize_with = "lenient::bool_or_false")]
    pub deleted: bool,
}

/// Longest reason text [`Message::error_reason`] returns (characters).
const MAX_REASON_CHARS: usize = 300;

impl Message {
    /// The message's time: the provider's `external_created_at`, else Pact's `created_at`.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.external_created_at.or(self.created_at)
    }

    /// A readable reason from `details` (non-empty details are reported whatever the status):
    /// a string as it is, an object's `reason`/`message`/`error`/`detail`/`description` field,
    /// else its compact JSON, on one line of at most 300 characters. `None` when `details` is
    /// null or empty, also for an `error` status: there is nothing readable to show then.
    pub fn error_reason(&self) -> Option<String> {
        let details = self.details.as_ref().filter(|details| !is_empty(details))?;
        let text = reason_in(details).unwrap_or_else(|| details.to_string());
        let text = sanitize(&text);
        let text = if text.chars().count() > MAX_REASON_CHARS {
            text.chars().take(MAX_REASON_CHARS).collect()
        } else {
            text
        };
        (!text.is_empty()).then_some(text)
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(text) => text.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

fn reason_in(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Object(map) => ["reason", "message", "error", "detail", "description"]
            .iter()
            .filter_map(|key| map.get(*key))
            .find_map(|field| match field {
                Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
                Value::Object(_) => reason_in(field),
                Value::Number(_) | Value::Bool(_) => Some(field.to_string()),
                _ => None,
            }),
        _ => None,
    }
}

/// A file stored in Pact, sent in a message or uploaded to be sent.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Attachment {
    /// Attachment id (what [`crate::OutgoingMessage::attachment_id`] takes).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub id: Option<i64>,
    /// The message it belongs to (`None` until sent).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub message_id: Option<i64>,
    /// Original file name. Hostile customer text.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub file_name: Option<String>,
    /// MIME type, e.g. `audio/ogg`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub mime_type: Option<String>,
    /// Size in bytes.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub size: Option<i64>,
    /// URL of the file.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub attachment_url: Option<String>,
    /// URL of an image preview.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub preview_url: Option<String>,
    /// Image aspect ratio.
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    pub aspect_ratio: Option<f64>,
    /// A voice message (as opposed to an audio file).
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub push_to_talk: Option<bool>,
}

/// An approved WhatsApp Business message template.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct WabaTemplate {
    /// Template id in Pact.
    #[serde(deserialize_with = "lenient::id")]
    pub id: i64,
    /// Template name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// Template text with `{{1}}`-style placeholders.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub body: Option<String>,
    /// The template's id on the WhatsApp Business side (what [`crate::FirstMessage::waba_id`] takes).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub waba_id: Option<String>,
    /// How many substitutions the template takes.
    #[serde(default, deserialize_with = "lenient::opt_u32")]
    pub substitutions_count: Option<u32>,
    /// Header content type: `video`, `document`, `text` or `image`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub header_content_type: Option<String>,
    /// Company id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub company_id: Option<i64>,
    /// Header text.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub header: Option<String>,
    /// Namespace.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub namespace: Option<String>,
    /// When the template was created.
    #[serde(default, deserialize_with = "timestamp::deserialize")]
    pub created_at: Option<DateTime<Utc>>,
    /// Position of the template in the company.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub position: Option<i64>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message(value: Value) -> Message {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_bare_message_has_defaults() {
        let bare = message(json!({"id": "7"}));
        assert_eq!(bare.id, 7);
        assert!(!bare.income && !bare.deleted);
        assert!(bare.attachments.is_empty());
        assert_eq!(bare.time(), None);
        assert_eq!(bare.error_reason(), None);
        assert!(serde_json::from_value::<Message>(json!({"text": "no id"})).is_err());
        assert!(serde_json::from_value::<Message>(json!({"id": null})).is_err());
    }

    #[test]
    fn time_prefers_the_providers() {
        let both = message(json!({
            "id": 1,
            "created_at": "2025-02-05T09:01:48.514Z",
            "external_created_at": "2025-02-05T09:01:47.000Z"
        }));
        assert_eq!(both.time(), both.external_created_at);
        let only_ours = message(json!({"id": 1, "created_at": 1738746108}));
        assert_eq!(only_ours.time(), only_ours.created_at);
        assert!(only_ours.time().is_some());
    }

    #[test]
    fn error_reasons() {
        let reason = |status: &str, details: Value| {
            message(json!({"id": 1, "status": status, "details": details})).error_reason()
        };
        assert_eq!(
            reason("error", json!("number not on WhatsApp")),
            Some("number not on WhatsApp".into())
        );
        assert_eq!(
            reason(
                "error",
                json!({"code": 131026, "reason": "Message undeliverable"})
            ),
            Some("Message undeliverable".into())
        );
        assert_eq!(
            reason("error", json!({"error": {"message": "blocked"}})),
            Some("blocked".into())
        );
        assert_eq!(
            reason("error", json!({"code": 7})),
            Some(r#"{"code":7}"#.into())
        );
        assert_eq!(reason("error", json!({})), None);
        assert_eq!(reason("error", Value::Null), None);
        assert_eq!(reason("sent", json!("")), None);
        assert_eq!(
            reason("sent", json!({"description": "late"})),
            Some("late".into())
        );
        let long = reason("error", json!("x\n".repeat(1000))).unwrap();
        assert!(long.chars().count() <= MAX_REASON_CHARS);
        assert!(!long.contains('\n'));
    }
}
