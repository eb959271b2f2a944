//! The one trait the sync engine and the outbox use to talk to any messaging API, and its data types.
//!
//! Ids are the provider's own, as text (Pact uses integers, VoIPbin UUIDs).

pub mod pact;
pub mod pact_p1;
pub mod voipbin;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;

use parley_http::{ApiError, FailureCode};

use crate::error::{ErrorCode, ProviderError};

/// A page of a listing and the cursor of the next one (`None` at the end).
#[derive(Debug, Clone)]
pub struct RemotePage<T> {
    /// The items, in the order the server gave them.
    pub items: Vec<T>,
    /// The cursor for the next page.
    pub next_cursor: Option<String>,
}

/// A stream of pages; ends after the last page, or with an error.
pub type PageStream<'a, T> = BoxStream<'a, Result<RemotePage<T>, ProviderError>>;

/// A company (Pact) or workspace the account can see.
#[derive(Debug, Clone)]
pub struct RemoteCompany {
    /// Provider id.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
}

/// A conversation as the server lists it.
#[derive(Debug, Clone, Default)]
pub struct RemoteConversation {
    /// Provider id.
    pub id: String,
    /// The contact's name.
    pub title: Option<String>,
    /// The messenger.
    pub channel: Option<String>,
    /// The provider's channel id.
    pub channel_id: Option<String>,
    /// The contact's address (phone, username).
    pub contact: Option<String>,
    /// Avatar URL.
    pub avatar_url: Option<String>,
    /// Creation time.
    pub created_at: Option<DateTime<Utc>>,
    /// Last activity, when the server reports it.
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Assignee, when the server reports it.
    pub assignee_id: Option<String>,
    /// Note, when the server reports it.
    pub note: Option<String>,
    /// Bitrix openlines block flag, when reported.
    pub bitrix_openlines: Option<bool>,
    /// `open`, `archived` (or `blocked`), when the provider reports it.
    pub state: Option<String>,
    /// Whether the team answered the customer's last message, when reported.
    pub replied: Option<bool>,
}

/// An attachment's metadata as the server lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteAttachment {
    /// Provider id.
    pub id: Option<String>,
    /// File name.
    pub file_name: Option<String>,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Size in bytes.
    pub size: Option<i64>,
    /// Where the bytes can be downloaded.
    pub url: Option<String>,
    /// A preview image URL.
    pub preview_url: Option<String>,
}

/// A message as the server lists it.
#[derive(Debug, Clone, Default)]
pub struct RemoteMessage {
    /// Provider id.
    pub id: String,
    /// True when the customer wrote it.
    pub incoming: bool,
    /// The text, `None` for attachment-only messages.
    pub text: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Attachments, in order.
    pub attachments: Vec<RemoteAttachment>,
    /// The delivery status as the provider reports it (`sent`, `delivered`, `read`, `error`, ...);
    /// `None` when it reports none.
    pub status: Option<String>,
    /// Why the status is `error`, in the server's words.
    pub status_reason: Option<String>,
    /// The messenger's own id of the message (what a reply quotes).
    pub external_id: Option<String>,
    /// The messenger's id of the message this one answers.
    pub reply_to: Option<String>,
    /// True when the message was deleted.
    pub deleted: bool,
}

/// What a send carries besides the uploaded files.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendRequest<'a> {
    /// The text, if any.
    pub text: Option<&'a str>,
    /// Attachments uploaded before, at most [`Provider::max_attachments_per_message`] of them.
    pub attachment_ids: &'a [String],
    /// The messenger's id of the message this one answers.
    pub reply_to: Option<&'a str>,
}

/// A conversation's operational state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationState {
    /// In the inbox.
    Open,
    /// Moved out of the inbox.
    Archived,
}

impl ConversationState {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Archived => "archived",
        }
    }
}

/// A page of an offset-paged listing (Pact p2): the items in the server's order and whether it was
/// the last page.
#[derive(Debug, Clone)]
pub struct OffsetPage<T> {
    /// The items.
    pub items: Vec<T>,
    /// The page size the server applied.
    pub per_page: u32,
    /// True when no page follows.
    pub is_last: bool,
}

/// The request budgets a rate-limited API shares among its kinds of work, for scheduling and
/// for estimating how long the remaining work will take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetKind {
    /// Listing conversations.
    ConversationList,
    /// Listing a thread's messages.
    MessageList,
    /// Reading one message (status follow-up).
    MessageRead,
}

/// What a provider with hard rate limits and offset paging offers the paced sync (Pact p2):
/// conversations newest activity first, threads oldest first, and a view of its request budget.
#[async_trait]
pub trait PacedSource: Send + Sync {
    /// One page (from 1) of a company's conversations, most recent activity first.
    async fn conversation_page(
        &self,
        company_id: &str,
        page: u32,
    ) -> Result<OffsetPage<RemoteConversation>, ProviderError>;
    /// One page (from 1) of a thread's messages, OLDEST first.
    async fn message_page(
        &self,
        company_id: &str,
        conversation_id: &str,
        page: u32,
    ) -> Result<OffsetPage<RemoteMessage>, ProviderError>;
    /// One message, as it is now (status follow-up).
    async fn message(
        &self,
        company_id: &str,
        conversation_id: &str,
        message_id: &str,
    ) -> Result<RemoteMessage, ProviderError>;
    /// How long until a request of this kind may start without breaking a limit.
    async fn time_until_free(&self, kind: BudgetKind) -> std::time::Duration;
    /// The pace of a kind of request: one start every this long, sustained (the documented limit,
    /// or this computer's share of it while other clients use the same token).
    fn sustained_interval(&self, kind: BudgetKind) -> std::time::Duration;
    /// How many 429s the budget met so far in this process.
    fn refusals(&self) -> u64;
    /// This computer's share of the limits while other clients use the same token; `None` while
    /// it has them all.
    fn limit_share(&self) -> Option<f64> {
        None
    }
}

/// A file to upload.
#[derive(Debug, Clone)]
pub struct OutgoingFile {
    /// File name shown to the customer.
    pub file_name: String,
    /// MIME type.
    pub mime_type: Option<String>,
    /// The bytes.
    pub bytes: bytes::Bytes,
    /// Bytes of this file sent so far in the current attempt; a provider that can count keeps it
    /// current during the upload (for the progress display), others leave it alone.
    pub sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// What the server answered to a send.
#[derive(Debug, Clone, Default)]
pub struct SendReceipt {
    /// The delivery job to follow, if any.
    pub job_id: Option<String>,
    /// The channel the job runs on (Pact needs it to look the job up).
    pub channel_id: Option<String>,
    /// The message id when delivery was immediate, or the message to follow (with `status`).
    pub message_id: Option<String>,
    /// The message's status at send time, for providers that report one (Pact p2's `sent`): the
    /// outbox then follows the message itself until it is delivered.
    pub status: Option<String>,
}

impl DeliveryStatus {
    /// Where a send is, as the message's own status (Pact p2) says it.
    pub fn of_message(message: &RemoteMessage) -> Self {
        match message.status.as_deref() {
            Some("delivered" | "read") => Self::Delivered(Some(message.id.clone())),
            Some("error") => Self::Failed(
                message
                    .status_reason
                    .clone()
                    .unwrap_or_else(|| "the messenger refused the message".to_string()),
            ),
            _ => Self::Pending,
        }
    }
}

/// A teammate as the provider lists them (VoIPbin agents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTeammate {
    /// The id an assignment takes.
    pub id: String,
    /// The name to show.
    pub name: String,
}

/// How to reach the contact of a conversation to start: exactly one of phone and username.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StartContact {
    /// A phone number, normalised to its digits with the country code (`79250000001`).
    Phone(String),
    /// A messenger username without `@` (Telegram).
    Username(String),
}

impl StartContact {
    /// The handle as providers store it on the conversation (digits, or the username).
    pub fn handle(&self) -> &str {
        match self {
            Self::Phone(phone) | Self::Username(phone) => phone,
        }
    }
}

/// A conversation to open on the server, as the outbox keeps it until it went out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StartRequest {
    /// The messenger (`whatsapp`, `telegram_personal`, `max`, `vkontakte_direct`,
    /// `whatsapp_business`; `line` on VoIPbin).
    pub channel: String,
    /// Whom to write to (`None` where the messenger addresses no contact: VoIPbin's setup).
    pub contact: Option<StartContact>,
    /// A WABA template id (`whatsapp_business`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The template's substitutions, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub template_vars: Vec<String>,
}

/// What opening a conversation gave.
#[derive(Debug, Clone)]
pub struct StartOutcome {
    /// The conversation on the server (an existing one when the contact had one).
    pub conversation: RemoteConversation,
    /// `Some` when the start itself carried the first text (Pact p2 write-first, p1 Telegram):
    /// the send's receipt, to follow like any send. `None`: the text still has to be sent.
    pub sent: Option<SendReceipt>,
}

/// A WhatsApp Business template a first message can use.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RemoteTemplate {
    /// What `StartRequest::template` takes.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// The text with `{{1}}`-style placeholders.
    pub body: Option<String>,
    /// How many substitutions it takes.
    pub substitutions: u32,
}

/// Where a delivery job is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Still being delivered.
    Pending,
    /// Delivered; the message id when the server gives it.
    Delivered(Option<String>),
    /// Delivery failed, with the server's reason.
    Failed(String),
}

/// The operations Parley needs from a messaging API.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Companies visible to the credentials.
    async fn companies(&self) -> Result<Vec<RemoteCompany>, ProviderError>;
    /// Every conversation of a company, page by page.
    fn conversation_pages<'a>(&'a self, company_id: &'a str) -> PageStream<'a, RemoteConversation>;
    /// A thread's messages, NEWEST FIRST, page by page, starting at `cursor` (or the newest).
    fn message_pages_newest_first<'a>(
        &'a self,
        company_id: &'a str,
        conversation_id: &'a str,
        cursor: Option<String>,
    ) -> PageStream<'a, RemoteMessage>;
    /// Uploads a file for a later send; returns the provider's attachment id.
    async fn upload_attachment(
        &self,
        company_id: &str,
        conversation_id: &str,
        file: OutgoingFile,
    ) -> Result<String, ProviderError>;
    /// Sends a message with previously uploaded attachments.
    async fn send_message(
        &self,
        company_id: &str,
        conversation_id: &str,
        message: SendRequest<'_>,
    ) -> Result<SendReceipt, ProviderError>;
    /// How many attachments one message may carry (`None`: no limit). The outbox sends an entry
    /// with more files as several messages.
    fn max_attachments_per_message(&self) -> Option<usize> {
        None
    }
    /// The thread's newest messages as the server has them now, newest first, for finding out
    /// whether a send whose answer was lost arrived. `cursor` is where the thread's sync last read.
    async fn recent_messages(
        &self,
        company_id: &str,
        conversation_id: &str,
        cursor: Option<String>,
    ) -> Result<Vec<RemoteMessage>, ProviderError> {
        let _ = cursor;
        let mut pages = self.message_pages_newest_first(company_id, conversation_id, None);
        match futures::StreamExt::next(&mut pages).await {
            Some(page) => Ok(page?.items),
            None => Ok(Vec::new()),
        }
    }
    /// The paced-sync view of a provider with hard rate limits, if it is one.
    fn paced(&self) -> Option<&dyn PacedSource> {
        None
    }
    /// Archives or reopens the conversation.
    async fn set_state(
        &self,
        company_id: &str,
        conversation_id: &str,
        state: ConversationState,
    ) -> Result<(), ProviderError> {
        let _ = (company_id, conversation_id, state);
        Err(ProviderError::new(
            ErrorCode::Unsupported,
            "this provider cannot archive conversations",
        ))
    }
    /// Marks the conversation replied or unreplied.
    async fn set_replied(
        &self,
        company_id: &str,
        conversation_id: &str,
        replied: bool,
    ) -> Result<(), ProviderError> {
        let _ = (company_id, conversation_id, replied);
        Err(ProviderError::new(
            ErrorCode::Unsupported,
            "this provider has no replied state",
        ))
    }
    /// Deletes a sent message in the customer's messenger.
    async fn delete_message(
        &self,
        company_id: &str,
        conversation_id: &str,
        message_id: &str,
    ) -> Result<(), ProviderError> {
        let _ = (company_id, conversation_id, message_id);
        Err(ProviderError::new(
            ErrorCode::Unsupported,
            "this provider cannot delete messages",
        ))
    }
    /// Looks up how a send's delivery is going.
    async fn delivery_status(
        &self,
        company_id: &str,
        conversation_id: &str,
        receipt: &SendReceipt,
    ) -> Result<DeliveryStatus, ProviderError>;
    /// Assigns the conversation to a teammate.
    async fn assign(
        &self,
        company_id: &str,
        conversation_id: &str,
        assignee_id: &str,
    ) -> Result<(), ProviderError>;
    /// Clears the conversation's assignment. Providers without the operation say so.
    async fn unassign(&self, company_id: &str, conversation_id: &str) -> Result<(), ProviderError> {
        let _ = (company_id, conversation_id);
        Err(ProviderError::new(
            ErrorCode::Unsupported,
            "this provider cannot clear an assignment",
        ))
    }
    /// Replaces the conversation's note.
    async fn set_note(
        &self,
        company_id: &str,
        conversation_id: &str,
        note: &str,
    ) -> Result<(), ProviderError>;
    /// Uploads a file the server fetches from an http(s) link (`file_url`); returns the
    /// attachment id. Providers without it say so.
    async fn upload_attachment_url(
        &self,
        company_id: &str,
        conversation_id: &str,
        url: &str,
    ) -> Result<String, ProviderError> {
        let _ = (company_id, conversation_id, url);
        Err(ProviderError::new(
            ErrorCode::Unsupported,
            "this provider cannot attach a file by link",
        ))
    }
    /// Opens (or finds) the conversation with a contact, sending `text` where the API opens
    /// conversations only with a message. Not repeated by the provider once it may have gone out.
    async fn start_conversation(
        &self,
        company_id: &str,
        request: &StartRequest,
        text: Option<&str>,
    ) -> Result<StartOutcome, ProviderError> {
        let _ = (company_id, request, text);
        Err(ProviderError::new(
            ErrorCode::Unsupported,
            "this provider cannot start a conversation",
        ))
    }
    /// Why this server cannot start conversations, found without side effects, or `None` when
    /// it can (or nothing says otherwise).
    async fn start_unavailable(&self) -> Result<Option<String>, ProviderError> {
        Ok(None)
    }
    /// The company's conversations with the newest activity (page 1), to find a started one
    /// whose answer was lost.
    async fn newest_conversations(
        &self,
        company_id: &str,
    ) -> Result<Vec<RemoteConversation>, ProviderError> {
        let mut pages = self.conversation_pages(company_id);
        match futures::StreamExt::next(&mut pages).await {
            Some(page) => Ok(page?.items),
            None => Ok(Vec::new()),
        }
    }
    /// The WhatsApp Business templates of a company.
    async fn templates(&self, company_id: &str) -> Result<Vec<RemoteTemplate>, ProviderError> {
        let _ = company_id;
        Ok(Vec::new())
    }
    /// The teammates a conversation can be assigned to, where the provider lists them.
    async fn teammates(&self) -> Result<Vec<RemoteTeammate>, ProviderError> {
        Err(ProviderError::new(
            ErrorCode::Unsupported,
            "this provider does not list teammates",
        ))
    }
    /// Blocks or unblocks Bitrix openlines for the conversation.
    async fn set_bitrix_openlines(
        &self,
        company_id: &str,
        conversation_id: &str,
        enabled: bool,
    ) -> Result<(), ProviderError>;
}

/// Classifies an error of any of the three clients: its code, its words, the server's wait, and
/// whether a write may have been carried out. Client errors never carry the token.
pub(crate) fn map_error<E: ApiError>(error: E) -> ProviderError {
    let code = match error.code() {
        FailureCode::Offline => ErrorCode::Offline,
        FailureCode::Unauthorized => ErrorCode::Unauthorized,
        FailureCode::PaymentRequired => ErrorCode::PaymentRequired,
        FailureCode::Forbidden => ErrorCode::Forbidden,
        FailureCode::NotFound => ErrorCode::NotFound,
        FailureCode::InvalidInput => ErrorCode::InvalidInput,
        FailureCode::Conflict => ErrorCode::Conflict,
        FailureCode::RateLimited => ErrorCode::RateLimited,
        FailureCode::ServerError => ErrorCode::ServerError,
        FailureCode::InvalidResponse => ErrorCode::InvalidResponse,
        FailureCode::Unsupported => ErrorCode::Unsupported,
    };
    ProviderError {
        code,
        message: error.to_string(),
        retry_after: error.retry_after(),
        outcome_unknown: error.outcome_unknown(),
    }
}
