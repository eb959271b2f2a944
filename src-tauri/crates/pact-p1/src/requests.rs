//! Request-side types: paging parameters, pages, new conversations, outgoing messages and uploads,
//! plus their encoding into query strings and form fields.

use bytes::Bytes;

/// Largest page size p1 accepts.
pub(crate) const MAX_PER_PAGE: u8 = 100;

/// Sort direction for list endpoints (companies and conversations by id, messages by time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SortDirection {
    /// Oldest / lowest id first (the server default).
    #[default]
    Asc,
    /// Newest / highest id first.
    Desc,
}

impl SortDirection {
    /// The wire value of `sort_direction`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

/// Paging parameters of a list call. All fields optional; the server defaults are 50 per page, ascending.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Opaque token: the previous page's `next_page`.
    pub from: Option<String>,
    /// Page size, 1..=100 (clamped).
    pub per: Option<u8>,
    /// Sort direction.
    pub sort: Option<SortDirection>,
}

impl PageRequest {
    /// Encodes the request as `from`, `per`, `sort_direction` query pairs.
    pub(crate) fn to_query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if let Some(from) = self.from.as_deref().filter(|f| !f.is_empty()) {
            query.push(("from", from.to_string()));
        }
        if let Some(per) = self.per {
            query.push(("per", per.clamp(1, MAX_PER_PAGE).to_string()));
        }
        if let Some(sort) = self.sort {
            query.push(("sort_direction", sort.as_str().to_string()));
        }
        query
    }
}

/// One page of a list endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Token for the next page; `None` at the end (absent, null or empty on the wire).
    pub next_page: Option<String>,
}

/// Parameters for creating a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewConversation {
    /// A WhatsApp conversation with a phone number like `79250000001`.
    Whatsapp {
        /// Contact phone number.
        phone: String,
    },
    /// A personal Telegram conversation, addressed by phone or username, opened with a first message.
    TelegramPersonal {
        /// Contact phone number (use this or `username`).
        phone: Option<String>,
        /// Telegram username (use this or `phone`).
        username: Option<String>,
        /// First message text.
        text: String,
        /// Sync the first message to CRM integrations (server default: true).
        send_to_crm: Option<bool>,
    },
}

impl NewConversation {
    /// Encodes the create-conversation form.
    pub(crate) fn to_form(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Whatsapp { phone } => {
                vec![("provider", "whatsapp".into()), ("phone", phone.clone())]
            }
            Self::TelegramPersonal {
                phone,
                username,
                text,
                send_to_crm,
            } => {
                let mut form = vec![("provider", "telegram_personal".to_string())];
                push_some(&mut form, "phone", phone.clone());
                push_some(&mut form, "username", username.clone());
                form.push(("text", text.clone()));
                push_some(&mut form, "send_to_crm", send_to_crm.map(|b| b.to_string()));
                form
            }
        }
    }
}

/// A message to send into an existing conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Text (may be omitted for attachment-only messages).
    pub text: Option<String>,
    /// Ids of attachments uploaded with [`crate::PactClient::upload_attachment`].
    pub attachment_ids: Vec<i64>,
    /// Sync the message to CRM integrations (server default: true).
    pub send_to_crm: Option<bool>,
}

/// Form field name for attachment ids; the p1 docs spell it `attachments_ids` (later `attachment_ids`).
pub(crate) const ATTACHMENT_IDS_FIELD: &str = "attachments_ids[]";

impl OutgoingMessage {
    /// Encodes the send-message form (`message`, `attachments_ids[]`..., `send_to_crm`).
    pub(crate) fn to_form(&self) -> Vec<(&'static str, String)> {
        let mut form = Vec::new();
        push_some(&mut form, "message", self.text.clone());
        for id in &self.attachment_ids {
            form.push((ATTACHMENT_IDS_FIELD, id.to_string()));
        }
        push_some(
            &mut form,
            "send_to_crm",
            self.send_to_crm.map(|b| b.to_string()),
        );
        form
    }
}

/// Where an attachment to upload comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentSource {
    /// File content sent as the multipart `file` part.
    File {
        /// File name shown to the recipient.
        file_name: String,
        /// MIME type; guessed from the file name when `None`.
        mime_type: Option<String>,
        /// File content.
        bytes: Bytes,
    },
    /// A public http(s) URL the server downloads (`file_url`).
    Url(String),
}

/// How many bytes of an uploading file have been handed to the connection, for a progress display.
///
/// Cheap to clone (the clones share one count). The count starts again at zero on every attempt of
/// the upload, so a retried upload never reads more than the file's size. Bytes handed to the
/// connection may still sit in the OS's send buffer: near the end the count runs slightly ahead of
/// what the server has received.
#[derive(Debug, Clone, Default)]
pub struct UploadCounter(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl UploadCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes sent so far in the current attempt.
    pub fn bytes_sent(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A counter that writes into `count`, so a caller can read it without this crate's types.
    pub fn sharing(count: std::sync::Arc<std::sync::atomic::AtomicU64>) -> Self {
        Self(count)
    }

    /// The count itself, for [`parley_http::exchange::counted_body`] (which restarts it at zero).
    pub(crate) fn shared(&self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        std::sync::Arc::clone(&self.0)
    }
}

fn push_some(form: &mut Vec<(&'static str, String)>, key: &'static str, value: Option<String>) {
    if let Some(value) = value {
        form.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_request_query() {
        let request = PageRequest {
            from: Some("tok".into()),
            per: Some(250),
            sort: Some(SortDirection::Desc),
        };
        assert_eq!(
            request.to_query(),
            vec![
                ("from", "tok".to_string()),
                ("per", "100".to_string()),
                ("sort_direction", "desc".to_string())
            ]
        );
        assert!(PageRequest::default().to_query().is_empty());
        let empty_from = PageRequest {
            from: Some(String::new()),
            per: Some(0),
            sort: None,
        };
        assert_eq!(empty_from.to_query(), vec![("per", "1".to_string())]);
    }

    #[test]
    fn outgoing_message_form() {
        let message = OutgoingMessage {
            text: Some("hi".into()),
            attachment_ids: vec![1, 2],
            send_to_crm: Some(false),
        };
        assert_eq!(
            message.to_form(),
            vec![
                ("message", "hi".to_string()),
                ("attachments_ids[]", "1".to_string()),
                ("attachments_ids[]", "2".to_string()),
                ("send_to_crm", "false".to_string())
            ]
        );
    }

    #[test]
    fn new_conversation_forms() {
        let whatsapp = NewConversation::Whatsapp {
            phone: "79250000001".into(),
        };
        assert_eq!(
            whatsapp.to_form(),
            vec![
                ("provider", "whatsapp".to_string()),
                ("phone", "79250000001".to_string())
            ]
        );
        let telegram = NewConversation::TelegramPersonal {
            phone: None,
            username: Some("testuser".into()),
            text: "Hello".into(),
            send_to_crm: None,
        };
        assert_eq!(
            telegram.to_form(),
            vec![
                ("provider", "telegram_personal".to_string()),
                ("username", "testuser".to_string()),
                ("text", "Hello".to_string())
            ]
        );
    }
}
