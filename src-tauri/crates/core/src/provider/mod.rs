//! The one trait the sync engine and the outbox use to talk to any messaging API, and its data types.
//!
//! Ids are the provider's own, as text (Pact uses integers, VoIPbin UUIDs).

pub mod pact_p1;
pub mod voipbin;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;

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
#[derive(Debug, Clone)]
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
    /// The message id when delivery was immediate.
    pub message_id: Option<String>,
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
        text: Option<&str>,
        attachment_ids: &[String],
    ) -> Result<SendReceipt, ProviderError>;
    /// Looks up how a send's delivery is going.
    async fn delivery_status(
        &self,
        company_id: &str,
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
    /// Blocks or unblocks Bitrix openlines for the conversation.
    async fn set_bitrix_openlines(
        &self,
        company_id: &str,
        conversation_id: &str,
        enabled: bool,
    ) -> Result<(), ProviderError>;
}
