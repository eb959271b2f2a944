//! The Pact p1 provider: maps `parley-pact-p1` calls and models onto the [`Provider`] trait.

use async_trait::async_trait;
use futures::StreamExt;
use parley_pact_p1 as p1;

use super::{
    map_error, DeliveryStatus, OutgoingFile, PageStream, Provider, RemoteAttachment, RemoteCompany,
    RemoteConversation, RemoteMessage, RemotePage, SendReceipt, SendRequest, StartContact,
    StartOutcome, StartRequest,
};
use crate::error::{ErrorCode, ProviderError};
use crate::secrets::Secret;

/// Page size for every listing: the largest p1 allows, so a full sync makes the fewest requests.
const PAGE_SIZE: u8 = 100;

/// A Pact p1 account's connection.
#[derive(Clone)]
pub struct PactP1Provider {
    client: p1::PactClient,
}

impl PactP1Provider {
    /// Builds the client for a token and an optional base URL.
    pub fn new(token: &Secret, base_url: Option<&str>) -> Result<Self, ProviderError> {
        let mut builder = p1::PactClient::builder(p1::ApiToken::new(token.expose()))
            .user_agent(concat!("parley/", env!("CARGO_PKG_VERSION")));
        if let Some(url) = base_url {
            builder = builder.base_url(url);
        }
        let client = builder.build().map_err(map_error)?;
        Ok(Self { client })
    }
}

/// A Pact id (company, conversation, message, ...) from its text, or a clear `invalid_input`.
pub(crate) fn parse_id(kind: &str, id: &str) -> Result<i64, ProviderError> {
    id.parse().map_err(|_| {
        ProviderError::new(
            ErrorCode::InvalidInput,
            format!("\"{id}\" is not a Pact {kind} id"),
        )
    })
}

fn map_conversation(conversation: p1::Conversation) -> RemoteConversation {
    RemoteConversation {
        id: conversation.external_id.to_string(),
        last_activity_at: conversation.last_activity_at(),
        title: conversation.name,
        channel: conversation.channel_type,
        channel_id: conversation.channel_id.map(|id| id.to_string()),
        contact: conversation.sender_external_id,
        avatar_url: conversation.avatar,
        created_at: conversation.created_at,
        assignee_id: conversation.assignee_id.map(|id| id.to_string()),
        note: conversation.note,
        bitrix_openlines: conversation.bitrix_block_openlines,
        state: None,
        replied: None,
    }
}

fn map_attachment(attachment: p1::Attachment) -> RemoteAttachment {
    RemoteAttachment {
        id: attachment.id.map(|id| id.to_string()),
        file_name: attachment.file_name,
        mime_type: attachment.mime_type,
        size: attachment.size,
        url: attachment.attachment_url,
        preview_url: attachment.preview_url,
    }
}

fn map_message(message: p1::Message) -> Result<RemoteMessage, ProviderError> {
    let created_at = message.created_at().ok_or_else(|| {
        ProviderError::new(
            ErrorCode::InvalidResponse,
            format!("message {} has no creation time", message.external_id),
        )
    })?;
    Ok(RemoteMessage {
        id: message.external_id.to_string(),
        incoming: message.income.unwrap_or(false),
        text: message.message.filter(|text| !text.is_empty()),
        created_at,
        attachments: message
            .attachments
            .into_iter()
            .map(map_attachment)
            .collect(),
        ..RemoteMessage::default()
    })
}

fn map_page<T, U>(
    page: Result<p1::Page<T>, p1::Error>,
    map: impl Fn(T) -> Result<U, ProviderError>,
) -> Result<RemotePage<U>, ProviderError> {
    let page = page.map_err(map_error)?;
    let items = page
        .items
        .into_iter()
        .map(map)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RemotePage {
        items,
        next_cursor: page.next_page,
    })
}

#[async_trait]
impl Provider for PactP1Provider {
    async fn companies(&self) -> Result<Vec<RemoteCompany>, ProviderError> {
        let mut pages = Box::pin(self.client.companies_pages(
            PAGE_SIZE,
            p1::SortDirection::Asc,
            None,
        ));
        let mut companies = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(map_error)?;
            companies.extend(page.items.into_iter().map(|company| RemoteCompany {
                id: company.external_id.to_string(),
                name: company.name,
            }));
        }
        Ok(companies)
    }

    fn conversation_pages<'a>(&'a self, company_id: &'a str) -> PageStream<'a, RemoteConversation> {
        let company = match parse_id("company", company_id) {
            Ok(id) => id,
            Err(error) => return futures::stream::once(async move { Err(error) }).boxed(),
        };
        self.client
            .conversations_pages(company, PAGE_SIZE, p1::SortDirection::Asc, None)
            .map(|page| map_page(page, |conversation| Ok(map_conversation(conversation))))
            .boxed()
    }

    fn message_pages_newest_first<'a>(
        &'a self,
        company_id: &'a str,
        conversation_id: &'a str,
        cursor: Option<String>,
    ) -> PageStream<'a, RemoteMessage> {
        let ids = parse_id("company", company_id)
            .and_then(|company| Ok((company, parse_id("conversation", conversation_id)?)));
        let (company, conversation) = match ids {
            Ok(ids) => ids,
            Err(error) => return futures::stream::once(async move { Err(error) }).boxed(),
        };
        self.client
            .messages_pages(
                company,
                conversation,
                PAGE_SIZE,
                p1::SortDirection::Desc,
                cursor,
            )
            .map(|page| map_page(page, map_message))
            .boxed()
    }

    async fn upload_attachment(
        &self,
        company_id: &str,
        conversation_id: &str,
        file: OutgoingFile,
    ) -> Result<String, ProviderError> {
        let source = p1::AttachmentSource::File {
            file_name: file.file_name,
            mime_type: file.mime_type,
            bytes: file.bytes,
        };
        let uploaded = self
            .client
            .upload_attachment_counted(
                parse_id("company", company_id)?,
                parse_id("conversation", conversation_id)?,
                source,
                &p1::UploadCounter::sharing(file.sent),
            )
            .await
            .map_err(map_error)?;
        Ok(uploaded.external_id.to_string())
    }

    async fn upload_attachment_url(
        &self,
        company_id: &str,
        conversation_id: &str,
        url: &str,
    ) -> Result<String, ProviderError> {
        let uploaded = self
            .client
            .upload_attachment(
                parse_id("company", company_id)?,
                parse_id("conversation", conversation_id)?,
                p1::AttachmentSource::Url(url.to_string()),
            )
            .await
            .map_err(map_error)?;
        Ok(uploaded.external_id.to_string())
    }

    /// WhatsApp opens without a message (the text follows as a send); Telegram opens only with
    /// its first message, which this call sends.
    async fn start_conversation(
        &self,
        company_id: &str,
        request: &StartRequest,
        text: Option<&str>,
    ) -> Result<StartOutcome, ProviderError> {
        let (new, carries_text) = match (request.channel.as_str(), &request.contact) {
            ("whatsapp", Some(StartContact::Phone(phone))) => (
                p1::NewConversation::Whatsapp {
                    phone: phone.clone(),
                },
                false,
            ),
            ("telegram_personal", Some(contact)) => {
                let (phone, username) = match contact {
                    StartContact::Phone(phone) => (Some(phone.clone()), None),
                    StartContact::Username(name) => (None, Some(name.clone())),
                };
                let text = text.ok_or_else(|| {
                    ProviderError::new(
                        ErrorCode::InvalidInput,
                        "Pact opens a Telegram conversation only with a first message",
                    )
                })?;
                let new = p1::NewConversation::TelegramPersonal {
                    phone,
                    username,
                    text: text.to_string(),
                    send_to_crm: None,
                };
                (new, true)
            }
            (channel, _) => {
                return Err(ProviderError::new(
                    ErrorCode::Unsupported,
                    format!("Pact p1 cannot start a {channel} conversation"),
                ))
            }
        };
        let conversation = self
            .client
            .create_conversation(parse_id("company", company_id)?, &new)
            .await
            .map_err(map_error)?;
        Ok(StartOutcome {
            conversation: map_conversation(conversation),
            sent: carries_text.then(SendReceipt::default),
        })
    }

    async fn send_message(
        &self,
        company_id: &str,
        conversation_id: &str,
        message: SendRequest<'_>,
    ) -> Result<SendReceipt, ProviderError> {
        let text = message.text;
        let attachment_ids = message
            .attachment_ids
            .iter()
            .map(|id| parse_id("attachment", id))
            .collect::<Result<Vec<_>, _>>()?;
        let outgoing = p1::OutgoingMessage {
            text: text.map(str::to_string),
            attachment_ids,
            send_to_crm: None,
        };
        let job = self
            .client
            .send_message(
                parse_id("company", company_id)?,
                parse_id("conversation", conversation_id)?,
                &outgoing,
            )
            .await
            .map_err(map_error)?;
        Ok(SendReceipt {
            job_id: Some(job.id.to_string()),
            channel_id: job.channel.as_ref().map(|channel| channel.id.to_string()),
            message_id: job.message_id.map(|id| id.to_string()),
            status: None,
        })
    }

    async fn delivery_status(
        &self,
        company_id: &str,
        _conversation_id: &str,
        receipt: &SendReceipt,
    ) -> Result<DeliveryStatus, ProviderError> {
        let (Some(job_id), Some(channel_id)) = (&receipt.job_id, &receipt.channel_id) else {
            return Ok(DeliveryStatus::Delivered(receipt.message_id.clone()));
        };
        let job = self
            .client
            .job(
                parse_id("company", company_id)?,
                parse_id("channel", channel_id)?,
                parse_id("job", job_id)?,
            )
            .await
            .map_err(map_error)?;
        Ok(match job.outcome() {
            p1::JobOutcome::Pending => DeliveryStatus::Pending,
            p1::JobOutcome::Delivered { message_id } => {
                DeliveryStatus::Delivered(message_id.map(|id| id.to_string()))
            }
            p1::JobOutcome::Failed { reason } => DeliveryStatus::Failed(reason),
        })
    }

    async fn assign(
        &self,
        company_id: &str,
        conversation_id: &str,
        assignee_id: &str,
    ) -> Result<(), ProviderError> {
        let assignee = assignee_id.parse().map_err(|_| {
            ProviderError::new(
                ErrorCode::InvalidInput,
                format!("\"{assignee_id}\" is not a Pact user id (a number)"),
            )
        })?;
        self.client
            .assign_conversation(
                parse_id("company", company_id)?,
                parse_id("conversation", conversation_id)?,
                assignee,
            )
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn set_note(
        &self,
        company_id: &str,
        conversation_id: &str,
        note: &str,
    ) -> Result<(), ProviderError> {
        self.client
            .set_note(
                parse_id("company", company_id)?,
                parse_id("conversation", conversation_id)?,
                note,
            )
            .await
            .map_err(map_error)
    }

    async fn set_bitrix_openlines(
        &self,
        company_id: &str,
        conversation_id: &str,
        enabled: bool,
    ) -> Result<(), ProviderError> {
        self.client
            .set_bitrix_openlines(
                parse_id("company", company_id)?,
                parse_id("conversation", conversation_id)?,
                enabled,
            )
            .await
            .map_err(map_error)?;
        Ok(())
    }
}
