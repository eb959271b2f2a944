//! Teammates by name: the provider's list as last fetched, and the labels the agent gave user ids.

use super::Store;
use crate::error::Result;
use crate::model::now_millis;
use crate::provider::RemoteTeammate;

/// A teammate as the cache knows them: a label where the agent gave one, else the provider's name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredTeammate {
    /// The user id an assignment takes.
    pub user_id: String,
    /// The name to show.
    pub name: String,
    /// True when the name is the agent's label, false when it is the provider's.
    pub labelled: bool,
}

impl Store {
    /// The account's teammates: every label, and every provider-listed user without one; in no
    /// particular order.
    pub async fn teammates(&self, account_id: i64) -> Result<Vec<StoredTeammate>> {
        Ok(sqlx::query_as(
            "SELECT user_id, name, 1 AS labelled FROM teammate_labels WHERE account_id = ?1
             UNION ALL
             SELECT t.user_id, t.name, 0 FROM teammates t
             WHERE t.account_id = ?1
               AND NOT EXISTS (SELECT 1 FROM teammate_labels l
                               WHERE l.account_id = t.account_id AND l.user_id = t.user_id)",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The user ids conversations of the account are assigned to (as the last sync saw them), in
    /// no particular order: the teammates a provider without a users API (Pact) lets Parley learn.
    pub async fn assignee_ids_seen(&self, account_id: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT assignee_id FROM conversations
             WHERE account_id = ? AND assignee_id IS NOT NULL AND assignee_id <> ''",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// When the provider's list was last stored for the account, if ever (and not empty).
    pub async fn teammates_fetched_at(&self, account_id: i64) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT MAX(fetched_at) FROM teammates WHERE account_id = ?")
                .bind(account_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Replaces the provider's list for the account in one transaction (labels stay as they are).
    pub async fn replace_teammates(
        &self,
        account_id: i64,
        teammates: &[RemoteTeammate],
    ) -> Result<()> {
        let (store, teammates) = (self.clone(), teammates.to_vec());
        super::detached(move || {
            let (store, teammates) = (store.clone(), teammates.clone());
            async move {
                let now = now_millis();
                let mut tx = store.pool.begin().await?;
                sqlx::query("DELETE FROM teammates WHERE account_id = ?")
                    .bind(account_id)
                    .execute(&mut *tx)
                    .await?;
                for teammate in &teammates {
                    sqlx::query(
                        "INSERT INTO teammates (account_id, user_id, name, fetched_at)
                         VALUES (?, ?, ?, ?)
                         ON CONFLICT (account_id, user_id) DO UPDATE SET name = excluded.name",
                    )
                    .bind(account_id)
                    .bind(&teammate.id)
                    .bind(&teammate.name)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }
        })
        .await
    }

    /// Names a user id (replacing an earlier label), or with `None` removes its label.
    pub async fn set_teammate_label(
        &self,
        account_id: i64,
        user_id: &str,
        name: Option<&str>,
    ) -> Result<()> {
        let (store, user_id, name) = (self.clone(), user_id.to_string(), name.map(str::to_string));
        super::detached(move || {
            let (store, user_id, name) = (store.clone(), user_id.clone(), name.clone());
            async move {
                match name {
                    Some(name) => {
                        sqlx::query(
                            "INSERT INTO teammate_labels (account_id, user_id, name, updated_at)
                             VALUES (?, ?, ?, ?)
                             ON CONFLICT (account_id, user_id)
                             DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
                        )
                        .bind(account_id)
                        .bind(&user_id)
                        .bind(&name)
                        .bind(now_millis())
                        .execute(&store.pool)
                        .await?;
                    }
                    None => {
                        sqlx::query(
                            "DELETE FROM teammate_labels WHERE account_id = ? AND user_id = ?",
                        )
                        .bind(account_id)
                        .bind(&user_id)
                        .execute(&store.pool)
                        .await?;
                    }
                }
                Ok(())
            }
        })
        .await
    }
}
