//! One method per p1 endpoint, plus the page streams over the list endpoints.

use futures::Stream;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::paging::page_stream;
use crate::transport::{acknowledgement_of, Call, Payload};
use crate::{
    AttachmentSource, Company, Conversation, ConversationRef, DeliveryJob, Error, Message,
    NewConversation, OutgoingMessage, PactClient, Page, PageRequest, SortDirection, UploadCounter,
    UploadedAttachment,
};

impl PactClient {
    /// `GET companies`: one page of the user's companies.
    pub async fn companies(&self, page: &PageRequest) -> Result<Page<Company>, Error> {
        self.list("companies".into(), page, "companies").await
    }

    /// `GET companies/{company}/conversations`: one page of conversations.
    pub async fn conversations(
        &self,
        company_id: i64,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, Error> {
        self.list(conversations_path(company_id), page, "conversations")
            .await
    }

    /// `GET companies/{company}/conversations/{id}`: one conversation.
    pub async fn conversation(
        &self,
        company_id: i64,
        conversation_id: i64,
    ) -> Result<Conversation, Error> {
        let call = Call::new(Method::GET, conversation_path(company_id, conversation_id));
        self.entity(&call, &["conversation"]).await
    }

    /// `POST companies/{company}/conversations`: opens a conversation (not retried unless surely unsent).
    pub async fn create_conversation(
        &self,
        company_id: i64,
        conversation: &NewConversation,
    ) -> Result<Conversation, Error> {
        let call = form_call(
            Method::POST,
            conversations_path(company_id),
            conversation.to_form(),
        );
        self.entity(&call, &["conversation"]).await
    }

    /// `PUT .../assign`: assigns the conversation to a Pact user.
    pub async fn assign_conversation(
        &self,
        company_id: i64,
        conversation_id: i64,
        assignee_id: i64,
    ) -> Result<ConversationRef, Error> {
        let path = format!("{}/assign", conversation_path(company_id, conversation_id));
        let call = form_call(
            Method::PUT,
            path,
            vec![("assignee_id", assignee_id.to_string())],
        );
        self.entity(&call, &["conversation"]).await
    }

    /// `PUT .../note`: replaces the conversation note (the server answers `{"status":"updated"}`).
    pub async fn set_note(
        &self,
        company_id: i64,
        conversation_id: i64,
        note: &str,
    ) -> Result<(), Error> {
        let path = format!("{}/note", conversation_path(company_id, conversation_id));
        let call = form_call(Method::PUT, path, vec![("note", note.to_string())]);
        let body = self.transport.send(&call).await?;
        acknowledgement_of(&body)
    }

    /// `PUT .../toggle_bitrix_block_openlines`: blocks or unblocks Bitrix open lines.
    pub async fn set_bitrix_openlines(
        &self,
        company_id: i64,
        conversation_id: i64,
        enabled: bool,
    ) -> Result<Conversation, Error> {
        let path = format!(
            "{}/toggle_bitrix_block_openlines",
            conversation_path(company_id, conversation_id)
        );
        let call = form_call(Method::PUT, path, vec![("enabled", enabled.to_string())]);
        self.entity(&call, &["conversation"]).await
    }

    /// `GET .../messages`: one page of messages.
    pub async fn messages(
        &self,
        company_id: i64,
        conversation_id: i64,
        page: &PageRequest,
    ) -> Result<Page<Message>, Error> {
        self.list(messages_path(company_id, conversation_id), page, "messages")
            .await
    }

    /// `POST .../messages`: sends a message; the returned job tells whether it was delivered already.
    /// Not retried unless surely unsent: check [`Error::outcome_unknown`] before sending again.
    pub async fn send_message(
        &self,
        company_id: i64,
        conversation_id: i64,
        message: &OutgoingMessage,
    ) -> Result<DeliveryJob, Error> {
        let call = form_call(
            Method::POST,
            messages_path(company_id, conversation_id),
            message.to_form(),
        );
        self.entity(&call, &["job"]).await
    }

    /// `POST .../messages/attachments`: uploads a file (multipart `file`) or a URL (`file_url`).
    pub async fn upload_attachment(
        &self,
        company_id: i64,
        conversation_id: i64,
        source: AttachmentSource,
    ) -> Result<UploadedAttachment, Error> {
        self.upload(company_id, conversation_id, source, None).await
    }

    /// Like [`upload_attachment`](Self::upload_attachment), and `counter` follows how much of a
    /// file's content has been sent (for a progress bar; a `file_url` upload leaves it at zero).
    pub async fn upload_attachment_counted(
        &self,
        company_id: i64,
        conversation_id: i64,
        source: AttachmentSource,
        counter: &UploadCounter,
    ) -> Result<UploadedAttachment, Error> {
        self.upload(company_id, conversation_id, source, Some(counter.clone()))
            .await
    }

    async fn upload(
        &self,
        company_id: i64,
        conversation_id: i64,
        source: AttachmentSource,
        counter: Option<UploadCounter>,
    ) -> Result<UploadedAttachment, Error> {
        let path = format!("{}/attachments", messages_path(company_id, conversation_id));
        let mut call = Call::new(Method::POST, path);
        call.payload = Payload::Upload { source, counter };
        // One doc revision shows `data.conversation.external_id` here: accept it as well.
        self.entity(&call, &["attachment", "conversation"]).await
    }

    /// `GET companies/{company}/channels/{channel}/jobs/{job}`: the state of a delivery job.
    pub async fn job(
        &self,
        company_id: i64,
        channel_id: i64,
        job_id: i64,
    ) -> Result<DeliveryJob, Error> {
        let path = format!("companies/{company_id}/channels/{channel_id}/jobs/{job_id}");
        self.entity(&Call::new(Method::GET, path), &["job"]).await
    }

    /// All companies, page by page, from `start_from` (or the beginning) to the end.
    pub fn companies_pages(
        &self,
        per: u8,
        sort: SortDirection,
        start_from: Option<String>,
    ) -> impl Stream<Item = Result<Page<Company>, Error>> + '_ {
        page_stream(per, sort, start_from, move |request| async move {
            self.companies(&request).await
        })
    }

    /// All conversations of a company, page by page.
    pub fn conversations_pages(
        &self,
        company_id: i64,
        per: u8,
        sort: SortDirection,
        start_from: Option<String>,
    ) -> impl Stream<Item = Result<Page<Conversation>, Error>> + '_ {
        page_stream(per, sort, start_from, move |request| async move {
            self.conversations(company_id, &request).await
        })
    }

    /// All messages of a conversation, page by page.
    pub fn messages_pages(
        &self,
        company_id: i64,
        conversation_id: i64,
        per: u8,
        sort: SortDirection,
        start_from: Option<String>,
    ) -> impl Stream<Item = Result<Page<Message>, Error>> + '_ {
        page_stream(per, sort, start_from, move |request| async move {
            self.messages(company_id, conversation_id, &request).await
        })
    }

    async fn list<T: DeserializeOwned>(
        &self,
        path: String,
        page: &PageRequest,
        key: &str,
    ) -> Result<Page<T>, Error> {
        let mut call = Call::new(Method::GET, path);
        call.query = page.to_query();
        let data = self.transport.send_for_data(&call).await?;
        page_from_data(data, key)
    }

    async fn entity<T: DeserializeOwned>(
        &self,
        call: &Call,
        wrapper_keys: &[&str],
    ) -> Result<T, Error> {
        let data = self.transport.send_for_data(call).await?;
        entity_from_data(data, wrapper_keys)
    }
}

fn conversations_path(company_id: i64) -> String {
    format!("companies/{company_id}/conversations")
}

fn conversation_path(company_id: i64, conversation_id: i64) -> String {
    format!("companies/{company_id}/conversations/{conversation_id}")
}

fn messages_path(company_id: i64, conversation_id: i64) -> String {
    format!(
        "{}/messages",
        conversation_path(company_id, conversation_id)
    )
}

fn form_call(method: Method, path: String, form: Vec<(&'static str, String)>) -> Call {
    let mut call = Call::new(method, path);
    call.payload = Payload::Form(form);
    call
}

/// Reads `data.<key>[]` and `data.next_page` (absent, null or "" means the end).
pub(crate) fn page_from_data<T: DeserializeOwned>(
    data: Value,
    key: &str,
) -> Result<Page<T>, Error> {
    let Value::Object(mut object) = data else {
        return Err(Error::invalid_response("`data` is not an object"));
    };
    let items = match object.remove(key) {
        None => {
            return Err(Error::invalid_response(format!(
                "response has no `{key}` list"
            )))
        }
        Some(Value::Null) => Vec::new(),
        Some(list) => serde_json::from_value(list)
            .map_err(|e| Error::invalid_response(format!("unexpected `{key}` item: {e}")))?,
    };
    Ok(Page {
        items,
        next_page: next_page_token(object.get("next_page")),
    })
}

fn next_page_token(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(token) if !token.trim().is_empty() => Some(token.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Reads an entity from `data.<wrapper>` when such an object is present, else from `data` itself.
pub(crate) fn entity_from_data<T: DeserializeOwned>(
    data: Value,
    wrapper_keys: &[&str],
) -> Result<T, Error> {
    let wrapped = wrapper_keys
        .iter()
        .find_map(|key| data.get(*key).filter(|value| value.is_object()).cloned());
    serde_json::from_value(wrapped.unwrap_or(data))
        .map_err(|e| Error::invalid_response(format!("unexpected response shape: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn next_page_forms() {
        for (raw, expected) in [
            (json!({"items": [], "next_page": "abc"}), Some("abc")),
            (json!({"items": [], "next_page": ""}), None),
            (json!({"items": [], "next_page": null}), None),
            (json!({"items": []}), None),
        ] {
            let page: Page<i64> = page_from_data(raw, "items").unwrap();
            assert_eq!(page.next_page.as_deref(), expected);
        }
        let null_items: Page<i64> = page_from_data(json!({"items": null}), "items").unwrap();
        assert!(null_items.items.is_empty());
        assert!(page_from_data::<i64>(json!({"other": []}), "items").is_err());
    }

    #[test]
    fn entities_wrapped_or_bare() {
        let wrapped: UploadedAttachment = entity_from_data(
            json!({"conversation": {"external_id": 4}}),
            &["attachment", "conversation"],
        )
        .unwrap();
        assert_eq!(wrapped.external_id, 4);
        let bare: UploadedAttachment =
            entity_from_data(json!({"external_id": 5}), &["attachment"]).unwrap();
        assert_eq!(bare.external_id, 5);
        assert!(
            entity_from_data::<UploadedAttachment>(json!({"nothing": 1}), &["attachment"]).is_err()
        );
    }
}
