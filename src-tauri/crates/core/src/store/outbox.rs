//! The outbox table: entries written before any network work, claimed by one worker at a time, moved
//! through pending → sent → delivered (or failed with a reason).

use sqlx::Row;

use super::Store;
use crate::error::{CoreError, Result};
use crate::model::{
    from_millis, now_millis, AttachmentView, MessageView, OutboxEntryView, OutboxState,
};
use crate::provider::{SendReceipt, StartRequest};

/// A file staged for sending, already copied into the data folder.
#[derive(Debug, Clone)]
pub struct NewOutboxFile {
    /// Name shown to the customer.
    pub file_name: String,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Size in bytes.
    pub size: i64,
    /// The copy inside the data folder ('' for a link).
    pub stored_path: String,
    /// A link the server fetches itself instead of a staged file.
    pub source_url: Option<String>,
    /// The SHA-256 of the staged copy (lowercase hex), checked before it is sent; `None` for a link.
    pub sha256: Option<String>,
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewOutboxEntry {
    /// The account's local id.
    pub account_id: i64,
    /// The conversation's local id.
    pub conversation_id: i64,
    /// The text, if any.
    pub text: Option<String>,
    /// The files, in order.
    pub files: Vec<NewOutboxFile>,
    /// The provider id of the message this one answers, if any.
    pub reply_to: Option<String>,
    /// How to open the conversation first, for a conversation started here.
    pub start: Option<StartRequest>,
}

/// The newest message the server had shown in a thread when a send went out: its time as the
/// server stamped it and its id. Reconciliation compares the server's times only with each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendAnchor {
    /// The message's `created_at` as the server gave it, in milliseconds.
    pub server_time_ms: i64,
    /// Its provider id.
    pub message_id: String,
}

/// A staged file and its upload state.
#[derive(Debug, Clone)]
pub struct OutboxFile {
    /// Position in the message.
    pub position: i64,
    /// Name shown to the customer.
    pub file_name: String,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Size in bytes.
    pub size: i64,
    /// The copy inside the data folder ('' for a link).
    pub stored_path: String,
    /// A link the server fetches itself instead of a staged file.
    pub source_url: Option<String>,
    /// The SHA-256 of the staged copy (lowercase hex) when it was queued; `None` for a link and for
    /// files queued before hashes were kept (only their size is checked).
    pub sha256: Option<String>,
    /// The provider's attachment id once uploaded.
    pub provider_attachment_id: Option<String>,
    /// The message this file went out in, where every file is a message of its own.
    pub message_provider_id: Option<String>,
}

/// An outbox entry with everything the worker needs.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    /// Id.
    pub id: i64,
    /// The account's local id.
    pub account_id: i64,
    /// The conversation's local id.
    pub conversation_id: i64,
    /// The text.
    pub text: Option<String>,
    /// Where it is.
    pub state: OutboxState,
    /// Send attempts so far.
    pub attempts: i64,
    /// Set while a send may have reached the server.
    pub send_started_at: Option<i64>,
    /// The thread's newest message on the server when the last send request went out.
    pub send_anchor: Option<SendAnchor>,
    /// What the server answered to the send.
    pub receipt: SendReceipt,
    /// The files.
    pub files: Vec<OutboxFile>,
    /// The provider id of the message this one answers, if any.
    pub reply_to: Option<String>,
    /// How to open the conversation first, while a conversation started here is not yet open.
    pub start: Option<StartRequest>,
}

const ENTRY_COLUMNS: &str = "id, account_id, conversation_id, text, state, attempts, send_started_at, job_id, channel_id, message_provider_id, reply_to, start_request, send_anchor_at, send_anchor_id";

impl Store {
    /// Writes a new pending entry; returns its id.
    pub async fn insert_outbox_entry(&self, entry: &NewOutboxEntry) -> Result<i64> {
        let (store, entry) = (self.clone(), entry.clone());
        super::detached(move || {
            let (store, entry) = (store.clone(), entry.clone());
            async move { store.write_outbox_entry(&entry).await }
        })
        .await
    }

    async fn write_outbox_entry(&self, entry: &NewOutboxEntry) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let id = write_outbox_entry_in(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Claims the next due entry (or the given one, if due) for `lease_ms`, so no other worker touches it.
    pub async fn claim_due_outbox_entry(
        &self,
        only: Option<i64>,
        lease_ms: i64,
    ) -> Result<Option<OutboxEntry>> {
        let now = now_millis();
        let row = sqlx::query(&format!(
            "UPDATE outbox SET lease_until = ?1 + ?2
             WHERE id = (SELECT id FROM outbox
                         WHERE state IN ('pending', 'sent') AND next_attempt_at <= ?1
                           AND (lease_until IS NULL OR lease_until < ?1) AND (?3 IS NULL OR id = ?3)
                         ORDER BY next_attempt_at, id LIMIT 1)
             RETURNING {ENTRY_COLUMNS}"
        ))
        .bind(now)
        .bind(lease_ms)
        .bind(only)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some(self.entry_from_row(&row).await?)),
            None => Ok(None),
        }
    }

    /// The entry with this id.
    pub async fn outbox_entry(&self, id: i64) -> Result<OutboxEntry> {
        let row = sqlx::query(&format!("SELECT {ENTRY_COLUMNS} FROM outbox WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("there is no outbox entry {id}")))?;
        self.entry_from_row(&row).await
    }

    async fn entry_from_row(&self, row: &sqlx::sqlite::SqliteRow) -> Result<OutboxEntry> {
        let id: i64 = row.try_get("id")?;
        let files = sqlx::query(
            "SELECT position, file_name, mime_type, size, stored_path, provider_attachment_id,
                    message_provider_id, source_url, sha256
             FROM outbox_files WHERE outbox_id = ? ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|file| {
            Ok(OutboxFile {
                position: file.try_get("position")?,
                file_name: file.try_get("file_name")?,
                mime_type: file.try_get("mime_type")?,
                size: file.try_get("size")?,
                stored_path: file.try_get("stored_path")?,
                provider_attachment_id: file.try_get("provider_attachment_id")?,
                message_provider_id: file.try_get("message_provider_id")?,
                source_url: file.try_get("source_url")?,
                sha256: file.try_get("sha256")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(OutboxEntry {
            id,
            account_id: row.try_get("account_id")?,
            conversation_id: row.try_get("conversation_id")?,
            text: row.try_get("text")?,
            state: OutboxState::parse(&row.try_get::<String, _>("state")?),
            attempts: row.try_get("attempts")?,
            send_started_at: row.try_get("send_started_at")?,
            send_anchor: match (
                row.try_get::<Option<i64>, _>("send_anchor_at")?,
                row.try_get::<Option<String>, _>("send_anchor_id")?,
            ) {
                (Some(server_time_ms), Some(message_id)) => Some(SendAnchor {
                    server_time_ms,
                    message_id,
                }),
                _ => None,
            },
            receipt: SendReceipt {
                job_id: row.try_get("job_id")?,
                channel_id: row.try_get("channel_id")?,
                message_id: row.try_get("message_provider_id")?,
                status: None,
            },
            files,
            reply_to: row.try_get("reply_to")?,
            start: row
                .try_get::<Option<String>, _>("start_request")?
                .and_then(|json| serde_json::from_str(&json).ok()),
        })
    }

    /// Records the message one file of a one-file-a-message send went out in; the send's outcome is
    /// known again.
    pub async fn outbox_file_sent(&self, id: i64, position: i64, message_id: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE outbox_files SET message_provider_id = ? WHERE outbox_id = ? AND position = ?",
        )
        .bind(message_id)
        .bind(id)
        .bind(position)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE outbox SET send_started_at = NULL, updated_at = ? WHERE id = ?")
            .bind(now_millis())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a file's provider attachment id right after its upload.
    pub async fn outbox_file_uploaded(
        &self,
        id: i64,
        position: i64,
        attachment_id: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE outbox_files SET provider_attachment_id = ? WHERE outbox_id = ? AND position = ?")
            .bind(attachment_id)
            .bind(id)
            .bind(position)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that the send request is about to go out: from now on its outcome is unknown until answered.
    pub async fn outbox_send_started(&self, id: i64, anchor: Option<&SendAnchor>) -> Result<()> {
        let now = now_millis();
        sqlx::query(
            "UPDATE outbox SET send_started_at = ?, attempts = attempts + 1, updated_at = ?,
                 send_anchor_at = ?, send_anchor_id = ?
             WHERE id = ?",
        )
        .bind(now)
        .bind(now)
        .bind(anchor.map(|anchor| anchor.server_time_ms))
        .bind(anchor.map(|anchor| anchor.message_id.as_str()))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The thread's newest cached message, as the server stamped it: what a send is anchored on.
    pub async fn thread_anchor(&self, conversation_id: i64) -> Result<Option<SendAnchor>> {
        Ok(sqlx::query_as::<_, (i64, String)>(
            "SELECT created_at, provider_id FROM messages WHERE conversation_id = ?
             ORDER BY id DESC LIMIT 1",
        )
        .bind(conversation_id)
        .fetch_optional(&self.pool)
        .await?
        .map(|(server_time_ms, message_id)| SendAnchor {
            server_time_ms,
            message_id,
        }))
    }

    /// The server accepted the send; follow its delivery from `next_check_at`.
    pub async fn outbox_accepted(
        &self,
        id: i64,
        receipt: &SendReceipt,
        next_check_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET state = 'sent', job_id = ?, channel_id = ?, message_provider_id = ?,
                 send_started_at = NULL, last_error = NULL, last_error_code = NULL,
                 next_attempt_at = ?, lease_until = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(&receipt.job_id)
        .bind(&receipt.channel_id)
        .bind(&receipt.message_id)
        .bind(next_check_at)
        .bind(now_millis())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The message reached the customer's messenger.
    pub async fn outbox_delivered(&self, id: i64, message_id: Option<&str>) -> Result<()> {
        tracing::info!(outbox_id = id, message_id, "outbox entry delivered");
        sqlx::query(
            "UPDATE outbox SET state = 'delivered', message_provider_id = COALESCE(?, message_provider_id),
                 send_started_at = NULL, last_error = NULL, last_error_code = NULL, lease_until = NULL,
                 updated_at = ? WHERE id = ?",
        )
        .bind(message_id)
        .bind(now_millis())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives up on the entry with a reason the user will read.
    pub async fn outbox_failed(&self, id: i64, code: &str, reason: &str) -> Result<()> {
        tracing::warn!(outbox_id = id, code, reason = %crate::logging::redact(reason), "outbox entry failed");
        sqlx::query(
            "UPDATE outbox SET state = 'failed', last_error = ?, last_error_code = ?, send_started_at = NULL,
                 lease_until = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(reason)
        .bind(code)
        .bind(now_millis())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Tries again at `next_attempt_at`, keeping the error for the user; `keep_unknown` keeps the
    /// "send may have happened" mark so the next attempt reconciles before sending.
    pub async fn outbox_reschedule(
        &self,
        id: i64,
        next_attempt_at: i64,
        error: Option<(&str, &str)>,
        keep_unknown: bool,
    ) -> Result<()> {
        if let Some((code, message)) = error {
            tracing::info!(
                outbox_id = id,
                code,
                message = %crate::logging::redact(message),
                keep_unknown,
                "outbox entry will be retried"
            );
        }
        sqlx::query(
            "UPDATE outbox SET next_attempt_at = ?, last_error = COALESCE(?, last_error),
                 last_error_code = COALESCE(?, last_error_code),
                 send_started_at = CASE WHEN ? THEN send_started_at ELSE NULL END,
                 lease_until = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(next_attempt_at)
        .bind(error.map(|(_, message)| message))
        .bind(error.map(|(code, _)| code))
        .bind(keep_unknown)
        .bind(now_millis())
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Makes a failed entry pending again, due now. Returns false when it was not failed.
    pub async fn outbox_retry(&self, id: i64) -> Result<bool> {
        let now = now_millis();
        let changed = sqlx::query(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL,
                 last_error_code = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND state = 'failed'",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(changed.rows_affected() == 1)
    }

    /// When the entry was written.
    pub async fn outbox_created_at(&self, id: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT created_at FROM outbox WHERE id = ?")
                .bind(id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// True when another outbox entry already owns this server message.
    pub async fn outbox_message_claimed(
        &self,
        conversation_id: i64,
        message_id: &str,
        except: i64,
    ) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE conversation_id = ?1 AND message_provider_id = ?2 AND id <> ?3)
                 OR EXISTS (SELECT 1 FROM outbox_files f JOIN outbox o ON o.id = f.outbox_id
                            WHERE o.conversation_id = ?1 AND f.message_provider_id = ?2)",
        )
        .bind(conversation_id)
        .bind(message_id)
        .bind(except)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Staged files of delivered entries whose message the cache now holds: the thread shows the server's
    /// copy, so ours can go. As `(outbox id, position, path)`.
    pub async fn outbox_files_to_prune(&self) -> Result<Vec<(i64, i64, String)>> {
        Ok(sqlx::query_as(
            "SELECT f.outbox_id, f.position, f.stored_path FROM outbox_files f JOIN outbox o ON o.id = f.outbox_id
             WHERE f.pruned = 0 AND o.state = 'delivered' AND EXISTS (
                 SELECT 1 FROM messages m
                 WHERE m.conversation_id = o.conversation_id AND m.provider_id = o.message_provider_id)",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records that a staged file was deleted.
    pub async fn outbox_file_pruned(&self, outbox_id: i64, position: i64) -> Result<()> {
        sqlx::query("UPDATE outbox_files SET pruned = 1 WHERE outbox_id = ? AND position = ?")
            .bind(outbox_id)
            .bind(position)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// When the next entry becomes due, if any is waiting.
    pub async fn outbox_next_due_at(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE state IN ('pending', 'sent')",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Every entry, newest first, as the shells list it.
    pub async fn outbox_views(&self, only: Option<i64>) -> Result<Vec<OutboxEntryView>> {
        let rows = sqlx::query(
            "SELECT o.id, a.name AS account, c.provider_id AS conversation, o.state, o.text, o.attempts,
                    o.last_error, o.last_error_code, o.message_provider_id, o.created_at,
                    (SELECT json_group_array(file_name) FROM
                        (SELECT file_name FROM outbox_files f WHERE f.outbox_id = o.id ORDER BY position)) AS files
             FROM outbox o JOIN accounts a ON a.id = o.account_id JOIN conversations c ON c.id = o.conversation_id
             WHERE (?1 IS NULL OR o.id = ?1) ORDER BY o.id DESC",
        )
        .bind(only)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let account: String = row.try_get("account")?;
                let conversation: String = row.try_get("conversation")?;
                let files: String = row.try_get("files")?;
                Ok(OutboxEntryView {
                    id: row.try_get("id")?,
                    conversation: format!("{account}/{conversation}"),
                    status: OutboxState::parse(&row.try_get::<String, _>("state")?),
                    text: row.try_get("text")?,
                    attachments: serde_json::from_str(&files).unwrap_or_default(),
                    attempts: row.try_get("attempts")?,
                    last_error: row.try_get("last_error")?,
                    last_error_code: row.try_get("last_error_code")?,
                    message_id: row.try_get("message_provider_id")?,
                    created_at: from_millis(row.try_get("created_at")?),
                })
            })
            .collect()
    }

    /// Outgoing messages of a thread that are not (yet) cached as server messages, oldest first.
    pub async fn unsynced_outbox_messages(&self, conversation_id: i64) -> Result<Vec<MessageView>> {
        let rows = sqlx::query(
            "SELECT o.id, o.text, o.state, o.created_at, o.last_error, o.last_error_code, o.message_provider_id, o.reply_to
             FROM outbox o
             WHERE o.conversation_id = ? AND NOT EXISTS (
                 SELECT 1 FROM messages m WHERE m.conversation_id = o.conversation_id
                   AND m.provider_id = o.message_provider_id)
             ORDER BY o.id",
        )
        .bind(conversation_id)
        .fetch_all(&self.pool)
        .await?;
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let attachments = sqlx::query(
                "SELECT file_name, size, mime_type, stored_path FROM outbox_files WHERE outbox_id = ? ORDER BY position",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|file| {
                // A link (nothing staged) has no size or local copy until the server fetched it.
                let stored: String = file.try_get("stored_path")?;
                let staged = !stored.is_empty();
                Ok(AttachmentView {
                    name: Some(file.try_get("file_name")?),
                    size: staged.then(|| file.try_get("size")).transpose()?,
                    mime: file.try_get("mime_type")?,
                    local_path: staged.then_some(stored),
                })
            })
            .collect::<Result<Vec<_>>>()?;
            views.push(MessageView {
                id: row.try_get("message_provider_id")?,
                direction: "out",
                text: row.try_get("text")?,
                created_at: from_millis(row.try_get("created_at")?),
                status: row.try_get("state")?,
                attachments,
                outbox_id: Some(id),
                error: row.try_get("last_error")?,
                error_code: row.try_get("last_error_code")?,
                reply_to: row.try_get("reply_to")?,
                deleted: false,
            });
        }
        Ok(views)
    }
}

/// Writes a new pending entry and its files inside the caller's transaction; returns its id.
pub(super) async fn write_outbox_entry_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    entry: &NewOutboxEntry,
) -> Result<i64> {
    let now = now_millis();
    let start = entry
        .start
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|error| {
            CoreError::InvalidInput(format!("cannot store the start request: {error}"))
        })?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO outbox (account_id, conversation_id, text, state, next_attempt_at, created_at, updated_at,
                             reply_to, start_request)
         VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(entry.account_id)
    .bind(entry.conversation_id)
    .bind(&entry.text)
    .bind(now)
    .bind(now)
    .bind(now)
    .bind(&entry.reply_to)
    .bind(start)
    .fetch_one(&mut **tx)
    .await?;
    for (position, file) in entry.files.iter().enumerate() {
        sqlx::query(
            "INSERT INTO outbox_files (outbox_id, position, file_name, mime_type, size, stored_path, source_url,
                                       sha256)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(position as i64)
        .bind(&file.file_name)
        .bind(&file.mime_type)
        .bind(file.size)
        .bind(&file.stored_path)
        .bind(&file.source_url)
        .bind(&file.sha256)
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}
