//! Saved replies: reusable texts for one account (or for all, `account_id` NULL).

use super::Store;
use crate::error::{CoreError, Result};
use crate::model::now_millis;

/// A saved reply as stored, with its account's name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredReply {
    /// Id.
    pub id: i64,
    /// The account's local id; `None` for a reply usable in every account.
    pub account_id: Option<i64>,
    /// The account's name; `None` for a reply usable in every account.
    pub account: Option<String>,
    /// What the agent picks it by.
    pub title: String,
    /// The text inserted into the composer.
    pub text: String,
}

const REPLY_COLUMNS: &str =
    "r.id, r.account_id, a.name AS account, r.title, r.text FROM saved_replies r LEFT JOIN accounts a ON a.id = r.account_id";

impl Store {
    /// The replies usable in the account (its own and the all-accounts ones), or every reply with
    /// `None`; in no particular order.
    pub async fn saved_replies(&self, account_id: Option<i64>) -> Result<Vec<StoredReply>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {REPLY_COLUMNS} WHERE ?1 IS NULL OR r.account_id IS NULL OR r.account_id = ?1"
        ))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The reply with this id, or `NotFound`.
    pub async fn saved_reply(&self, id: i64) -> Result<StoredReply> {
        sqlx::query_as(&format!("SELECT {REPLY_COLUMNS} WHERE r.id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| no_reply(id))
    }

    /// Stores a new reply; returns its id.
    pub async fn insert_saved_reply(
        &self,
        account_id: Option<i64>,
        title: &str,
        text: &str,
    ) -> Result<i64> {
        let (store, title, text) = (self.clone(), title.to_string(), text.to_string());
        super::detached(move || {
            let (store, title, text) = (store.clone(), title.clone(), text.clone());
            async move {
                let now = now_millis();
                Ok(sqlx::query_scalar(
                    "INSERT INTO saved_replies (account_id, title, text, created_at, updated_at)
                     VALUES (?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(account_id)
                .bind(&title)
                .bind(&text)
                .bind(now)
                .bind(now)
                .fetch_one(&store.pool)
                .await?)
            }
        })
        .await
    }

    /// Replaces a reply's account, title and text; `NotFound` for an unknown id.
    pub async fn update_saved_reply(
        &self,
        id: i64,
        account_id: Option<i64>,
        title: &str,
        text: &str,
    ) -> Result<()> {
        let (store, title, text) = (self.clone(), title.to_string(), text.to_string());
        super::detached(move || {
            let (store, title, text) = (store.clone(), title.clone(), text.clone());
            async move {
                let updated = sqlx::query(
                    "UPDATE saved_replies SET account_id = ?, title = ?, text = ?, updated_at = ?
                     WHERE id = ?",
                )
                .bind(account_id)
                .bind(&title)
                .bind(&text)
                .bind(now_millis())
                .bind(id)
                .execute(&store.pool)
                .await?;
                if updated.rows_affected() == 0 {
                    return Err(no_reply(id));
                }
                Ok(())
            }
        })
        .await
    }

    /// Deletes a reply; `NotFound` for an unknown id.
    pub async fn delete_saved_reply(&self, id: i64) -> Result<()> {
        let store = self.clone();
        super::detached(move || {
            let store = store.clone();
            async move {
                let deleted = sqlx::query("DELETE FROM saved_replies WHERE id = ?")
                    .bind(id)
                    .execute(&store.pool)
                    .await?;
                if deleted.rows_affected() == 0 {
                    return Err(no_reply(id));
                }
                Ok(())
            }
        })
        .await
    }

    /// The name the provider gives the conversation's contact (its title), if any.
    pub async fn conversation_title(&self, conversation_id: i64) -> Result<Option<String>> {
        let title: Option<Option<String>> =
            sqlx::query_scalar("SELECT title FROM conversations WHERE id = ?")
                .bind(conversation_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(title.flatten())
    }
}

fn no_reply(id: i64) -> CoreError {
    CoreError::NotFound(format!("there is no saved reply {id}"))
}
