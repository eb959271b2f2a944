//! Accounts and their companies.

use sqlx::Row;

use super::Store;
use crate::error::{CoreError, Result};
use crate::model::{now_millis, Account, NewAccount, ProviderKind};
use crate::provider::RemoteCompany;

fn account_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Account> {
    let filter: Option<String> = row.try_get("company_filter")?;
    let companies = match filter {
        Some(json) => serde_json::from_str(&json).unwrap_or_default(),
        None => Vec::new(),
    };
    let provider = ProviderKind::parse(&row.try_get::<String, _>("provider")?)?;
    Ok(Account {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        provider,
        features: provider.features(),
        username: row.try_get("username")?,
        base_url: row.try_get("base_url")?,
        companies,
        secret_ref: row.try_get("secret_ref")?,
        unread_conversations: row.try_get("unread")?,
    })
}

const ACCOUNT_COLUMNS: &str = "id, name, provider, base_url, company_filter, secret_ref, username,
    (SELECT COUNT(*) FROM conversations c
     WHERE c.account_id = accounts.id AND COALESCE(c.last_incoming_at, 0) > COALESCE(c.read_at, 0)) AS unread";

impl Store {
    /// Inserts a new account. Fails with `Conflict` when the name is taken.
    pub async fn insert_account(&self, account: &NewAccount, secret_ref: &str) -> Result<Account> {
        self.insert_account_with_username(account, None, secret_ref)
            .await
    }

    /// Inserts a new account that signs in with `username` (and the password in the keyring).
    pub async fn insert_account_with_username(
        &self,
        account: &NewAccount,
        username: Option<&str>,
        secret_ref: &str,
    ) -> Result<Account> {
        let filter = if account.company_ids.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&account.company_ids).unwrap_or_default())
        };
        let inserted = sqlx::query(
            "INSERT INTO accounts (name, provider, base_url, secret_ref, company_filter, created_at, username)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&account.name)
        .bind(account.provider.as_str())
        .bind(&account.base_url)
        .bind(secret_ref)
        .bind(filter)
        .bind(now_millis())
        .bind(username)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(CoreError::Conflict(format!(
                "an account named \"{}\" already exists",
                account.name
            )));
        }
        self.account(&account.name).await
    }

    /// Every account, by name.
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        let rows = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(account_from_row).collect()
    }

    /// The account with this name, or `NotFound`.
    pub async fn account(&self, name: &str) -> Result<Account> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE name = ?"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => account_from_row(&row),
            None => Err(CoreError::NotFound(format!(
                "there is no account named \"{name}\""
            ))),
        }
    }

    /// The account with this local id.
    pub async fn account_by_id(&self, id: i64) -> Result<Account> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CoreError::NotFound(format!("there is no account {id}")))?;
        account_from_row(&row)
    }

    /// Deletes the account and everything cached for it.
    pub async fn delete_account(&self, account_id: i64) -> Result<()> {
        let store = self.clone();
        super::detached(move || {
            let store = store.clone();
            async move { store.delete_account_now(account_id).await }
        })
        .await
    }

    async fn delete_account_now(&self, account_id: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // Drop the thread rows first in bulk so the full-text index is cleaned in the same transaction.
        sqlx::query("DELETE FROM outbox WHERE account_id = ?")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM messages WHERE account_id = ?")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM accounts WHERE id = ?")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Switches the account to another API kind (the cache stays as it is).
    pub async fn set_account_provider(
        &self,
        account_id: i64,
        provider: ProviderKind,
        base_url: Option<&str>,
    ) -> Result<()> {
        sqlx::query("UPDATE accounts SET provider = ?, base_url = ? WHERE id = ?")
            .bind(provider.as_str())
            .bind(base_url)
            .bind(account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records the companies the account syncs (insert or rename); returns their local ids by provider id.
    pub async fn upsert_companies(
        &self,
        account_id: i64,
        companies: &[RemoteCompany],
    ) -> Result<Vec<(i64, String)>> {
        let (store, companies) = (self.clone(), companies.to_vec());
        super::detached(move || {
            let (store, companies) = (store.clone(), companies.clone());
            async move { store.write_companies(account_id, &companies).await }
        })
        .await
    }

    async fn write_companies(
        &self,
        account_id: i64,
        companies: &[RemoteCompany],
    ) -> Result<Vec<(i64, String)>> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(companies.len());
        for company in companies {
            // Always "updates" on conflict so RETURNING yields the id; writing the same name changes nothing.
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO companies (account_id, provider_id, name) VALUES (?, ?, ?)
                 ON CONFLICT (account_id, provider_id) DO UPDATE SET name = excluded.name
                 RETURNING id",
            )
            .bind(account_id)
            .bind(&company.id)
            .bind(&company.name)
            .fetch_one(&mut *tx)
            .await?;
            ids.push((id, company.id.clone()));
        }
        tx.commit().await?;
        Ok(ids)
    }
}
