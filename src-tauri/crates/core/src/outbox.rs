//! The outbox worker: takes one due entry through upload, send and delivery tracking.
//!
//! The rules that keep one entry from ever becoming two messages:
//! - the entry is claimed with a lease, so two workers (the app and a CLI `send`) never work it at once;
//! - uploads are safe to repeat (an orphan upload is no message), and each attachment id is stored as soon
//!   as it is known;
//! - before the send request goes out the entry is marked "outcome unknown"; if the request then fails in
//!   a way that may have reached the server (reset after sending, timeout, 5xx), the next attempt first
//!   looks for the message on the server and only sends again once it has not shown up within
//!   [`OutboxPolicy::reconcile_window`];
//! - "is this message ours" is decided from what the server says alone: the thread's newest message
//!   when the request went out (the server's own timestamp and id) is kept with the entry, and only
//!   messages the server wrote at or after it are candidates. The computer's clock is never compared
//!   with the server's, so a wrong clock or time zone on either side cannot make a message twice.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{ProviderError, Result};
use crate::model::{now_millis, OutboxState};
use crate::provider::{
    DeliveryStatus, OutgoingFile, Provider, RemoteConversation, RemoteMessage, SendReceipt,
    SendRequest, StartRequest,
};
use crate::start::same_handle;
use crate::store::{CachedConversation, OutboxEntry, SendAnchor, Store};
use crate::ui_state::UploadProgress;

/// Timing of the outbox.
#[derive(Debug, Clone)]
pub struct OutboxPolicy {
    /// How long a worker owns a claimed entry.
    pub lease: Duration,
    /// How long an unanswered send is looked for on the server before it is sent again.
    pub reconcile_window: Duration,
    /// How often the server is checked while reconciling.
    pub reconcile_every: Duration,
    /// The first delivery check after the server accepted a send.
    pub first_delivery_check: Duration,
    /// The longest wait between two delivery checks.
    pub max_delivery_check: Duration,
    /// The longest wait between two retries of a failing send.
    pub max_backoff: Duration,
}

impl Default for OutboxPolicy {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(120),
            reconcile_window: Duration::from_secs(20),
            reconcile_every: Duration::from_secs(2),
            first_delivery_check: Duration::from_millis(300),
            max_delivery_check: Duration::from_secs(30),
            max_backoff: Duration::from_secs(300),
        }
    }
}

/// The files being uploaded right now, by outbox entry, so a progress display can read how far each
/// got without touching the database. Cheap to clone; the clones share one registry.
#[derive(Debug, Clone, Default)]
pub(crate) struct UploadsInFlight(Arc<Mutex<HashMap<i64, FileInFlight>>>);

/// One file on its way to the server.
#[derive(Debug)]
struct FileInFlight {
    /// Its place among the entry's files (0 = first).
    index: usize,
    /// How many files the entry has.
    count: usize,
    /// Its size in bytes.
    size: u64,
    /// Bytes sent so far, kept by the provider.
    sent: Arc<AtomicU64>,
}

impl UploadsInFlight {
    /// Records the upload of the entry's file `index` of `count`; it is forgotten when the returned
    /// guard drops (whether the upload worked or not).
    fn start(&self, outbox_id: i64, index: usize, count: usize, size: u64) -> UploadGuard {
        let sent = Arc::new(AtomicU64::new(0));
        let file = FileInFlight {
            index,
            count,
            size,
            sent: sent.clone(),
        };
        self.lock().insert(outbox_id, file);
        UploadGuard {
            uploads: self.clone(),
            outbox_id,
            sent,
        }
    }

    /// Every upload in flight, in outbox order.
    pub(crate) fn snapshot(&self) -> Vec<UploadProgress> {
        let mut all: Vec<UploadProgress> = self
            .lock()
            .iter()
            .map(|(&outbox_id, file)| UploadProgress {
                outbox_id,
                done: file.index as i64,
                total: file.count as i64,
                bytes_sent: file.sent.load(Ordering::Relaxed).min(file.size),
                bytes_total: file.size,
            })
            .collect();
        all.sort_by_key(|upload| upload.outbox_id);
        all
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, FileInFlight>> {
        // The map holds plain numbers: one a panicking thread left behind is still usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Keeps one upload registered in [`UploadsInFlight`] while it lives.
struct UploadGuard {
    uploads: UploadsInFlight,
    outbox_id: i64,
    sent: Arc<AtomicU64>,
}

impl Drop for UploadGuard {
    fn drop(&mut self) {
        self.uploads.lock().remove(&self.outbox_id);
    }
}

/// One worker step on a claimed entry. Every path releases the lease by writing the entry's next state.
pub(crate) async fn work_entry(
    store: &Store,
    provider: &dyn Provider,
    conversation: &CachedConversation,
    entry: OutboxEntry,
    policy: &OutboxPolicy,
    uploads: &UploadsInFlight,
) -> Result<()> {
    match entry.state {
        OutboxState::Sent => follow_delivery(store, provider, conversation, &entry, policy).await,
        OutboxState::Pending if conversation.pending_start => match entry.start.clone() {
            Some(start) => {
                start_entry(
                    store,
                    provider,
                    conversation,
                    entry,
                    &start,
                    policy,
                    uploads,
                )
                .await
            }
            // A later message of a conversation that is still being opened waits for it.
            None => {
                let next = now_millis() + policy.reconcile_every.as_millis() as i64;
                store.outbox_reschedule(entry.id, next, None, false).await
            }
        },
        OutboxState::Pending => {
            send_entry(store, provider, conversation, entry, policy, uploads).await
        }
        OutboxState::Delivered | OutboxState::Failed => Ok(()),
    }
}

/// Opens a conversation started here, then sends the entry's text: in the same request where the
/// API opens conversations only with a message (Pact p2's write-first), or as an ordinary send
/// after it. Like a send, the request is marked "outcome unknown" before it goes out; after a
/// lost answer the company's newest conversations are searched for the contact first, and the
/// conversation is opened again only when it has not shown up within the reconcile window.
async fn start_entry(
    store: &Store,
    provider: &dyn Provider,
    placeholder: &CachedConversation,
    entry: OutboxEntry,
    start: &StartRequest,
    policy: &OutboxPolicy,
    uploads: &UploadsInFlight,
) -> Result<()> {
    if let Some(started_at) = entry.send_started_at {
        match find_started(provider, placeholder, start).await {
            // Opened after all: the text's own reconciliation runs on the open conversation.
            Ok(Some(remote)) => {
                let open = store
                    .adopt_started_conversation(placeholder, entry.id, &remote)
                    .await?;
                let entry = store.outbox_entry(entry.id).await?;
                return send_entry(store, provider, &open, entry, policy, uploads).await;
            }
            Ok(None) if now_millis() - started_at < policy.reconcile_window.as_millis() as i64 => {
                let next = now_millis() + policy.reconcile_every.as_millis() as i64;
                return store.outbox_reschedule(entry.id, next, None, true).await;
            }
            Ok(None) => {}
            Err(error) => return reschedule_after_error(store, &entry, &error, true, policy).await,
        }
    }
    // A placeholder has no messages: the conversation found afterwards is new, or the contact's.
    store.outbox_send_started(entry.id, None).await?;
    let started = provider
        .start_conversation(
            &placeholder.company_provider_id,
            start,
            entry.text.as_deref(),
        )
        .await;
    match started {
        Ok(outcome) => {
            let open = store
                .adopt_started_conversation(placeholder, entry.id, &outcome.conversation)
                .await?;
            match outcome.sent {
                Some(receipt) => accept_receipt(store, &entry, &receipt, policy).await,
                None => {
                    store
                        .outbox_reschedule(entry.id, now_millis(), None, false)
                        .await?;
                    let entry = store.outbox_entry(entry.id).await?;
                    if entry.text.is_none() && entry.files.is_empty() {
                        return store.outbox_delivered(entry.id, None).await;
                    }
                    send_entry(store, provider, &open, entry, policy, uploads).await
                }
            }
        }
        Err(error) if error.outcome_unknown => {
            reschedule_after_error(store, &entry, &error, true, policy).await
        }
        Err(error) => reschedule_or_fail(store, &entry, &error, policy).await,
    }
}

/// The conversation with the start's contact among the company's newest, if the server has one.
async fn find_started(
    provider: &dyn Provider,
    placeholder: &CachedConversation,
    start: &StartRequest,
) -> std::result::Result<Option<RemoteConversation>, ProviderError> {
    let Some(contact) = &start.contact else {
        return Ok(None);
    };
    let newest = provider
        .newest_conversations(&placeholder.company_provider_id)
        .await?;
    Ok(newest.into_iter().find(|conversation| {
        conversation.channel.as_deref() == Some(start.channel.as_str())
            && conversation
                .contact
                .as_deref()
                .is_some_and(|stored| same_handle(stored, contact.handle()))
    }))
}

/// Records what the server answered to a send: delivered at once, or accepted and followed.
async fn accept_receipt(
    store: &Store,
    entry: &OutboxEntry,
    receipt: &SendReceipt,
    policy: &OutboxPolicy,
) -> Result<()> {
    if receipt.job_id.is_none() && receipt.status.is_none() {
        return store
            .outbox_delivered(entry.id, receipt.message_id.as_deref())
            .await;
    }
    let next = now_millis() + policy.first_delivery_check.as_millis() as i64;
    store.outbox_accepted(entry.id, receipt, next).await?;
    if receipt.message_id.is_some() && receipt.status.is_none() {
        store
            .outbox_delivered(entry.id, receipt.message_id.as_deref())
            .await?;
    }
    Ok(())
}

async fn send_entry(
    store: &Store,
    provider: &dyn Provider,
    conversation: &CachedConversation,
    mut entry: OutboxEntry,
    policy: &OutboxPolicy,
    uploads: &UploadsInFlight,
) -> Result<()> {
    let parts = plan_parts(&entry, provider.max_attachments_per_message());
    if let Some(started_at) = entry.send_started_at {
        let part = parts.iter().find(|part| !part.is_sent(&entry));
        match find_sent_message(store, provider, conversation, &entry, part).await {
            Ok(Some(message_id)) => match part {
                Some(part) if parts.len() > 1 => {
                    store
                        .outbox_file_sent(entry.id, part.position(&entry), &message_id)
                        .await?;
                    entry = store.outbox_entry(entry.id).await?;
                }
                _ => return store.outbox_delivered(entry.id, Some(&message_id)).await,
            },
            Ok(None) if now_millis() - started_at < policy.reconcile_window.as_millis() as i64 => {
                let next = now_millis() + policy.reconcile_every.as_millis() as i64;
                return store.outbox_reschedule(entry.id, next, None, true).await;
            }
            // Not on the server after the whole window: the earlier request never took effect.
            Ok(None) => {}
            Err(error) => return reschedule_after_error(store, &entry, &error, true, policy).await,
        }
    }
    if let Err(error) =
        upload_missing_files(store, provider, conversation, &mut entry, uploads).await
    {
        return match error {
            StepError::Provider(error) => reschedule_or_fail(store, &entry, &error, policy).await,
            StepError::Local(error) => {
                store
                    .outbox_failed(entry.id, error.code().as_str(), &error.to_string())
                    .await
            }
        };
    }
    if parts.len() > 1 {
        return send_parts(store, provider, conversation, entry, &parts, policy).await;
    }
    let attachment_ids: Vec<String> = entry
        .files
        .iter()
        .filter_map(|file| file.provider_attachment_id.clone())
        .collect();
    let reply_to = reply_target(store, conversation, &entry).await?;
    let request = SendRequest {
        text: entry.text.as_deref(),
        attachment_ids: &attachment_ids,
        reply_to: reply_to.as_deref(),
    };
    let anchor = store.thread_anchor(conversation.id).await?;
    store.outbox_send_started(entry.id, anchor.as_ref()).await?;
    let sent = provider
        .send_message(
            &conversation.company_provider_id,
            &conversation.provider_id,
            request,
        )
        .await;
    match sent {
        Ok(receipt) => accept_receipt(store, &entry, &receipt, policy).await,
        Err(error) if error.outcome_unknown => {
            reschedule_after_error(store, &entry, &error, true, policy).await
        }
        Err(error) => reschedule_or_fail(store, &entry, &error, policy).await,
    }
}

/// One message of an entry that goes out as several (one file a message): file `file` of the entry,
/// with the entry's text on the first one.
#[derive(Debug, Clone, Copy)]
struct Part {
    /// Index into the entry's files.
    file: usize,
    /// True for the part that carries the text (and the reply).
    first: bool,
}

impl Part {
    fn is_sent(&self, entry: &OutboxEntry) -> bool {
        entry.files[self.file].message_provider_id.is_some()
    }

    fn position(&self, entry: &OutboxEntry) -> i64 {
        entry.files[self.file].position
    }
}

/// How an entry goes out: one message (empty plan or a single part), or one message per file when
/// the provider takes fewer attachments per message than the entry has.
fn plan_parts(entry: &OutboxEntry, max_attachments: Option<usize>) -> Vec<Part> {
    match max_attachments {
        Some(max) if entry.files.len() > max.max(1) => (0..entry.files.len())
            .map(|file| Part {
                file,
                first: file == 0,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Sends the parts not sent yet, in order; each one is marked "outcome unknown" before its request
/// goes out and gets its message id as soon as the server answers, so a part is never sent twice.
async fn send_parts(
    store: &Store,
    provider: &dyn Provider,
    conversation: &CachedConversation,
    entry: OutboxEntry,
    parts: &[Part],
    policy: &OutboxPolicy,
) -> Result<()> {
    let reply_to = reply_target(store, conversation, &entry).await?;
    let mut first_message = entry.files[0].message_provider_id.clone();
    for part in parts.iter().filter(|part| !part.is_sent(&entry)) {
        let file = &entry.files[part.file];
        let attachment_ids: Vec<String> = file.provider_attachment_id.iter().cloned().collect();
        let request = SendRequest {
            text: if part.first {
                entry.text.as_deref()
            } else {
                None
            },
            attachment_ids: &attachment_ids,
            reply_to: if part.first {
                reply_to.as_deref()
            } else {
                None
            },
        };
        let anchor = store.thread_anchor(conversation.id).await?;
        store.outbox_send_started(entry.id, anchor.as_ref()).await?;
        let sent = provider
            .send_message(
                &conversation.company_provider_id,
                &conversation.provider_id,
                request,
            )
            .await;
        match sent {
            Ok(receipt) => {
                let message_id = receipt.message_id.clone().unwrap_or_default();
                store
                    .outbox_file_sent(entry.id, file.position, &message_id)
                    .await?;
                if part.first {
                    first_message = Some(message_id);
                }
            }
            Err(error) if error.outcome_unknown => {
                return reschedule_after_error(store, &entry, &error, true, policy).await
            }
            Err(error) => return reschedule_or_fail(store, &entry, &error, policy).await,
        }
    }
    store
        .outbox_delivered(entry.id, first_message.as_deref())
        .await
}

/// The messenger's id of the message the entry answers, looked up in the cache.
async fn reply_target(
    store: &Store,
    conversation: &CachedConversation,
    entry: &OutboxEntry,
) -> Result<Option<String>> {
    match &entry.reply_to {
        None => Ok(None),
        Some(message_id) => store.message_external_id(conversation.id, message_id).await,
    }
}

enum StepError {
    Provider(ProviderError),
    Local(crate::error::CoreError),
}

async fn upload_missing_files(
    store: &Store,
    provider: &dyn Provider,
    conversation: &CachedConversation,
    entry: &mut OutboxEntry,
    uploads: &UploadsInFlight,
) -> std::result::Result<(), StepError> {
    let count = entry.files.len();
    for (index, file) in entry
        .files
        .iter_mut()
        .enumerate()
        .filter(|(_, file)| file.provider_attachment_id.is_none())
    {
        if let Some(url) = &file.source_url {
            let attachment_id = provider
                .upload_attachment_url(
                    &conversation.company_provider_id,
                    &conversation.provider_id,
                    url,
                )
                .await
                .map_err(StepError::Provider)?;
            store
                .outbox_file_uploaded(entry.id, file.position, &attachment_id)
                .await
                .map_err(StepError::Local)?;
            file.provider_attachment_id = Some(attachment_id);
            continue;
        }
        let bytes = tokio::fs::read(&file.stored_path).await.map_err(|error| {
            StepError::Local(crate::error::CoreError::io(
                format!("cannot read the staged file {}", file.file_name),
                error,
            ))
        })?;
        let bytes = check_staged_copy(file, bytes)
            .await
            .map_err(StepError::Local)?;
        let in_flight = uploads.start(entry.id, index, count, bytes.len() as u64);
        let outgoing = OutgoingFile {
            file_name: file.file_name.clone(),
            mime_type: file.mime_type.clone(),
            bytes: bytes.into(),
            sent: in_flight.sent.clone(),
        };
        let attachment_id = provider
            .upload_attachment(
                &conversation.company_provider_id,
                &conversation.provider_id,
                outgoing,
            )
            .await
            .map_err(StepError::Provider)?;
        store
            .outbox_file_uploaded(entry.id, file.position, &attachment_id)
            .await
            .map_err(StepError::Local)?;
        file.provider_attachment_id = Some(attachment_id);
    }
    Ok(())
}

/// Checks a staged copy against the size and SHA-256 kept when it was queued, so a copy changed or
/// truncated on disk fails the entry instead of going out in place of what the user attached.
async fn check_staged_copy(file: &crate::store::OutboxFile, bytes: Vec<u8>) -> Result<Vec<u8>> {
    let changed = |detail: String| {
        crate::error::CoreError::io(
            format!(
                "the staged copy of {} changed on disk; attach it again",
                file.file_name
            ),
            std::io::Error::new(std::io::ErrorKind::InvalidData, detail),
        )
    };
    if bytes.len() as u64 != file.size.max(0) as u64 {
        return Err(changed(format!(
            "it has {} bytes, {} when queued",
            bytes.len(),
            file.size
        )));
    }
    let Some(expected) = file.sha256.clone() else {
        return Ok(bytes);
    };
    let (bytes, actual) = tokio::task::spawn_blocking(move || {
        use sha2::{Digest, Sha256};
        let digest = format!("{:x}", Sha256::digest(&bytes));
        (bytes, digest)
    })
    .await
    .map_err(|error| changed(format!("its hash could not be computed: {error}")))?;
    if !actual.eq_ignore_ascii_case(&expected) {
        return Err(changed(
            "its content differs from when it was queued".to_string(),
        ));
    }
    Ok(bytes)
}

async fn follow_delivery(
    store: &Store,
    provider: &dyn Provider,
    conversation: &CachedConversation,
    entry: &OutboxEntry,
    policy: &OutboxPolicy,
) -> Result<()> {
    match delivery_status(store, provider, conversation, entry).await {
        Ok(DeliveryStatus::Delivered(message_id)) => {
            if let Some(id) = message_id
                .as_deref()
                .or(entry.receipt.message_id.as_deref())
            {
                store
                    .set_message_status(conversation.id, id, "delivered", None)
                    .await?;
            }
            store
                .outbox_delivered(entry.id, message_id.as_deref())
                .await
        }
        Ok(DeliveryStatus::Failed(reason)) => {
            if let Some(id) = entry.receipt.message_id.as_deref() {
                store
                    .set_message_status(conversation.id, id, "error", Some(&reason))
                    .await?;
            }
            store
                .outbox_failed(
                    entry.id,
                    "delivery_failed",
                    &format!("not delivered: {reason}"),
                )
                .await
        }
        Ok(DeliveryStatus::Pending) => {
            let next = now_millis() + next_delivery_check(store, entry, policy).await?;
            store.outbox_reschedule(entry.id, next, None, false).await
        }
        Err(error) => {
            let wait = error
                .retry_after
                .map_or(policy.max_delivery_check.as_millis() as i64, |after| {
                    after.as_millis() as i64
                });
            let message = format!("checking delivery: {error}");
            store
                .outbox_reschedule(
                    entry.id,
                    now_millis() + wait,
                    Some((error.code.as_str(), &message)),
                    false,
                )
                .await
        }
    }
}

/// Where the send's delivery is. A paced provider (Pact p2) reports it on the message itself: the
/// message is read and written into the cache, so the thread shows its status, and later its
/// messenger id, without waiting for a sync.
async fn delivery_status(
    store: &Store,
    provider: &dyn Provider,
    conversation: &CachedConversation,
    entry: &OutboxEntry,
) -> std::result::Result<DeliveryStatus, ProviderError> {
    let (Some(paced), Some(message_id)) = (provider.paced(), entry.receipt.message_id.as_deref())
    else {
        return provider
            .delivery_status(
                &conversation.company_provider_id,
                &conversation.provider_id,
                &entry.receipt,
            )
            .await;
    };
    let message = paced
        .message(
            &conversation.company_provider_id,
            &conversation.provider_id,
            message_id,
        )
        .await?;
    let status = DeliveryStatus::of_message(&message);
    store
        .save_message_page(
            conversation.account_id,
            conversation.id,
            &[message],
            crate::store::MessageWrite::TopUp,
        )
        .await
        .map_err(|error| ProviderError::new(error.code(), error.to_string()))?;
    Ok(status)
}

/// Checks get rarer as a delivery takes longer: a quarter of the time waited so far, within bounds.
async fn next_delivery_check(
    store: &Store,
    entry: &OutboxEntry,
    policy: &OutboxPolicy,
) -> Result<i64> {
    let waited = (now_millis() - store.outbox_created_at(entry.id).await?).max(0);
    Ok((waited / 4).clamp(
        policy.first_delivery_check.as_millis() as i64,
        policy.max_delivery_check.as_millis() as i64,
    ))
}

/// Looks for the entry's message (or the part of it whose answer was lost) among the newest
/// messages of the thread.
async fn find_sent_message(
    store: &Store,
    provider: &dyn Provider,
    conversation: &CachedConversation,
    entry: &OutboxEntry,
    part: Option<&Part>,
) -> std::result::Result<Option<String>, ProviderError> {
    let cursor = store
        .thread_cursor(conversation.id)
        .await
        .map_err(|error| ProviderError::new(error.code(), error.to_string()))?;
    let recent = provider
        .recent_messages(
            &conversation.company_provider_id,
            &conversation.provider_id,
            cursor,
        )
        .await?;
    let expected = Expected::of(entry, part);
    for message in recent
        .iter()
        .filter(|message| expected.matches(message, entry.send_anchor.as_ref()))
    {
        let claimed = store
            .outbox_message_claimed(conversation.id, &message.id, entry.id)
            .await
            .map_err(|error| ProviderError::new(error.code(), error.to_string()))?;
        if !claimed {
            return Ok(Some(message.id.clone()));
        }
    }
    Ok(None)
}

/// What the server's copy of a send looks like: its text and how many attachments it carries.
struct Expected<'a> {
    text: &'a str,
    attachments: usize,
}

impl<'a> Expected<'a> {
    fn of(entry: &'a OutboxEntry, part: Option<&Part>) -> Self {
        match part {
            Some(part) if !part.first => Self {
                text: "",
                attachments: 1,
            },
            Some(_) => Self {
                text: entry.text.as_deref().unwrap_or(""),
                attachments: 1,
            },
            None => Self {
                text: entry.text.as_deref().unwrap_or(""),
                attachments: entry.files.len(),
            },
        }
    }

    /// True for a message of ours with this content that the server wrote after the thread's
    /// newest message at send time (`anchor`; both times are the server's own). Without an
    /// anchor the server showed no message in the thread then, so any such message is a candidate.
    fn matches(&self, message: &RemoteMessage, anchor: Option<&SendAnchor>) -> bool {
        let after_anchor = anchor.is_none_or(|anchor| {
            message.id != anchor.message_id
                && message.created_at.timestamp_millis() >= anchor.server_time_ms
        });
        !message.incoming
            && after_anchor
            && message.text.as_deref().unwrap_or("") == self.text
            && message.attachments.len() == self.attachments
    }
}

async fn reschedule_or_fail(
    store: &Store,
    entry: &OutboxEntry,
    error: &ProviderError,
    policy: &OutboxPolicy,
) -> Result<()> {
    if error.is_retryable() {
        reschedule_after_error(store, entry, error, false, policy).await
    } else {
        store
            .outbox_failed(entry.id, error.code.as_str(), &error.message)
            .await
    }
}

async fn reschedule_after_error(
    store: &Store,
    entry: &OutboxEntry,
    error: &ProviderError,
    outcome_unknown: bool,
    policy: &OutboxPolicy,
) -> Result<()> {
    let wait = if outcome_unknown {
        policy.reconcile_every
    } else {
        error
            .retry_after
            .unwrap_or_else(|| backoff(entry.attempts, policy.max_backoff))
    };
    let next = now_millis() + wait.as_millis() as i64;
    store
        .outbox_reschedule(
            entry.id,
            next,
            Some((error.code.as_str(), &error.message)),
            outcome_unknown,
        )
        .await
}

/// The shared backoff: 1 s, 2 s, 4 s ... up to `max`, half of each random.
fn backoff(attempts: i64, max: Duration) -> Duration {
    let attempts = u32::try_from(attempts.max(0)).unwrap_or(u32::MAX);
    parley_http::retry::backoff(Duration::from_secs(1), max, attempts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let max = Duration::from_secs(300);
        assert!(backoff(0, max) <= Duration::from_secs(1));
        assert!(backoff(3, max) >= Duration::from_secs(4));
        assert!(backoff(-1, max) <= Duration::from_secs(1));
        assert!(backoff(30, max) <= max);
    }
}
