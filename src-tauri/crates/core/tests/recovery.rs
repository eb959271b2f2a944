//! A cache that survives the machine: a garbage, a truncated, a damaged and a newer Parley's
//! `parley.db` are moved aside with a clear message, the old file kept beside the fresh one, which
//! syncs again (with the accounts kept where the old file still shows them); a schema update leaves
//! a backup copy; a full disk or a read-only data folder is an error that says so and loses nothing
//! queued; a staged file changed on disk is never sent.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{sandbox, ACCOUNT};
use parley_core::{
    CacheProblem, ConversationRef, CoreError, ErrorCode, MemorySecretStore, NewAccount,
    OutboxState, Parley, ProviderKind, Secret,
};
use parley_sandbox::Sandbox;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;

/// One keyring for every open of a test's data folder, as the OS keyring is.
fn keyring() -> Arc<MemorySecretStore> {
    Arc::new(MemorySecretStore::default())
}

async fn open(dir: &Path, secrets: &Arc<MemorySecretStore>) -> Parley {
    Parley::open(dir, secrets.clone())
        .await
        .expect("core opens")
}

/// Closes the cache and waits until SQLite has let go of it (its WAL checkpointed and removed), so
/// what the test then does to the file is not undone by a late checkpoint.
async fn close(parley: Parley) {
    let wal = parley.store().path().with_extension("db-wal");
    parley.store().close().await;
    drop(parley);
    let deadline = Instant::now() + Duration::from_secs(5);
    while wal.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn add_account(parley: &Parley, sandbox: &Sandbox) {
    parley
        .add_account(
            NewAccount {
                name: ACCOUNT.to_string(),
                provider: ProviderKind::PactP1,
                base_url: Some(sandbox.pact_p1_base_url()),
                company_ids: vec![],
            },
            Secret::new(sandbox.token()),
        )
        .await
        .expect("account added");
}

/// A data folder whose cache holds the account, a full sync of the sandbox and a saved reply.
async fn synced_folder(dir: &Path, sandbox: &Sandbox, secrets: &Arc<MemorySecretStore>) {
    let parley = open(dir, secrets).await;
    add_account(&parley, sandbox).await;
    parley.sync(ACCOUNT, &mut |_| {}).await.expect("sync");
    parley
        .add_saved_reply("Thanks", "Thank you, {name}!", None)
        .await
        .expect("saved reply");
    close(parley).await;
}

async fn conversation_count(parley: &Parley) -> usize {
    parley.conversations(None, None).await.unwrap().len()
}

/// A pool on a database file outside the core, for what a test does behind its back.
async fn raw_pool(path: &Path) -> SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal),
        )
        .await
        .expect("raw pool")
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// The files in `dir` whose names start with `prefix`.
fn files_starting(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| file_name(path).starts_with(prefix))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

#[tokio::test]
async fn a_garbage_cache_is_moved_aside_and_a_fresh_one_syncs_again() {
    let sandbox = sandbox(4, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let garbage: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.path().join("parley.db"), &garbage).unwrap();
    let secrets = keyring();

    let parley = open(dir.path(), &secrets).await;
    let recovery = parley.recovery().expect("the open says what it did");
    assert_eq!(recovery.kind, CacheProblem::Corrupt);
    assert!(recovery.just_now);
    assert_eq!(recovery.moved_to.parent(), Some(dir.path()));
    assert!(
        file_name(&recovery.moved_to).starts_with("parley.db.broken-"),
        "{}",
        recovery.moved_to.display()
    );
    assert_eq!(
        std::fs::read(&recovery.moved_to).unwrap(),
        garbage,
        "the old file is kept beside the fresh one as it was"
    );
    assert!(recovery.accounts_unreadable);
    let message = recovery.message();
    eprintln!("garbage: {message}");
    assert!(
        message.contains(&recovery.moved_to.display().to_string()),
        "{message}"
    );
    assert!(message.contains("could not be read"), "{message}");
    assert!(message.contains("add them again"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
    assert!(
        !dir.path().join("backups").exists(),
        "a fresh cache needs no backup"
    );

    // The fresh cache works: the account added again syncs everything.
    assert!(parley.accounts().await.unwrap().is_empty());
    add_account(&parley, &sandbox).await;
    parley.sync(ACCOUNT, &mut |_| {}).await.expect("sync");
    assert_eq!(
        conversation_count(&parley).await,
        sandbox.conversations().len()
    );
    close(parley).await;

    // Until a window acknowledges it, the next open still has it to show (not as new).
    let parley = open(dir.path(), &secrets).await;
    let pending = parley.recovery().expect("kept until acknowledged");
    assert!(!pending.just_now);
    assert_eq!(pending.moved_to, recovery.moved_to);
    assert_eq!(files_starting(dir.path(), "parley.db.broken-").len(), 1);
    parley.acknowledge_recovery().await.unwrap();
    assert!(parley.recovery().is_none());
    close(parley).await;
    let parley = open(dir.path(), &secrets).await;
    assert!(parley.recovery().is_none(), "acknowledged for good");
    assert_eq!(
        conversation_count(&parley).await,
        sandbox.conversations().len()
    );
    close(parley).await;
}

#[tokio::test]
async fn a_truncated_cache_is_moved_aside_keeping_its_accounts_and_syncs_again() {
    let sandbox = sandbox(30, 40).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = keyring();
    synced_folder(dir.path(), &sandbox, &secrets).await;
    let db = dir.path().join("parley.db");
    let full = std::fs::metadata(&db).unwrap().len();
    assert!(full > 200_000, "the cache is big enough to cut: {full}");
    let cut = full / 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(cut)
        .unwrap();

    let parley = open(dir.path(), &secrets).await;
    let recovery = parley.recovery().expect("a truncated cache is noticed");
    assert_eq!(recovery.kind, CacheProblem::Corrupt);
    assert_eq!(std::fs::metadata(&recovery.moved_to).unwrap().len(), cut);
    assert!(!recovery.accounts_unreadable);
    assert_eq!(recovery.accounts_kept, vec![ACCOUNT.to_string()]);
    let message = recovery.message();
    eprintln!("truncated: {message}");
    assert!(
        message.contains("your accounts were kept (acme)"),
        "{message}"
    );

    // The account (its token still in the keyring) syncs at once; the saved reply is still there.
    assert_eq!(parley.accounts().await.unwrap().len(), 1);
    assert_eq!(conversation_count(&parley).await, 0);
    parley.sync(ACCOUNT, &mut |_| {}).await.expect("sync");
    assert_eq!(
        conversation_count(&parley).await,
        sandbox.conversations().len()
    );
    let replies = parley.saved_replies(None).await.unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].title, "Thanks");
    // History downloaded again counts as seen, as on a first sync: no flood of unread threads.
    let unread = parley
        .conversations(None, None)
        .await
        .unwrap()
        .iter()
        .filter(|conversation| conversation.unread)
        .count();
    assert_eq!(unread, 0);
    close(parley).await;
}

#[tokio::test]
async fn damage_inside_the_file_is_found_by_the_check_and_moved_aside() {
    let sandbox = sandbox(30, 40).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = keyring();
    synced_folder(dir.path(), &sandbox, &secrets).await;
    let db = dir.path().join("parley.db");
    // The whole-file check runs at most once a day: make the last one a day old.
    let pool = raw_pool(&db).await;
    sqlx::query("UPDATE settings SET value = '0' WHERE key = 'cache.checked_at'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let mut bytes = std::fs::read(&db).unwrap();
    let middle = bytes.len() / 2 / 4096 * 4096;
    bytes[middle..middle + 3 * 4096].fill(0xA5);
    std::fs::write(&db, &bytes).unwrap();

    let parley = open(dir.path(), &secrets).await;
    let recovery = parley.recovery().expect("the damage is noticed");
    assert_eq!(recovery.kind, CacheProblem::Corrupt);
    assert_eq!(std::fs::read(&recovery.moved_to).unwrap(), bytes);
    parley.sync(ACCOUNT, &mut |_| {}).await.expect("sync");
    assert_eq!(
        conversation_count(&parley).await,
        sandbox.conversations().len()
    );
    close(parley).await;
}

#[tokio::test]
async fn a_newer_parleys_cache_is_moved_aside_as_newer_and_kept_whole() {
    let sandbox = sandbox(4, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = keyring();
    synced_folder(dir.path(), &sandbox, &secrets).await;
    let db = dir.path().join("parley.db");
    let pool = raw_pool(&db).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (20991231000000, 'from a newer Parley', 1, x'00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    // An account of a provider this version does not know stays in the old file only.
    sqlx::query(
        "INSERT INTO accounts (name, provider, secret_ref, created_at)
         VALUES ('future', 'from-the-future', 'account-future', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let parley = open(dir.path(), &secrets).await;
    let recovery = parley.recovery().expect("a newer cache is noticed");
    assert_eq!(recovery.kind, CacheProblem::Newer);
    assert!(
        recovery.reason.contains("20991231000000"),
        "{}",
        recovery.reason
    );
    assert!(
        file_name(&recovery.moved_to).starts_with("parley.db.newer-"),
        "{}",
        recovery.moved_to.display()
    );
    assert_eq!(recovery.accounts_kept, vec![ACCOUNT.to_string()]);
    let message = recovery.message();
    eprintln!("newer: {message}");
    assert!(message.contains("newer version of Parley"), "{message}");
    assert!(message.contains("moved back to parley.db"), "{message}");

    // The old file is whole: the newer Parley can take it back, with its cache and its update.
    let old = raw_pool(&recovery.moved_to).await;
    let future: i64 =
        sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE version = 20991231000000")
            .fetch_one(&old)
            .await
            .unwrap();
    let conversations: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations")
        .fetch_one(&old)
        .await
        .unwrap();
    old.close().await;
    assert_eq!(future, 1);
    assert_eq!(conversations as usize, sandbox.conversations().len());

    parley.sync(ACCOUNT, &mut |_| {}).await.expect("sync");
    assert_eq!(
        conversation_count(&parley).await,
        sandbox.conversations().len()
    );
    close(parley).await;
}

#[tokio::test]
async fn an_unusable_cache_another_parley_holds_open_is_left_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = keyring();
    close(open(dir.path(), &secrets).await).await;
    let db = dir.path().join("parley.db");
    let other = raw_pool(&db).await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (20991231000000, 'from a newer Parley', 1, x'00', 0)",
    )
    .execute(&other)
    .await
    .unwrap();

    let error = Parley::open(dir.path(), secrets.clone())
        .await
        .err()
        .expect("refused while the newer Parley has it open");
    assert_eq!(error.code(), ErrorCode::Storage);
    let text = error.to_string();
    eprintln!("in use: {text}");
    assert!(text.contains("another Parley has it open"), "{text}");
    assert!(files_starting(dir.path(), "parley.db.newer-").is_empty());

    other.close().await;
    let parley = open(dir.path(), &secrets).await;
    assert_eq!(parley.recovery().unwrap().kind, CacheProblem::Newer);
    close(parley).await;
}

#[tokio::test]
async fn a_schema_update_keeps_a_backup_copy_of_the_cache_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("parley.db");
    // A cache made by an older Parley: every schema update but the last two.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut all: Vec<PathBuf> = std::fs::read_dir(&shipped)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    all.sort();
    let (older, newer) = all.split_at(all.len() - 2);
    let old_set = tempfile::tempdir().unwrap();
    for path in older {
        std::fs::copy(path, old_set.path().join(path.file_name().unwrap())).unwrap();
    }
    let version =
        |path: &PathBuf| -> i64 { file_name(path).split('_').next().unwrap().parse().unwrap() };
    let pool = raw_pool(&db).await;
    sqlx::migrate::Migrator::new(old_set.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO accounts (name, provider, secret_ref, created_at)
         VALUES ('from-before', 'pact-p1', 'account-before', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    // Three copies from earlier updates: the oldest goes when the new one comes.
    let backups = dir.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    for day in 1..=3 {
        std::fs::write(
            backups.join(format!("parley-2020010{day}T000000.000Z-before-1.db")),
            b"an older backup",
        )
        .unwrap();
    }

    let secrets = keyring();
    let parley = open(dir.path(), &secrets).await;
    assert!(parley.recovery().is_none());
    let names: Vec<String> = parley
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(
        names,
        vec!["from-before".to_string()],
        "the update kept the data"
    );
    close(parley).await;

    let kept = files_starting(&backups, "parley-");
    assert_eq!(kept.len(), parley_core::store::BACKUPS_KEPT, "{kept:?}");
    assert!(!kept
        .iter()
        .any(|path| file_name(path).starts_with("parley-20200101")));
    let copy = kept.last().unwrap();
    assert!(
        file_name(copy).ends_with(&format!("-before-{}.db", version(&newer[0]))),
        "{}",
        copy.display()
    );
    // The copy is the cache as it was before the update: the older schema, the same account.
    let backup = raw_pool(copy).await;
    let latest: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(&backup)
        .await
        .unwrap();
    let account: String = sqlx::query_scalar("SELECT name FROM accounts")
        .fetch_one(&backup)
        .await
        .unwrap();
    backup.close().await;
    assert_eq!(latest, version(older.last().unwrap()));
    assert_eq!(account, "from-before");

    // Nothing pending the next time: no new copy.
    close(open(dir.path(), &secrets).await).await;
    assert_eq!(files_starting(&backups, "parley-"), kept);
}

/// A conversation of the sandbox, cached by a sync.
async fn synced_core(dir: &Path, sandbox: &Sandbox) -> (Parley, ConversationRef) {
    let parley = common::core_with_account(dir, sandbox).await;
    common::sync(&parley).await;
    let conversation = ConversationRef {
        account: ACCOUNT.into(),
        id: sandbox.conversations()[0].id.to_string(),
    };
    (parley, conversation)
}

fn assert_says_full(error: &CoreError, dir: &Path) {
    let text = error.to_string();
    eprintln!("full: {text}");
    assert_eq!(error.code(), ErrorCode::Io, "{text}");
    assert!(text.contains("the disk is full"), "{text}");
    assert!(text.contains(&dir.display().to_string()), "{text}");
}

#[tokio::test]
async fn a_full_disk_refuses_a_new_message_clearly_and_keeps_what_was_queued() {
    let sandbox = sandbox(2, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let (parley, conversation) = synced_core(dir.path(), &sandbox).await;
    let files = tempfile::tempdir().unwrap();
    let invoice = files.path().join("invoice.pdf");
    std::fs::write(&invoice, b"%PDF-1.4 queued before the disk filled").unwrap();
    let queued = parley
        .queue_message(
            &conversation,
            Some("queued before the disk filled".into()),
            std::slice::from_ref(&invoice),
        )
        .await
        .unwrap();
    let staged_before = files_starting(&dir.path().join("outbox"), "");

    // SQLite's own limit on the file's size stands in for a full disk (SQLITE_FULL either way).
    let pool = parley.store().pool();
    sqlx::query("PRAGMA max_page_count = 1")
        .execute(pool)
        .await
        .unwrap();
    let error = parley
        .queue_message(
            &conversation,
            Some("a long text that needs new pages ".repeat(10_000)),
            std::slice::from_ref(&invoice),
        )
        .await
        .expect_err("no room for it");
    assert_says_full(&error, dir.path());
    assert_eq!(
        files_starting(&dir.path().join("outbox"), ""),
        staged_before,
        "the refused message left no staged copy behind"
    );
    let outbox = parley.outbox().await.unwrap();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0].id, queued);
    assert_eq!(outbox[0].status, OutboxState::Pending);
    assert_eq!(
        outbox[0].text.as_deref(),
        Some("queued before the disk filled")
    );

    // Room again: the queued message goes out, the next one queues.
    sqlx::query("PRAGMA max_page_count = 1073741823")
        .execute(pool)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !parley.outbox_entry(queued).await.unwrap().status.is_final() {
        assert!(
            Instant::now() < deadline,
            "the queued message did not go out"
        );
        parley.process_outbox(None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        parley.outbox_entry(queued).await.unwrap().status,
        OutboxState::Delivered
    );
    parley
        .queue_message(&conversation, Some("after the disk was freed".into()), &[])
        .await
        .unwrap();
    close(parley).await;
}

/// Makes a folder and its files refuse writes for as long as it lives: by permissions, or, where
/// they do not bind (root), with the immutable attribute. `None` when neither works here.
struct ReadOnly {
    paths: Vec<PathBuf>,
    immutable: bool,
}

impl ReadOnly {
    #[cfg(unix)]
    fn apply(dir: &Path) -> Option<ReadOnly> {
        use std::os::unix::fs::PermissionsExt;
        let mut paths: Vec<PathBuf> = files_starting(dir, "parley.db");
        paths.push(dir.to_path_buf());
        let set = |mode: u32| {
            for path in &paths {
                let mode = if path.is_dir() { mode | 0o100 } else { mode };
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
        };
        set(0o400);
        if refuses_writes(dir) {
            return Some(ReadOnly {
                paths,
                immutable: false,
            });
        }
        set(0o600);
        paths.retain(|path| path.exists());
        let chattr = |flag: &str| {
            paths.iter().all(|path| {
                std::process::Command::new("chattr")
                    .arg(flag)
                    .arg(path)
                    .status()
                    .is_ok_and(|status| status.success())
            })
        };
        if chattr("+i") && refuses_writes(dir) {
            return Some(ReadOnly {
                paths,
                immutable: true,
            });
        }
        chattr("-i");
        None
    }

    #[cfg(not(unix))]
    fn apply(_dir: &Path) -> Option<ReadOnly> {
        None
    }
}

fn refuses_writes(dir: &Path) -> bool {
    let probe = dir.join("probe");
    let refused = std::fs::write(&probe, b"x").is_err();
    let _ = std::fs::remove_file(&probe);
    refused
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        #[cfg(unix)]
        for path in &self.paths {
            use std::os::unix::fs::PermissionsExt;
            if self.immutable {
                let _ = std::process::Command::new("chattr")
                    .arg("-i")
                    .arg(path)
                    .status();
            }
            let mode = if path.is_dir() { 0o700 } else { 0o600 };
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        }
    }
}

#[tokio::test]
async fn a_read_only_data_folder_is_said_as_such_and_loses_nothing_queued() {
    let sandbox = sandbox(2, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let (parley, conversation) = synced_core(dir.path(), &sandbox).await;
    let queued = parley
        .queue_message(
            &conversation,
            Some("queued before the folder locked".into()),
            &[],
        )
        .await
        .unwrap();
    close(parley).await;

    let Some(lock) = ReadOnly::apply(dir.path()) else {
        eprintln!(
            "note: neither permissions nor the immutable attribute make {} read-only here; \
             the read-only assertions were skipped",
            dir.path().display()
        );
        return;
    };
    let error = Parley::open(dir.path(), Arc::new(MemorySecretStore::default()))
        .await
        .err()
        .expect("a read-only data folder cannot hold the cache");
    let text = error.to_string();
    eprintln!("read-only: {text}");
    assert_eq!(error.code(), ErrorCode::Io, "{text}");
    assert!(text.contains("is read-only"), "{text}");
    assert!(text.contains(&dir.path().display().to_string()), "{text}");
    assert!(
        files_starting(dir.path(), "parley.db.").is_empty(),
        "a read-only folder is no reason to move the cache aside"
    );
    drop(lock);

    let parley = common::open(dir.path()).await;
    assert!(parley.recovery().is_none());
    let entry = parley.outbox_entry(queued).await.unwrap();
    assert_eq!(entry.status, OutboxState::Pending);
    assert_eq!(
        entry.text.as_deref(),
        Some("queued before the folder locked")
    );
    close(parley).await;
}

#[tokio::test]
async fn a_staged_copy_changed_on_disk_fails_its_entry_and_is_never_sent() {
    let sandbox = sandbox(2, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let (parley, conversation) = synced_core(dir.path(), &sandbox).await;
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = files.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let invoice = write("invoice.pdf", b"%PDF-1.4 the invoice for 100 EUR");
    let photo = write(
        "photo.png",
        b"\x89PNG\r\n\x1a\nthe photo the customer asked for",
    );
    let contract = write("contract.pdf", b"%PDF-1.4 the contract, untouched");
    let changed = parley
        .queue_message(&conversation, Some("the invoice".into()), &[invoice])
        .await
        .unwrap();
    let truncated = parley
        .queue_message(&conversation, Some("the photo".into()), &[photo])
        .await
        .unwrap();
    let intact = parley
        .queue_message(&conversation, Some("the contract".into()), &[contract])
        .await
        .unwrap();

    // The staged copies as the thread shows them, changed behind Parley's back.
    let staged = |outbox_id: i64, messages: &[parley_core::MessageView]| -> PathBuf {
        let message = messages
            .iter()
            .find(|message| message.outbox_id == Some(outbox_id))
            .expect("the queued message is in the thread");
        PathBuf::from(message.attachments[0].local_path.clone().unwrap())
    };
    let thread = parley.messages(&conversation, None).await.unwrap();
    std::fs::write(
        staged(changed, &thread),
        b"%PDF-1.4 the invoice for 900 EUR",
    )
    .unwrap();
    let photo_copy = staged(truncated, &thread);
    let length = std::fs::metadata(&photo_copy).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&photo_copy)
        .unwrap()
        .set_len(length / 2)
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        parley.process_outbox(None).await.unwrap();
        let mut done = true;
        for id in [changed, truncated, intact] {
            done &= parley.outbox_entry(id).await.unwrap().status.is_final();
        }
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "the outbox did not settle");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (id, name) in [(changed, "invoice.pdf"), (truncated, "photo.png")] {
        let entry = parley.outbox_entry(id).await.unwrap();
        assert_eq!(entry.status, OutboxState::Failed, "{entry:?}");
        assert_eq!(entry.last_error_code.as_deref(), Some("io"));
        let reason = entry.last_error.unwrap_or_default();
        assert!(
            reason.contains(&format!(
                "the staged copy of {name} changed on disk; attach it again"
            )),
            "{reason}"
        );
    }
    assert_eq!(
        parley.outbox_entry(intact).await.unwrap().status,
        OutboxState::Delivered
    );
    let sent: Vec<Option<String>> = sandbox
        .sent_messages()
        .into_iter()
        .map(|message| message.text)
        .collect();
    assert!(sent.contains(&Some("the contract".to_string())), "{sent:?}");
    assert!(
        !sent.contains(&Some("the invoice".to_string()))
            && !sent.contains(&Some("the photo".to_string())),
        "a changed copy went out: {sent:?}"
    );
    close(parley).await;
}

#[tokio::test]
async fn a_full_disk_fails_a_sync_naming_the_folder_and_the_cache_stays_readable() {
    let sandbox = sandbox(2, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let (parley, conversation) = synced_core(dir.path(), &sandbox).await;
    let cached_before = parley.messages(&conversation, None).await.unwrap().len();
    let target = sandbox.conversations()[0].id;
    for n in 0..20 {
        sandbox.push_incoming_message(target, &format!("{n}: {}", "new pages ".repeat(400)));
    }

    // No page to spare: SQLite refuses to grow the file (SQLITE_FULL, as on a full disk).
    let pool = parley.store().pool();
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(pool)
        .await
        .unwrap();
    sqlx::query(&format!("PRAGMA max_page_count = {pages}"))
        .execute(pool)
        .await
        .unwrap();
    let error = parley
        .sync(ACCOUNT, &mut |_| {})
        .await
        .expect_err("no room for the new messages");
    assert_says_full(&error, dir.path());
    assert_eq!(
        parley.messages(&conversation, None).await.unwrap().len(),
        cached_before,
        "the cache still reads as it was"
    );

    sqlx::query("PRAGMA max_page_count = 1073741823")
        .execute(pool)
        .await
        .unwrap();
    common::sync(&parley).await;
    assert_eq!(
        parley.messages(&conversation, None).await.unwrap().len(),
        cached_before + 20,
        "with room again the sync brings the new messages"
    );
}
