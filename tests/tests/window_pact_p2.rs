//! End-to-end test of what Pact's current API (p2) adds, in the real window (tauri-driver +
//! WebKitWebDriver under Xvfb, against the sandbox with p2's limits at real time): a `pact` account's
//! conversation is archived from the header (it leaves the inbox for the Archived view) and opened
//! again, marked unreplied/replied, a customer's message is answered with a quote, and the reply is
//! deleted after a confirmation; each step reaches the sandbox and shows in the window. Then the
//! agent's loop without the mouse: `n` opens the next unread conversation, `r` and a saved reply
//! picked by typing part of its title are sent with Ctrl+Enter, Esc leaves the reply box, `a` and part
//! of a teammate's name assign them, `e` archives; the sandbox sees each effect. First of
//! all, the app's own sync and a `parley-cli sync` of the same account run at once on one data
//! folder, with more thread reads than p2 allows in a minute: together they meet no 429.
//!
//! Run: `bash src-tauri/scripts/test.sh -- -p parley-tests --test window_pact_p2`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use parley_sandbox::Sandbox;
use parley_tests::window::{
    app_binary, app_environment, require_display, Driver, Window, UI_TIMEOUT,
};
use parley_tests::{sandbox_config, World};
use serde_json::{json, Value};

const ACCOUNT: &str = "pact-window";
const REPLY_TEXT: &str = "Answering exactly this one <b>as text</b>";
/// The saved reply the keyboard loop sends (`{name}` becomes the contact's name).
const SAVED_REPLY: &str = "We are open 9 to 18, {name}.";
/// The teammate the keyboard loop assigns, named once through the CLI.
const TEAMMATE_ID: &str = "4711";
const TEAMMATE_NAME: &str = "Olga Petrova";
/// Messengers whose messages p2 can delete.
const DELETABLE: [&str; 3] = ["whatsapp", "telegram_personal", "max"];

#[test]
fn window_pact_p2_end_to_end() {
    require_display();
    // 24 threads: more reads than p2's 20 a minute, so the two syncs must share the budget.
    let mut config = sandbox_config(9_301, 24, 6);
    config.job_delay = Duration::ZERO;
    config.p2_limit_scale = Some(1.0);
    let world = World::start(config);
    let cli = world.cli();
    world.add_pact_account(&cli, ACCOUNT).assert_ok();

    let mut env = app_environment(cli.data_dir(), &world.root().join("home"));
    env.push(("PARLEY_LOCALE".to_string(), PathBuf::from("en")));
    let log = world.root().join("tauri-driver-p2.log");
    let driver = Driver::start(&env, &log);
    // The app syncs as it starts; the CLI syncs the same account meanwhile.
    let window = world.block_on(Window::open(&driver, &app_binary()));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let report: Value = cli
            .run_timeout(
                &["sync", "--account", ACCOUNT, "--json"],
                None,
                Duration::from_secs(240),
            )
            .assert_ok()
            .parse();
        assert_eq!(
            report["rate_limited"], 0,
            "the CLI's sync met 429s: {report}"
        );
        world.block_on(wait_for_status(&window, "Up to date"));
        assert_eq!(
            world.sandbox().stats().p2_rate_limited,
            0,
            "the app and the CLI together went over p2's limits"
        );
        let listed: Vec<Value> = cli.json(&["conversations", "--account", ACCOUNT, "--json"]);
        let open: Vec<&Value> = listed.iter().filter(|c| c["state"] == "open").collect();
        let (index, chosen) = open
            .iter()
            .enumerate()
            .find(|(_, c)| DELETABLE.iter().any(|channel| c["channel"] == *channel))
            .expect("an open conversation on a messenger that allows deleting");
        let id: i64 = chosen["id"].as_str().unwrap().parse().unwrap();
        let title = chosen["title"].as_str().unwrap_or("(no name)").to_string();
        world.block_on(async {
            open_conversation(&window, index, &title).await;
            archive_and_reopen(&window, world.sandbox(), id, &title, open.len()).await;
            replied_state_reaches_the_sandbox(&window, world.sandbox(), id).await;
            reply_with_a_quote_then_delete_it(&window, world.sandbox(), id).await;
        });
        let (other_index, other) = open
            .iter()
            .enumerate()
            .find(|(_, c)| c["id"] != chosen["id"])
            .expect("a second open conversation");
        let other_id: i64 = other["id"].as_str().unwrap().parse().unwrap();
        let other_title = other["title"].as_str().unwrap_or("(no name)").to_string();
        assert!(other_index < open.len());
        cli.run(&[
            "replies",
            "add",
            "--title",
            "Opening hours",
            "--text",
            SAVED_REPLY,
        ])
        .assert_ok();
        cli.run(&["teammates", "label", ACCOUNT, TEAMMATE_ID, TEAMMATE_NAME])
            .assert_ok();
        world.block_on(keyboard_loop(
            &window,
            world.sandbox(),
            other_id,
            &other_title,
        ))
    }));
    if outcome.is_err() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            world.block_on(window.screenshot("failure-pact-p2"))
        }));
        eprintln!(
            "--- tauri-driver / app log ---\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    world.block_on(window.close());
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn open_conversation(window: &Window, index: usize, title: &str) {
    window.click_conversation(index).await;
    window
        .wait(
            "the chosen thread",
            "return document.getElementById('thread-title').textContent === arguments[0] \
         && document.querySelectorAll('#messages li.message').length > 0 \
         && !document.getElementById('thread-actions').hidden;",
            vec![json!(title)],
        )
        .await;
}

async fn click(window: &Window, css: &str) {
    window
        .js(
            "document.querySelector(arguments[0]).click();",
            vec![json!(css)],
        )
        .await;
}

/// Polls the sandbox until `check` holds for conversation `id`.
async fn wait_sandbox(
    sandbox: &Sandbox,
    id: i64,
    what: &str,
    check: impl Fn(&parley_sandbox::SnapshotConversation) -> bool,
) {
    parley_tests::wait_for_conversation(sandbox, id, what, UI_TIMEOUT, check).await;
}

/// Waits (long: the app's first sync shares p2's budget with the CLI) until the status line starts
/// with `prefix`.
async fn wait_for_status(window: &Window, prefix: &str) {
    window
        .wait_for(
            &format!("the status to read {prefix:?}"),
            "return document.getElementById('status').textContent.startsWith(arguments[0]);",
            vec![json!(prefix)],
            Duration::from_secs(240),
        )
        .await;
}

/// Archive from the header: the server has it archived, the inbox loses the row, the Archived view
/// lists it; Unarchive there brings it back.
async fn archive_and_reopen(window: &Window, sandbox: &Sandbox, id: i64, title: &str, open: usize) {
    window.wait( "Archive offered", "return document.getElementById('archive-toggle').textContent === 'Archive' && !document.getElementById('archive-toggle').disabled;", vec![]).await;
    click(window, "#archive-toggle").await;
    wait_sandbox(sandbox, id, "the archived state", |c| {
        c.operational_state == "archived"
    })
    .await;
    window.wait(
        "the inbox without the archived conversation",
        "return Number(document.getElementById('conversations').dataset.total) === arguments[0];",
        vec![json!(open - 1)],
    )
    .await;
    click(window, "#filters [data-filter='archived']").await;
    window
        .wait(
            "the Archived view listing it",
            "return [...document.querySelectorAll('#conversations li.conversation')]\
           .some(row => row.textContent.includes(arguments[0]));",
            vec![json!(title)],
        )
        .await;
    window.settle().await;
    window.screenshot("pact-archived").await;
    window
        .wait(
            "Unarchive offered",
            "return document.getElementById('archive-toggle').textContent === 'Unarchive';",
            vec![],
        )
        .await;
    click(window, "#archive-toggle").await;
    wait_sandbox(sandbox, id, "the open state", |c| {
        c.operational_state == "open"
    })
    .await;
    click(window, "#filters [data-filter='all']").await;
    window.wait(
        "the inbox with it again",
        "return Number(document.getElementById('conversations').dataset.total) === arguments[0];",
        vec![json!(open)],
    )
    .await;
}

async fn replied_state_reaches_the_sandbox(window: &Window, sandbox: &Sandbox, id: i64) {
    let before = sandbox
        .conversations()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap()
        .replied_state;
    let expected = if before == "replied" {
        "unreplied"
    } else {
        "replied"
    };
    click(window, "#replied-toggle").await;
    wait_sandbox(sandbox, id, "the replied state", |c| {
        c.replied_state == expected
    })
    .await;
}

/// Reply on the customer's newest message: the quote shows above the composer, the sandbox gets a
/// reply to that message's messenger id; Delete on our reply asks first, then the sandbox has it
/// deleted and the thread marks it.
async fn reply_with_a_quote_then_delete_it(window: &Window, sandbox: &Sandbox, id: i64) {
    let quoted = sandbox
        .messages(id)
        .into_iter()
        .rev()
        .find(|m| m.income && m.external_id.is_some())
        .expect("a customer message with a messenger id");
    window
        .js(
            "const item = [...document.querySelectorAll('#messages li.message--in')]\
               .find(li => li.textContent.includes(arguments[0]));\
             [...item.querySelectorAll('.message__action')].find(b => b.textContent === 'Reply').click();",
            vec![json!(quoted.text.clone().unwrap_or_default().chars().take(20).collect::<String>())],
        )
        .await;
    window
        .wait(
            "the quote above the composer",
            "return !document.getElementById('composer-quote').hidden;",
            vec![],
        )
        .await;
    let composer = window.find("#composer-text").await;
    composer
        .send_keys(REPLY_TEXT)
        .await
        .expect("type the reply");
    click(window, "#composer-send").await;
    let deadline = Instant::now() + UI_TIMEOUT;
    let reply = loop {
        if let Some(reply) = sandbox
            .messages(id)
            .into_iter()
            .find(|m| m.text.as_deref() == Some(REPLY_TEXT))
        {
            break reply;
        }
        assert!(
            Instant::now() < deadline,
            "the reply never reached the sandbox"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        reply.replied_to_id, quoted.external_id,
        "the reply quotes the chosen message"
    );
    let ours = "[...document.querySelectorAll('#messages li.message--out')]\
                  .find(li => li.textContent.includes(arguments[0]))";
    window.wait(
        "our reply in the thread with a Delete action",
        &format!("const li = {ours}; return !!li && [...li.querySelectorAll('.message__action')].some(b => b.textContent === 'Delete');"),
        vec![json!(REPLY_TEXT)],
    )
    .await;
    window
        .js(
            &format!("[...{ours}.querySelectorAll('.message__action')].find(b => b.textContent === 'Delete').click();"),
            vec![json!(REPLY_TEXT)],
        )
        .await;
    window
        .wait(
            "the delete confirmation",
            "return document.getElementById('delete-message').open;",
            vec![],
        )
        .await;
    click(window, "#delete-message-confirm").await;
    let deadline = Instant::now() + UI_TIMEOUT;
    while !sandbox
        .messages(id)
        .iter()
        .any(|m| m.id == reply.id && m.deleted)
    {
        assert!(
            Instant::now() < deadline,
            "the sandbox never had the reply deleted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    window
        .wait(
            "the thread marking the reply deleted",
            &format!("const li = {ours}; return !!li && !!li.querySelector('.message__deleted');"),
            vec![json!(REPLY_TEXT)],
        )
        .await;
    window.settle().await;
    window.screenshot("pact-reply-deleted").await;
}

async fn focused_id(window: &Window) -> Value {
    window
        .js("return document.activeElement?.id ?? null;", vec![])
        .await
}

/// The agent's loop from the keyboard alone, each effect checked on the sandbox.
async fn keyboard_loop(window: &Window, sandbox: &Sandbox, id: i64, title: &str) {
    // A customer writes; Sync now brings it in (set-up, not part of the loop).
    assert_ne!(
        sandbox.push_incoming_message(id, "Are you open on Saturday?"),
        0
    );
    click(window, "#sync-now").await;
    window
        .wait_for(
            "the conversation unread after the sync",
            "return document.querySelector(`#conversations li.conversation--unread[data-id=\"${arguments[0]}\"]`) !== null;",
            vec![json!(format!("{ACCOUNT}/{id}"))],
            Duration::from_secs(180),
        )
        .await;
    window
        .js("document.getElementById('messages').focus();", vec![])
        .await;

    window.press(&[], "n").await;
    window
        .wait(
            "n to open the next unread conversation",
            "return document.getElementById('thread-title').textContent === arguments[0] \
           && !document.getElementById('composer-text').disabled;",
            vec![json!(title)],
        )
        .await;

    window.press(&[], "r").await;
    assert_eq!(
        focused_id(window).await,
        json!("composer-text"),
        "r focuses the reply box"
    );
    window.press(&[], "/opening").await;
    window.wait(
        "the saved reply offered",
        "return !document.getElementById('reply-picker').hidden \
           && document.querySelector('#reply-picker [role=option]')?.textContent.includes('Opening hours');",
        vec![],
    )
    .await;
    window.press(&[Key::Enter], "").await;
    window.wait(
        "the saved reply inserted",
        "return document.getElementById('composer-text').value.startsWith('We are open 9 to 18, ');",
        vec![],
    )
    .await;
    window.press(&[Key::Control, Key::Enter], "").await;
    let deadline = Instant::now() + UI_TIMEOUT;
    while !sandbox.messages(id).iter().any(|m| {
        !m.income
            && m.text
                .as_deref()
                .is_some_and(|t| t.starts_with("We are open 9 to 18, "))
    }) {
        assert!(
            Instant::now() < deadline,
            "the saved reply did not reach the sandbox"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    window.press(&[Key::Escape], "").await;
    assert_eq!(
        focused_id(window).await,
        json!("messages"),
        "Esc leaves the reply box"
    );
    window.press(&[], "a").await;
    assert_eq!(
        focused_id(window).await,
        json!("assign-input"),
        "a opens the assign list"
    );
    window.press(&[], "olg").await;
    window.wait(
        "the teammate found by part of the name",
        "return document.querySelector('#assign-options [aria-selected=true]')?.dataset.userId === arguments[0];",
        vec![json!(TEAMMATE_ID)],
    )
    .await;
    window.press(&[Key::Enter], "").await;
    wait_sandbox(sandbox, id, "the keyboard's assignment", |c| {
        c.assignee_id.map(|a| a.to_string()).as_deref() == Some(TEAMMATE_ID)
    })
    .await;
    window
        .wait(
            "the header naming the teammate",
            "return document.getElementById('assign-current').textContent === arguments[0];",
            vec![json!(TEAMMATE_NAME)],
        )
        .await;

    window
        .js("document.getElementById('messages').focus();", vec![])
        .await;
    window.press(&[], "e").await;
    wait_sandbox(sandbox, id, "the keyboard's archive", |c| {
        c.operational_state == "archived"
    })
    .await;
    window.screenshot("pact-keyboard-loop").await;
}
