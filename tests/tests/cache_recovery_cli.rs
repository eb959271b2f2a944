//! Acceptance: a `parley.db` that is garbage or truncated does not stop `parley-cli`: the run that
//! finds it says once, on stderr as a `warning:` line, that the cache was moved aside and where to,
//! keeps the old file beside the fresh one, and goes on; `sync` fills the fresh cache again (the
//! account kept where the old file still shows it, added again where it does not).

use std::path::{Path, PathBuf};

use parley_tests::rows::{self, accounts};
use parley_tests::{sandbox_config, Outcome, World};

const ACCOUNT: &str = "work";

/// The `warning:` lines of a run's stderr.
fn warnings(outcome: &Outcome) -> Vec<String> {
    outcome
        .stderr
        .lines()
        .filter(|line| line.starts_with("warning:"))
        .map(str::to_string)
        .collect()
}

/// The moved-aside caches in the data folder.
fn moved_aside(data_dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(data_dir)
        .expect("the data folder")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("parley.db.broken-"))
        })
        .filter(|path| !path.to_string_lossy().ends_with("-wal"))
        .filter(|path| !path.to_string_lossy().ends_with("-shm"))
        .collect();
    found.sort();
    found
}

/// Asserts the run said once what happened and where the old file is; returns that file.
fn assert_one_warning_naming_the_old_file(outcome: &Outcome, data_dir: &Path) -> PathBuf {
    outcome.assert_ok();
    let warnings = warnings(outcome);
    assert_eq!(warnings.len(), 1, "{}", outcome.describe());
    let moved = moved_aside(data_dir);
    assert_eq!(
        moved.len(),
        1,
        "one old file beside the fresh one: {moved:?}"
    );
    let line = &warnings[0];
    assert!(line.contains("moved aside"), "{line}");
    assert!(line.contains(&moved[0].display().to_string()), "{line}");
    assert!(
        data_dir.join("parley.db").is_file(),
        "a fresh parley.db took its place"
    );
    moved[0].clone()
}

#[test]
fn a_garbage_cache_is_moved_aside_with_a_warning_and_syncs_again() {
    let world = World::start(sandbox_config(7_301, 6, 4));
    let cli = world.cli();
    world.add_account(&cli, ACCOUNT, &[]).assert_ok();
    rows::sync(&cli, ACCOUNT);
    let garbage = b"this is not a database, just bytes a disk tool left behind\n".repeat(400);
    std::fs::write(cli.data_dir().join("parley.db"), &garbage).expect("write garbage");

    let outcome = cli.run(&["account", "list", "--json"]);
    let old = assert_one_warning_naming_the_old_file(&outcome, cli.data_dir());
    assert!(
        warnings(&outcome)[0].contains("add them again"),
        "{}",
        outcome.describe()
    );
    assert_eq!(
        std::fs::read(&old).expect("the old file"),
        garbage,
        "the old file is kept as it was"
    );
    assert!(
        outcome.parse::<Vec<serde_json::Value>>().is_empty(),
        "the garbage held no account the fresh cache could know"
    );

    // Said once: the next run is quiet.
    let again = cli.ok(&["account", "list", "--json"]);
    assert!(warnings(&again).is_empty(), "{}", again.describe());

    world.add_account(&cli, ACCOUNT, &[]).assert_ok();
    rows::sync(&cli, ACCOUNT);
    assert_eq!(
        rows::conversations(&cli, Some(ACCOUNT)).len(),
        world.sandbox().conversations().len(),
        "the fresh cache holds every conversation again"
    );
    assert_eq!(moved_aside(cli.data_dir()), vec![old]);
}

#[test]
fn a_truncated_cache_is_moved_aside_keeping_the_account_and_syncs_again() {
    let world = World::start(sandbox_config(7_302, 24, 30));
    let cli = world.cli();
    world.add_account(&cli, ACCOUNT, &[]).assert_ok();
    rows::sync(&cli, ACCOUNT);
    let before = rows::conversations(&cli, Some(ACCOUNT)).len();
    assert_eq!(before, world.sandbox().conversations().len());
    let db = cli.data_dir().join("parley.db");
    let full = std::fs::metadata(&db).expect("the cache").len();
    let cut = full / 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .and_then(|file| file.set_len(cut))
        .expect("truncate the cache");

    // The account is still known (its token is in the keyring), so sync works at once.
    let outcome = cli.run(&["sync", "--account", ACCOUNT, "--json"]);
    let old = assert_one_warning_naming_the_old_file(&outcome, cli.data_dir());
    let line = &warnings(&outcome)[0];
    assert!(line.contains("your accounts were kept (work)"), "{line}");
    assert_eq!(std::fs::metadata(&old).expect("the old file").len(), cut);
    let listed = accounts(&cli);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].name, ACCOUNT);
    assert_eq!(rows::conversations(&cli, Some(ACCOUNT)).len(), before);
}
