//! The SQLite cache: opening it (WAL, foreign keys, busy timeout, migrations) and the queries, one file per domain.

mod accounts;
mod outbox;
mod search;
mod threads;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub use outbox::{NewOutboxEntry, NewOutboxFile, OutboxEntry, OutboxFile};
pub use threads::{
    CachedConversation, CachedThreadState, ConversationField, MessageWrite, PageWriteOutcome,
};

use crate::error::Result;

/// The file name of the cache inside the data folder.
pub const DATABASE_FILE: &str = "parley.db";

/// A handle on the cache. Cheap to clone; the pool inside is shared.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    /// The connection pool, for queries that belong to no single domain (benchmarks, checks).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Moves every queued message into the full-text index in one transaction.
    ///
    /// Inserting rows only queues them (a cheap trigger); indexing in bulk is several times faster than
    /// indexing row by row, which matters for a first sync of a large account. Returns how many were indexed.
    pub async fn index_pending_messages(&self) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let indexed = sqlx::query(
            "INSERT INTO messages_fts (rowid, text)
             SELECT m.id, m.text FROM fts_pending p JOIN messages m ON m.id = p.message_id
             WHERE m.text IS NOT NULL AND m.text <> ''",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM fts_pending")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(indexed)
    }

    /// Runs SQLite's own consistency check; `Ok(true)` when it says "ok".
    pub async fn integrity_ok(&self) -> Result<bool> {
        let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&self.pool)
            .await?;
        Ok(verdict == "ok")
    }

    /// Closes the pool, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
