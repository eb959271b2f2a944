//! Conversations, messages and attachments: idempotent writes from sync pages, and the reads the inbox shows.

use sqlx::{Row, Sqlite, Transaction};

use super::Store;
use crate::error::{CoreError, Result};
use crate::model::{from_millis, AttachmentView, ConversationView, MessageView};
use crate::provider::{RemoteAttachment, RemoteConversation, RemoteMessage};

/// How far sync has brought one conversation's thread.
#[derive(Debug, Clone)]
pub struct CachedThreadState {
    /// Local conversation id.
    pub id: i64,
    /// Provider conversation id.
    pub provider_id: String,
    /// Activity as the server last reported it (ms).
    pub remote_activity_at: Option<i64>,
    /// `remote_activity_at` when the thread was last brought up to date (ms).
    pub synced_activity_at: Option<i64>,
    /// True once the whole history was downloaded.
    pub history_complete: bool,
    /// Where an interrupted history download resumes.
    pub backfill_cursor: Option<String>,
}

impl CachedThreadState {
    /// True when the thread must be fetched in this sync.
    pub fn needs_sync(&self) -> bool {
        !self.history_complete
            || self.remote_activity_at.is_none()
            || self.remote_activity_at != self.synced_activity_at
    }
}

/// A cached conversation with what is needed to act on it.
#[derive(Debug, Clone)]
pub struct CachedConversation {
    /// Local id.
    pub id: i64,
    /// The account's local id.
    pub account_id: i64,
    /// The provider's company id.
    pub company_provider_id: String,
    /// The provider's conversation id (a placeholder while `pending_start`).
    pub provider_id: String,
    /// True for a conversation started here that the outbox has not opened on the server yet.
    pub pending_start: bool,
}

/// How a page of messages moves the thread's history cursor.
#[derive(Debug, Clone)]
pub enum MessageWrite {
    /// A page of the history download: store `next` as the resume point (`None`: history complete).
    Backfill {
        /// The cursor of the next (older) page.
        next: Option<String>,
    },
    /// A page of newest messages; the history cursor stays as it is.
    TopUp,
    /// A page of an oldest-first thread (Pact p2), newer than every page before it: store `cursor`
    /// (where the thread's reading stands) and whether the history is now complete.
    Paged {
        /// The thread's cursor after this page.
        cursor: String,
        /// True once the last page was read.
        complete: bool,
    },
}

/// What writing a page of messages did.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageWriteOutcome {
    /// Messages that were not cached before.
    pub inserted: usize,
    /// Messages that were already cached.
    pub already_cached: usize,
}

/// A message's status as the thread shows it: a pending or failed send says so; otherwise the
/// furthest of what the outbox and the server report (a p1 job's `delivered`, p2's `read`).
pub(crate) const STATUS_OF_MESSAGE: &str = "CASE
    WHEN o.state IN ('pending', 'failed') THEN o.state
    WHEN m.status = 'error' THEN 'error'
    WHEN o.state IS NULL THEN m.status
    WHEN m.status = 'read' THEN 'read'
    WHEN o.state = 'delivered' OR m.status = 'delivered' THEN 'delivered'
    ELSE COALESCE(m.status, o.state) END";

const NULLABLE_MAX_ACTIVITY: &str =
    "NULLIF(MAX(COALESCE(excluded.remote_activity_at, 0), COALESCE(conversations.last_message_at, 0)), 0)";

impl Store {
    /// Stores a page of conversations (insert or refresh) and returns each one's sync state.
    ///
    /// Local knowledge the server does not send (assignee, note, Bitrix flag) is kept when the page lacks it;
    /// an empty assignee id means the server says "unassigned" and clears it.
    pub async fn upsert_conversations(
        &self,
        account_id: i64,
        company_id: i64,
        conversations: &[RemoteConversation],
    ) -> Result<Vec<CachedThreadState>> {
        let (store, conversations) = (self.clone(), std::sync::Arc::new(conversations.to_vec()));
        super::detached(move || {
            let (store, conversations) = (store.clone(), conversations.clone());
            async move {
                store
                    .write_conversations(account_id, company_id, &conversations)
                    .await
            }
        })
        .await
    }

    async fn write_conversations(
        &self,
        account_id: i64,
        company_id: i64,
        conversations: &[RemoteConversation],
    ) -> Result<Vec<CachedThreadState>> {
        let mut tx = self.pool.begin().await?;
        let mut states = Vec::with_capacity(conversations.len());
        let sql = format!(
            "INSERT INTO conversations (account_id, company_id, provider_id, title, channel, channel_id, contact,
                 avatar_url, created_at, remote_activity_at, last_message_at, assignee_id, note, bitrix_openlines,
                 state, replied)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?, ?, ?, ?)
             ON CONFLICT (account_id, provider_id) DO UPDATE SET
                 company_id = excluded.company_id, title = excluded.title, channel = excluded.channel,
                 channel_id = excluded.channel_id, contact = excluded.contact, avatar_url = excluded.avatar_url,
                 created_at = COALESCE(excluded.created_at, conversations.created_at),
                 remote_activity_at = excluded.remote_activity_at,
                 last_message_at = {NULLABLE_MAX_ACTIVITY},
                 assignee_id = CASE WHEN ? = '' THEN NULL
                                    ELSE COALESCE(excluded.assignee_id, conversations.assignee_id) END,
                 note = COALESCE(excluded.note, conversations.note),
                 bitrix_openlines = COALESCE(excluded.bitrix_openlines, conversations.bitrix_openlines),
                 state = COALESCE(excluded.state, conversations.state),
                 replied = COALESCE(excluded.replied, conversations.replied)
             RETURNING id, provider_id, remote_activity_at, synced_activity_at, history_complete, backfill_cursor"
        );
        for conversation in conversations {
            let activity = conversation
                .last_activity_at
                .map(|at| at.timestamp_millis());
            let row = sqlx::query(&sql)
                .bind(account_id)
                .bind(company_id)
                .bind(&conversation.id)
                .bind(&conversation.title)
                .bind(&conversation.channel)
                .bind(&conversation.channel_id)
                .bind(&conversation.contact)
                .bind(&conversation.avatar_url)
                .bind(conversation.created_at.map(|at| at.timestamp_millis()))
                .bind(activity)
                .bind(activity)
                .bind(&conversation.assignee_id)
                .bind(&conversation.note)
                .bind(conversation.bitrix_openlines)
                .bind(&conversation.state)
                .bind(conversation.replied)
                .bind(&conversation.assignee_id)
                .fetch_one(&mut *tx)
                .await?;
            states.push(CachedThreadState {
                id: row.try_get("id")?,
                provider_id: row.try_get("provider_id")?,
                remote_activity_at: row.try_get("remote_activity_at")?,
                synced_activity_at: row.try_get("synced_activity_at")?,
                history_complete: row.try_get("history_complete")?,
                backfill_cursor: row.try_get("backfill_cursor")?,
            });
        }
        tx.commit().await?;
        Ok(states)
    }

    /// Writes a page of a thread's messages and moves the thread's cursor, all in one transaction, so an
    /// interrupted sync resumes exactly where the last committed page left it. `messages` are in the
    /// order providers list them: NEWEST FIRST. Messages written in the same millisecond keep that order
    /// in the thread (see `insert_messages`).
    pub async fn save_message_page(
        &self,
        account_id: i64,
        conversation_id: i64,
        messages: &[RemoteMessage],
        write: MessageWrite,
    ) -> Result<PageWriteOutcome> {
        let (store, messages) = (self.clone(), std::sync::Arc::new(messages.to_vec()));
        super::detached(move || {
            let (store, messages, write) = (store.clone(), messages.clone(), write.clone());
            async move {
                store
                    .write_message_page(account_id, conversation_id, &messages, write)
                    .await
            }
        })
        .await
    }

    async fn write_message_page(
        &self,
        account_id: i64,
        conversation_id: i64,
        messages: &[RemoteMessage],
        write: MessageWrite,
    ) -> Result<PageWriteOutcome> {
        // Looked up before the transaction, so the transaction starts with a write and takes the write
        // lock at once (a read-then-write transaction could fail when another writer got in between).
        let cached = self.cached_message_ids(account_id, messages).await?;
        let (known, fresh): (Vec<_>, Vec<_>) = messages
            .iter()
            .zip(order_times(messages))
            .partition(|(message, _)| cached.contains_key(&message.id));
        let mut tx = self.pool.begin().await?;
        for (message, _) in &known {
            refresh_message(&mut tx, cached[&message.id], message).await?;
        }
        let older = matches!(write, MessageWrite::Backfill { .. });
        let inserted = insert_messages(&mut tx, account_id, conversation_id, &fresh, older).await?;
        let outcome = PageWriteOutcome {
            inserted,
            already_cached: messages.len() - inserted,
        };
        if let Some(newest) = messages
            .iter()
            .map(|m| m.created_at.timestamp_millis())
            .max()
        {
            sqlx::query(
                "UPDATE conversations SET last_message_at = MAX(COALESCE(last_message_at, 0), ?)
                 WHERE id = ? AND COALESCE(last_message_at, 0) < ?",
            )
            .bind(newest)
            .bind(conversation_id)
            .bind(newest)
            .execute(&mut *tx)
            .await?;
        }
        mark_incoming(&mut tx, account_id, conversation_id, messages).await?;
        let cursor = match write {
            MessageWrite::Backfill { next } => Some((next.clone(), next.is_none())),
            MessageWrite::Paged { cursor, complete } => Some((Some(cursor), complete)),
            MessageWrite::TopUp => None,
        };
        if let Some((cursor, complete)) = cursor {
            sqlx::query(
                "UPDATE conversations SET backfill_cursor = ?, history_complete = MAX(history_complete, ?)
                 WHERE id = ?",
            )
            .bind(&cursor)
            .bind(complete)
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// The local ids of those messages of the page that are already cached, by provider id.
    async fn cached_message_ids(
        &self,
        account_id: i64,
        messages: &[RemoteMessage],
    ) -> Result<std::collections::HashMap<String, i64>> {
        let provider_ids: Vec<&str> = messages.iter().map(|message| message.id.as_str()).collect();
        let rows = sqlx::query(
            "SELECT provider_id, id FROM messages
             WHERE account_id = ? AND provider_id IN (SELECT value FROM json_each(?))",
        )
        .bind(account_id)
        .bind(serde_json::to_string(&provider_ids).unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("provider_id")?, row.try_get("id")?)))
            .collect()
    }

    /// The activity stamps the cache holds for these conversations (by provider id), to tell which
    /// ones a listing shows as changed.
    pub async fn cached_activity(
        &self,
        account_id: i64,
        provider_ids: &[&str],
    ) -> Result<std::collections::HashMap<String, Option<i64>>> {
        let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
            "SELECT provider_id, remote_activity_at FROM conversations
             WHERE account_id = ? AND provider_id IN (SELECT value FROM json_each(?))",
        )
        .bind(account_id)
        .bind(serde_json::to_string(provider_ids).unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// The account's newest sent messages since `since_ms` whose status may still move (sent or
    /// delivered, not yet read or failed), as (local conversation id, company provider id,
    /// conversation provider id, message provider id).
    pub async fn unread_outgoing(
        &self,
        account_id: i64,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT c.id, co.provider_id, c.provider_id, m.provider_id
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
             JOIN companies co ON co.id = c.company_id
             WHERE m.account_id = ? AND m.direction = 'out' AND m.created_at >= ?
               AND m.status IN ('sent', 'delivered', 'created') AND m.deleted = 0
             ORDER BY m.id DESC LIMIT ?",
        )
        .bind(account_id)
        .bind(since_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many of these messages (by provider id) are cached.
    pub async fn cached_message_count(
        &self,
        account_id: i64,
        provider_ids: &[&str],
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages
             WHERE account_id = ? AND provider_id IN (SELECT value FROM json_each(?))",
        )
        .bind(account_id)
        .bind(serde_json::to_string(provider_ids).unwrap_or_default())
        .fetch_one(&self.pool)
        .await?)
    }

    /// How many messages of the thread are cached.
    pub async fn thread_message_count(&self, conversation_id: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE conversation_id = ?")
                .bind(conversation_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// When the company's conversations were last listed in full (ms), if ever.
    pub async fn company_listed_at(&self, company_id: i64) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT listed_at FROM companies WHERE id = ?")
                .bind(company_id)
                .fetch_optional(&self.pool)
                .await?
                .flatten(),
        )
    }

    /// Records that the company's conversations were listed in full.
    pub async fn mark_company_listed(&self, company_id: i64) -> Result<()> {
        sqlx::query("UPDATE companies SET listed_at = ? WHERE id = ?")
            .bind(crate::model::now_millis())
            .bind(company_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that the thread is up to date as of the server's `activity` stamp.
    pub async fn mark_thread_synced(
        &self,
        conversation_id: i64,
        activity: Option<i64>,
    ) -> Result<()> {
        sqlx::query("UPDATE conversations SET synced_activity_at = ? WHERE id = ?")
            .bind(activity)
            .bind(conversation_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records an assignment, note or Bitrix flag the server accepted.
    pub async fn update_conversation_field(
        &self,
        conversation_id: i64,
        field: ConversationField<'_>,
    ) -> Result<()> {
        let query = match field {
            ConversationField::Assignee(value) => {
                sqlx::query("UPDATE conversations SET assignee_id = ? WHERE id = ?")
                    .bind(value.to_string())
            }
            ConversationField::NoAssignee => {
                sqlx::query("UPDATE conversations SET assignee_id = NULL WHERE id = ?")
            }
            ConversationField::Note(value) => {
                sqlx::query("UPDATE conversations SET note = ? WHERE id = ?")
                    .bind(value.to_string())
            }
            ConversationField::BitrixOpenlines(value) => {
                sqlx::query("UPDATE conversations SET bitrix_openlines = ? WHERE id = ?")
                    .bind(value)
            }
            ConversationField::State(value) => {
                sqlx::query("UPDATE conversations SET state = ? WHERE id = ?").bind(value.as_str())
            }
            ConversationField::Replied(value) => {
                sqlx::query("UPDATE conversations SET replied = ? WHERE id = ?").bind(value)
            }
        };
        query.bind(conversation_id).execute(&self.pool).await?;
        Ok(())
    }

    /// The messenger's own id of a cached message (what a reply quotes): `NotFound` when the message
    /// is not cached, `InvalidInput` when the server has not given it one yet.
    pub async fn message_external_id(
        &self,
        conversation_id: i64,
        message_provider_id: &str,
    ) -> Result<Option<String>> {
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT external_id FROM messages WHERE conversation_id = ? AND provider_id = ?",
        )
        .bind(conversation_id)
        .bind(message_provider_id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Err(CoreError::NotFound(format!(
                "message {message_provider_id} is not in the cache; run sync first"
            ))),
            Some((None,)) => Err(CoreError::InvalidInput(format!(
                "message {message_provider_id} cannot be quoted yet: the messenger has not confirmed it"
            ))),
            Some((Some(external),)) => Ok(Some(external)),
        }
    }

    /// Records a message's status as the server reports it (and why, for `error`).
    pub async fn set_message_status(
        &self,
        conversation_id: i64,
        message_provider_id: &str,
        status: &str,
        reason: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE messages SET status = ?, status_reason = ?
             WHERE conversation_id = ? AND provider_id = ? AND direction = 'out'",
        )
        .bind(status)
        .bind(reason)
        .bind(conversation_id)
        .bind(message_provider_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a cached message deleted (its text stays for the agent's record).
    pub async fn mark_message_deleted(
        &self,
        conversation_id: i64,
        message_provider_id: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE messages SET deleted = 1 WHERE conversation_id = ? AND provider_id = ?",
        )
        .bind(conversation_id)
        .bind(message_provider_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a message is cached, and if so whether we sent it.
    pub async fn message_direction(
        &self,
        conversation_id: i64,
        message_provider_id: &str,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT direction FROM messages WHERE conversation_id = ? AND provider_id = ?",
        )
        .bind(conversation_id)
        .bind(message_provider_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Where the thread's sync last read (the history cursor), for providers that use it to find
    /// the thread's newest page.
    pub async fn thread_cursor(&self, conversation_id: i64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT backfill_cursor FROM conversations WHERE id = ?")
                .bind(conversation_id)
                .fetch_optional(&self.pool)
                .await?
                .flatten(),
        )
    }

    /// The cached conversation `account/provider_id`, or `NotFound`.
    pub async fn conversation(
        &self,
        account: &str,
        provider_id: &str,
    ) -> Result<CachedConversation> {
        let row = sqlx::query(
            "SELECT c.id, c.account_id, co.provider_id AS company, c.provider_id, c.pending_start
             FROM conversations c JOIN accounts a ON a.id = c.account_id JOIN companies co ON co.id = c.company_id
             WHERE a.name = ? AND c.provider_id = ?",
        )
        .bind(account)
        .bind(provider_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Err(CoreError::NotFound(format!(
                "no conversation {account}/{provider_id} in the cache; run sync first"
            )));
        };
        Ok(CachedConversation {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            company_provider_id: row.try_get("company")?,
            provider_id: row.try_get("provider_id")?,
            pending_start: row.try_get("pending_start")?,
        })
    }

    /// Marks everything the customer wrote so far as read.
    pub async fn mark_conversation_read(&self, conversation_id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE conversations SET read_at = MAX(COALESCE(read_at, 0), COALESCE(last_incoming_at, 0))
             WHERE id = ?",
        )
        .bind(conversation_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records that the account's first sync is complete (kept once set).
    pub async fn mark_first_sync_done(&self, account_id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE accounts SET first_synced_at = COALESCE(first_synced_at, ?) WHERE id = ?",
        )
        .bind(crate::model::now_millis())
        .bind(account_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The cached conversation with this local id.
    pub async fn conversation_by_id(&self, id: i64) -> Result<CachedConversation> {
        let row = sqlx::query(
            "SELECT c.id, c.account_id, co.provider_id AS company, c.provider_id, c.pending_start
             FROM conversations c JOIN companies co ON co.id = c.company_id WHERE c.id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CoreError::NotFound(format!("there is no conversation {id}")))?;
        Ok(CachedConversation {
            id: row.try_get("id")?,
            account_id: row.try_get("account_id")?,
            company_provider_id: row.try_get("company")?,
            provider_id: row.try_get("provider_id")?,
            pending_start: row.try_get("pending_start")?,
        })
    }

    /// Conversations, most recent activity first, optionally of one account and at most `limit`.
    pub async fn list_conversations(
        &self,
        account: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<ConversationView>> {
        self.conversation_views(account, None, limit).await
    }

    /// The conversation `account/provider_id` as the inbox lists it, or `NotFound`.
    pub async fn conversation_view(
        &self,
        account: &str,
        provider_id: &str,
    ) -> Result<ConversationView> {
        self.conversation_views(Some(account), Some(provider_id), Some(1))
            .await?
            .pop()
            .ok_or_else(|| {
                CoreError::NotFound(format!(
                    "no conversation {account}/{provider_id} in the cache"
                ))
            })
    }

    async fn conversation_views(
        &self,
        account: Option<&str>,
        provider_id: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<ConversationView>> {
        let rows = sqlx::query(
            "SELECT a.name AS account, c.provider_id, co.provider_id AS company, c.title, c.channel,
                    c.last_message_at, c.assignee_id, c.note, c.bitrix_openlines,
                    COALESCE(c.last_incoming_at, 0) > COALESCE(c.read_at, 0) AS unread,
                    COALESCE(c.state, 'open') AS state, c.replied
             FROM conversations c JOIN accounts a ON a.id = c.account_id JOIN companies co ON co.id = c.company_id
             WHERE (?1 IS NULL OR a.name = ?1) AND (?3 IS NULL OR c.provider_id = ?3)
             ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC
             LIMIT ?2",
        )
        .bind(account)
        .bind(limit.unwrap_or(-1))
        .bind(provider_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ConversationView {
                    account: row.try_get("account")?,
                    id: row.try_get("provider_id")?,
                    company_id: row.try_get("company")?,
                    title: row.try_get("title")?,
                    channel: row.try_get("channel")?,
                    last_message_at: row
                        .try_get::<Option<i64>, _>("last_message_at")?
                        .map(from_millis),
                    assignee_id: row.try_get("assignee_id")?,
                    note: row.try_get("note")?,
                    bitrix_openlines: row.try_get("bitrix_openlines")?,
                    unread: row.try_get("unread")?,
                    state: row.try_get("state")?,
                    replied: row.try_get("replied")?,
                })
            })
            .collect()
    }

    /// The account's cached messages written at or after `since_ms`, oldest first, each with its
    /// conversation's provider id (for reporting what a catch-up brought in).
    pub async fn messages_since(
        &self,
        account_id: i64,
        since_ms: i64,
    ) -> Result<Vec<(String, MessageView)>> {
        let rows = sqlx::query(
            "SELECT c.provider_id AS conversation, m.provider_id, m.direction, m.text, m.created_at, m.status,
                    m.status_reason, m.deleted
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.account_id = ? AND m.created_at >= ? ORDER BY m.id",
        )
        .bind(account_id)
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let direction: String = row.try_get("direction")?;
                let view = MessageView {
                    id: Some(row.try_get("provider_id")?),
                    direction: if direction == "in" { "in" } else { "out" },
                    text: row.try_get("text")?,
                    created_at: from_millis(row.try_get("created_at")?),
                    status: row.try_get("status")?,
                    attachments: Vec::new(),
                    outbox_id: None,
                    error: row.try_get("status_reason")?,
                    error_code: None,
                    reply_to: None,
                    deleted: row.try_get("deleted")?,
                };
                Ok((row.try_get("conversation")?, view))
            })
            .collect()
    }

    /// The newest `limit` cached messages of a thread (all when `None`), oldest first.
    pub async fn cached_messages(
        &self,
        conversation_id: i64,
        limit: Option<i64>,
    ) -> Result<Vec<(i64, MessageView)>> {
        self.cached_messages_before(conversation_id, None, limit)
            .await
    }

    /// The `limit` cached messages of a thread (all when `None`) just before the one with local id
    /// `before` (or the newest, when `None`), oldest first, with their local ids.
    pub async fn cached_messages_before(
        &self,
        conversation_id: i64,
        before: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Vec<(i64, MessageView)>> {
        let rows = sqlx::query(&format!(
            "SELECT * FROM (
                 SELECT m.id, m.provider_id, m.direction, m.text, m.created_at,
                        {STATUS_OF_MESSAGE} AS status, o.id AS outbox_id, m.status_reason, m.deleted,
                        (SELECT q.provider_id FROM messages q
                         WHERE q.conversation_id = m.conversation_id AND q.external_id = m.reply_to
                         LIMIT 1) AS reply_to
                 FROM messages m
                 LEFT JOIN outbox o ON o.conversation_id = m.conversation_id AND o.message_provider_id = m.provider_id
                 WHERE m.conversation_id = ?1 AND (?2 IS NULL OR m.id < ?2) ORDER BY m.id DESC LIMIT ?3
             ) ORDER BY id ASC"
        ))
        .bind(conversation_id)
        .bind(before)
        .bind(limit.unwrap_or(-1))
        .fetch_all(&self.pool)
        .await?;
        let Some(first_id) = rows
            .first()
            .map(|row| row.try_get::<i64, _>("id"))
            .transpose()?
        else {
            return Ok(Vec::new());
        };
        let mut attachments = self
            .thread_attachments(conversation_id, first_id, before)
            .await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                let direction: String = row.try_get("direction")?;
                let view = MessageView {
                    id: Some(row.try_get("provider_id")?),
                    direction: if direction == "in" { "in" } else { "out" },
                    text: row.try_get("text")?,
                    created_at: from_millis(row.try_get("created_at")?),
                    status: row.try_get("status")?,
                    attachments: attachments.remove(&id).unwrap_or_default(),
                    outbox_id: row.try_get("outbox_id")?,
                    error: row.try_get("status_reason")?,
                    error_code: None,
                    reply_to: row.try_get("reply_to")?,
                    deleted: row.try_get("deleted")?,
                };
                Ok((id, view))
            })
            .collect()
    }

    /// The attachments of the thread's messages from local id `from_message_id` up to (not including)
    /// `before`, by message.
    async fn thread_attachments(
        &self,
        conversation_id: i64,
        from_message_id: i64,
        before: Option<i64>,
    ) -> Result<std::collections::HashMap<i64, Vec<AttachmentView>>> {
        let rows = sqlx::query(
            "SELECT a.message_id, a.file_name, a.size, a.mime_type, a.local_path
             FROM attachments a JOIN messages m ON m.id = a.message_id
             WHERE m.conversation_id = ?1 AND m.id >= ?2 AND (?3 IS NULL OR m.id < ?3)
             ORDER BY a.message_id, a.position",
        )
        .bind(conversation_id)
        .bind(from_message_id)
        .bind(before)
        .fetch_all(&self.pool)
        .await?;
        let mut by_message: std::collections::HashMap<i64, Vec<AttachmentView>> =
            Default::default();
        for row in rows {
            by_message
                .entry(row.try_get("message_id")?)
                .or_default()
                .push(AttachmentView {
                    name: row.try_get("file_name")?,
                    size: row.try_get("size")?,
                    mime: row.try_get("mime_type")?,
                    local_path: row.try_get("local_path")?,
                });
        }
        Ok(by_message)
    }

    /// The URL and local path of one attachment of a cached message.
    pub async fn attachment_location(
        &self,
        conversation_id: i64,
        message_provider_id: &str,
        position: i64,
    ) -> Result<(i64, Option<String>, Option<String>, Option<String>)> {
        let row = sqlx::query(
            "SELECT a.id, a.url, a.file_name, a.local_path FROM attachments a JOIN messages m ON m.id = a.message_id
             WHERE m.conversation_id = ? AND m.provider_id = ? AND a.position = ?",
        )
        .bind(conversation_id)
        .bind(message_provider_id)
        .bind(position)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| {
            CoreError::NotFound(format!(
                "message {message_provider_id} has no attachment number {}",
                position + 1
            ))
        })?;
        Ok((
            row.try_get("id")?,
            row.try_get("url")?,
            row.try_get("file_name")?,
            row.try_get("local_path")?,
        ))
    }

    /// Remembers where an attachment's bytes were saved.
    pub async fn set_attachment_local_path(&self, attachment_id: i64, path: &str) -> Result<()> {
        sqlx::query("UPDATE attachments SET local_path = ? WHERE id = ?")
            .bind(path)
            .bind(attachment_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// How many conversations and messages are cached for the account.
    pub async fn account_counts(&self, account_id: i64) -> Result<(i64, i64)> {
        let conversations: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM conversations WHERE account_id = ?")
                .bind(account_id)
                .fetch_one(&self.pool)
                .await?;
        let messages: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE account_id = ?")
                .bind(account_id)
                .fetch_one(&self.pool)
                .await?;
        Ok((conversations, messages))
    }
}

/// A conversation attribute changed through the API.
#[derive(Debug, Clone, Copy)]
pub enum ConversationField<'a> {
    /// The assignee's user id.
    Assignee(&'a str),
    /// Nobody is assigned any more.
    NoAssignee,
    /// The note text.
    Note(&'a str),
    /// The Bitrix openlines block flag.
    BitrixOpenlines(bool),
    /// Open or archived.
    State(crate::provider::ConversationState),
    /// Replied or not.
    Replied(bool),
}

/// Records the newest customer message of the page. While the account's first sync runs, downloaded
/// history counts as seen; afterwards a newer customer message leaves the conversation unread.
async fn mark_incoming(
    tx: &mut Transaction<'_, Sqlite>,
    account_id: i64,
    conversation_id: i64,
    messages: &[RemoteMessage],
) -> Result<()> {
    let Some(newest) = messages
        .iter()
        .filter(|message| message.incoming)
        .map(|message| message.created_at.timestamp_millis())
        .max()
    else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE conversations SET
             last_incoming_at = MAX(COALESCE(last_incoming_at, 0), ?1),
             read_at = CASE WHEN (SELECT first_synced_at FROM accounts WHERE id = ?2) IS NULL
                            THEN MAX(COALESCE(read_at, 0), ?1) ELSE read_at END
         WHERE id = ?3",
    )
    .bind(newest)
    .bind(account_id)
    .bind(conversation_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Brings a cached message's row up to date; writes nothing when nothing changed.
async fn refresh_message(
    tx: &mut Transaction<'_, Sqlite>,
    id: i64,
    message: &RemoteMessage,
) -> Result<()> {
    sqlx::query(
        "UPDATE messages SET text = ?1, direction = ?2, created_at = ?3,
             status = COALESCE(?5, status), status_reason = ?6,
             external_id = COALESCE(?7, external_id), reply_to = COALESCE(?8, reply_to), deleted = ?9
         WHERE id = ?4 AND (text IS NOT ?1 OR direction <> ?2 OR created_at <> ?3
             OR (?5 IS NOT NULL AND status IS NOT ?5) OR status_reason IS NOT ?6
             OR (?7 IS NOT NULL AND external_id IS NOT ?7) OR (?8 IS NOT NULL AND reply_to IS NOT ?8)
             OR deleted <> ?9)",
    )
    .bind(&message.text)
    .bind(direction(message))
    .bind(message.created_at.timestamp_millis())
    .bind(id)
    .bind(stored_status(message))
    .bind(&message.status_reason)
    .bind(&message.external_id)
    .bind(&message.reply_to)
    .bind(message.deleted)
    .execute(&mut **tx)
    .await?;
    replace_attachments_if_changed(tx, id, &message.attachments).await
}

/// The status column of a message: the provider's word for an outgoing message when it gives one;
/// `received` for the customer's messages; `sent` for ours otherwise.
fn stored_status(message: &RemoteMessage) -> Option<&str> {
    if message.incoming {
        Some("received")
    } else {
        message.status.as_deref().or(Some("sent"))
    }
}

fn direction(message: &RemoteMessage) -> &'static str {
    if message.incoming {
        "in"
    } else {
        "out"
    }
}

/// The time each message of a page (listed newest first) is ordered by: its `created_at`, except that
/// a message is never ordered after one the server lists as newer. (Timestamps of one thread can come
/// with and without milliseconds: a line written at 12:00:00.300 then one stamped 12:00:00 would
/// otherwise swap.)
fn order_times(messages: &[RemoteMessage]) -> impl Iterator<Item = i64> + '_ {
    messages.iter().scan(i64::MAX, |bound, message| {
        *bound = (*bound).min(message.created_at.timestamp_millis());
        Some(*bound)
    })
}

/// Inserts the new messages of a page (newest first, each with its [`order_times`] value) with
/// time-ordered ids: that time in ms × 1000 plus a tie-breaker, so "newest first" is "highest id first" everywhere. The 1000 ids of a millisecond
/// are shared from the middle: messages newer than what is cached there (`older` false: the newest
/// messages) take ids upwards from 500, messages older than it (`older` true: a history page, which
/// comes after the newer pages) take ids downwards from 499, so several messages of one millisecond
/// (whole-second timestamps make that common) read in the order they were written either way.
///
/// One statement for the messages and one for their attachments; returns how many messages were
/// inserted (one another process inserted meanwhile is skipped). The SELECT sees the table as it was
/// before the statement, so the window function numbers the page's messages of one millisecond.
async fn insert_messages(
    tx: &mut Transaction<'_, Sqlite>,
    account_id: i64,
    conversation_id: i64,
    messages: &[(&RemoteMessage, i64)],
    older: bool,
) -> Result<usize> {
    if messages.is_empty() {
        return Ok(0);
    }
    let rows: Vec<serde_json::Value> = messages
        .iter()
        .map(|(message, order_time)| {
            serde_json::json!([
                message.id,
                direction(message),
                message.text,
                message.created_at.timestamp_millis(),
                stored_status(message),
                order_time,
                message.status_reason,
                message.external_id,
                message.reply_to,
                message.deleted
            ])
        })
        .collect();
    // `position` counts from the newest message of the page.
    let id = if older {
        "COALESCE((SELECT MIN(m.id) FROM messages m WHERE m.id >= base AND m.id < base + 1000), base + 500)
         - ROW_NUMBER() OVER (PARTITION BY base ORDER BY position ASC)"
    } else {
        "COALESCE((SELECT MAX(m.id) FROM messages m WHERE m.id >= base AND m.id < base + 1000), base + 499)
         + ROW_NUMBER() OVER (PARTITION BY base ORDER BY position DESC)"
    };
    let inserted: Vec<(i64, String)> = sqlx::query_as(&format!(
        "INSERT INTO messages (id, account_id, conversation_id, provider_id, direction, text, created_at, status,
                               status_reason, external_id, reply_to, deleted)
         SELECT {id}, ?1, ?2, provider_id, direction, text, created_at, status,
                status_reason, external_id, reply_to, deleted
         FROM (SELECT key AS position, value ->> 0 AS provider_id, value ->> 1 AS direction,
                      value ->> 2 AS text, value ->> 3 AS created_at, (value ->> 5) * 1000 AS base,
                      value ->> 4 AS status, value ->> 6 AS status_reason, value ->> 7 AS external_id,
                      value ->> 8 AS reply_to, COALESCE(value ->> 9, 0) AS deleted
               FROM json_each(?3))
         WHERE true
         ON CONFLICT (account_id, provider_id) DO NOTHING
         RETURNING id, provider_id"
    ))
    .bind(account_id)
    .bind(conversation_id)
    .bind(serde_json::Value::Array(rows).to_string())
    .fetch_all(&mut **tx)
    .await?;
    let ids: std::collections::HashMap<&str, i64> = inserted
        .iter()
        .map(|(id, provider_id)| (provider_id.as_str(), *id))
        .collect();
    let with_attachments: Vec<(i64, &[RemoteAttachment])> = messages
        .iter()
        .filter_map(|(message, _)| {
            ids.get(message.id.as_str())
                .map(|id| (*id, message.attachments.as_slice()))
        })
        .collect();
    insert_attachments(tx, &with_attachments).await?;
    Ok(inserted.len())
}

/// Writes the attachments of several messages in one statement, each list in its message's order.
async fn insert_attachments(
    tx: &mut Transaction<'_, Sqlite>,
    messages: &[(i64, &[RemoteAttachment])],
) -> Result<()> {
    let rows: Vec<serde_json::Value> = messages
        .iter()
        .flat_map(|(message_id, attachments)| {
            attachments
                .iter()
                .enumerate()
                .map(move |(position, attachment)| {
                    serde_json::json!([
                        message_id,
                        position,
                        attachment.id,
                        attachment.file_name,
                        attachment.mime_type,
                        attachment.size,
                        attachment.url,
                        attachment.preview_url
                    ])
                })
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO attachments (message_id, position, provider_id, file_name, mime_type, size, url, preview_url)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6,
                value ->> 7
         FROM json_each(?)",
    )
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn replace_attachments_if_changed(
    tx: &mut Transaction<'_, Sqlite>,
    message_id: i64,
    attachments: &[RemoteAttachment],
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT provider_id, file_name, mime_type, size, url, preview_url FROM attachments
         WHERE message_id = ? ORDER BY position",
    )
    .bind(message_id)
    .fetch_all(&mut **tx)
    .await?;
    let cached = rows
        .iter()
        .map(|row| {
            Ok(RemoteAttachment {
                id: row.try_get("provider_id")?,
                file_name: row.try_get("file_name")?,
                mime_type: row.try_get("mime_type")?,
                size: row.try_get("size")?,
                url: row.try_get("url")?,
                preview_url: row.try_get("preview_url")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if cached == attachments {
        return Ok(());
    }
    sqlx::query("DELETE FROM attachments WHERE message_id = ?")
        .bind(message_id)
        .execute(&mut **tx)
        .await?;
    insert_attachments(tx, &[(message_id, attachments)]).await
}
