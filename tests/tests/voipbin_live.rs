//! Acceptance: `parley-cli watch` on a VoIPbin account prints each pushed incoming message once and
//! caches it; when the WebSocket goes down, messages pushed meanwhile appear exactly once after the
//! reconnect; an expired login token is renewed without the watcher failing.

use std::time::Duration;

use parley_tests::rows;
use parley_tests::voipbin::{
    self, voipbin_config, wait_until, LiveWatch, VOIPBIN_ACCESS_KEY, VOIPBIN_PASSWORD,
    VOIPBIN_USERNAME,
};
use parley_tests::World;

const ACCOUNT: &str = "vb-live";
const WAIT: Duration = Duration::from_secs(30);

#[test]
fn watch_prints_and_caches_pushed_messages_once_across_a_cut() {
    let world = World::start(voipbin_config(4_301, 4, 4));
    let sandbox = world.sandbox();
    let cli = world.cli();
    world
        .add_voipbin_by_password(&cli, ACCOUNT, VOIPBIN_USERNAME, VOIPBIN_PASSWORD)
        .assert_ok();
    rows::sync(&cli, ACCOUNT);
    let target = sandbox.voipbin_conversations()[0].id.clone();
    let reference = format!("{ACCOUNT}/{target}");

    let mut watch = LiveWatch::start(&cli, ACCOUNT);
    assert!(
        wait_until(WAIT, || watch.count("caught_up") >= 1),
        "watch never connected:\n{}",
        watch.describe()
    );

    let first = sandbox.push_voipbin_incoming(&target, "Is my parcel 📦 on the way?");
    let second = sandbox.push_voipbin_incoming(&target, "Hello? <script>x</script>");
    assert!(
        wait_until(WAIT, || printed(&watch, &second) == 1),
        "pushed messages were not printed:\n{}",
        watch.describe()
    );
    for id in [&first, &second] {
        let (conversation, message) = watch
            .messages()
            .into_iter()
            .find(|(_, m)| m["id"] == id.as_str())
            .expect("printed");
        assert_eq!(conversation, reference);
        assert_eq!(message["direction"], "in");
    }

    // The WebSocket goes down; the login token expires too, so the reconnect needs a fresh login.
    sandbox.set_voipbin_websocket_down(true);
    sandbox.expire_voipbin_tokens();
    assert!(
        wait_until(WAIT, || watch.count("disconnected") >= 1),
        "the watcher did not notice the cut:\n{}",
        watch.describe()
    );
    let missed: Vec<String> = (1..=3)
        .map(|n| sandbox.push_voipbin_incoming(&target, &format!("sent while down #{n}")))
        .collect();
    sandbox.set_voipbin_websocket_down(false);
    assert!(
        wait_until(WAIT, || missed.iter().all(|id| printed(&watch, id) >= 1)),
        "messages sent while down were not printed after the reconnect:\n{}",
        watch.describe()
    );
    let after = sandbox.push_voipbin_incoming(&target, "and one after the reconnect");
    assert!(
        wait_until(WAIT, || printed(&watch, &after) >= 1),
        "the live connection did not resume:\n{}",
        watch.describe()
    );
    assert!(watch.running(), "watch stopped:\n{}", watch.describe());
    let all: Vec<&String> = [&first, &second, &after]
        .into_iter()
        .chain(&missed)
        .collect();
    for id in &all {
        assert_eq!(
            printed(&watch, id),
            1,
            "message {id} printed more than once:\n{}",
            watch.describe()
        );
    }
    drop(watch);

    let cached = voipbin::messages(&cli, ACCOUNT, &target);
    for id in &all {
        assert_eq!(
            cached
                .iter()
                .filter(|m| m.id.as_deref() == Some(id.as_str()))
                .count(),
            1,
            "message {id} is not cached exactly once"
        );
    }
    assert_eq!(cached.len(), sandbox.voipbin_messages(&target).len());
    let listed = voipbin::conversations(&cli, ACCOUNT);
    let row = listed.iter().find(|c| c.id == target).expect("listed");
    assert!(
        row.unread,
        "pushed customer messages leave the conversation unread"
    );
    assert_eq!(
        rows::sync(&cli, ACCOUNT).new_messages,
        0,
        "a sync after watching found messages the watcher missed"
    );
}

fn printed(watch: &LiveWatch, id: &str) -> usize {
    watch
        .messages()
        .iter()
        .filter(|(_, message)| message["id"] == id)
        .count()
}

#[test]
fn watching_at_trace_level_writes_and_prints_no_secret() {
    let world = World::start(voipbin_config(4_302, 2, 2));
    let sandbox = world.sandbox();
    let cli = world.cli().with_env("RUST_LOG", "trace");
    world
        .add_voipbin_by_key(&cli, "vb-key", VOIPBIN_ACCESS_KEY)
        .assert_ok();
    world
        .add_voipbin_by_password(&cli, "vb-login", VOIPBIN_USERNAME, VOIPBIN_PASSWORD)
        .assert_ok();
    let target = sandbox.voipbin_conversations()[0].id.clone();
    let watches = [
        LiveWatch::start(&cli, "vb-key"),
        LiveWatch::start(&cli, "vb-login"),
    ];
    for watch in &watches {
        assert!(
            wait_until(WAIT, || watch.count("caught_up") >= 1),
            "watch never connected:\n{}",
            watch.describe()
        );
    }
    let pushed = sandbox.push_voipbin_incoming(&target, "trace me");
    for watch in &watches {
        assert!(
            wait_until(WAIT, || printed(watch, &pushed) == 1),
            "not printed:\n{}",
            watch.describe()
        );
    }
    let outputs: Vec<String> = watches.iter().map(LiveWatch::describe).collect();
    drop(watches);
    assert!(
        !parley_tests::store::files_containing(world.root(), b"trace me").is_empty(),
        "the file scan finds nothing at all"
    );
    for secret in [VOIPBIN_ACCESS_KEY, VOIPBIN_PASSWORD] {
        let files = parley_tests::store::files_containing(world.root(), secret.as_bytes());
        assert!(files.is_empty(), "a secret was written to {files:?}");
        assert!(
            outputs.iter().all(|output| !output.contains(secret)),
            "a secret was printed by watch"
        );
        assert!(world.transcript().occurrences(secret.as_bytes()).is_empty());
    }
}
