//! Request-side types (conversation updates, outgoing and first messages, attachment sources)
//! and their JSON bodies. Bodies always carry `company_id`; optional fields are left out when
//! unset, except `assignee_id: null`, which unassigns.

use bytes::Bytes;
use serde_json::{json, Map, Value};

/// The state a conversation can be put into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationalState {
    /// Open (in the inbox).
    Open,
    /// Archived.
    Archived,
}

impl OperationalState {
    /// The wire value: `open` or `archived`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Archived => "archived",
        }
    }
}

/// Whether the company answered the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepliedState {
    /// Answered.
    Replied,
    /// Waiting for an answer.
    Unreplied,
}

impl RepliedState {
    /// The wire value: `replied` or `unreplied`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Replied => "replied",
            Self::Unreplied => "unreplied",
        }
    }
}

/// Changes to a conversation (`PUT conversations/{id}`); `None` fields are left as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationUpdate {
    /// Open or archive it.
    pub operational_state: Option<OperationalState>,
    /// Mark it answered or unanswered.
    pub replied_state: Option<RepliedState>,
    /// `Some(Some(id))` assigns the user, `Some(None)` removes the assignee (JSON `null`).
    pub assignee_id: Option<Option<i64>>,
}

impl ConversationUpdate {
    pub(crate) fn to_json(&self, company_id: i64) -> Value {
        let mut body = company(company_id);
        if let Some(state) = self.operational_state {
            body.insert("operational_state".into(), state.as_str().into());
        }
        if let Some(state) = self.replied_state {
            body.insert("replied_state".into(), state.as_str().into());
        }
        if let Some(assignee) = self.assignee_id {
            body.insert(
                "assignee_id".into(),
                assignee.map_or(Value::Null, Value::from),
            );
        }
        Value::Object(body)
    }
}

/// A message into an existing conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Text (may be left out for an attachment-only message).
    pub text: Option<String>,
    /// An uploaded attachment. p2 takes ONE attachment per message (sent as
    /// `attachment_ids: [id]`): send several files as several messages.
    pub attachment_id: Option<i64>,
    /// External id of the message this one replies to.
    pub replied_to_id: Option<String>,
    /// Sync the message to CRM integrations (server default: true).
    pub send_to_crm: Option<bool>,
}

impl OutgoingMessage {
    pub(crate) fn to_json(&self, company_id: i64) -> Value {
        let mut body = company(company_id);
        put(&mut body, "text", self.text.clone());
        if let Some(id) = self.attachment_id {
            body.insert("attachment_ids".into(), json!([id]));
        }
        put(&mut body, "replied_to_id", self.replied_to_id.clone());
        put(&mut body, "send_to_crm", self.send_to_crm);
        Value::Object(body)
    }
}

/// A first message to someone the company has no conversation with (`POST messages`); it
/// creates the conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirstMessage {
    /// `max`, `whatsapp`, `telegram_personal`, `whatsapp_business` or `vkontakte_direct`.
    pub provider: String,
    /// Recipient phone.
    pub phone: Option<String>,
    /// Recipient nickname (telegram_personal).
    pub nickname: Option<String>,
    /// VK recipient id (exclusive with `vkontakte_domain`).
    pub vkontakte_id: Option<String>,
    /// VK recipient domain (exclusive with `vkontakte_id`).
    pub vkontakte_domain: Option<String>,
    /// Text.
    pub text: Option<String>,
    /// One uploaded attachment (sent as `attachment_ids: [id]`).
    pub attachment_id: Option<i64>,
    /// WABA template id (required for `whatsapp_business`).
    pub waba_id: Option<String>,
    /// Template substitutions, in order (left out when empty).
    pub substitutions: Vec<String>,
    /// Sync the message to CRM integrations (server default: true).
    pub send_to_crm: Option<bool>,
}

impl FirstMessage {
    pub(crate) fn to_json(&self, company_id: i64) -> Value {
        let mut body = company(company_id);
        body.insert("provider".into(), self.provider.clone().into());
        put(&mut body, "phone", self.phone.clone());
        put(&mut body, "nickname", self.nickname.clone());
        put(&mut body, "vkontakte_id", self.vkontakte_id.clone());
        put(&mut body, "vkontakte_domain", self.vkontakte_domain.clone());
        put(&mut body, "text", self.text.clone());
        if let Some(id) = self.attachment_id {
            body.insert("attachment_ids".into(), json!([id]));
        }
        put(&mut body, "waba_id", self.waba_id.clone());
        if !self.substitutions.is_empty() {
            body.insert("substitutions".into(), json!(self.substitutions));
        }
        put(&mut body, "send_to_crm", self.send_to_crm);
        Value::Object(body)
    }
}

/// What to upload as an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentSource {
    /// File content, sent as the multipart `file` part (with a `company_id` field).
    File {
        /// File name shown to the recipient.
        file_name: String,
        /// MIME type; guessed from the file name when `None`.
        mime_type: Option<String>,
        /// The content.
        bytes: Bytes,
    },
    /// A public http(s) URL the server fetches (JSON `{"company_id", "file_url"}`).
    Url(url::Url),
}

fn company(company_id: i64) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("company_id".into(), company_id.into());
    body
}

fn put(body: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        body.insert(key.into(), value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_bodies() {
        let unassign = ConversationUpdate {
            assignee_id: Some(None),
            ..ConversationUpdate::default()
        };
        assert_eq!(
            unassign.to_json(5),
            json!({"company_id": 5, "assignee_id": null})
        );
        let all = ConversationUpdate {
            operational_state: Some(OperationalState::Archived),
            replied_state: Some(RepliedState::Unreplied),
            assignee_id: Some(Some(42)),
        };
        assert_eq!(
            all.to_json(1),
            json!({"company_id": 1, "operational_state": "archived", "replied_state": "unreplied", "assignee_id": 42})
        );
        assert_eq!(
            ConversationUpdate::default().to_json(1),
            json!({"company_id": 1})
        );
        assert_eq!(OperationalState::Open.as_str(), "open");
        assert_eq!(RepliedState::Replied.as_str(), "replied");
    }

    #[test]
    fn message_bodies() {
        let message = OutgoingMessage {
            text: Some("hi".into()),
            attachment_id: Some(9),
            replied_to_id: Some("ABC".into()),
            send_to_crm: Some(false),
        };
        assert_eq!(
            message.to_json(3),
            json!({"company_id": 3, "text": "hi", "attachment_ids": [9], "replied_to_id": "ABC", "send_to_crm": false})
        );
        assert_eq!(
            OutgoingMessage::default().to_json(3),
            json!({"company_id": 3})
        );
        let first = FirstMessage {
            provider: "whatsapp_business".into(),
            phone: Some("79250000001".into()),
            waba_id: Some("with_params".into()),
            substitutions: vec!["Ann".into(), "x".into()],
            ..FirstMessage::default()
        };
        assert_eq!(
            first.to_json(2),
            json!({"company_id": 2, "provider": "whatsapp_business", "phone": "79250000001", "waba_id": "with_params", "substitutions": ["Ann", "x"]})
        );
    }
}
