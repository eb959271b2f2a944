//! Issue 17, "No technical text", for the notices (tauri-driver + WebKitWebDriver under Xvfb): one
//! window session on a Pact account (p2) and a VoIPbin account served by one sandbox walks every notice
//! the tests can reach, waits until each is on screen, and reads the app's own visible text there
//! (`parley_tests::plain_text`: text, placeholders, titles, labels, options; customer content left
//! out), in the light and in the dark theme:
//!
//! - **recovery**: the cache was cut in half before the start; the moved-aside notice shows and the
//!   inbox fills again from the server;
//! - **failed send**: the messenger refuses a reply (the sandbox's failed-deliveries switch); the
//!   thread shows it failed, with the reason;
//! - **VoIPbin without conversation setup**: the sandbox has no `/conversations/setup` (as today's
//!   VoIPbin); the New conversation dialog says where conversations start instead;
//! - **a template**: a WhatsApp Business start shows the template's text and one field per
//!   substitution ("Field 1"), never `{{1}}`;
//! - **an unsupported action**: a file pasted into a VoIPbin conversation, which takes text only;
//! - **offline**: the sandbox stops while the window runs; Sync now, and a reply written meanwhile.
//!
//! Nothing read may match `plain_text::TECHNICAL`, hold `{{`, or hold the id of a VoIPbin agent (a
//! teammate the app knows by name: a conversation assigned to one is named in the list, before any
//! conversation of the account was opened, and in the header); every hit is listed by screen. A canary planted in the page first
//! shows the scan reports such text. Each notice is saved as `notice-<notice>-<theme>.png`.
//!
//! Run: `cargo build -p parley-app -p parley-cli && bash src-tauri/scripts/test.sh -- -p parley-tests
//! --test window_plain_text`.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::key::Key;
use parley_sandbox::Sandbox;
use parley_tests::daily::Clipboard;
use parley_tests::plain_text::{technical_text, HIT};
use parley_tests::voipbin::{self, voipbin_config, VOIPBIN_ACCESS_KEY};
use parley_tests::window::{
    app_binary, app_environment, require_display, Driver, Window, UI_TIMEOUT,
};
use parley_tests::{rows, Cli, World, SANDBOX_TOKEN};
use serde_json::{json, Value};

const PACT: &str = "shop";
const VOIPBIN: &str = "vb";
const SEED: u64 = 1_717;
const THEMES: [&str; 2] = ["light", "dark"];
/// How long a send may take to be reported failed, and a sync to be reported offline.
const SERVER_TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn every_notice_speaks_plainly_in_light_and_dark() {
    require_display();
    // The world's own sandbox is not used: this one is stopped while the window runs.
    let world = World::start(voipbin_config(SEED, 1, 1));
    let mut config = voipbin_config(SEED, 5, 3);
    config.conversations = 6;
    config.messages_per_conversation = 4;
    config.p2_limit_scale = None;
    config.p2_status_read_after = Duration::from_secs(600);
    let sandbox = world
        .block_on(Sandbox::start(config))
        .expect("the sandbox starts");
    let agents = sandbox.voipbin_agents();
    // A VoIPbin conversation (in the current shape, which carries its owner) assigned to a
    // teammate: the window names them, never shows their id.
    let assigned = sandbox
        .voipbin_conversations()
        .into_iter()
        .find(|conversation| !conversation.legacy)
        .expect("a VoIPbin conversation in the current shape")
        .id;
    let teammate = agents
        .iter()
        .find(|agent| !agent.current)
        .expect("an agent besides the login user")
        .clone();
    let cli = world.cli();
    add_accounts(&cli, &sandbox);
    rows::sync(&cli, PACT);
    rows::sync(&cli, VOIPBIN);
    cli.ok(&["assign", &format!("{VOIPBIN}/{assigned}"), &teammate.id]);
    // The inbox's "All" leaves archived conversations out.
    let open_pact: Vec<Value> = cli
        .json::<Vec<Value>>(&["conversations", "--account", PACT, "--json"])
        .into_iter()
        .filter(|row| row["state"] != "archived")
        .collect();
    let pact = open_pact
        .iter()
        .find(|row| {
            row["title"]
                .as_str()
                .is_some_and(|title| !title.contains(['<', '{']))
        })
        .expect("an open Pact conversation with a plain name");
    let total = open_pact.len() + voipbin::conversations(&cli, VOIPBIN).len();
    // A cache cut in half: the recovery notice at the start.
    let database = cli.data_dir().join("parley.db");
    let length = std::fs::metadata(&database).expect("the cache").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&database)
        .and_then(|file| file.set_len(length / 2))
        .expect("truncate the cache");

    let mut env = app_environment(cli.data_dir(), &world.root().join("home"));
    env.push(("PARLEY_LOCALE".to_string(), PathBuf::from("en")));
    let log = world.root().join("tauri-driver-plain-text.log");
    let driver = Driver::start(&env, &log);
    let window = world.block_on(Window::open(&driver, &app_binary()));
    // A teammate the app knows by name is never shown by id.
    let literals: Vec<String> = std::iter::once("{{".to_string())
        .chain(agents.iter().map(|agent| agent.id.clone()))
        .collect();
    let targets = Targets {
        pact: format!("{PACT}/{}", pact["id"].as_str().expect("an id")),
        voipbin: format!("{VOIPBIN}/{assigned}"),
        owner: teammate.name,
        total,
        file: write_file(world.root()),
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(async {
            let found = notices(&window, sandbox, &targets, &literals).await;
            assert!(
                found.is_empty(),
                "technical text in the app's own words:\n{}",
                found.join("\n")
            );
        })
    }));
    if outcome.is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            world.block_on(window.screenshot("failure-plain-text"))
        }));
        eprintln!("--- tauri-driver / app log ---\n{}", driver.log_text());
    }
    world.block_on(window.close());
    drop(driver);
    for account in [PACT, VOIPBIN] {
        let _ = cli.run(&["account", "remove", account]);
    }
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
}

/// A Pact account (p2, with p1 beside it) and a VoIPbin account on the sandbox.
fn add_accounts(cli: &Cli, sandbox: &Sandbox) {
    let add = |provider: &str, name: &str, base: &str, secret: &str| {
        cli.run_with_stdin(
            &[
                "account",
                "add",
                "--provider",
                provider,
                "--name",
                name,
                "--base-url",
                base,
            ],
            &format!("{secret}\n"),
        )
        .assert_ok();
    };
    add("pact", PACT, &sandbox.pact_root_url(), SANDBOX_TOKEN);
    add(
        "voipbin",
        VOIPBIN,
        &sandbox.voipbin_base_url(),
        VOIPBIN_ACCESS_KEY,
    );
}

/// A small file to paste where files cannot go.
fn write_file(root: &Path) -> PathBuf {
    let path = root.join("price list.pdf");
    std::fs::write(&path, b"%PDF-1.7\n%%EOF\n").expect("write the file");
    path
}

/// What the session opens: the conversations (`account/id`), how many the inbox holds, a file.
struct Targets {
    pact: String,
    voipbin: String,
    /// The name of the agent `voipbin` is assigned to.
    owner: String,
    total: usize,
    file: PathBuf,
}

/// Walks the notices; returns every hit, one line each, by screen.
async fn notices(
    window: &Window,
    sandbox: Sandbox,
    targets: &Targets,
    literals: &[String],
) -> Vec<String> {
    let mut found = Vec::new();
    recovery(window, targets.total).await;
    agent_named_in_the_list(window, targets).await;
    the_scan_reports_planted_text(window, literals).await;
    found.extend(notice(window, "recovery", literals).await);
    window.click("#recovery-dismiss").await;

    open(window, &targets.pact).await;
    failed_send(window, &sandbox).await;
    found.extend(notice(window, "failed-send", literals).await);
    sandbox.set_fail_deliveries(false);

    voipbin_cannot_start(window).await;
    found.extend(notice(window, "voipbin-no-setup", literals).await);
    template(window).await;
    found.extend(notice(window, "template", literals).await);
    window.close_dialogs().await;

    open(window, &targets.voipbin).await;
    window
        .wait(
            "the header naming the assigned agent",
            "return document.getElementById('assign-current').textContent === arguments[0];",
            vec![json!(targets.owner)],
        )
        .await;
    file_where_only_text_goes(window, &targets.file).await;
    found.extend(notice(window, "unsupported", literals).await);

    open(window, &targets.pact).await;
    sandbox.shutdown().await;
    offline(window).await;
    found.extend(notice(window, "offline", literals).await);
    found
}

/// Reads the screen in each theme, saving `notice-<slug>-<theme>.png`; returns the hits.
async fn notice(window: &Window, slug: &str, literals: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for theme in THEMES {
        window.set_theme(theme).await;
        window.settle().await;
        found.extend(technical_text(window, &format!("{slug} ({theme})"), literals).await);
        window.screenshot(&format!("notice-{slug}-{theme}")).await;
    }
    window.set_theme("light").await;
    found
}

/// The scan can fail: an OS error, a raw substitution and a teammate's id planted in the status
/// line and a button's title are each reported; the same words in a customer's message are not.
async fn the_scan_reports_planted_text(window: &Window, literals: &[String]) {
    let agent = literals.last().expect("a teammate's id").clone();
    window
        .js(
            "window.__canary = { status: document.getElementById('status').textContent,\
               title: document.getElementById('sync-now').getAttribute('title') };\
             document.getElementById('status').textContent = 'Send failed: tcp connect error (os error 111) for {{1}}';\
             document.getElementById('sync-now').title = 'Assigned to ' + arguments[0];\
             const customer = document.querySelector('#conversations .conversation__preview');\
             window.__canary.preview = customer.textContent;\
             customer.textContent = 'my router says os error 111';",
            vec![json!(agent)],
        )
        .await;
    let found = technical_text(window, "canary", literals).await;
    window
        .js(
            "document.getElementById('status').textContent = window.__canary.status;\
             const button = document.getElementById('sync-now');\
             if (window.__canary.title === null) button.removeAttribute('title');\
             else button.title = window.__canary.title;\
             document.querySelector('#conversations .conversation__preview').textContent = window.__canary.preview;",
            vec![],
        )
        .await;
    let reported = |what: &str| {
        found
            .iter()
            .any(|line| line.contains(HIT) && line.contains(what))
    };
    assert!(reported("#status"), "the planted OS error: {found:?}");
    assert!(reported("\"os error\""), "the planted OS error: {found:?}");
    assert!(reported("\"{{\""), "the planted substitution: {found:?}");
    assert!(
        reported("#sync-now[title]") && reported(&format!("\"{agent}\"")),
        "the planted teammate id: {found:?}"
    );
    assert!(
        !reported("my router says"),
        "a customer's own words are not the app's: {found:?}"
    );
}

/// The moved-aside notice shows, names the kept accounts, and the inbox fills again.
async fn recovery(window: &Window, total: usize) {
    window
        .wait(
            "the moved-aside notice",
            "return !document.getElementById('recovery-banner').hidden \
               && document.getElementById('recovery-text').textContent.includes('moved aside');",
            vec![],
        )
        .await;
    window
        .wait_for(
            "the inbox synced again",
            "return Number(document.getElementById('conversations').dataset.total) === arguments[0];",
            vec![json!(total)],
            UI_TIMEOUT * 3,
        )
        .await;
}

/// The row of the conversation assigned to a teammate names them (before any of the account's
/// conversations is opened, so the names are not there only because the header asked for them).
async fn agent_named_in_the_list(window: &Window, targets: &Targets) {
    window
        .wait(
            "the list row naming the assigned agent",
            "const row = document.querySelector(`#conversations li.conversation[data-id=\"${arguments[0]}\"]`);\
             if (row) row.scrollIntoView({ block: 'nearest' });\
             return !!row && row.querySelector('.conversation__meta').textContent.includes(arguments[1]);",
            vec![json!(targets.voipbin), json!(targets.owner)],
        )
        .await;
}

/// Opens the conversation `account/id` from the list and waits for its thread and composer.
async fn open(window: &Window, key: &str) {
    let css = format!("#conversations li.conversation[data-id=\"{key}\"]");
    window
        .wait(
            &format!("{key} in the list"),
            "const row = document.querySelector(arguments[0]);\
             if (row) row.scrollIntoView({ block: 'nearest' });\
             return !!row;",
            vec![json!(css)],
        )
        .await;
    window.click(&css).await;
    window
        .wait(
            &format!("the thread of {key}"),
            "return document.querySelectorAll('#messages li.message').length > 0 \
               && !document.getElementById('composer-text').disabled;",
            vec![],
        )
        .await;
}

/// Types `text` in the composer and sends it with Ctrl+Enter.
async fn send(window: &Window, text: &str) {
    window.type_into("#composer-text", text).await;
    window
        .press(&[Key::Control], &char::from(Key::Enter).to_string())
        .await;
}

/// The messenger refuses the reply: it shows failed, with the reason.
async fn failed_send(window: &Window, sandbox: &Sandbox) {
    sandbox.set_fail_deliveries(true);
    let text = "Your order is on its way";
    send(window, text).await;
    window
        .wait_for(
            "the refused reply shown failed, with the reason",
            "const li = Array.from(document.querySelectorAll('#messages li.message--out'))\
               .find(li => li.querySelector('p.message__text')?.textContent === arguments[0]);\
             return !!li && ['failed', 'error'].includes(li.dataset.status) \
               && !!li.querySelector('.message__error')?.checkVisibility();",
            vec![json!(text)],
            SERVER_TIMEOUT,
        )
        .await;
}

/// The New conversation dialog on a server without VoIPbin's conversation setup: the VoIPbin
/// account cannot be chosen, and a line says where its conversations start.
async fn voipbin_cannot_start(window: &Window) {
    window
        .js("document.getElementById('messages').focus();", vec![])
        .await;
    window.press(&[Key::Control], "n").await;
    window.wait_dialog_open("new-conversation").await;
    window
        .wait(
            "the VoIPbin account offered disabled, with a line saying why",
            "const option = Array.from(document.getElementById('nc-account').options)\
               .find(o => o.value === arguments[0]);\
             const reason = document.getElementById('nc-account-reason');\
             return !!option && option.disabled && reason.checkVisibility() \
               && reason.textContent.includes(arguments[0]);",
            vec![json!(VOIPBIN)],
        )
        .await;
}

/// A WhatsApp Business start: the template's text and a field per substitution.
async fn template(window: &Window) {
    window.choose("#nc-account", PACT).await;
    window.choose("#nc-channel", "whatsapp_business").await;
    window
        .wait(
            "the company's templates",
            "return !document.getElementById('nc-template-field').hidden \
               && Array.from(document.getElementById('nc-template').options).some(o => o.value === 'order_status');",
            vec![],
        )
        .await;
    window.choose("#nc-template", "order_status").await;
    window
        .wait(
            "two fields and the template's text",
            "return document.querySelectorAll('#nc-template-vars input').length === 2 \
               && document.getElementById('nc-template-body').textContent.includes('[Field 2]');",
            vec![],
        )
        .await;
    window.type_into("#nc-template-vars input", "Anna").await;
    window
        .wait(
            "the typed value in the template's text",
            "return document.getElementById('nc-template-body').textContent.includes('Anna');",
            vec![],
        )
        .await;
}

/// A file pasted (Ctrl+V, copied as a file manager does) into a VoIPbin conversation, which takes
/// text only: Attach is not offered, nothing is staged, and one line says so.
async fn file_where_only_text_goes(window: &Window, file: &Path) {
    assert_eq!(
        window
            .js(
                "return document.getElementById('attach').checkVisibility();",
                vec![]
            )
            .await,
        json!(false),
        "no Attach in a VoIPbin conversation"
    );
    // Every line the status shows from now on, for the failure message.
    window
        .js(
            "window.__statusSeen = [];\
             new MutationObserver(() => window.__statusSeen.push(document.getElementById('status').textContent))\
               .observe(document.getElementById('status'), { childList: true, characterData: true, subtree: true });",
            vec![],
        )
        .await;
    let clipboard = Clipboard::offer_files(&[file]);
    window.click("#composer-text").await;
    window.press(&[Key::Control], "v").await;
    let deadline = std::time::Instant::now() + UI_TIMEOUT;
    while window
        .js(
            "return document.getElementById('status').textContent.includes('text only');",
            vec![],
        )
        .await
        != json!(true)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no line saying the conversation takes text only; the status showed {}, the composer holds {}",
            window.js("return window.__statusSeen;", vec![]).await,
            window.js("return document.getElementById('composer-text').value;", vec![]).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(clipboard);
    assert_eq!(window.count("#staged-files li").await, 0, "nothing staged");
}

/// The server is gone: Sync now shows the offline banner and says so; a reply waits, saying why.
async fn offline(window: &Window) {
    window.click("#sync-now").await;
    window
        .wait_for(
            "the offline banner",
            "return !document.getElementById('offline-banner').hidden;",
            vec![],
            SERVER_TIMEOUT,
        )
        .await;
    let text = "I will call you back in ten minutes";
    send(window, text).await;
    window
        .wait_for(
            "the reply waiting, saying why",
            "const li = Array.from(document.querySelectorAll('#messages li.message--out'))\
               .find(li => li.querySelector('p.message__text')?.textContent === arguments[0]);\
             return li?.dataset.status === 'pending' && !!li.querySelector('.message__waiting');",
            vec![json!(text)],
            SERVER_TIMEOUT,
        )
        .await;
}
