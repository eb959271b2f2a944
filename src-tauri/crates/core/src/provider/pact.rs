//! The Pact provider: one token, both APIs. Pact p2 (the current API) for conversations, messages,
//! sends, uploads, assignment and states, inside its documented rate limits through a shared
//! request budget; Pact p1 only for what p2 lacks: companies, notes and the Bitrix toggle.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parley_http::RequestBudget;
use parley_pact_p2 as p2;

use super::pact_p1::{parse_id, PactP1Provider};
use super::{
    map_error, BudgetKind, ConversationState, DeliveryStatus, OffsetPage, OutgoingFile,
    PacedSource, PageStream, Provider, RemoteAttachment, RemoteCompany, RemoteConversation,
    RemoteMessage, RemoteTemplate, SendReceipt, SendRequest, StartContact, StartOutcome,
    StartRequest,
};
use crate::error::{ErrorCode, ProviderError};
use crate::secrets::Secret;

/// Pact's public root: p2 lives under `api/p2/`, p1 under `p1/`.
pub const DEFAULT_ROOT: &str = "https://api.pact.im/";

/// Conversations asked for per page (p2's default is 25; more pages cost more of the 10 a minute).
const CONVERSATIONS_PER_PAGE: u32 = p2::MAX_CONVERSATIONS_PER_PAGE;
/// Messages asked for per page: p2's own maximum.
const MESSAGES_PER_PAGE: u32 = p2::MAX_MESSAGES_PER_PAGE;

/// A Pact account's connection through both APIs.
pub struct PactProvider {
    p1: PactP1Provider,
    p2: p2::PactP2Client,
    /// The budget's time scale (1.0 but against a sandbox at scaled time), for estimates.
    scale: f64,
}

impl PactProvider {
    /// Builds both clients for one token under `root` (default [`DEFAULT_ROOT`]); every p2 request
    /// takes its turn from `budget`.
    pub fn new(
        token: &Secret,
        root: Option<&str>,
        budget: Arc<dyn RequestBudget>,
        scale: f64,
    ) -> Result<Self, ProviderError> {
        let root = normalised_root(root.unwrap_or(DEFAULT_ROOT))?;
        let p1 = PactP1Provider::new(token, Some(&format!("{root}p1/")))?;
        let p2 = p2::PactP2Client::builder(p2::ApiToken::new(token.expose()))
            .user_agent(user_agent())
            .base_url(format!("{root}api/p2/"))
            .budget(budget)
            .build()
            .map_err(map_error)?;
        Ok(Self { p1, p2, scale })
    }
}

/// `parley/<version> (process <id>)`: the id, random per process, lets a server (our sandbox's
/// benchmark) tell apart the computers of a team that share one token. It names nothing else.
fn user_agent() -> String {
    static PROCESS: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let id = PROCESS.get_or_init(rand::random::<u32>);
    format!("parley/{} (process {id:08x})", env!("CARGO_PKG_VERSION"))
}

/// The root with exactly one trailing slash; a base URL that already names `p1/` or `api/p2/` is
/// taken back to its root, so a p1 account's stored base URL works for the switch to p2.
pub fn normalised_root(root: &str) -> Result<String, ProviderError> {
    let trimmed = root.trim().trim_end_matches('/');
    let trimmed = trimmed
        .strip_suffix("/api/p2")
        .or_else(|| trimmed.strip_suffix("/p1"))
        .unwrap_or(trimmed);
    let parsed = reqwest::Url::parse(trimmed).map_err(|_| {
        ProviderError::new(ErrorCode::InvalidInput, "the base URL is not a valid URL")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ProviderError::new(
            ErrorCode::InvalidInput,
            "the base URL must be http(s)",
        ));
    }
    Ok(format!("{trimmed}/"))
}

fn map_conversation(conversation: p2::Conversation) -> RemoteConversation {
    RemoteConversation {
        id: conversation.id.to_string(),
        title: conversation.sender_name,
        channel: conversation.provider,
        channel_id: None,
        contact: conversation
            .sender_phone
            .or(conversation.sender_external_public_id)
            .or(conversation.sender_external_id),
        avatar_url: conversation.avatar_url,
        created_at: conversation.created_at,
        last_activity_at: conversation.last_updated_at.or(conversation.created_at),
        assignee_id: conversation.assignee_id.map(|id| id.to_string()),
        note: None,
        bitrix_openlines: None,
        state: conversation
            .operational_state
            .map(|state| state.to_ascii_lowercase()),
        replied: conversation
            .replied_state
            .as_deref()
            .and_then(|state| match state {
                "replied" => Some(true),
                "unreplied" => Some(false),
                _ => None,
            }),
    }
}

/// The write-first body for a start: the contact in the field its messenger takes (a VK username
/// of digits is a numeric VK id), the text, or the WABA template and its substitutions.
fn first_message(request: &StartRequest, text: Option<&str>) -> p2::FirstMessage {
    let mut first = p2::FirstMessage {
        provider: request.channel.clone(),
        text: text.map(str::to_string),
        waba_id: request.template.clone(),
        substitutions: request.template_vars.clone(),
        ..p2::FirstMessage::default()
    };
    match (&request.contact, request.channel.as_str()) {
        (None, _) => {}
        (Some(StartContact::Phone(phone)), _) => first.phone = Some(phone.clone()),
        (Some(StartContact::Username(name)), "vkontakte_direct") => {
            if name.chars().all(|c| c.is_ascii_digit()) {
                first.vkontakte_id = Some(name.clone());
            } else {
                first.vkontakte_domain = Some(name.clone());
            }
        }
        (Some(StartContact::Username(name)), _) => first.nickname = Some(name.clone()),
    }
    if request.template.is_some() {
        first.text = None;
    }
    first
}

fn map_attachment(attachment: p2::Attachment) -> RemoteAttachment {
    RemoteAttachment {
        id: attachment.id.map(|id| id.to_string()),
        file_name: attachment.file_name,
        mime_type: attachment.mime_type,
        size: attachment.size,
        url: attachment.attachment_url,
        preview_url: attachment.preview_url,
    }
}

fn map_message(message: p2::Message) -> Result<RemoteMessage, ProviderError> {
    let created_at = message.time().ok_or_else(|| {
        ProviderError::new(
            ErrorCode::InvalidResponse,
            format!("message {} has no time", message.id),
        )
    })?;
    let status_reason = message.error_reason();
    Ok(RemoteMessage {
        id: message.id.to_string(),
        incoming: message.income,
        text: message.message.filter(|text| !text.is_empty()),
        created_at,
        attachments: message
            .attachments
            .into_iter()
            .map(map_attachment)
            .collect(),
        status: message.status.map(|status| status.to_ascii_lowercase()),
        status_reason,
        external_id: message.external_id,
        reply_to: message.replied_to_id,
        deleted: message.deleted,
    })
}

fn offset_page<T, U>(
    page: p2::Page<T>,
    map: impl Fn(T) -> Result<U, ProviderError>,
) -> Result<OffsetPage<U>, ProviderError> {
    Ok(OffsetPage {
        per_page: page.per_page,
        is_last: page.is_last,
        items: page
            .items
            .into_iter()
            .map(map)
            .collect::<Result<Vec<_>, _>>()?,
    })
}

/// Where a thread's p2 sync stands, as kept in the conversation's history cursor: `p2:N` is the
/// next page to read while the history downloads, and the last page read once it is complete.
pub(crate) fn page_of_cursor(cursor: Option<&str>) -> Option<u32> {
    cursor?
        .strip_prefix("p2:")?
        .parse()
        .ok()
        .filter(|&page| page >= 1)
}

/// The cursor naming page `page`.
pub(crate) fn cursor_of_page(page: u32) -> String {
    format!("p2:{page}")
}

fn unsupported(message: &str) -> ProviderError {
    ProviderError::new(ErrorCode::Unsupported, message)
}

#[async_trait]
impl Provider for PactProvider {
    async fn companies(&self) -> Result<Vec<RemoteCompany>, ProviderError> {
        self.p1.companies().await
    }

    fn conversation_pages<'a>(&'a self, company_id: &'a str) -> PageStream<'a, RemoteConversation> {
        let _ = company_id;
        futures::StreamExt::boxed(futures::stream::once(async {
            Err(unsupported(
                "Pact p2 conversations are read by the paced sync",
            ))
        }))
    }

    fn message_pages_newest_first<'a>(
        &'a self,
        _company_id: &'a str,
        _conversation_id: &'a str,
        _cursor: Option<String>,
    ) -> PageStream<'a, RemoteMessage> {
        futures::StreamExt::boxed(futures::stream::once(async {
            Err(unsupported("Pact p2 threads are read by the paced sync"))
        }))
    }

    fn paced(&self) -> Option<&dyn PacedSource> {
        Some(self)
    }

    fn max_attachments_per_message(&self) -> Option<usize> {
        Some(1)
    }

    async fn recent_messages(
        &self,
        company_id: &str,
        conversation_id: &str,
        cursor: Option<String>,
    ) -> Result<Vec<RemoteMessage>, ProviderError> {
        // The thread's last known page, then forward while pages are full; newest first.
        let mut page = page_of_cursor(cursor.as_deref()).unwrap_or(1);
        let mut messages = Vec::new();
        loop {
            let listed = self.message_page(company_id, conversation_id, page).await?;
            let is_last = listed.is_last;
            messages.extend(listed.items);
            if is_last {
                break;
            }
            page += 1;
        }
        messages.reverse();
        Ok(messages)
    }

    async fn upload_attachment(
        &self,
        company_id: &str,
        _conversation_id: &str,
        file: OutgoingFile,
    ) -> Result<String, ProviderError> {
        let source = p2::AttachmentSource::File {
            file_name: file.file_name,
            mime_type: file.mime_type,
            bytes: file.bytes,
        };
        let uploaded = self
            .p2
            .upload_attachment(parse_id("company", company_id)?, source, Some(file.sent))
            .await
            .map_err(map_error)?;
        uploaded
            .id
            .map(|id| id.to_string())
            .ok_or_else(|| ProviderError::new(ErrorCode::InvalidResponse, "upload answered no id"))
    }

    async fn upload_attachment_url(
        &self,
        company_id: &str,
        _conversation_id: &str,
        url: &str,
    ) -> Result<String, ProviderError> {
        let url = reqwest::Url::parse(url)
            .map_err(|_| ProviderError::new(ErrorCode::InvalidInput, "the link is not a URL"))?;
        let uploaded = self
            .p2
            .upload_attachment(
                parse_id("company", company_id)?,
                p2::AttachmentSource::Url(url),
                None,
            )
            .await
            .map_err(map_error)?;
        uploaded
            .id
            .map(|id| id.to_string())
            .ok_or_else(|| ProviderError::new(ErrorCode::InvalidResponse, "upload answered no id"))
    }

    async fn newest_conversations(
        &self,
        company_id: &str,
    ) -> Result<Vec<RemoteConversation>, ProviderError> {
        Ok(PacedSource::conversation_page(self, company_id, 1)
            .await?
            .items)
    }

    async fn start_conversation(
        &self,
        company_id: &str,
        request: &StartRequest,
        text: Option<&str>,
    ) -> Result<StartOutcome, ProviderError> {
        let first = first_message(request, text);
        let sent = self
            .p2
            .write_first(parse_id("company", company_id)?, &first)
            .await
            .map_err(map_error)?;
        let conversation_id = sent.conversation_id.ok_or_else(|| {
            ProviderError::new(
                ErrorCode::InvalidResponse,
                "Pact wrote the first message but did not say in which conversation",
            )
        })?;
        Ok(StartOutcome {
            conversation: RemoteConversation {
                id: conversation_id.to_string(),
                channel: Some(request.channel.clone()),
                contact: request.contact.as_ref().map(|c| c.handle().to_string()),
                created_at: sent.created_at,
                last_activity_at: sent.created_at,
                state: Some("open".to_string()),
                ..RemoteConversation::default()
            },
            sent: Some(SendReceipt {
                job_id: None,
                channel_id: None,
                message_id: Some(sent.id.to_string()),
                status: Some(sent.status.unwrap_or_else(|| "sent".to_string())),
            }),
        })
    }

    async fn templates(&self, company_id: &str) -> Result<Vec<RemoteTemplate>, ProviderError> {
        let page = self
            .p2
            .waba_templates(&[parse_id("company", company_id)?], 1, 100)
            .await
            .map_err(map_error)?;
        Ok(page
            .items
            .into_iter()
            .filter_map(|template| {
                Some(RemoteTemplate {
                    id: template.waba_id.clone()?,
                    name: template.name,
                    body: template.body,
                    substitutions: template.substitutions_count.unwrap_or(0),
                })
            })
            .collect())
    }

    async fn send_message(
        &self,
        company_id: &str,
        conversation_id: &str,
        message: SendRequest<'_>,
    ) -> Result<SendReceipt, ProviderError> {
        if message.attachment_ids.len() > 1 {
            return Err(ProviderError::new(
                ErrorCode::InvalidInput,
                "Pact p2 sends one attachment per message",
            ));
        }
        let attachment_id = message
            .attachment_ids
            .first()
            .map(|id| parse_id("attachment", id))
            .transpose()?;
        let outgoing = p2::OutgoingMessage {
            text: message.text.map(str::to_string),
            attachment_id,
            replied_to_id: message.reply_to.map(str::to_string),
            send_to_crm: None,
        };
        let sent = self
            .p2
            .send_message(
                parse_id("company", company_id)?,
                parse_id("conversation", conversation_id)?,
                &outgoing,
            )
            .await
            .map_err(map_error)?;
        Ok(SendReceipt {
            job_id: None,
            channel_id: None,
            message_id: Some(sent.id.to_string()),
            status: Some(sent.status.unwrap_or_else(|| "sent".to_string())),
        })
    }

    async fn delivery_status(
        &self,
        company_id: &str,
        conversation_id: &str,
        receipt: &SendReceipt,
    ) -> Result<DeliveryStatus, ProviderError> {
        let Some(message_id) = &receipt.message_id else {
            return Ok(DeliveryStatus::Delivered(None));
        };
        let message = self
            .message(company_id, conversation_id, message_id)
            .await?;
        Ok(DeliveryStatus::of_message(&message))
    }

    async fn assign(
        &self,
        company_id: &str,
        conversation_id: &str,
        assignee_id: &str,
    ) -> Result<(), ProviderError> {
        let assignee = assignee_id.trim().parse().map_err(|_| {
            ProviderError::new(
                ErrorCode::InvalidInput,
                format!("\"{assignee_id}\" is not a Pact user id (a number)"),
            )
        })?;
        self.update(
            company_id,
            conversation_id,
            p2::ConversationUpdate {
                assignee_id: Some(Some(assignee)),
                ..Default::default()
            },
        )
        .await
    }

    async fn unassign(&self, company_id: &str, conversation_id: &str) -> Result<(), ProviderError> {
        self.update(
            company_id,
            conversation_id,
            p2::ConversationUpdate {
                assignee_id: Some(None),
                ..Default::default()
            },
        )
        .await
    }

    async fn set_note(
        &self,
        company_id: &str,
        conversation_id: &str,
        note: &str,
    ) -> Result<(), ProviderError> {
        self.p1.set_note(company_id, conversation_id, note).await
    }

    async fn set_bitrix_openlines(
        &self,
        company_id: &str,
        conversation_id: &str,
        enabled: bool,
    ) -> Result<(), ProviderError> {
        self.p1
            .set_bitrix_openlines(company_id, conversation_id, enabled)
            .await
    }

    async fn set_state(
        &self,
        company_id: &str,
        conversation_id: &str,
        state: ConversationState,
    ) -> Result<(), ProviderError> {
        let state = match state {
            ConversationState::Open => p2::OperationalState::Open,
            ConversationState::Archived => p2::OperationalState::Archived,
        };
        self.update(
            company_id,
            conversation_id,
            p2::ConversationUpdate {
                operational_state: Some(state),
                ..Default::default()
            },
        )
        .await
    }

    async fn set_replied(
        &self,
        company_id: &str,
        conversation_id: &str,
        replied: bool,
    ) -> Result<(), ProviderError> {
        let state = if replied {
            p2::RepliedState::Replied
        } else {
            p2::RepliedState::Unreplied
        };
        self.update(
            company_id,
            conversation_id,
            p2::ConversationUpdate {
                replied_state: Some(state),
                ..Default::default()
            },
        )
        .await
    }

    async fn delete_message(
        &self,
        company_id: &str,
        conversation_id: &str,
        message_id: &str,
    ) -> Result<(), ProviderError> {
        self.p2
            .delete_messages(
                parse_id("company", company_id)?,
                parse_id("conversation", conversation_id)?,
                &[parse_id("message", message_id)?],
            )
            .await
            .map_err(map_error)
    }
}

impl PactProvider {
    async fn update(
        &self,
        company_id: &str,
        conversation_id: &str,
        update: p2::ConversationUpdate,
    ) -> Result<(), ProviderError> {
        self.p2
            .update_conversation(
                parse_id("company", company_id)?,
                parse_id("conversation", conversation_id)?,
                &update,
            )
            .await
            .map_err(map_error)?;
        Ok(())
    }
}

#[async_trait]
impl PacedSource for PactProvider {
    async fn conversation_page(
        &self,
        company_id: &str,
        page: u32,
    ) -> Result<OffsetPage<RemoteConversation>, ProviderError> {
        let listed = self
            .p2
            .conversations(
                parse_id("company", company_id)?,
                page,
                CONVERSATIONS_PER_PAGE,
                None,
            )
            .await
            .map_err(map_error)?;
        offset_page(listed, |conversation| Ok(map_conversation(conversation)))
    }

    async fn message_page(
        &self,
        company_id: &str,
        conversation_id: &str,
        page: u32,
    ) -> Result<OffsetPage<RemoteMessage>, ProviderError> {
        let listed = self
            .p2
            .messages(
                parse_id("company", company_id)?,
                parse_id("conversation", conversation_id)?,
                page,
                MESSAGES_PER_PAGE,
            )
            .await
            .map_err(map_error)?;
        offset_page(listed, map_message)
    }

    async fn message(
        &self,
        company_id: &str,
        conversation_id: &str,
        message_id: &str,
    ) -> Result<RemoteMessage, ProviderError> {
        let message = self
            .p2
            .message(
                parse_id("company", company_id)?,
                parse_id("conversation", conversation_id)?,
                parse_id("message", message_id)?,
            )
            .await
            .map_err(map_error)?;
        map_message(message)
    }

    async fn time_until_free(&self, kind: BudgetKind) -> Duration {
        self.p2.budget().time_until_free(&bucket_of(kind)).await
    }

    fn sustained_interval(&self, kind: BudgetKind) -> Duration {
        let bucket = bucket_of(kind);
        let share = self.limit_share().unwrap_or(1.0);
        bucket
            .limits
            .iter()
            .map(|limit| parley_http::shared_limit(limit.scaled(self.scale), share))
            .map(|limit| limit.window / limit.max.max(1))
            .max()
            .unwrap_or(Duration::ZERO)
    }

    fn refusals(&self) -> u64 {
        self.p2.budget().refusals()
    }

    fn limit_share(&self) -> Option<f64> {
        self.p2.budget().limit_share()
    }
}

fn bucket_of(kind: BudgetKind) -> parley_http::Bucket {
    match kind {
        BudgetKind::ConversationList => p2::limits::LIST_CONVERSATIONS,
        BudgetKind::MessageList => p2::limits::LIST_MESSAGES,
        BudgetKind::MessageRead => p2::limits::GET_MESSAGE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_accept_what_users_and_p1_accounts_stored() {
        for given in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/p1/",
            "http://127.0.0.1:8080/api/p2/",
        ] {
            assert_eq!(normalised_root(given).unwrap(), "http://127.0.0.1:8080/");
        }
        assert!(normalised_root("ftp://x").is_err());
        assert!(normalised_root("not a url").is_err());
    }

    #[test]
    fn cursors_name_pages() {
        assert_eq!(page_of_cursor(Some("p2:3")), Some(3));
        assert_eq!(page_of_cursor(Some("p2:0")), None);
        assert_eq!(page_of_cursor(Some("opaque-p1-token")), None);
        assert_eq!(page_of_cursor(None), None);
        assert_eq!(cursor_of_page(7), "p2:7");
    }
}
