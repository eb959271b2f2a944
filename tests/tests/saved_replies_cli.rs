//! Acceptance: `replies add / list / remove` round trip with `--json` (a reply for one account is
//! listed there and not in another, an all-accounts reply in both; a removed or unknown id is a
//! clean `not_found`), and `teammates list / label`: VoIPbin agents by name, listed from the cache
//! once the server is gone, and labels on a Pact account ("42" = "Olga") set and cleared.

use parley_tests::voipbin::{voipbin_config, VOIPBIN_ACCESS_KEY};
use parley_tests::{sandbox_config, World};
use serde::Deserialize;

/// One saved reply as `replies add --json` and `replies list --json` print it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct ReplyRow {
    id: i64,
    title: String,
    text: String,
    account: Option<String>,
}

/// One teammate as `teammates list --json` prints it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct TeammateRow {
    id: String,
    name: String,
    source: String,
}

fn titles(rows: &[ReplyRow]) -> Vec<&str> {
    rows.iter().map(|row| row.title.as_str()).collect()
}

#[test]
fn replies_add_list_and_remove_round_trip() {
    let world = World::start(sandbox_config(6_110, 2, 1));
    let cli = world.cli();
    world.add_account(&cli, "alpha", &[]).assert_ok();
    world.add_account(&cli, "beta", &[]).assert_ok();

    let text = "Hello {name},\nyour order <#42> ships today.";
    let greeting: ReplyRow = cli.json(&[
        "replies", "add", "--title", "Greeting", "--text", text, "--json",
    ]);
    assert_eq!(greeting.title, "Greeting");
    assert_eq!(greeting.text, text, "the text is kept as written");
    assert_eq!(greeting.account, None);
    let refund: ReplyRow = cli.json(&[
        "replies",
        "add",
        "--title",
        "refund",
        "--text",
        "Your refund is on its way.",
        "--account",
        "alpha",
        "--json",
    ]);
    assert_eq!(refund.account.as_deref(), Some("alpha"));
    assert_ne!(refund.id, greeting.id);

    let all: Vec<ReplyRow> = cli.json(&["replies", "list", "--json"]);
    assert_eq!(all, [greeting.clone(), refund.clone()], "by title");
    let in_alpha: Vec<ReplyRow> = cli.json(&["replies", "list", "--account", "alpha", "--json"]);
    assert_eq!(titles(&in_alpha), ["Greeting", "refund"]);
    let in_beta: Vec<ReplyRow> = cli.json(&["replies", "list", "--account", "beta", "--json"]);
    assert_eq!(
        in_beta,
        std::slice::from_ref(&greeting),
        "alpha's reply is not offered in beta"
    );

    let plain = cli.ok(&["replies", "list"]).stdout;
    assert!(
        plain.contains("Greeting") && plain.contains("all accounts"),
        "{plain}"
    );
    assert!(
        plain.contains("refund") && plain.contains("account alpha"),
        "{plain}"
    );
    assert_eq!(plain.lines().count(), 2, "one line per reply: {plain}");

    cli.ok(&["replies", "remove", &refund.id.to_string()]);
    let left: Vec<ReplyRow> = cli.json(&["replies", "list", "--json"]);
    assert_eq!(left, [greeting]);
    let again = cli.run(&["replies", "remove", &refund.id.to_string()]);
    let error = again.assert_single_error_line();
    assert!(error.contains("not_found"), "{error}");

    for bad in [
        vec!["replies", "add", "--title", " ", "--text", "x"],
        vec![
            "replies",
            "add",
            "--title",
            "t",
            "--text",
            "x",
            "--account",
            "nobody",
        ],
    ] {
        let error = cli.run(&bad).assert_single_error_line();
        assert!(error.contains("invalid_input"), "{error}");
    }
    let unchanged: Vec<ReplyRow> = cli.json(&["replies", "list", "--json"]);
    assert_eq!(unchanged.len(), 1, "refused input saved nothing");
}

#[test]
fn teammates_are_listed_by_name_from_the_cache_offline_and_labels_come_and_go() {
    let mut world = World::start(voipbin_config(6_111, 4, 1));
    let cli = world.cli();
    world
        .add_voipbin_by_key(&cli, "vb", VOIPBIN_ACCESS_KEY)
        .assert_ok();
    world.add_account(&cli, "pact", &[]).assert_ok();
    let mut agents: Vec<TeammateRow> = world
        .sandbox()
        .voipbin_agents()
        .into_iter()
        .map(|agent| TeammateRow {
            id: agent.id,
            name: agent.name,
            source: "provider".to_string(),
        })
        .collect();
    agents.sort_by_key(|agent| agent.name.to_lowercase());

    let listed: Vec<TeammateRow> = cli.json(&["teammates", "list", "vb", "--json"]);
    assert_eq!(listed, agents);
    let plain = cli.ok(&["teammates", "list", "vb"]).stdout;
    for agent in &agents {
        assert!(plain.contains(&agent.name), "{} in {plain}", agent.name);
    }

    // The server is gone: the cache answers; an explicit refresh says it failed.
    let gone = world.sandbox().voipbin_base_url();
    while world.sandbox().voipbin_base_url() == gone {
        world.restart_sandbox(voipbin_config(6_111, 4, 1));
    }
    let offline: Vec<TeammateRow> = cli.json(&["teammates", "list", "vb", "--json"]);
    assert_eq!(offline, agents);
    let error = cli
        .run(&["teammates", "list", "vb", "--refresh"])
        .assert_single_error_line();
    assert!(error.contains("offline"), "{error}");

    let none = cli.ok(&["teammates", "list", "pact"]).stdout;
    assert!(none.contains("teammates label"), "a hint: {none}");
    cli.ok(&["teammates", "label", "pact", "42", "Olga"]);
    let labelled: Vec<TeammateRow> =
        cli.json(&["teammates", "list", "pact", "--refresh", "--json"]);
    assert_eq!(
        labelled,
        [TeammateRow {
            id: "42".to_string(),
            name: "Olga".to_string(),
            source: "label".to_string(),
        }]
    );
    cli.ok(&["teammates", "label", "pact", "42", ""]);
    let cleared: Vec<TeammateRow> = cli.json(&["teammates", "list", "pact", "--json"]);
    assert!(cleared.is_empty(), "{cleared:?}");

    let error = cli
        .run(&["teammates", "label", "pact", " ", "Olga"])
        .assert_single_error_line();
    assert!(error.contains("invalid_input"), "{error}");
}
