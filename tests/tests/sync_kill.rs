//! Acceptance: a first sync killed with SIGKILL at random moments, then run again to the end, leaves
//! the same rows as an uninterrupted sync, and the SQLite files pass `PRAGMA integrity_check`.

use std::time::Duration;

use rand::{Rng, SeedableRng};

use parley_tests::compare::{message_differences, CacheView};
use parley_tests::store::assert_databases_intact;
use parley_tests::{rows, sandbox_config, World};

const KILLS: usize = 10;

#[test]
fn sync_survives_sigkill() {
    let mut config = sandbox_config(2_010, 60, 40);
    // Enough latency that a sync spends its time in many small steps, not in process start-up.
    config.latency = Duration::from_millis(8);
    let world = World::start(config);

    let clean_cli = world.cli_in("clean");
    world.add_account(&clean_cli, "kill-clean", &[]).assert_ok();
    let clean_sync = clean_cli.ok(&["sync", "--account", "kill-clean"]);
    let clean_duration = clean_sync.elapsed;
    let clean = CacheView::read(&clean_cli, "kill-clean");
    assert_eq!(
        clean.conversations.len(),
        60,
        "the clean sync itself is incomplete"
    );
    let wrong: Vec<String> = clean
        .messages
        .iter()
        .flat_map(|(id, shown)| message_differences(world.sandbox(), *id, shown))
        .collect();
    assert!(
        wrong.is_empty(),
        "the clean sync differs from the sandbox:\n{}",
        wrong.join("\n")
    );
    assert_databases_intact(world.runtime(), clean_cli.data_dir());

    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5157_4b11);
    let mut kill_report = Vec::new();
    for round in 0..KILLS {
        let account = format!("kill-{round}");
        let cli = world.cli_in(&account);
        world.add_account(&cli, &account, &[]).assert_ok();

        let delay = clean_duration.mul_f64(rng.gen_range(0.05..0.95));
        let child = cli.spawn(&["sync", "--account", &account]);
        std::thread::sleep(delay);
        let killed = child.kill();
        kill_report.push(format!(
            "round {round}: killed after {delay:.2?} (exit {:?})",
            killed.code
        ));

        rows::sync(&cli, &account);
        let resumed = CacheView::read(&cli, &account);
        let differences = clean.differences(&resumed);
        assert!(
            differences.is_empty(),
            "round {round}: after a SIGKILL at {delay:.2?} of a {clean_duration:.2?} sync and a rerun, \
             the cache differs from a clean sync:\n{}\n(kills so far: {kill_report:?})",
            differences.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
        );
        assert_databases_intact(world.runtime(), cli.data_dir());
    }
    eprintln!("clean sync took {clean_duration:.2?}; {kill_report:#?}");
    let completed_before_kill = kill_report.iter().filter(|r| r.contains("Some(0)")).count();
    assert!(
        completed_before_kill < KILLS / 2,
        "most syncs finished before the kill, so the test proved little: {kill_report:?}"
    );
}
