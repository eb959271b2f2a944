//! Conversations started here: the placeholder row and its first outbox entry, the lookup of an
//! existing conversation with the same contact, and the switch to the server's id once opened.

use sqlx::Row;

use super::outbox::{write_outbox_entry_in, NewOutboxEntry};
use super::{CachedConversation, Store};
use crate::error::{CoreError, Result};
use crate::model::now_millis;
use crate::provider::RemoteConversation;

/// A company of an account as the cache knows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CachedCompany {
    /// Local id.
    pub id: i64,
    /// The provider's id.
    pub provider_id: String,
    /// Its name, when known.
    pub name: Option<String>,
}

/// A placeholder conversation to write with its first outbox entry.
#[derive(Debug, Clone)]
pub struct NewStartedConversation {
    /// The company's local id.
    pub company_id: i64,
    /// The placeholder id (`new-…`) the conversation is known by until it is open.
    pub placeholder_id: String,
    /// The messenger.
    pub channel: String,
    /// The contact's handle (normalised phone digits or username).
    pub contact: String,
    /// The name shown until the server gives one.
    pub title: String,
}

impl Store {
    /// The account's companies, by name.
    pub async fn account_companies(&self, account_id: i64) -> Result<Vec<CachedCompany>> {
        Ok(sqlx::query_as(
            "SELECT id, provider_id, name FROM companies WHERE account_id = ?
             ORDER BY name COLLATE NOCASE, provider_id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The provider id of the account's conversation with this contact on this messenger in this
    /// company (a started one still pending included), if the cache has one. Phone handles compare
    /// by their digits, usernames without `@` and case.
    pub async fn conversation_with_contact(
        &self,
        account_id: i64,
        company_id: i64,
        channel: &str,
        handle: &str,
    ) -> Result<Option<String>> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT provider_id, contact FROM conversations
             WHERE account_id = ? AND company_id = ? AND channel = ? AND contact IS NOT NULL
             ORDER BY pending_start, last_message_at DESC",
        )
        .bind(account_id)
        .bind(company_id)
        .bind(channel)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .find(|(_, contact)| {
                contact
                    .as_deref()
                    .is_some_and(|c| crate::start::same_handle(c, handle))
            })
            .map(|(id, _)| id))
    }

    /// Writes the placeholder conversation and its first outbox entry in one transaction; returns
    /// the entry's id.
    pub async fn insert_started_conversation(
        &self,
        account_id: i64,
        started: &NewStartedConversation,
        entry: &NewOutboxEntry,
    ) -> Result<i64> {
        let (store, started, entry) = (self.clone(), started.clone(), entry.clone());
        super::detached(move || {
            let (store, started, entry) = (store.clone(), started.clone(), entry.clone());
            async move {
                let now = now_millis();
                let mut tx = store.pool.begin().await?;
                let conversation_id: i64 = sqlx::query_scalar(
                    "INSERT INTO conversations (account_id, company_id, provider_id, title, channel, contact,
                         created_at, last_message_at, state, pending_start, history_complete)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', 1, 1) RETURNING id",
                )
                .bind(account_id)
                .bind(started.company_id)
                .bind(&started.placeholder_id)
                .bind(&started.title)
                .bind(&started.channel)
                .bind(&started.contact)
                .bind(now)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                let entry = NewOutboxEntry {
                    conversation_id,
                    ..entry
                };
                let id = write_outbox_entry_in(&mut tx, &entry).await?;
                tx.commit().await?;
                Ok(id)
            }
        })
        .await
    }

    /// Gives the placeholder conversation the server's id once the outbox opened it, or folds it
    /// into the cached conversation that already has that id (moving its outbox entries and
    /// draft); the entry stops being a start. Returns the conversation as it is now.
    pub async fn adopt_started_conversation(
        &self,
        placeholder: &CachedConversation,
        outbox_id: i64,
        remote: &RemoteConversation,
    ) -> Result<CachedConversation> {
        let (store, placeholder, remote) = (self.clone(), placeholder.clone(), remote.clone());
        let local_id = super::detached(move || {
            let (store, placeholder, remote) = (store.clone(), placeholder.clone(), remote.clone());
            async move { store.write_adoption(&placeholder, outbox_id, &remote).await }
        })
        .await?;
        self.conversation_by_id(local_id).await
    }

    async fn write_adoption(
        &self,
        placeholder: &CachedConversation,
        outbox_id: i64,
        remote: &RemoteConversation,
    ) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE outbox SET start_request = NULL WHERE id = ?")
            .bind(outbox_id)
            .execute(&mut *tx)
            .await?;
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM conversations WHERE account_id = ? AND provider_id = ? AND id <> ?",
        )
        .bind(placeholder.account_id)
        .bind(&remote.id)
        .bind(placeholder.id)
        .fetch_optional(&mut *tx)
        .await?;
        let local_id = match existing {
            Some(existing) => {
                fold_into(&mut tx, placeholder.id, existing).await?;
                existing
            }
            None => {
                rename_placeholder(&mut tx, placeholder.id, remote).await?;
                placeholder.id
            }
        };
        sqlx::query(
            "INSERT OR REPLACE INTO started_conversations (account_id, placeholder_id, provider_id)
             VALUES (?, ?, ?)",
        )
        .bind(placeholder.account_id)
        .bind(&placeholder.provider_id)
        .bind(&remote.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(local_id)
    }

    /// The server's id of a conversation started under `placeholder_id`, once it is open.
    pub async fn started_conversation(
        &self,
        account_id: i64,
        placeholder_id: &str,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT provider_id FROM started_conversations WHERE account_id = ? AND placeholder_id = ?",
        )
        .bind(account_id)
        .bind(placeholder_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The outbox entry that opens a pending started conversation, if it is still waiting.
    pub async fn start_entry_of(&self, conversation_id: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM outbox WHERE conversation_id = ? AND start_request IS NOT NULL",
        )
        .bind(conversation_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Why the account's provider refused to start a conversation, when it did (VoIPbin servers
    /// without the legacy setup answer 404): the newest start that failed as unsupported.
    pub async fn start_refused(&self, account_id: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT last_error FROM outbox
             WHERE account_id = ? AND start_request IS NOT NULL AND state = 'failed'
               AND last_error_code = 'unsupported'
             ORDER BY updated_at DESC LIMIT 1",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?
        .flatten())
    }
}

/// Moves what hangs on the placeholder onto the existing conversation, then drops the placeholder.
async fn fold_into(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    placeholder: i64,
    existing: i64,
) -> Result<()> {
    sqlx::query("UPDATE outbox SET conversation_id = ? WHERE conversation_id = ?")
        .bind(existing)
        .bind(placeholder)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE OR IGNORE drafts SET conversation_id = ? WHERE conversation_id = ?")
        .bind(existing)
        .bind(placeholder)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM conversations WHERE id = ?")
        .bind(placeholder)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Gives the placeholder row the server's id and what the server said about it; its thread is
/// read by the next sync.
async fn rename_placeholder(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    placeholder: i64,
    remote: &RemoteConversation,
) -> Result<()> {
    let row = sqlx::query(
        "UPDATE conversations SET provider_id = ?, title = COALESCE(?, title), channel = COALESCE(?, channel),
             channel_id = COALESCE(?, channel_id), contact = COALESCE(?, contact),
             created_at = COALESCE(?, created_at), assignee_id = COALESCE(NULLIF(?, ''), assignee_id),
             state = COALESCE(?, state), pending_start = 0, history_complete = 0
         WHERE id = ? RETURNING id",
    )
    .bind(&remote.id)
    .bind(&remote.title)
    .bind(&remote.channel)
    .bind(&remote.channel_id)
    .bind(&remote.contact)
    .bind(remote.created_at.map(|at| at.timestamp_millis()))
    .bind(&remote.assignee_id)
    .bind(&remote.state)
    .bind(placeholder)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some(row) => {
            let _: i64 = row.try_get("id")?;
            Ok(())
        }
        None => Err(CoreError::NotFound(format!(
            "the started conversation {placeholder} is gone"
        ))),
    }
}
