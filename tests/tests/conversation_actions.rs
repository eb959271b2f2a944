//! Acceptance: assign, note and the Bitrix openlines toggle reach the server and show in
//! `conversations --json`; search finds a rare word, newest first, pointing at the right message.

use std::time::Duration;

use parley_tests::rows::{self, conversation_id, rfc3339, ConversationRow, SearchHit};
use parley_tests::{sandbox_config, World};

fn row(cli: &parley_tests::Cli, account: &str, id: i64) -> ConversationRow {
    rows::conversations(cli, Some(account))
        .into_iter()
        .find(|row| row.id == id)
        .unwrap_or_else(|| panic!("conversation {id} is not listed"))
}

#[test]
fn assign_note_and_bitrix_reach_the_server() {
    let world = World::start(sandbox_config(7_070, 6, 4));
    let sandbox = world.sandbox();
    let cli = world.cli();
    world.add_account(&cli, "actions", &[]).assert_ok();
    rows::sync(&cli, "actions");

    let conversation = sandbox.conversations()[1].clone();
    let id = conversation.id;
    let reference = format!("actions/{id}");
    let note = "VIP: звонить после 18:00 <b>не</b> раньше 🙂 & \"no\" 'spam'";

    cli.ok(&["assign", &reference, "4242"]);
    cli.ok(&["note", &reference, note]);
    let switched_on = if conversation.bitrix_block_openlines {
        "off"
    } else {
        "on"
    };
    cli.ok(&["bitrix-openlines", &reference, switched_on]);

    let on_server = sandbox
        .conversations()
        .into_iter()
        .find(|c| c.id == id)
        .expect("the conversation still exists");
    assert_eq!(
        on_server.assignee_id,
        Some(4242),
        "assign did not reach the server"
    );
    assert_eq!(
        on_server.note.as_deref(),
        Some(note),
        "note did not reach the server byte for byte"
    );
    assert_eq!(
        on_server.bitrix_block_openlines,
        switched_on == "on",
        "bitrix-openlines {switched_on} did not reach the server"
    );

    let shown = row(&cli, "actions", id);
    assert_eq!(
        shown.assignee_id,
        Some(4242),
        "conversations --json after assign: {shown:?}"
    );
    assert_eq!(
        shown.note.as_deref(),
        Some(note),
        "conversations --json after note: {shown:?}"
    );
    assert_eq!(
        shown.bitrix_openlines,
        Some(switched_on == "on"),
        "conversations --json after bitrix-openlines {switched_on}: {shown:?}"
    );

    let switched_back = if switched_on == "on" { "off" } else { "on" };
    cli.ok(&["bitrix-openlines", &reference, switched_back]);
    let on_server = sandbox
        .conversations()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap();
    assert_eq!(
        on_server.bitrix_block_openlines,
        switched_back == "on",
        "toggling back"
    );
    assert_eq!(
        row(&cli, "actions", id).bitrix_openlines,
        Some(switched_back == "on")
    );

    rows::sync(&cli, "actions");
    let after_sync = row(&cli, "actions", id);
    assert_eq!(
        after_sync.assignee_id,
        Some(4242),
        "a sync lost the assignee: {after_sync:?}"
    );
    assert_eq!(
        after_sync.note.as_deref(),
        Some(note),
        "a sync lost the note: {after_sync:?}"
    );

    let bad = cli.run(&["bitrix-openlines", &reference, "maybe"]);
    assert!(
        !bad.success(),
        "bitrix-openlines accepted `maybe`:\n{}",
        bad.describe()
    );
    let missing = cli.run(&["note", "actions/999999999", "x"]);
    let line = missing.assert_clean_failure();
    assert!(!line.contains("panicked"), "{line}");
}

fn search(cli: &parley_tests::Cli, query: &str) -> Vec<SearchHit> {
    cli.json(&["search", query, "--json"])
}

/// Pushes `texts` one second apart (the wire may carry whole seconds) and syncs.
fn push_spaced(
    world: &World,
    cli: &parley_tests::Cli,
    account: &str,
    pushes: &[(i64, &str)],
) -> Vec<i64> {
    let mut ids = Vec::new();
    for (index, (conversation, text)) in pushes.iter().enumerate() {
        if index > 0 {
            std::thread::sleep(Duration::from_millis(1_100));
        }
        ids.push(world.sandbox().push_incoming_message(*conversation, text));
    }
    rows::sync(cli, account);
    ids
}

fn assert_hits(
    hits: &[SearchHit],
    account: &str,
    expected_newest_first: &[(i64, i64)],
    word: &str,
) {
    let shown: Vec<(i64, i64)> = hits
        .iter()
        .map(|hit| {
            let conversation = conversation_id(&hit.conversation)
                .unwrap_or_else(|| panic!("search hit names no conversation: {hit:?}"));
            (conversation, hit.message_id.unwrap_or(-1))
        })
        .collect();
    assert_eq!(
        shown, expected_newest_first,
        "search {word:?}: want (conversation, message) newest first {expected_newest_first:?}, got {hits:#?}"
    );
    for hit in hits {
        assert_eq!(hit.account, account);
        assert!(
            hit.snippet.to_lowercase().contains(word),
            "snippet lacks {word:?}: {hit:?}"
        );
        rfc3339(hit.created_at.as_deref().unwrap_or(""), "search created_at");
    }
}

#[test]
fn search_finds_rare_word_newest_first() {
    let world = World::start(sandbox_config(8_080, 10, 10));
    let cli = world.cli();
    world.add_account(&cli, "finder-latin", &[]).assert_ok();
    rows::sync(&cli, "finder-latin");
    let conversations: Vec<i64> = world
        .sandbox()
        .conversations()
        .iter()
        .map(|c| c.id)
        .collect();
    let (a, b) = (conversations[2], conversations[7]);

    let pushes = [
        (a, "first mention of quixoticzebra in an old message"),
        (b, "Please check the QuixoticZebra invoice"),
        (a, "latest: quixoticzebra shipped, трек-номер внутри"),
    ];
    let ids = push_spaced(&world, &cli, "finder-latin", &pushes);
    let hits = search(&cli, "quixoticzebra");
    assert_hits(
        &hits,
        "finder-latin",
        &[(a, ids[2]), (b, ids[1]), (a, ids[0])],
        "quixoticzebra",
    );
    assert!(
        search(&cli, "quixoticzebrafish").is_empty(),
        "a longer word matched"
    );
}

#[test]
fn search_finds_cyrillic_word() {
    let world = World::start(sandbox_config(8_081, 6, 5));
    let cli = world.cli();
    world.add_account(&cli, "finder-cyrillic", &[]).assert_ok();
    rows::sync(&cli, "finder-cyrillic");
    let conversation = world.sandbox().conversations()[3].id;
    let ids = push_spaced(
        &world,
        &cli,
        "finder-cyrillic",
        &[(
            conversation,
            "Здравствуйте! Где мой заказ-невидимка? Жду экспедитора Брюквина.",
        )],
    );
    let hits = search(&cli, "брюквина");
    assert_hits(
        &hits,
        "finder-cyrillic",
        &[(conversation, ids[0])],
        "брюквина",
    );
}
