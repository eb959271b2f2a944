//! A cache that survives the machine: opening `parley.db` so that nothing a user cares about is lost
//! and no shell is left with a blank window.
//!
//! - Before pending migrations run on an existing cache, a consistent copy (`VACUUM INTO`) goes to
//!   `<data>/backups/parley-<time>-before-<version>.db`; the newest [`BACKUPS_KEPT`] are kept.
//! - A cache that cannot be used (not a database, truncated, damaged, or written by a newer Parley)
//!   is moved aside to `parley.db.broken-<time>` (`parley.db.newer-<time>` for a newer Parley's),
//!   with its `-wal` and `-shm` beside it, and a fresh cache takes its place. What can still be read
//!   of what the user made (accounts and companies, saved replies, teammate names, settings, the
//!   request budget) is copied into the fresh cache; the next sync downloads the rest again. What
//!   happened is a [`CacheRecovery`], kept in the fresh cache until a window has shown it.
//! - SQLite's own consistency check (`PRAGMA quick_check`) runs before every schema update and at
//!   most once a day otherwise (it reads the whole file); a truncated file or one that is no database
//!   SQLite refuses at every open by itself.
//! - A full disk or a read-only data folder is said as such ([`Store::explain`]), naming the folder;
//!   SQLite's transactions keep everything already written, the outbox included.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, SqliteConnection};

use super::Store;
use crate::error::{CoreError, Result};
use crate::model::now_millis;

/// The schema updates this build knows, embedded at compile time.
pub(super) static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The data folder's subfolder for the copies made before schema updates.
pub const BACKUPS_DIR: &str = "backups";

/// How many copies made before schema updates are kept (the newest).
pub const BACKUPS_KEPT: usize = 3;

/// How often the whole cache is checked when no schema update runs.
const FULL_CHECK_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// The settings key holding when the cache last passed SQLite's check (ms since the epoch).
pub(super) const CHECKED_AT_KEY: &str = "cache.checked_at";

/// The settings key holding the last recovery no window has shown yet (JSON).
const RECOVERY_KEY: &str = "cache.recovery";

/// Why a cache had to be moved aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheProblem {
    /// Not a database, truncated or damaged.
    Corrupt,
    /// Written by a newer (or a different) build of Parley, whose schema this one does not know.
    Newer,
}

/// What happened when the cache could not be used: it was moved aside and replaced by a fresh one.
/// Shells tell the user once ([`CacheRecovery::message`], or their own words from the fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheRecovery {
    /// Why the old cache could not be used.
    pub kind: CacheProblem,
    /// The cause in a few words (SQLite's, or which schema update was unknown).
    pub reason: String,
    /// Where the old file is now (beside the fresh `parley.db`).
    pub moved_to: PathBuf,
    /// When it was moved.
    pub at: DateTime<Utc>,
    /// The accounts copied from the old file into the fresh cache (their tokens are in the keyring).
    pub accounts_kept: Vec<String>,
    /// True when the old file's accounts could not be read: the user must add them again.
    pub accounts_unreadable: bool,
    /// Messages the old file's outbox still had to send, which are not in the fresh cache;
    /// `None` when its outbox could not be read.
    pub unsent_lost: Option<u64>,
    /// True when this process moved the cache aside; false for an earlier run's recovery that no
    /// window has acknowledged yet.
    #[serde(skip)]
    pub just_now: bool,
}

impl CacheRecovery {
    /// One line for the user: what happened, where the old file is, and what to do.
    pub fn message(&self) -> String {
        let moved = self.moved_to.display();
        let mut text = match self.kind {
            CacheProblem::Corrupt => format!(
                "Parley's local cache could not be read ({}), so it was moved aside to {moved} and Parley starts over with a fresh cache",
                self.reason
            ),
            CacheProblem::Newer => format!(
                "Parley's local cache was written by a newer version of Parley ({}), so this version moved it aside to {moved} and starts over with a fresh cache",
                self.reason
            ),
        };
        // Nothing kept reads the same to the user whether the old file's accounts table was
        // unreadable or read as empty (a damaged file with a leftover WAL): add them again.
        if self.accounts_unreadable || self.accounts_kept.is_empty() {
            text.push_str(
                "; its accounts could not be read: add them again (their old tokens stay in the OS keyring).",
            );
        } else {
            text.push_str(&format!(
                "; your accounts were kept ({}) and the next sync downloads their conversations again.",
                self.accounts_kept.join(", ")
            ));
        }
        match self.unsent_lost {
            Some(0) => {}
            Some(1) => text.push_str(" 1 message waiting to be sent was not kept."),
            Some(count) => text.push_str(&format!(
                " {count} messages waiting to be sent were not kept."
            )),
            None => text.push_str(" Messages it still had to send could not be kept."),
        }
        if self.kind == CacheProblem::Newer {
            text.push_str(&format!(
                " The newer Parley can use the old file again once it is moved back to {}.",
                super::DATABASE_FILE
            ));
        }
        text
    }
}

/// Why opening stopped: the file cannot be used (and may be moved aside), or something else failed
/// (a read-only folder, a full disk) and the file must stay where it is.
enum OpenFailure {
    Unusable {
        problem: CacheProblem,
        reason: String,
    },
    Failed(CoreError),
}

impl OpenFailure {
    fn corrupt(reason: impl Into<String>) -> Self {
        Self::Unusable {
            problem: CacheProblem::Corrupt,
            reason: reason.into(),
        }
    }

    fn into_error(self, path: &Path) -> CoreError {
        match self {
            Self::Failed(error) => error,
            Self::Unusable { reason, .. } => unusable(path, &reason),
        }
    }
}

/// The error for a cache that cannot be used where it is not moved aside.
fn unusable(path: &Path, reason: &str) -> CoreError {
    CoreError::Storage(sqlx::Error::InvalidArgument(format!(
        "the local cache {} cannot be used: {reason}",
        path.display()
    )))
}

/// SQLite's primary result code of a database error.
fn sqlite_code(error: &sqlx::Error) -> Option<i32> {
    match error {
        sqlx::Error::Database(database) => database
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .map(|code| code & 0xff),
        _ => None,
    }
}

const SQLITE_PERM: i32 = 3;
const SQLITE_BUSY: i32 = 5;
const SQLITE_READONLY: i32 = 8;
const SQLITE_IOERR: i32 = 10;
const SQLITE_CORRUPT: i32 = 11;
const SQLITE_FULL: i32 = 13;
const SQLITE_CANTOPEN: i32 = 14;
const SQLITE_NOTADB: i32 = 26;

/// SQLite's own words for an error, without sqlx's "error returned from database" wrapping.
fn sqlite_words(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(database) => database.message().to_string(),
        other => other.to_string(),
    }
}

impl Store {
    /// Opens the cache at `path` (creating it if needed): WAL, foreign keys, a busy timeout; a
    /// backup copy before pending schema updates, then the updates. A cache that cannot be used is
    /// an error here; [`Store::open_or_recover`] moves it aside instead.
    pub(super) async fn open_strict(path: &Path) -> Result<Self> {
        open_checked(path)
            .await
            .map_err(|failure| failure.into_error(path))
    }

    /// Like [`Store::open`], and a cache that cannot be used (not a database, truncated, damaged,
    /// written by a newer Parley) is moved aside and replaced by a fresh one, keeping what can still
    /// be read of the accounts. Returns the recovery this open made, or the last one no window has
    /// acknowledged yet ([`Store::acknowledge_recovery`]). A full disk, a read-only folder or
    /// another Parley holding the unusable file open is an error, and nothing is moved.
    pub async fn open_or_recover(path: &Path) -> Result<(Self, Option<CacheRecovery>)> {
        let (problem, reason) = match open_checked(path).await {
            Ok(store) => {
                let pending = store.unacknowledged_recovery().await;
                return Ok((store, pending));
            }
            Err(OpenFailure::Failed(error)) => return Err(error),
            Err(OpenFailure::Unusable { problem, reason }) => (problem, reason),
        };
        tracing::warn!(path = %path.display(), ?problem, %reason, "the local cache cannot be used; moving it aside");
        ensure_alone(path, &reason).await?;
        let moved_to = move_aside(path, problem)?;
        let store = match open_checked(path).await {
            Ok(store) => store,
            Err(failure) => {
                move_back(path, &moved_to);
                return Err(failure.into_error(path));
            }
        };
        let rescued = rescue(path, &moved_to).await;
        let recovery = CacheRecovery {
            kind: problem,
            reason,
            moved_to,
            at: Utc::now(),
            accounts_kept: rescued.accounts.clone().unwrap_or_default(),
            accounts_unreadable: rescued.accounts.is_none(),
            unsent_lost: rescued.unsent,
            just_now: true,
        };
        tracing::warn!(message = %recovery.message(), "local cache recovered");
        if let Err(error) = store.save_recovery(&recovery).await {
            tracing::warn!(%error, "the recovery could not be recorded for the window");
        }
        Ok((store, Some(recovery)))
    }

    /// Forgets the last recovery, once a window has shown it.
    pub async fn acknowledge_recovery(&self) -> Result<()> {
        sqlx::query("DELETE FROM settings WHERE key = ?")
            .bind(RECOVERY_KEY)
            .execute(&self.pool)
            .await
            .map_err(|error| self.explain(error.into()))?;
        Ok(())
    }

    /// The last recovery no window has acknowledged, if any.
    async fn unacknowledged_recovery(&self) -> Option<CacheRecovery> {
        let json: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(RECOVERY_KEY)
            .fetch_optional(&self.pool)
            .await
            .ok()
            .flatten();
        json.and_then(|json| serde_json::from_str(&json).ok())
    }

    async fn save_recovery(&self, recovery: &CacheRecovery) -> Result<()> {
        let json = serde_json::to_string(recovery)
            .map_err(|error| CoreError::Storage(sqlx::Error::InvalidArgument(error.to_string())))?;
        put_setting(&self.pool, RECOVERY_KEY, &json).await?;
        Ok(())
    }

    /// Says a full disk or a read-only data folder as such, naming the folder; every other error
    /// comes back unchanged. The cause is checked on the spot (a file is created and removed in the
    /// folder), so "read-only" is only said when the folder really refuses writes.
    pub fn explain(&self, error: CoreError) -> CoreError {
        explain(&self.folder, &self.path, error)
    }
}

/// See [`Store::explain`].
fn explain(folder: &Path, path: &Path, error: CoreError) -> CoreError {
    let database = match &error {
        CoreError::Storage(database) => database,
        CoreError::Migration(MigrateError::Execute(database)) => database,
        _ => return error,
    };
    let Some(code) = sqlite_code(database) else {
        return error;
    };
    if !matches!(
        code,
        SQLITE_PERM | SQLITE_READONLY | SQLITE_IOERR | SQLITE_FULL | SQLITE_CANTOPEN
    ) {
        return error;
    }
    let words = sqlite_words(database);
    if code == SQLITE_FULL {
        return disk_full(folder, words);
    }
    match probe_writable(folder) {
        Err(probe) if is_read_only(&probe) => CoreError::io(
            format!("the data folder {} is read-only", folder.display()),
            probe,
        ),
        Err(probe) if probe.kind() == std::io::ErrorKind::StorageFull => disk_full(folder, words),
        Ok(()) if code == SQLITE_READONLY || code == SQLITE_PERM => {
            let file_read_only = std::fs::metadata(path)
                .map(|metadata| metadata.permissions().readonly())
                .unwrap_or(false);
            let what = if file_read_only {
                format!("the local cache {} is read-only", path.display())
            } else {
                format!("the local cache {} cannot be written", path.display())
            };
            CoreError::io(
                what,
                std::io::Error::new(std::io::ErrorKind::PermissionDenied, words),
            )
        }
        _ => error,
    }
}

fn disk_full(folder: &Path, words: String) -> CoreError {
    CoreError::io(
        format!(
            "the disk is full: the data folder {} has no room left",
            folder.display()
        ),
        std::io::Error::new(std::io::ErrorKind::StorageFull, words),
    )
}

fn is_read_only(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

/// Creates and removes a small file in `folder`: the OS's answer on whether it takes writes.
fn probe_writable(folder: &Path) -> std::io::Result<()> {
    let probe = folder.join(format!(
        ".parley-write-check-{:016x}",
        rand::random::<u64>()
    ));
    let written = std::fs::write(&probe, b"parley");
    let _ = std::fs::remove_file(&probe);
    written
}

/// An I/O error turned into what [`Store::explain`] says for it (a full disk, a read-only folder),
/// with `context` otherwise.
fn explain_io(folder: &Path, context: String, error: std::io::Error) -> CoreError {
    if error.kind() == std::io::ErrorKind::StorageFull {
        return disk_full(folder, error.to_string());
    }
    if is_read_only(&error) && probe_writable(folder).is_err_and(|probe| is_read_only(&probe)) {
        return CoreError::io(
            format!("the data folder {} is read-only", folder.display()),
            error,
        );
    }
    CoreError::io(context, error)
}

/// The folder holding the cache (`.` for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Connects, checks and brings the schema up to date; the pool is closed again on any failure.
async fn open_checked(path: &Path) -> Result<Store, OpenFailure> {
    let folder = folder_of(path);
    let failed = |error: sqlx::Error| classify(&folder, path, error);
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(failed)?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30));
    // One connection. SQLite runs one writer at a time anyway, and with a single connection no
    // transaction can meet a stale read snapshot left by another connection: a read whose future
    // was dropped mid-stream keeps its statement (and its snapshot) open until reused, and a write
    // on top of such a snapshot fails at once with SQLITE_BUSY. Sync overlaps HTTP, not SQLite.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(failed)?;
    let store = Store {
        pool,
        folder: Arc::new(folder),
        path: Arc::new(path.to_path_buf()),
    };
    match store.check_and_migrate().await {
        Ok(()) => Ok(store),
        Err(failure) => {
            store.pool.close().await;
            Err(failure)
        }
    }
}

/// A database error while opening: a file SQLite cannot use, or a failure to say plainly.
fn classify(folder: &Path, path: &Path, error: sqlx::Error) -> OpenFailure {
    match sqlite_code(&error) {
        Some(SQLITE_NOTADB) => OpenFailure::corrupt(sqlite_words(&error)),
        Some(SQLITE_CORRUPT) => OpenFailure::corrupt(sqlite_words(&error)),
        _ => OpenFailure::Failed(explain(folder, path, CoreError::Storage(error))),
    }
}

/// One row of `_sqlx_migrations`.
struct Applied {
    version: i64,
    checksum: Vec<u8>,
    success: bool,
}

impl Store {
    async fn check_and_migrate(&self) -> Result<(), OpenFailure> {
        let failed = |error: sqlx::Error| classify(&self.folder, &self.path, error);
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(failed)?;
        let applied: Vec<Applied> = if tables.iter().any(|name| name == "_sqlx_migrations") {
            sqlx::query_as::<_, (i64, Vec<u8>, bool)>(
                "SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(failed)?
            .into_iter()
            .map(|(version, checksum, success)| Applied {
                version,
                checksum,
                success,
            })
            .collect()
        } else if !tables.is_empty() {
            return Err(OpenFailure::corrupt(
                "it holds tables but is not a Parley cache",
            ));
        } else {
            Vec::new()
        };
        let known: Vec<_> = MIGRATOR
            .iter()
            .filter(|migration| !migration.migration_type.is_down_migration())
            .collect();
        for row in &applied {
            match known
                .iter()
                .find(|migration| migration.version == row.version)
            {
                None => {
                    return Err(OpenFailure::Unusable {
                        problem: CacheProblem::Newer,
                        reason: format!(
                            "its schema has update {}, which this version does not know",
                            row.version
                        ),
                    })
                }
                Some(migration) if *migration.checksum != *row.checksum => {
                    return Err(OpenFailure::Unusable {
                        problem: CacheProblem::Newer,
                        reason: format!(
                            "its schema update {} differs from this version's",
                            row.version
                        ),
                    })
                }
                Some(_) if !row.success => {
                    return Err(OpenFailure::corrupt(format!(
                        "its schema update {} stopped halfway",
                        row.version
                    )))
                }
                Some(_) => {}
            }
        }
        let pending: Vec<i64> = known
            .iter()
            .map(|migration| migration.version)
            .filter(|version| !applied.iter().any(|row| row.version == *version))
            .collect();
        let existing = !applied.is_empty();
        let checked = if existing && (!pending.is_empty() || self.full_check_due().await) {
            self.quick_check().await?;
            true
        } else {
            !existing
        };
        if let (true, Some(first)) = (existing, pending.first()) {
            self.back_up(*first).await?;
        }
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|error| match error {
                MigrateError::Execute(error) => failed(error),
                MigrateError::Dirty(version) => {
                    OpenFailure::corrupt(format!("its schema update {version} stopped halfway"))
                }
                other => OpenFailure::Failed(explain(
                    &self.folder,
                    &self.path,
                    CoreError::Migration(other),
                )),
            })?;
        if checked {
            // Best effort: a read-only cache is still worth reading.
            let _ = put_setting(&self.pool, CHECKED_AT_KEY, &now_millis().to_string()).await;
        }
        Ok(())
    }

    /// True when the cache last passed SQLite's check more than [`FULL_CHECK_EVERY`] ago (or never).
    async fn full_check_due(&self) -> bool {
        let checked_at: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
                .bind(CHECKED_AT_KEY)
                .fetch_optional(&self.pool)
                .await
                .ok()
                .flatten();
        let checked_at = checked_at.and_then(|value| value.parse::<i64>().ok());
        checked_at.is_none_or(|at| {
            let age = now_millis() - at;
            age < 0 || age >= FULL_CHECK_EVERY.as_millis() as i64
        })
    }

    /// SQLite's structural check of every page (`quick_check`: no index contents compared).
    async fn quick_check(&self) -> Result<(), OpenFailure> {
        let verdict: Vec<String> = sqlx::query_scalar("PRAGMA quick_check(3)")
            .fetch_all(&self.pool)
            .await
            .map_err(|error| classify(&self.folder, &self.path, error))?;
        if verdict.len() == 1 && verdict[0] == "ok" {
            return Ok(());
        }
        let first = verdict.first().map(String::as_str).unwrap_or("no answer");
        let first: String = first.chars().take(160).collect();
        Err(OpenFailure::corrupt(format!(
            "SQLite's check found damage: {first}"
        )))
    }

    /// Copies the cache into the backups folder before schema update `before`, keeping the newest
    /// [`BACKUPS_KEPT`] copies. A copy that cannot be made stops the update.
    async fn back_up(&self, before: i64) -> Result<(), OpenFailure> {
        let dir = self.folder.join(BACKUPS_DIR);
        crate::create_private_dir(&dir).map_err(OpenFailure::Failed)?;
        let stamp = Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let mut target = dir.join(format!("parley-{stamp}-before-{before}.db"));
        let mut attempt = 1;
        while target.exists() {
            attempt += 1;
            target = dir.join(format!("parley-{stamp}-{attempt}-before-{before}.db"));
        }
        let Some(target_text) = target.to_str() else {
            return Err(OpenFailure::Failed(CoreError::InvalidInput(format!(
                "the backups folder {} is not a UTF-8 path",
                dir.display()
            ))));
        };
        let copied = sqlx::query("VACUUM INTO ?")
            .bind(target_text)
            .execute(&self.pool)
            .await;
        if let Err(error) = copied {
            let _ = std::fs::remove_file(&target);
            return Err(match classify(&self.folder, &self.path, error) {
                OpenFailure::Failed(error) => OpenFailure::Failed(match error {
                    CoreError::Io { .. } => error,
                    other => CoreError::Storage(sqlx::Error::InvalidArgument(format!(
                        "cannot back up the local cache into {} before updating it: {other}",
                        dir.display()
                    ))),
                }),
                unusable => unusable,
            });
        }
        tracing::info!(backup = %target.display(), before, "local cache backed up before a schema update");
        prune_backups(&dir);
        Ok(())
    }
}

/// Whether `name` is one of the copies made before schema updates.
fn is_backup_name(name: &str) -> bool {
    name.starts_with("parley-") && name.contains("-before-") && name.ends_with(".db")
}

/// Removes all but the newest [`BACKUPS_KEPT`] copies (their names start with the time).
fn prune_backups(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut backups: Vec<(String, PathBuf)> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_string();
            is_backup_name(&name).then(|| (name, entry.path()))
        })
        .collect();
    backups.sort();
    let excess = backups.len().saturating_sub(BACKUPS_KEPT);
    for (_, path) in backups.into_iter().take(excess) {
        if let Err(error) = std::fs::remove_file(&path) {
            tracing::warn!(%error, path = %path.display(), "an old backup could not be removed");
        }
    }
}

async fn put_setting(pool: &sqlx::SqlitePool, key: &str, value: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(now_millis())
    .execute(pool)
    .await?;
    Ok(())
}

/// Refuses to move the file while another process (the app, a `parley-cli` run) has it open: a
/// connection that asks for the file alone waits a moment, and is refused while anyone else holds it.
async fn ensure_alone(path: &Path, reason: &str) -> Result<()> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::from_secs(2));
    let busy = match SqliteConnection::connect_with(&options).await {
        Ok(mut connection) => {
            let read = sqlx::query("SELECT count(*) FROM sqlite_master")
                .fetch_one(&mut connection)
                .await;
            let _ = connection.close().await;
            matches!(read, Err(error) if sqlite_code(&error) == Some(SQLITE_BUSY))
        }
        Err(error) => sqlite_code(&error) == Some(SQLITE_BUSY),
    };
    if busy {
        return Err(CoreError::Storage(sqlx::Error::InvalidArgument(format!(
            "the local cache {} cannot be used ({reason}), and another Parley has it open: close it and start Parley again to move the old file aside and start over",
            path.display()
        ))));
    }
    Ok(())
}

/// The file next to `path` with `suffix` appended to its name (`parley.db` + `-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// The files SQLite keeps beside a database.
const SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Renames the cache (and its side files) to `<name>.broken-<time>` or `<name>.newer-<time>`.
fn move_aside(path: &Path, problem: CacheProblem) -> Result<PathBuf> {
    let folder = folder_of(path);
    let label = match problem {
        CacheProblem::Corrupt => "broken",
        CacheProblem::Newer => "newer",
    };
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut target = with_suffix(path, &format!(".{label}-{stamp}"));
    let mut attempt = 1;
    while target.exists() {
        attempt += 1;
        target = with_suffix(path, &format!(".{label}-{stamp}-{attempt}"));
    }
    std::fs::rename(path, &target).map_err(|error| {
        explain_io(
            &folder,
            format!(
                "cannot move the unusable local cache {} aside",
                path.display()
            ),
            error,
        )
    })?;
    for suffix in SIDE_FILES {
        let side = with_suffix(path, suffix);
        if !side.exists() {
            continue;
        }
        // A WAL left behind would be replayed into the fresh cache: it must go, one way or another.
        if std::fs::rename(&side, with_suffix(&target, suffix)).is_err() {
            if let Err(error) = std::fs::remove_file(&side) {
                move_back(path, &target);
                return Err(explain_io(
                    &folder,
                    format!("cannot move {} aside", side.display()),
                    error,
                ));
            }
        }
    }
    Ok(target)
}

/// Best effort: puts a moved-aside cache back where it was (the fresh one could not be made).
fn move_back(path: &Path, moved_to: &Path) {
    for suffix in SIDE_FILES {
        let _ = std::fs::remove_file(with_suffix(path, suffix));
    }
    let _ = std::fs::remove_file(path);
    if let Err(error) = std::fs::rename(moved_to, path) {
        tracing::warn!(%error, "the old cache could not be moved back");
        return;
    }
    for suffix in SIDE_FILES {
        let _ = std::fs::rename(with_suffix(moved_to, suffix), with_suffix(path, suffix));
    }
}

/// What could be copied from a moved-aside cache.
struct Rescued {
    /// The accounts now in the fresh cache; `None` when the old file's could not be read.
    accounts: Option<Vec<String>>,
    /// Outbox entries the old file still had to send; `None` when unreadable.
    unsent: Option<u64>,
}

/// What is copied from an old cache, in this order: what the user made, and the request budget
/// (so a fresh cache does not outrun the provider's limits). Everything else the next sync brings.
/// Each table is copied whole or not at all; rows of accounts that were not copied are left out.
const RESCUED_TABLES: [&str; 7] = [
    "accounts",
    "companies",
    "saved_replies",
    "teammate_labels",
    "settings",
    "request_budget",
    "request_holds",
];

/// Copies what can still be read from the old file into the fresh cache at `fresh`, on a
/// connection of its own that only reads the old file (opened read-only). Old files SQLite calls
/// truncated are read as far as they go (`writable_schema`, on this connection only).
async fn rescue(fresh: &Path, old: &Path) -> Rescued {
    let nothing = Rescued {
        accounts: None,
        unsent: None,
    };
    let uri = match std::path::absolute(old)
        .ok()
        .and_then(|path| url::Url::from_file_path(path).ok())
    {
        Some(uri) => format!("{uri}?mode=ro"),
        None => return nothing,
    };
    let options = SqliteConnectOptions::new()
        .filename(fresh)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30));
    let Ok(mut connection) = SqliteConnection::connect_with(&options).await else {
        return nothing;
    };
    let attached = async {
        sqlx::query("PRAGMA writable_schema = ON")
            .execute(&mut connection)
            .await?;
        sqlx::query("ATTACH DATABASE ? AS old")
            .bind(&uri)
            .execute(&mut connection)
            .await
    }
    .await;
    if let Err(error) = attached {
        tracing::warn!(%error, "the old cache could not be opened to copy its accounts");
        let _ = connection.close().await;
        return nothing;
    }
    let mut accounts_copied = false;
    for table in RESCUED_TABLES {
        match copy_table(&mut connection, table).await {
            Ok(rows) => {
                tracing::info!(table, rows, "copied from the old cache");
                if table == "accounts" {
                    accounts_copied = drop_unknown_providers(&mut connection).await.is_ok();
                    if !accounts_copied {
                        break;
                    }
                }
            }
            Err(error) => {
                tracing::warn!(table, %error, "could not be copied from the old cache");
                if table == "accounts" {
                    break;
                }
            }
        }
    }
    let accounts = if accounts_copied {
        sqlx::query_scalar::<_, String>("SELECT name FROM main.accounts ORDER BY name")
            .fetch_all(&mut connection)
            .await
            .ok()
    } else {
        None
    };
    let unsent =
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM old.outbox WHERE state = 'pending'")
            .fetch_one(&mut connection)
            .await
            .ok()
            .map(|count| count.max(0) as u64);
    let _ = sqlx::query("DETACH DATABASE old")
        .execute(&mut connection)
        .await;
    let _ = connection.close().await;
    Rescued { accounts, unsent }
}

/// Removes copied accounts of providers this version does not know (a newer Parley's), before
/// anything of theirs is copied: every account listed must be one this version can use.
async fn drop_unknown_providers(connection: &mut SqliteConnection) -> Result<()> {
    let accounts: Vec<(i64, String)> = sqlx::query_as("SELECT id, provider FROM main.accounts")
        .fetch_all(&mut *connection)
        .await?;
    for (id, provider) in accounts {
        if crate::model::ProviderKind::parse(&provider).is_err() {
            tracing::warn!(%provider, "an account of an unknown provider was not kept");
            sqlx::query("DELETE FROM main.accounts WHERE id = ?")
                .bind(id)
                .execute(&mut *connection)
                .await?;
        }
    }
    Ok(())
}

/// Copies one table from `old` into `main`: the columns both have (the fresh cache's defaults for
/// the rest), only rows of accounts the fresh cache has, and with what the next sync must redo
/// reset (an account's first sync, a company's listing) so it downloads everything again.
async fn copy_table(connection: &mut SqliteConnection, table: &str) -> Result<u64> {
    let columns = |schema: &'static str| {
        sqlx::query_scalar::<_, String>("SELECT name FROM pragma_table_info(?1, ?2)")
            .bind(table)
            .bind(schema)
    };
    let fresh = columns("main").fetch_all(&mut *connection).await?;
    let old = columns("old").fetch_all(&mut *connection).await?;
    let shared: Vec<&String> = fresh.iter().filter(|name| old.contains(name)).collect();
    if shared.is_empty() {
        return Ok(0);
    }
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let targets: Vec<String> = shared.iter().map(|name| quote(name)).collect();
    let sources: Vec<String> = shared
        .iter()
        .map(|name| match (table, name.as_str()) {
            // Downloaded history counts as seen until the account's first sync completes.
            ("accounts", "first_synced_at") => "NULL".to_string(),
            ("companies", "listed_at") => "NULL".to_string(),
            _ => quote(name),
        })
        .collect();
    let mut filters = Vec::new();
    if table != "accounts" && shared.iter().any(|name| *name == "account_id") {
        filters.push("(account_id IS NULL OR account_id IN (SELECT id FROM main.accounts))");
    }
    if table == "settings" {
        filters.push("key NOT LIKE 'cache.%'");
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", filters.join(" AND "))
    };
    let sql = format!(
        "INSERT OR IGNORE INTO main.{table} ({}) SELECT {} FROM old.{table}{filter}",
        targets.join(", "),
        sources.join(", "),
        table = quote(table),
    );
    Ok(sqlx::query(&sql)
        .execute(&mut *connection)
        .await?
        .rows_affected())
}
