//! One method per p2 endpoint. GET parameters travel in the query string, PUT/POST/DELETE bodies
//! are JSON with `company_id`; every call takes its turn from the endpoint's documented bucket.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use parley_http::exchange::{counted_body, upload_timeout};
use parley_http::Idempotency::{Idempotent, NonIdempotent};
use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::json;

use crate::envelope::{acknowledgement, entity, page};
use crate::{
    limits, Attachment, AttachmentSource, Conversation, ConversationUpdate, Error, FirstMessage,
    Message, OutgoingMessage, PactP2Client, Page, WabaTemplate,
};

/// Largest page of messages: the server silently clamps `per_page` to this.
pub const MAX_MESSAGES_PER_PAGE: u32 = 150;

/// Largest page of conversations (and WABA templates) asked for. Undocumented; we never ask for
/// more.
pub const MAX_CONVERSATIONS_PER_PAGE: u32 = 100;

/// Most message ids one `DELETE` takes (documented); longer lists go in several requests.
const MAX_DELETE_IDS: usize = 100;

type Query = Vec<(&'static str, String)>;

fn paging(page: u32, per_page: u32, max: u32) -> (u32, u32) {
    (page.max(1), per_page.clamp(1, max))
}

impl PactP2Client {
    /// `GET conversations`: one page of the company's conversations, by `last_updated_at`.
    /// `per_page` is clamped to `1..=`[`MAX_CONVERSATIONS_PER_PAGE`]; `search` matches the sender's
    /// phone, name or public id (a leading `+` or `@` is ignored by the server).
    pub async fn conversations(
        &self,
        company_id: i64,
        page_number: u32,
        per_page: u32,
        search: Option<&str>,
    ) -> Result<Page<Conversation>, Error> {
        let (page_number, per_page) = paging(page_number, per_page, MAX_CONVERSATIONS_PER_PAGE);
        let mut query: Query = vec![
            ("company_id", company_id.to_string()),
            ("page", page_number.to_string()),
            ("per_page", per_page.to_string()),
        ];
        if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
            query.push(("search_string", search.to_string()));
        }
        let secret = self.secret();
        self.call(
            &limits::LIST_CONVERSATIONS,
            Idempotent,
            "conversations",
            || Ok(self.request(Method::GET, "conversations")?.query(&query)),
            |body| page(body, "conversations", page_number, per_page, secret),
        )
        .await
    }

    /// `GET conversations/{id}`: one conversation.
    pub async fn conversation(
        &self,
        company_id: i64,
        conversation_id: i64,
    ) -> Result<Conversation, Error> {
        let path = format!("conversations/{conversation_id}");
        let query: Query = vec![("company_id", company_id.to_string())];
        let secret = self.secret();
        self.call(
            &limits::GET_CONVERSATION,
            Idempotent,
            "conversations/{id}",
            || Ok(self.request(Method::GET, &path)?.query(&query)),
            |body| entity(body, "conversation", secret),
        )
        .await
    }

    /// `PUT conversations/{id}`: opens or archives, marks replied or unreplied, assigns or
    /// unassigns. Setting a state twice is harmless, so it is repeated on transient failures.
    pub async fn update_conversation(
        &self,
        company_id: i64,
        conversation_id: i64,
        update: &ConversationUpdate,
    ) -> Result<Conversation, Error> {
        let path = format!("conversations/{conversation_id}");
        let body = update.to_json(company_id);
        let secret = self.secret();
        self.call(
            &limits::UNLIMITED,
            Idempotent,
            "conversations/{id}",
            || Ok(self.request(Method::PUT, &path)?.json(&body)),
            |body| entity(body, "conversation", secret),
        )
        .await
    }

    /// `GET conversations/{id}/messages`: one page of messages, by `external_created_at`.
    /// `per_page` is clamped to `1..=`[`MAX_MESSAGES_PER_PAGE`] as the server would.
    pub async fn messages(
        &self,
        company_id: i64,
        conversation_id: i64,
        page_number: u32,
        per_page: u32,
    ) -> Result<Page<Message>, Error> {
        let (page_number, per_page) = paging(page_number, per_page, MAX_MESSAGES_PER_PAGE);
        let path = format!("conversations/{conversation_id}/messages");
        let query: Query = vec![
            ("company_id", company_id.to_string()),
            ("page", page_number.to_string()),
            ("per_page", per_page.to_string()),
        ];
        let secret = self.secret();
        self.call(
            &limits::LIST_MESSAGES,
            Idempotent,
            "conversations/{id}/messages",
            || Ok(self.request(Method::GET, &path)?.query(&query)),
            |body| page(body, "messages", page_number, per_page, secret),
        )
        .await
    }

    /// `GET conversations/{id}/messages/{id}`: one message (e.g. to follow its status).
    pub async fn message(
        &self,
        company_id: i64,
        conversation_id: i64,
        message_id: i64,
    ) -> Result<Message, Error> {
        let path = format!("conversations/{conversation_id}/messages/{message_id}");
        let query: Query = vec![("company_id", company_id.to_string())];
        let secret = self.secret();
        self.call(
            &limits::GET_MESSAGE,
            Idempotent,
            "conversations/{id}/messages/{id}",
            || Ok(self.request(Method::GET, &path)?.query(&query)),
            |body| entity(body, "message", secret),
        )
        .await
    }

    /// `POST conversations/{id}/messages`: sends a message. Repeated only when the server surely
    /// did not act (a 429, a connection never made); otherwise check [`Error::outcome_unknown`]
    /// and reconcile before sending again.
    pub async fn send_message(
        &self,
        company_id: i64,
        conversation_id: i64,
        message: &OutgoingMessage,
    ) -> Result<Message, Error> {
        let path = format!("conversations/{conversation_id}/messages");
        let body = message.to_json(company_id);
        let secret = self.secret();
        self.call(
            &limits::SEND_MESSAGE,
            NonIdempotent,
            "conversations/{id}/messages",
            || Ok(self.request(Method::POST, &path)?.json(&body)),
            |body| entity(body, "message", secret),
        )
        .await
    }

    /// `DELETE conversations/{id}/messages`: deletes messages (whatsapp, telegram_personal, max).
    /// More than 100 ids go in several requests; an empty list sends nothing. Deleting twice is
    /// harmless, so it is repeated on transient failures.
    pub async fn delete_messages(
        &self,
        company_id: i64,
        conversation_id: i64,
        message_ids: &[i64],
    ) -> Result<(), Error> {
        let path = format!("conversations/{conversation_id}/messages");
        let secret = self.secret();
        for ids in message_ids.chunks(MAX_DELETE_IDS) {
            let body = json!({"company_id": company_id, "message_ids": ids});
            self.call(
                &limits::UNLIMITED,
                Idempotent,
                "conversations/{id}/messages",
                || Ok(self.request(Method::DELETE, &path)?.json(&body)),
                |body| acknowledgement(body, secret),
            )
            .await?;
        }
        Ok(())
    }

    /// `POST messages`: writes to someone without a conversation yet (creating it). Not repeated
    /// once the request may have gone out, like [`send_message`](Self::send_message).
    pub async fn write_first(
        &self,
        company_id: i64,
        message: &FirstMessage,
    ) -> Result<Message, Error> {
        let body = message.to_json(company_id);
        let secret = self.secret();
        self.call(
            &limits::WRITE_FIRST,
            NonIdempotent,
            "messages",
            || Ok(self.request(Method::POST, "messages")?.json(&body)),
            |body| entity(body, "message", secret),
        )
        .await
    }

    /// `POST attachments`: uploads a file (multipart `file` with a `company_id` field) or has
    /// the server fetch a URL (JSON `{company_id, file_url}`); send the returned id with
    /// [`OutgoingMessage::attachment_id`]. A file's timeout grows with its size; with `sent`
    /// given, it counts the bytes handed to the connection (reset to 0 on every attempt). Not
    /// repeated once the request may have gone out.
    pub async fn upload_attachment(
        &self,
        company_id: i64,
        source: AttachmentSource,
        sent: Option<Arc<AtomicU64>>,
    ) -> Result<Attachment, Error> {
        let secret = self.secret();
        let decode = |body: &[u8]| entity(body, "attachment", secret);
        match source {
            AttachmentSource::Url(file_url) => {
                if !matches!(file_url.scheme(), "http" | "https") {
                    return Err(Error::invalid_config(
                        "an attachment URL must be an http(s) URL",
                    ));
                }
                let body = json!({"company_id": company_id, "file_url": file_url.as_str()});
                self.call(
                    &limits::UPLOAD_ATTACHMENT,
                    NonIdempotent,
                    "attachments",
                    || Ok(self.request(Method::POST, "attachments")?.json(&body)),
                    decode,
                )
                .await
            }
            AttachmentSource::File {
                file_name,
                mime_type,
                bytes,
            } => {
                let mime = mime_type
                    .filter(|mime| mime.parse::<mime_guess::mime::Mime>().is_ok())
                    .unwrap_or_else(|| {
                        mime_guess::from_path(&file_name)
                            .first_or_octet_stream()
                            .to_string()
                    });
                let timeout = upload_timeout(self.timeout(), bytes.len());
                let build = || {
                    let length = bytes.len() as u64;
                    let body = match &sent {
                        Some(sent) => counted_body(bytes.clone(), sent.clone()),
                        None => reqwest::Body::from(bytes.clone()),
                    };
                    let part = Part::stream_with_length(body, length)
                        .file_name(file_name.clone())
                        .mime_str(&mime)
                        .map_err(|_| Error::invalid_config("the MIME type is not valid"))?;
                    let form = Form::new()
                        .text("company_id", company_id.to_string())
                        .part("file", part);
                    Ok(self
                        .request(Method::POST, "attachments")?
                        .timeout(timeout)
                        .multipart(form))
                };
                self.call(
                    &limits::UPLOAD_ATTACHMENT,
                    NonIdempotent,
                    "attachments",
                    build,
                    decode,
                )
                .await
            }
        }
    }

    /// `GET waba_templates`: one page of WABA templates of the given companies (all companies
    /// when `company_ids` is empty), sent as `company_ids[]=`. `per_page` is clamped to
    /// `1..=`[`MAX_CONVERSATIONS_PER_PAGE`].
    pub async fn waba_templates(
        &self,
        company_ids: &[i64],
        page_number: u32,
        per_page: u32,
    ) -> Result<Page<WabaTemplate>, Error> {
        let (page_number, per_page) = paging(page_number, per_page, MAX_CONVERSATIONS_PER_PAGE);
        let mut query: Query = company_ids
            .iter()
            .map(|id| ("company_ids[]", id.to_string()))
            .collect();
        query.push(("page", page_number.to_string()));
        query.push(("per_page", per_page.to_string()));
        let secret = self.secret();
        self.call(
            &limits::WABA_TEMPLATES,
            Idempotent,
            "waba_templates",
            || Ok(self.request(Method::GET, "waba_templates")?.query(&query)),
            |body| page(body, "waba_templates", page_number, per_page, secret),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_is_clamped() {
        assert_eq!(paging(0, 0, 150), (1, 1));
        assert_eq!(paging(3, 500, MAX_MESSAGES_PER_PAGE), (3, 150));
        assert_eq!(paging(2, 25, MAX_CONVERSATIONS_PER_PAGE), (2, 25));
    }
}
