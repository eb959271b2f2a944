//! The in-memory world the sandbox serves: companies, channels, conversations, messages,
//! attachments and delivery jobs, with the lookups and mutations the handlers need.

use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Duration as ChronoDuration, Utc};

use crate::clock::ServerClock;

/// How a timestamp is written on the wire (the docs show both shapes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeShape {
    /// `"2017-04-25T18:30:23.076Z"`, with `created_at_timestamp` beside it.
    Iso,
    /// `"2017-04-25T18:30:23.076Z"` without `created_at_timestamp` (older docs).
    IsoOnly,
    /// An integer of epoch seconds, with `created_at_timestamp` beside it.
    Epoch,
}

/// A company of the account.
#[derive(Debug, Clone)]
pub struct Company {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub description: Option<String>,
    /// Ids of this company's conversations, ascending.
    pub conversation_ids: Vec<i64>,
}

/// A connected channel (one per provider and company).
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: i64,
    pub company_id: i64,
    pub provider: &'static str,
}

/// A conversation with its messages, oldest first.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub id: i64,
    pub company_id: i64,
    pub name: Option<String>,
    /// The channel the conversation really uses (jobs point at it).
    pub channel_id: i64,
    /// Whether `channel_id` is written as null on the wire (the docs show it can be).
    pub hide_channel_id: bool,
    pub channel_type: &'static str,
    pub created_at: DateTime<Utc>,
    pub time_shape: TimeShape,
    pub avatar: String,
    pub sender_external_id: String,
    pub last_message_at: Option<DateTime<Utc>>,
    pub last_income_message_at: Option<DateTime<Utc>>,
    pub assignee_id: Option<i64>,
    pub note: Option<String>,
    pub bitrix_block_openlines: bool,
    /// p2 `operational_state`: `open` or `archived`.
    pub operational_state: &'static str,
    /// p2 `replied_state` set through `PUT /api/p2/conversations/{id}`; cleared by the next message.
    pub replied_override: Option<&'static str>,
    /// Sorted by (created_at, id), strictly increasing created_at.
    pub messages: Vec<Message>,
}

impl Conversation {
    /// p2 `replied_state`: the PUT override, else from the newest message.
    pub fn replied_state(&self) -> &'static str {
        if let Some(state) = self.replied_override {
            return state;
        }
        match self.messages.last() {
            None => "initialized",
            Some(m) if m.income => "unreplied",
            Some(_) => "replied",
        }
    }
}

/// How an attachment-only message writes its empty text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyText {
    Null,
    Absent,
    Blank,
}

/// How a message without attachments writes its `attachments` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyList {
    Array,
    Null,
    Absent,
}

/// A message in a conversation.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: i64,
    pub income: bool,
    pub text: Option<String>,
    pub empty_text: EmptyText,
    pub created_at: DateTime<Utc>,
    pub time_shape: TimeShape,
    pub attachment_ids: Vec<i64>,
    /// How an empty attachment list is written.
    pub empty_attachments: EmptyList,
    pub ack: Option<i64>,
    pub job_id: Option<i64>,
    /// What only p2 shows.
    pub p2: MessageP2,
}

/// The p2 side of a message. Its `external_id` is derived from the id and the provider (see
/// `p2::render::external_id`), so seeding stores nothing for it.
#[derive(Debug, Clone, Default)]
pub struct MessageP2 {
    /// External id of the quoted message.
    pub replied_to_id: Option<String>,
    /// Deleted through `DELETE /api/p2/conversations/{id}/messages` (still listed).
    pub deleted: bool,
    /// For messages sent live (p1 or p2): when, so the status can move with time.
    pub live: Option<LiveSend>,
}

/// A live outgoing message: its status is `sent`, then `delivered`, then `read` as time passes
/// (or `error` when it was sent while deliveries fail).
#[derive(Debug, Clone, Copy)]
pub struct LiveSend {
    pub sent_at: Instant,
    pub failed: bool,
}

/// A stored file.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: i64,
    pub company_id: i64,
    pub file_name: String,
    pub mime_type: String,
    pub bytes: Bytes,
    pub push_to_talk: bool,
}

/// State of a delivery job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    TryingDeliver,
    Delivered,
    /// The messenger refused the message; it never joins the conversation.
    NotDelivered,
}

/// A message delivery job created by a send.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub company_id: i64,
    pub channel_id: i64,
    pub channel_type: &'static str,
    pub conversation_id: i64,
    pub state: JobState,
    /// Id the message gets once delivered (reserved when the send is accepted).
    pub reserved_message_id: i64,
    pub message_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A message accepted through the API, kept for tests that count sends.
#[derive(Debug, Clone)]
pub struct SentRecord {
    pub message_id: i64,
    pub text: Option<String>,
    pub attachment_ids: Vec<i64>,
    pub accepted_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Everything the sandbox stores.
#[derive(Debug, Default)]
pub struct World {
    pub companies: Vec<Company>,
    pub channels: Vec<Channel>,
    /// Indexed by `id - 1`: conversation ids are 1, 2, 3, ...
    pub conversations: Vec<Conversation>,
    pub attachments: HashMap<i64, Attachment>,
    pub jobs: HashMap<i64, Job>,
    pub sent: Vec<SentRecord>,
    pub next_message_id: i64,
    pub next_attachment_id: i64,
    pub next_job_id: i64,
    /// The anchor every seeded time lies before (when the sandbox started, whole seconds).
    pub seeded_at: DateTime<Utc>,
    /// The server's clock every new time is read from.
    pub clock: ServerClock,
}

impl World {
    /// The server's time now (the computer's plus the clock offset).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The company with this id.
    pub fn company(&self, id: i64) -> Option<&Company> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.companies.get(index).filter(|c| c.id == id)
    }

    /// The conversation with this id, whatever its company.
    pub fn conversation(&self, id: i64) -> Option<&Conversation> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.conversations.get(index).filter(|c| c.id == id)
    }

    /// The conversation with this id, whatever its company, for changing it.
    pub fn conversation_mut(&mut self, id: i64) -> Option<&mut Conversation> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.conversations.get_mut(index).filter(|c| c.id == id)
    }

    /// The conversation with this id if it belongs to the company.
    pub fn company_conversation(&self, company_id: i64, id: i64) -> Option<&Conversation> {
        self.conversation(id).filter(|c| c.company_id == company_id)
    }

    /// The company's channel for a provider.
    pub fn channel_for(&self, company_id: i64, provider: &str) -> Option<&Channel> {
        self.channels
            .iter()
            .find(|c| c.company_id == company_id && c.provider == provider)
    }

    /// A fresh message id.
    pub fn take_message_id(&mut self) -> i64 {
        self.next_message_id += 1;
        self.next_message_id
    }

    /// A fresh attachment id.
    pub fn take_attachment_id(&mut self) -> i64 {
        self.next_attachment_id += 1;
        self.next_attachment_id
    }

    /// A fresh job id.
    pub fn take_job_id(&mut self) -> i64 {
        self.next_job_id += 1;
        self.next_job_id
    }

    /// Appends a message created now by the server's clock (or just after the newest one, so
    /// created_at keeps strictly increasing: after the clock was set back at run time, new
    /// messages follow the thread's newest one until the clock catches up) and moves the
    /// conversation's last-message times. Returns false when the conversation does not exist.
    pub fn append_live_message(&mut self, conversation_id: i64, mut message: Message) -> bool {
        let now = self.now();
        let Some(conversation) = self.conversation_mut(conversation_id) else {
            return false;
        };
        let after_last = conversation
            .messages
            .last()
            .map(|m| m.created_at + ChronoDuration::milliseconds(1));
        message.created_at = after_last.map_or(now, |t| t.max(now));
        conversation.replied_override = None;
        conversation.last_message_at = Some(message.created_at);
        if message.income {
            conversation.last_income_message_at = Some(message.created_at);
        }
        conversation.messages.push(message);
        true
    }
}

/// A new message as the live API creates it (ISO time, attachments as `[]`), written at `now`
/// (the server's time; [`World::append_live_message`] sets the time it is stored with).
pub fn live_message(
    id: i64,
    income: bool,
    text: Option<String>,
    attachment_ids: Vec<i64>,
    now: DateTime<Utc>,
) -> Message {
    Message {
        id,
        income,
        text,
        empty_text: EmptyText::Null,
        created_at: now,
        time_shape: TimeShape::Iso,
        attachment_ids,
        empty_attachments: EmptyList::Array,
        ack: if income { None } else { Some(2) },
        job_id: None,
        p2: MessageP2 {
            live: (!income).then(|| LiveSend {
                sent_at: Instant::now(),
                failed: false,
            }),
            ..MessageP2::default()
        },
    }
}
