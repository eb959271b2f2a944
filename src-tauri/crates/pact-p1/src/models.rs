//! Response models for the p1 endpoints: fields named as on the wire, everything but the id
//! optional, unknown fields ignored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use parley_http::{lenient, timestamp};

/// A company (workspace) of the Pact user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Company {
    /// Company id.
    #[serde(deserialize_with = "lenient::id")]
    pub external_id: i64,
    /// Display name.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// Official phone number.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub phone: Option<String>,
    /// Free-form description.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub description: Option<String>,
    /// Endpoint that receives webhooks, if any.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub webhook_url: Option<String>,
    /// Whether the company is hidden in the Pact web interface.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub hidden: Option<bool>,
}

/// A 1-1 conversation with a client on some channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Conversation id.
    #[serde(deserialize_with = "lenient::id")]
    pub external_id: i64,
    /// Contact name (nullable on the wire).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    /// Channel id (nullable on the wire).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub channel_id: Option<i64>,
    /// Channel provider, e.g. `whatsapp`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub channel_type: Option<String>,
    /// Creation time.
    #[serde(default, deserialize_with = "timestamp::deserialize")]
    pub created_at: Option<DateTime<Utc>>,
    /// Creation time as sent in the `created_at_timestamp` epoch field.
    #[serde(default, deserialize_with = "timestamp::deserialize")]
    pub created_at_timestamp: Option<DateTime<Utc>>,
    /// Avatar path or URL (may be relative to the API host).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub avatar: Option<String>,
    /// Avatar URL as sent in webhook payloads.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub avatar_url: Option<String>,
    /// The client's id on the messenger (phone number for WhatsApp).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub sender_external_id: Option<String>,
    /// Provider-specific extra data.
    #[serde(default)]
    pub meta: Option<Value>,
    /// Time of the last message; epoch 0 ("never") becomes `None`.
    #[serde(default, deserialize_with = "timestamp::deserialize_zero_as_none")]
    pub last_message_at: Option<DateTime<Utc>>,
    /// Time of the last incoming message; epoch 0 ("never") becomes `None`.
    #[serde(default, deserialize_with = "timestamp::deserialize_zero_as_none")]
    pub last_income_message_at: Option<DateTime<Utc>>,
    /// Whether Bitrix open lines are blocked for this conversation.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub bitrix_block_openlines: Option<bool>,
    /// Assigned Pact user (undocumented, may appear).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub assignee_id: Option<i64>,
    /// Conversation note (undocumented, may appear).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub note: Option<String>,
}

impl Conversation {
    /// Best known time of the latest activity: last message, else creation time.
    pub fn last_activity_at(&self) -> Option<DateTime<Utc>> {
        self.last_message_at
            .or(self.last_income_message_at)
            .or(self.created_at)
            .or(self.created_at_timestamp)
    }
}

/// What the assign endpoint returns: at least the conversation id, sometimes the whole conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationRef {
    /// Conversation id.
    #[serde(deserialize_with = "lenient::id")]
    pub external_id: i64,
    /// Any further conversation fields the server chose to send.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl ConversationRef {
    /// True when the server sent more than the id.
    pub fn has_details(&self) -> bool {
        !self.rest.is_empty()
    }

    /// Reads the reference as a [`Conversation`]; fields that do not parse are left empty.
    pub fn to_conversation(&self) -> Conversation {
        let mut object = self.rest.clone();
        object.insert("external_id".into(), Value::from(self.external_id));
        serde_json::from_value(Value::Object(object)).unwrap_or_else(|_| Conversation {
            external_id: self.external_id,
            ..Conversation::default()
        })
    }
}

/// A message in a conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Message id.
    #[serde(deserialize_with = "lenient::id")]
    pub external_id: i64,
    /// Channel id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub channel_id: Option<i64>,
    /// Channel provider, e.g. `whatsapp`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub channel_type: Option<String>,
    /// Conversation id (sent in webhooks, sometimes in lists).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub conversation_id: Option<i64>,
    /// Text; `None` or empty for attachment-only messages. Hostile customer text.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub message: Option<String>,
    /// `true` when the client wrote it, `false` when the company did.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub income: Option<bool>,
    /// Creation time.
    #[serde(default, deserialize_with = "timestamp::deserialize")]
    pub created_at: Option<DateTime<Utc>>,
    /// Creation time as sent in the `created_at_timestamp` epoch field.
    #[serde(default, deserialize_with = "timestamp::deserialize")]
    pub created_at_timestamp: Option<DateTime<Utc>>,
    /// Attached files (`null` or absent on the wire means none).
    #[serde(default, deserialize_with = "lenient::vec_or_empty")]
    pub attachments: Vec<Attachment>,
    /// Delivery/read acknowledgement level, when sent.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub ack: Option<i64>,
    /// Delivery job id (async delivery only).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub job_id: Option<i64>,
}

impl Message {
    /// Creation time: `created_at`, else `created_at_timestamp`.
    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        self.created_at.or(self.created_at_timestamp)
    }

    /// `true` for messages written by the client (missing `income` counts as outgoing).
    pub fn is_incoming(&self) -> bool {
        self.income.unwrap_or(false)
    }
}

/// A file attached to a message (p1 leaves the shape undocumented; this follows p2's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "AttachmentWire")]
pub struct Attachment {
    /// Attachment id (`id` or `external_id` on the wire); `None` when the server sent neither, which
    /// p1 (where the attachment object is undocumented) may do: the file is still listed.
    pub id: Option<i64>,
    /// Message the attachment belongs to, when sent.
    pub message_id: Option<i64>,
    /// Original file name. Hostile customer text.
    pub file_name: Option<String>,
    /// MIME type, e.g. `image/jpeg`.
    pub mime_type: Option<String>,
    /// Size in bytes.
    pub size: Option<i64>,
    /// Absolute URL of the file.
    pub attachment_url: Option<String>,
    /// URL of an image preview.
    pub preview_url: Option<String>,
    /// Voice message (as opposed to a regular audio file).
    pub push_to_talk: Option<bool>,
    /// Image aspect ratio.
    pub aspect_ratio: Option<f64>,
    /// Extra data such as image width and height.
    pub data: Option<Value>,
}

/// Wire form of [`Attachment`], so that `id` and `external_id` can both be present.
#[derive(Deserialize)]
struct AttachmentWire {
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    external_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    message_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    file_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mime_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    size: Option<i64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    attachment_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    preview_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    push_to_talk: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    aspect_ratio: Option<f64>,
    #[serde(default)]
    data: Option<Value>,
}

impl From<AttachmentWire> for Attachment {
    fn from(wire: AttachmentWire) -> Self {
        Self {
            id: wire.id.or(wire.external_id),
            message_id: wire.message_id,
            file_name: wire.file_name,
            mime_type: wire.mime_type,
            size: wire.size,
            attachment_url: wire.attachment_url,
            preview_url: wire.preview_url,
            push_to_talk: wire.push_to_talk,
            aspect_ratio: wire.aspect_ratio,
            data: wire.data,
        }
    }
}

/// The id of a freshly uploaded attachment, to pass in [`crate::OutgoingMessage::attachment_ids`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedAttachment {
    /// Attachment id.
    #[serde(alias = "id", deserialize_with = "lenient::id")]
    pub external_id: i64,
}

/// The channel a delivery job runs on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobChannel {
    /// Channel id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: i64,
    /// Channel provider, e.g. `whatsapp`.
    #[serde(default, rename = "type", deserialize_with = "lenient::opt_string")]
    pub r#type: Option<String>,
}

/// A message delivery job, returned by send and by the jobs endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryJob {
    /// Job id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: i64,
    /// Company id.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub company_id: Option<i64>,
    /// Channel the job delivers through (needed to poll the job).
    #[serde(default, deserialize_with = "optional_channel")]
    pub channel: Option<JobChannel>,
    /// Conversation id (null when writing a first message).
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub conversation_id: Option<i64>,
    /// `trying_deliver`, `delivered`, `failed`, ...
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub state: Option<String>,
    /// Id of the delivered message; null until delivered.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub message_id: Option<i64>,
    /// `null`, `{"result":"DELIVERED"}` or `{"result":"NOT DELIVERED","reason":"..."}`.
    #[serde(default)]
    pub details: Option<Value>,
    /// `DELIVERED` / `NOT DELIVERED` at the top level, as in the job webhook payload.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub result: Option<String>,
    /// Creation time.
    #[serde(default, deserialize_with = "timestamp::deserialize")]
    pub created_at: Option<DateTime<Utc>>,
}

/// What a delivery job says about its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Still being delivered.
    Pending,
    /// Delivered; the message id when the server gave one.
    Delivered {
        /// Id of the delivered message.
        message_id: Option<i64>,
    },
    /// Not delivered.
    Failed {
        /// The server's reason, or the job state.
        reason: String,
    },
}

const FAILED_STATES: [&str; 4] = ["failed", "error", "not_delivered", "not delivered"];

impl DeliveryJob {
    /// Classifies the job as pending, delivered or failed.
    pub fn outcome(&self) -> JobOutcome {
        let state = self
            .state
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let result = self
            .detail_text("result")
            .or_else(|| self.result.clone())
            .map(|r| normalise_result(&r));
        if state == "delivered"
            || result.as_deref() == Some("DELIVERED")
            || self.message_id.is_some()
        {
            return JobOutcome::Delivered {
                message_id: self.message_id,
            };
        }
        if FAILED_STATES.contains(&state.as_str()) || result.as_deref() == Some("NOT DELIVERED") {
            return JobOutcome::Failed {
                reason: self.failure_reason(),
            };
        }
        JobOutcome::Pending
    }

    fn failure_reason(&self) -> String {
        let reason = ["reason", "error", "message", "result"]
            .iter()
            .find_map(|key| self.detail_text(key))
            .or_else(|| self.result.clone().filter(|s| !s.trim().is_empty()))
            .or_else(|| self.state.clone().filter(|s| !s.trim().is_empty()))
            .unwrap_or_else(|| "not delivered".to_string());
        // One line of at most 300 characters.
        parley_http::exchange::sanitize(&reason)
    }

    fn detail_text(&self, key: &str) -> Option<String> {
        match self.details.as_ref()?.get(key)? {
            Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
            Value::Null | Value::String(_) => None,
            other => Some(other.to_string()),
        }
    }
}

fn normalise_result(result: &str) -> String {
    result.trim().to_ascii_uppercase().replace('_', " ")
}

/// A channel object; anything that is not an object with an id becomes `None`.
fn optional_channel<'de, D>(deserializer: D) -> Result<Option<JobChannel>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(value: Value) -> DeliveryJob {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn job_outcomes() {
        let pending =
            job(json!({"id":1,"state":"trying_deliver","message_id":null,"details":null}));
        assert_eq!(pending.outcome(), JobOutcome::Pending);
        let sync = job(json!({"id":1,"state":"trying_deliver","message_id":9}));
        assert_eq!(
            sync.outcome(),
            JobOutcome::Delivered {
                message_id: Some(9)
            }
        );
        let by_result = job(json!({"id":1,"details":{"result":"DELIVERED"}}));
        assert_eq!(
            by_result.outcome(),
            JobOutcome::Delivered { message_id: None }
        );
        let failed = job(
            json!({"id":1,"state":"failed","details":{"result":"NOT DELIVERED","reason":"Contact is not present"}}),
        );
        assert_eq!(
            failed.outcome(),
            JobOutcome::Failed {
                reason: "Contact is not present".into()
            }
        );
        let bare_failed = job(json!({"id":1,"state":"error"}));
        assert_eq!(
            bare_failed.outcome(),
            JobOutcome::Failed {
                reason: "error".into()
            }
        );
        let result_only = job(json!({"id":1,"details":{"result":"NOT_DELIVERED"}}));
        assert_eq!(
            result_only.outcome(),
            JobOutcome::Failed {
                reason: "NOT_DELIVERED".into()
            }
        );
    }

    #[test]
    fn attachment_accepts_id_or_external_id() {
        let by_id: Attachment = serde_json::from_value(json!({"id": 5, "external_id": 6})).unwrap();
        assert_eq!(by_id.id, Some(5));
        let by_external: Attachment = serde_json::from_value(json!({"external_id": "6"})).unwrap();
        assert_eq!(by_external.id, Some(6));
        let without_id: Attachment = serde_json::from_value(json!({"file_name": "a"})).unwrap();
        assert_eq!(
            (without_id.id, without_id.file_name.as_deref()),
            (None, Some("a"))
        );
        let round_trip: Attachment =
            serde_json::from_value(serde_json::to_value(&by_id).unwrap()).unwrap();
        assert_eq!(round_trip, by_id);
    }

    #[test]
    fn message_helpers_and_null_attachments() {
        let message: Message = serde_json::from_value(
            json!({"external_id":1,"message":null,"attachments":null,"created_at_timestamp":1603119600}),
        )
        .unwrap();
        assert!(message.attachments.is_empty());
        assert_eq!(message.created_at(), message.created_at_timestamp);
        assert!(message.created_at().is_some());
        assert!(!message.is_incoming());
    }

    #[test]
    fn conversation_activity_and_ref() {
        let conversation: Conversation = serde_json::from_value(json!({
            "external_id": 3, "name": null, "created_at": "2021-12-09T06:08:50.106Z",
            "last_message_at": 0, "assignee_id": null
        }))
        .unwrap();
        assert_eq!(conversation.last_message_at, None);
        assert_eq!(conversation.last_activity_at(), conversation.created_at);

        let bare: ConversationRef = serde_json::from_value(json!({"external_id": 1})).unwrap();
        assert!(!bare.has_details());
        assert_eq!(bare.to_conversation().external_id, 1);
        let full: ConversationRef =
            serde_json::from_value(json!({"external_id": 1, "assignee_id": 42, "name": "Ann"}))
                .unwrap();
        assert_eq!(full.to_conversation().assignee_id, Some(42));
    }
}
