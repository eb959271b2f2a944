//! End-to-end: a cache that cannot be used is moved aside and the window says so, then syncs again.
//! A truncated `parley.db` keeps its accounts (read from what is left of the file), so the inbox
//! fills again from the server; a garbage one has no readable accounts, and the notice says to add
//! them again. Either way the old file stays beside the new one, and the notice, once dismissed,
//! does not come back.
//!
//! Run: `cargo build -p parley-app -p parley-cli && bash src-tauri/scripts/test.sh -- -p parley-tests
//! --test window_recovery`.

use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::pin::Pin;

use parley_tests::rows;
use parley_tests::window::{
    app_binary, app_environment, require_display, Driver, Window, UI_TIMEOUT,
};
use parley_tests::{sandbox_config, World};
use serde_json::json;

const ACCOUNT: &str = "recovered";
const SEED: u64 = 4_242;

#[test]
fn a_broken_cache_is_moved_aside_and_the_window_starts_over() {
    require_display();
    let world = World::start(sandbox_config(SEED, 5, 2));
    let cli = world.cli();
    world.add_account(&cli, ACCOUNT, &[]).assert_ok();
    rows::sync(&cli, ACCOUNT);
    let conversations = rows::conversations(&cli, Some(ACCOUNT)).len();
    assert!(conversations > 0);
    let database = cli.data_dir().join("parley.db");
    let home = world.root().join("home");
    let env = app_environment(cli.data_dir(), &home);

    // Truncated: the accounts are read from what is left, and the inbox fills again.
    truncate_to_half(&database);
    run_app(&world, &env, "truncated", |window| {
        Box::pin(truncated_cache_recovers(window, conversations))
    });
    assert_eq!(
        broken_copies(cli.data_dir()).len(),
        1,
        "the old file is kept beside"
    );

    // Dismissed: the next start shows no notice.
    run_app(&world, &env, "after the notice", |window| {
        Box::pin(async move {
            window.conversation_total().await;
            assert!(banner_hidden(window).await, "the notice came back");
        })
    });

    // Garbage: nothing is readable, the notice says to add the accounts again.
    std::fs::write(&database, vec![0x5a_u8; 64 * 1024]).expect("write garbage");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(cli.data_dir().join(format!("parley.db{suffix}")));
    }
    run_app(&world, &env, "garbage", |window| {
        Box::pin(async move {
            let notice = recovery_notice(window).await;
            assert!(notice.contains("add them again"), "{notice}");
            assert_eq!(window.conversation_total().await, 0);
        })
    });
    assert_eq!(
        broken_copies(cli.data_dir()).len(),
        2,
        "both old files are kept"
    );
    let accounts = rows::accounts(&cli);
    assert!(accounts.is_empty(), "a fresh cache: {accounts:?}");
}

async fn truncated_cache_recovers(window: &Window, conversations: usize) {
    let notice = recovery_notice(window).await;
    assert!(notice.contains("moved aside"), "{notice}");
    assert!(
        notice.contains("parley.db.broken-"),
        "names where the old file is: {notice}"
    );
    assert!(
        notice.contains(ACCOUNT),
        "the kept account is named: {notice}"
    );
    window
        .wait_for(
            "the inbox synced again",
            "return Number(document.getElementById('conversations').dataset.total) === arguments[0];",
            vec![json!(conversations)],
            UI_TIMEOUT * 3,
        )
        .await;
    window.settle().await;
    window.screenshot("cache-recovered").await;
    window
        .find("#recovery-dismiss")
        .await
        .click()
        .await
        .expect("dismiss");
    assert!(banner_hidden(window).await);
}

type Check<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Starts the app on the environment, runs `check` against its window, closes it; on a failure
/// saves a screenshot and prints the driver's log.
fn run_app(
    world: &World,
    env: &[(String, PathBuf)],
    what: &str,
    check: impl for<'a> FnOnce(&'a Window) -> Check<'a>,
) {
    let log = world
        .root()
        .join(format!("tauri-driver-{}.log", what.replace(' ', "-")));
    let driver = Driver::start(env, &log);
    let window = world.block_on(Window::open(&driver, &app_binary()));
    let outcome = catch_unwind(AssertUnwindSafe(|| world.block_on(check(&window))));
    if outcome.is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            world.block_on(window.screenshot("failure-recovery"))
        }));
        eprintln!(
            "--- tauri-driver / app log ({what}) ---\n{}",
            driver.log_text()
        );
    }
    world.block_on(window.close());
    drop(driver);
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
}

async fn recovery_notice(window: &Window) -> String {
    window
        .wait_for(
            "the moved-aside notice",
            "return !document.getElementById('recovery-banner').hidden;",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    window
        .js(
            "return document.getElementById('recovery-text').textContent;",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn banner_hidden(window: &Window) -> bool {
    window
        .js(
            "return document.getElementById('recovery-banner').hidden;",
            vec![],
        )
        .await
        .as_bool()
        .unwrap_or(false)
}

fn truncate_to_half(database: &Path) {
    let length = std::fs::metadata(database).expect("the cache exists").len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(database)
        .expect("open the cache");
    file.set_len(length / 2).expect("truncate");
}

fn broken_copies(data_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(data_dir)
        .expect("the data folder")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| {
                    name.starts_with("parley.db.broken-")
                        && !name.contains("-wal")
                        && !name.contains("-shm")
                })
        })
        .collect()
}
