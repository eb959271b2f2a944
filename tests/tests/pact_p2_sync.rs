//! Acceptance, Pact's current API: `account add --provider pact` and `sync` against the sandbox
//! with p2's documented rate limits enforced at REAL time cache every conversation and message of
//! two companies exactly as the server has them, with zero 429s; a second sync adds nothing;
//! messages written during a running sync appear exactly once; two `parley-cli sync` processes on
//! one data folder (as the app and the CLI share it) stay inside the limits together.

use std::time::Duration;

use parley_tests::compare::{message_differences, read_all_messages};
use parley_tests::rows;
use parley_tests::{sandbox_config, World};
use serde_json::Value;

const ACCOUNT: &str = "pact-now";

/// A world whose p2 limits run at real time (the sandbox default), small enough that the sync
/// fits in the documented budgets without long waits: 16 threads, 20 message reads a minute.
fn real_time_world(seed: u64, conversations: usize) -> World {
    let mut config = sandbox_config(seed, conversations, 12);
    config.p2_limit_scale = Some(1.0);
    config.job_delay = Duration::ZERO;
    World::start(config)
}

fn add_pact_account(world: &World, cli: &parley_tests::cli::Cli) {
    world.add_pact_account(cli, ACCOUNT).assert_ok();
}

fn sync_json(cli: &parley_tests::cli::Cli) -> Value {
    cli.json(&["sync", "--account", ACCOUNT, "--json"])
}

#[test]
fn a_pact_account_syncs_exactly_inside_the_real_limits() {
    let world = real_time_world(9_201, 16);
    let sandbox = world.sandbox();
    let cli = world.cli();
    add_pact_account(&world, &cli);

    let report = sync_json(&cli);
    assert_eq!(report["rate_limited"], 0, "the sync met 429s: {report}");
    assert_eq!(
        sandbox.stats().p2_rate_limited,
        0,
        "the sandbox refused requests"
    );

    let shown = rows::conversations(&cli, Some(ACCOUNT));
    assert_eq!(shown.len(), sandbox.conversations().len());
    let listed: Vec<Value> = cli.json(&["conversations", "--account", ACCOUNT, "--json"]);
    for conversation in sandbox.conversations() {
        let row = listed
            .iter()
            .find(|row| {
                row["id"].as_str().and_then(|id| id.parse::<i64>().ok()) == Some(conversation.id)
            })
            .unwrap_or_else(|| panic!("conversation {} missing", conversation.id));
        assert_eq!(row["state"], conversation.operational_state.as_str());
        let replied = match conversation.replied_state.as_str() {
            "replied" => Value::Bool(true),
            "unreplied" => Value::Bool(false),
            _ => Value::Null,
        };
        assert_eq!(row["replied"], replied, "conversation {}", conversation.id);
    }
    let ids: Vec<i64> = shown.iter().map(|row| row.id).collect();
    let all = read_all_messages(&cli, ACCOUNT, &ids);
    let differences: Vec<String> = all
        .iter()
        .flat_map(|(id, messages)| message_differences(sandbox, *id, messages))
        .collect();
    assert!(differences.is_empty(), "{}", differences.join("\n"));

    let second = sync_json(&cli);
    assert_eq!(second["new_messages"], 0, "{second}");
    assert_eq!(second["rate_limited"], 0, "{second}");
    assert_eq!(sandbox.stats().p2_rate_limited, 0);
}

#[test]
fn messages_written_during_a_sync_are_cached_once() {
    written_during_sync(1);
}

/// Two syncs of one account in two processes at once (the app and the CLI share the data folder):
/// one request budget between them, and neither fails on the other's writes.
#[test]
fn two_processes_syncing_at_once_stay_inside_the_limits_together() {
    written_during_sync(2);
}

fn written_during_sync(processes: usize) {
    let world = real_time_world(9_202, 14);
    let sandbox = world.sandbox();
    let cli = world.cli();
    add_pact_account(&world, &cli);

    // With two processes on one data folder at once, as the app and the CLI run.
    let runs: Vec<_> = (0..processes)
        .map(|_| cli.spawn(&["sync", "--account", ACCOUNT, "--json"]))
        .collect();
    let mut written = Vec::new();
    for (round, conversation) in sandbox.conversations().iter().take(4).enumerate() {
        std::thread::sleep(Duration::from_millis(400));
        let text = format!("written while syncing, round {round}");
        written.push((
            conversation.id,
            sandbox.push_incoming_message(conversation.id, &text),
            text,
        ));
    }
    for run in runs {
        run.wait(Duration::from_secs(240)).assert_ok();
    }
    // What arrived after the last listing of both runs comes with the next sync.
    sync_json(&cli);
    assert_eq!(
        sandbox.stats().p2_rate_limited,
        0,
        "two processes together went over p2's limits"
    );
    for (conversation, id, text) in written {
        let messages = rows::messages(&cli, ACCOUNT, conversation);
        let copies = messages
            .iter()
            .filter(|message| message.id == Some(id))
            .count();
        assert_eq!(copies, 1, "\"{text}\" shown {copies} times");
        assert!(message_differences(sandbox, conversation, &messages).is_empty());
    }
}
