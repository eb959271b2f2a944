//! End-to-end: offline reading and sending in the real window. The cache is filled while the sandbox runs;
//! then the sandbox stops and the app starts against it: the cached inbox and threads still open, the
//! offline banner shows, and a reply written offline shows as pending. When the sandbox comes back on the
//! same port the reply goes out by itself, exactly once, and the banner goes away.
//!
//! Run: `cargo build -p parley-app -p parley-cli && bash src-tauri/scripts/test.sh -- -p parley-tests
//! --test window_offline`.

use std::net::SocketAddr;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use parley_sandbox::{Sandbox, SandboxConfig};
use parley_tests::rows::{self, ConversationRow};
use parley_tests::window::{
    app_binary, app_environment, require_display, within, Driver, Window, UI_TIMEOUT,
};
use parley_tests::{sandbox_config, Cli, World, SANDBOX_TOKEN};
use serde_json::json;

const ACCOUNT: &str = "train";
const SEED: u64 = 11;
const CONVERSATIONS: usize = 15;
const MESSAGES: usize = 12;
/// How long the reply stays queued while the server is away, to see it stay pending.
const OFFLINE_FOR: Duration = Duration::from_secs(4);
/// How long the queued reply may take to go out once the server is back: the outbox's backoff after
/// a few failed attempts, plus the app's retry while offline (10 s).
const BACK_ONLINE_TIMEOUT: Duration = Duration::from_secs(90);

#[test]
fn cached_inbox_opens_offline_and_a_queued_reply_goes_out_once() {
    require_display();
    let world = World::start(sandbox_config(SEED, 1, 1));
    let mut config = sandbox_config(SEED, CONVERSATIONS, MESSAGES);
    let sandbox = world
        .block_on(Sandbox::start(config.clone()))
        .expect("the sandbox starts");
    // The restarted sandbox serves the same data, not data moved by the time that passed.
    config.seed_anchor = Some(sandbox.seed_anchor());
    let address = sandbox.addr();
    let cli = world.cli();
    world
        .add_account_with(
            &cli,
            ACCOUNT,
            &sandbox.pact_p1_base_url(),
            SANDBOX_TOKEN,
            &[],
        )
        .assert_ok();
    rows::sync(&cli, ACCOUNT);
    let listed = rows::conversations(&cli, Some(ACCOUNT));
    world.block_on(sandbox.shutdown());

    let env = app_environment(cli.data_dir(), &world.root().join("home"));
    let driver = Driver::start(&env, &world.root().join("tauri-driver.log"));
    let window = world.block_on(Window::open(&driver, &app_binary()));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(offline_then_online(&window, &cli, &listed, config, address))
    }));
    if outcome.is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            world.block_on(window.screenshot("offline-failure"))
        }));
        eprintln!("--- tauri-driver / app log ---\n{}", driver.log_text());
    }
    world.block_on(window.close());
    drop(driver);
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
}

async fn offline_then_online(
    window: &Window,
    cli: &Cli,
    listed: &[ConversationRow],
    config: SandboxConfig,
    address: SocketAddr,
) {
    cached_inbox_opens(window, listed).await;
    let index = listed
        .iter()
        .position(|row| row.title.as_deref().is_some_and(|t| !t.contains('<')))
        .expect("a conversation with a plain name");
    cached_thread_opens(window, cli, &listed[index], index).await;
    let text = format!("e2e offline reply {}", std::process::id());
    reply_waits_pending(window, &text).await;

    let sandbox = Sandbox::start_on(config, address)
        .await
        .expect("the sandbox restarts on the same port");
    reply_goes_out_once(window, &sandbox, &text).await;
    sandbox.shutdown().await;
}

/// The inbox lists every cached conversation, in the CLI's order, and the offline banner shows.
async fn cached_inbox_opens(window: &Window, listed: &[ConversationRow]) {
    window
        .wait_for(
            "the offline banner",
            "return !document.getElementById('offline-banner').hidden;",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    let titles = window.conversation_titles().await;
    let cached: Vec<String> = listed
        .iter()
        .map(|row| row.title.clone().unwrap_or_default())
        .collect();
    assert_eq!(titles.len(), cached.len(), "conversations listed offline");
    for (shown, cached) in titles.iter().zip(&cached) {
        if !cached.is_empty() {
            assert_eq!(shown, cached, "the offline list vs the cache");
        }
    }
}

/// Opening a conversation offline shows its cached messages, newest last.
async fn cached_thread_opens(window: &Window, cli: &Cli, row: &ConversationRow, index: usize) {
    let title = row.title.clone().unwrap_or_default();
    let item = window.conversation_row(index).await;
    within("click the conversation", item.click()).await;
    window
        .wait_for(
            &format!("the cached thread of {title:?}"),
            "return document.getElementById('thread-title').textContent === arguments[0] \
             && document.querySelectorAll('#messages li.message').length > 0 \
             && !document.getElementById('composer-text').disabled;",
            vec![json!(title)],
            UI_TIMEOUT,
        )
        .await;
    let cached = rows::messages(cli, ACCOUNT, row.id);
    let newest_text = cached
        .iter()
        .rev()
        .find_map(|m| m.text.clone().filter(|t| !t.is_empty()))
        .expect("a cached message with text");
    let shown = window.texts("#messages p.message__text").await;
    assert!(
        shown.contains(&newest_text),
        "the newest cached text {newest_text:?} is not in the thread: {shown:?}"
    );
}

/// The status (`data-status`) of the outgoing message whose text is `text`, if shown.
async fn status_of(window: &Window, text: &str) -> Option<String> {
    window
        .js(
            "const li = Array.from(document.querySelectorAll('#messages li.message--out'))\
               .find(li => li.querySelector('p.message__text')?.textContent === arguments[0]);\
             return li ? li.dataset.status : null;",
            vec![json!(text)],
        )
        .await
        .as_str()
        .map(str::to_owned)
}

/// Ctrl+Enter offline: the reply shows pending, and stays pending (not failed) while offline.
async fn reply_waits_pending(window: &Window, text: &str) {
    let composer = window.find("#composer-text").await;
    within("focus the composer", composer.click()).await;
    let keys = format!(
        "{text}{}{}",
        char::from(Key::Control),
        char::from(Key::Enter)
    );
    within("type and Ctrl+Enter", composer.send_keys(&keys)).await;
    window
        .wait_for(
            "the offline reply shown as pending",
            "const li = Array.from(document.querySelectorAll('#messages li.message--out'))\
               .find(li => li.querySelector('p.message__text')?.textContent === arguments[0]);\
             return li?.dataset.status === 'pending';",
            vec![json!(text)],
            UI_TIMEOUT,
        )
        .await;
    tokio::time::sleep(OFFLINE_FOR).await;
    assert_eq!(
        status_of(window, text).await.as_deref(),
        Some("pending"),
        "a reply written offline waits as pending"
    );
    assert!(
        window
            .js(
                "return !document.getElementById('offline-banner').hidden;",
                vec![]
            )
            .await
            .as_bool()
            .unwrap_or(false),
        "the offline banner stays while offline"
    );
    window.screenshot("offline").await;
}

/// Once the server is back, the reply reaches it exactly once, the thread shows it sent, and the
/// banner goes.
async fn reply_goes_out_once(window: &Window, sandbox: &Sandbox, text: &str) {
    let copies = || {
        sandbox
            .sent_messages()
            .iter()
            .filter(|m| m.text.as_deref() == Some(text))
            .count()
    };
    let started = Instant::now();
    while copies() == 0 {
        assert!(
            started.elapsed() < BACK_ONLINE_TIMEOUT,
            "the queued reply did not reach the restarted sandbox within {BACK_ONLINE_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!(
        "[time] queued reply reached the server {:.1?} after it came back",
        started.elapsed()
    );
    window
        .wait_for(
            "the reply shown as sent or delivered, and the offline banner gone",
            "const li = Array.from(document.querySelectorAll('#messages li.message--out'))\
               .find(li => li.querySelector('p.message__text')?.textContent === arguments[0]);\
             return ['sent', 'delivered'].includes(li?.dataset.status) \
               && document.getElementById('offline-banner').hidden;",
            vec![json!(text)],
            BACK_ONLINE_TIMEOUT,
        )
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(copies(), 1, "the queued reply must go out exactly once");
    window.screenshot("back-online").await;
}
