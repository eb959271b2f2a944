//! Read-only copies of the sandbox's state for tests and the demo: what is stored, not how it
//! is written on the wire.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Attachment, Company, Conversation, Message, World};
use crate::p2::render::{self as p2_render, Clock};

/// A company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotCompany {
    /// `external_id` on the wire.
    pub id: i64,
    /// Display name.
    pub name: String,
}

/// A conversation, whatever its company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotConversation {
    /// `external_id` on the wire.
    pub id: i64,
    /// Company the conversation belongs to.
    pub company_id: i64,
    /// Contact name; `None` where the wire carries `null`.
    pub name: Option<String>,
    /// Provider, e.g. `whatsapp`, `telegram_personal`.
    pub channel_type: String,
    /// Channel id as the wire shows it (`None` where it is written as null).
    pub channel_id: Option<i64>,
    /// Time of the newest message, if any.
    pub last_message_at: Option<DateTime<Utc>>,
    /// Assigned user, if any.
    pub assignee_id: Option<i64>,
    /// Note, if any.
    pub note: Option<String>,
    /// Bitrix open lines block flag.
    pub bitrix_block_openlines: bool,
    /// p2 `operational_state`: `open` or `archived`.
    pub operational_state: String,
    /// p2 `replied_state`: `initialized`, `replied` or `unreplied`.
    pub replied_state: String,
}

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotAttachment {
    /// Attachment id (`id` / `external_id` on the wire).
    pub id: i64,
    /// File name as uploaded or generated.
    pub file_name: String,
    /// MIME type.
    pub mime_type: String,
    /// Size in bytes.
    pub size: u64,
    /// The file's content.
    pub bytes: Vec<u8>,
}

/// A message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotMessage {
    /// `external_id` on the wire.
    pub id: i64,
    /// True for messages from the customer.
    pub income: bool,
    /// Text; `None` for attachment-only messages.
    pub text: Option<String>,
    /// Creation time (for a send still being delivered: when it was accepted).
    pub created_at: DateTime<Utc>,
    /// Attached files, in order.
    pub attachments: Vec<SnapshotAttachment>,
    /// p2 status now: `created` (incoming), `sent`, `delivered`, `read` or `error`.
    pub status: String,
    /// p2 `external_id` now (`None` for a live send not yet delivered).
    pub external_id: Option<String>,
    /// p2 `replied_to_id`: external id of the quoted message.
    pub replied_to_id: Option<String>,
    /// Deleted through p2 (still listed).
    pub deleted: bool,
}

/// Counters of what the sandbox has served.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxStats {
    /// p1 requests received (including faulted and rate-limited ones).
    pub requests: u64,
    /// p1, p2 and VoIPbin requests answered with an injected fault.
    pub faults_injected: u64,
    /// Injected faults by kind name (`status500`, `html502`, `connection_reset`, ...).
    pub faults_by_kind: BTreeMap<String, u64>,
    /// p1 requests answered 429 (the p1 `rate_limit` switch).
    pub rate_limited: u64,
    /// p1 and p2 requests answered 401.
    pub unauthorized: u64,
    /// Messages accepted through the API (sends and telegram_personal first messages).
    pub messages_accepted: u64,
    /// Requests by route, e.g. `GET /p1/companies/{company_id}/conversations` or
    /// `GET /api/p2/conversations`.
    pub per_route: BTreeMap<String, u64>,
    /// p2 requests received (including faulted and rate-limited ones).
    #[serde(default)]
    pub p2_requests: u64,
    /// p2 requests answered 429 by the documented per-endpoint limits.
    #[serde(default)]
    pub p2_rate_limited: u64,
    /// Injected faults by route (as in `per_route`), then by kind name, so a test can tell that
    /// sends themselves lost their answers.
    #[serde(default)]
    pub faults_by_route: BTreeMap<String, BTreeMap<String, u64>>,
    /// p2 requests by client, told apart by their `User-Agent` (Parley's names its process), so a
    /// benchmark of several clients on one token sees whom the limits refused.
    #[serde(default)]
    pub p2_clients: BTreeMap<String, ClientStats>,
}

/// One p2 client's counts (see [`SandboxStats::p2_clients`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientStats {
    /// p2 requests received from it (including rate-limited ones).
    pub requests: u64,
    /// Of those, answered 429 by the documented limits.
    pub rate_limited: u64,
}

impl SnapshotCompany {
    pub(crate) fn of(company: &Company) -> SnapshotCompany {
        SnapshotCompany {
            id: company.id,
            name: company.name.clone(),
        }
    }
}

impl SnapshotConversation {
    pub(crate) fn of(conversation: &Conversation) -> SnapshotConversation {
        SnapshotConversation {
            id: conversation.id,
            company_id: conversation.company_id,
            name: conversation.name.clone(),
            channel_type: conversation.channel_type.to_owned(),
            channel_id: (!conversation.hide_channel_id).then_some(conversation.channel_id),
            last_message_at: conversation.last_message_at,
            assignee_id: conversation.assignee_id,
            note: conversation.note.clone(),
            bitrix_block_openlines: conversation.bitrix_block_openlines,
            operational_state: conversation.operational_state.to_owned(),
            replied_state: conversation.replied_state().to_owned(),
        }
    }
}

impl SnapshotAttachment {
    pub(crate) fn of(attachment: &Attachment) -> SnapshotAttachment {
        SnapshotAttachment {
            id: attachment.id,
            file_name: attachment.file_name.clone(),
            mime_type: attachment.mime_type.clone(),
            size: attachment.bytes.len() as u64,
            bytes: attachment.bytes.to_vec(),
        }
    }
}

fn attachments_of(world: &World, ids: &[i64]) -> Vec<SnapshotAttachment> {
    ids.iter()
        .filter_map(|id| world.attachments.get(id))
        .map(SnapshotAttachment::of)
        .collect()
}

impl SnapshotMessage {
    pub(crate) fn of(
        world: &World,
        conversation: &Conversation,
        message: &Message,
        clock: &Clock,
    ) -> SnapshotMessage {
        SnapshotMessage {
            id: message.id,
            income: message.income,
            text: message.text.clone(),
            created_at: message.created_at,
            attachments: attachments_of(world, &message.attachment_ids),
            status: p2_render::status(message, clock).0.to_owned(),
            external_id: p2_render::external_id(conversation.channel_type, message, clock),
            replied_to_id: message.p2.replied_to_id.clone(),
            deleted: message.p2.deleted,
        }
    }
}

/// Every accepted send, in order: as stored once it is in its conversation, else (a p1 send
/// whose job has not finished) as accepted, `sent`.
pub(crate) fn sent_messages(world: &World, clock: &Clock) -> Vec<SnapshotMessage> {
    if world.sent.is_empty() {
        return Vec::new();
    }
    let wanted: HashSet<i64> = world.sent.iter().map(|s| s.message_id).collect();
    let mut stored: HashMap<i64, SnapshotMessage> = HashMap::new();
    for conversation in &world.conversations {
        for message in conversation.messages.iter().rev() {
            if wanted.contains(&message.id) {
                stored.insert(
                    message.id,
                    SnapshotMessage::of(world, conversation, message, clock),
                );
            }
        }
    }
    world
        .sent
        .iter()
        .map(|sent| {
            let mut snapshot =
                stored
                    .get(&sent.message_id)
                    .cloned()
                    .unwrap_or_else(|| SnapshotMessage {
                        id: sent.message_id,
                        income: false,
                        text: None,
                        created_at: sent.accepted_at,
                        attachments: Vec::new(),
                        status: "sent".to_owned(),
                        external_id: None,
                        replied_to_id: None,
                        deleted: false,
                    });
            snapshot.text = sent.text.clone();
            snapshot.attachments = attachments_of(world, &sent.attachment_ids);
            snapshot.created_at = sent.delivered_at.unwrap_or(sent.accepted_at);
            snapshot
        })
        .collect()
}
