//! The SQLite cache: opening it (WAL, foreign keys, busy timeout, migrations with a backup before
//! them, a cache that cannot be used moved aside: see [`recovery`]) and the queries, one file per domain.

mod accounts;
mod budget;
mod outbox;
pub mod recovery;
mod replies;
mod search;
mod started;
mod teammates;
mod threads;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;

pub use budget::{BudgetTurn, StoredShare};
pub use outbox::{NewOutboxEntry, NewOutboxFile, OutboxEntry, OutboxFile, SendAnchor};
pub use recovery::{CacheProblem, CacheRecovery, BACKUPS_DIR, BACKUPS_KEPT};
pub use replies::StoredReply;
pub use search::MESSAGE_SEARCH_SQL;
pub use started::{CachedCompany, NewStartedConversation};
pub use teammates::StoredTeammate;
pub use threads::{
    CachedConversation, CachedThreadState, ConversationField, MessageWrite, PageWriteOutcome,
};

use crate::error::{CoreError, Result};

/// Moves queued messages into the full-text index. CROSS JOIN keeps SQLite from reordering the join:
/// it walks the (small) queue and looks each message up by id, never scanning the messages table.
/// Public so benchmarks can print its query plan.
pub const INDEX_PENDING_SQL: &str = "INSERT INTO messages_fts (rowid, text)
     SELECT m.id, m.text FROM fts_pending p CROSS JOIN messages m ON m.id = p.message_id
     WHERE m.text IS NOT NULL AND m.text <> ''";

/// The file name of the cache inside the data folder.
pub const DATABASE_FILE: &str = "parley.db";

/// A handle on the cache. Cheap to clone; the pool inside is shared.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// The folder holding the database file, named in errors about a full disk or a read-only folder.
    folder: Arc<PathBuf>,
    /// The database file.
    path: Arc<PathBuf>,
}

/// How often a write transaction is tried again after SQLite said another process's write got in
/// between (`SQLITE_BUSY_SNAPSHOT`, which no busy timeout waits out).
const BUSY_RETRIES: u32 = 20;

/// Runs a write transaction as its own task, so it commits or rolls back whole even when the caller
/// stops waiting (a cancelled sync, an app shutting down): a cancelled future never leaves a pooled
/// connection inside a half-finished transaction. A transaction another process's write overtook
/// (the app and `parley-cli` share the database) is rolled back and run again from the start.
pub(crate) async fn detached<T, F, Fut>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T>> + Send + 'static,
{
    tokio::spawn(async move {
        let mut retries = 0;
        loop {
            match work().await {
                Err(error) if retries < BUSY_RETRIES && is_busy(&error) => {
                    retries += 1;
                    let pause = 5 * u64::from(retries) + rand::random::<u64>() % 20;
                    tracing::debug!(retries, "database busy; running the write again");
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
                result => return result,
            }
        }
    })
    .await
    .map_err(|error| {
        CoreError::Storage(sqlx::Error::Protocol(format!(
            "a database write stopped: {error}"
        )))
    })?
}

/// True for SQLite's "database is locked" family (SQLITE_BUSY and its extended codes).
fn is_busy(error: &CoreError) -> bool {
    match error {
        CoreError::Storage(sqlx::Error::Database(database)) => database
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == 5),
        _ => false,
    }
}

impl Store {
    /// Opens (creating if needed) the database file and brings its schema up to date, with a backup
    /// copy in `backups/` beside it before pending updates run on an existing cache. A cache that
    /// cannot be used is an error here; [`Store::open_or_recover`] moves it aside instead.
    pub async fn open(path: &Path) -> Result<Self> {
        Self::open_strict(path).await
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
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
        let store = self.clone();
        detached(move || {
            let store = store.clone();
            async move { store.index_pending_now().await }
        })
        .await
    }

    async fn index_pending_now(&self) -> Result<u64> {
        // The common case (nothing queued) must cost nothing and take no write lock: search calls this.
        let queued: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM fts_pending)")
            .fetch_one(&self.pool)
            .await?;
        if !queued {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await?;
        let indexed = sqlx::query(INDEX_PENDING_SQL)
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
