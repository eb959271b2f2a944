//! End-to-end tests in the real window: the built `parley` app, driven through tauri-driver and
//! WebKitWebDriver under Xvfb, on a data folder the CLI filled from the in-process sandbox. Every
//! scenario asserts what a user sees and saves a screenshot under `target/e2e-screenshots/`.
//!
//! One window at a time on the shared display, so the scenarios run in sequence inside one test.
//! On a failure the window is saved as `failure.png` and the tauri-driver/app log is printed.
//! Run: `bash src-tauri/scripts/test.sh -- -p parley-tests --test window`.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use parley_sandbox::{Sandbox, SnapshotConversation};
use parley_tests::rows::{self, ConversationRow};
use parley_tests::window::{
    app_binary, app_environment, require_display, within, Driver, Window, CONVERSATION_ROW_HEIGHT,
    UI_TIMEOUT,
};
use parley_tests::{sandbox_config, World};
use serde_json::{json, Value};

const ACCOUNT: &str = "acme";
/// A seed whose fixture names conversations `<script>…`, `<img … onerror=…>` and `<svg/onload=…>`.
const SEED: u64 = 132;
/// More rows than the window shows many times over, so the list must be virtual and scroll.
const CONVERSATIONS: usize = 400;
const MESSAGES: usize = 10;
/// The sandbox's answer delay while the window sends, so "pending" stays on screen a while.
const SEND_LATENCY: Duration = Duration::from_millis(1500);
/// How many messages the window shows when a thread opens (ui/thread.js).
const THREAD_PAGE: usize = 200;

/// Payloads pushed as incoming messages into a hostile-named conversation; each would set
/// `window.__pwned` if the page ever parsed it as HTML.
const PAYLOADS: &[&str] = &[
    "<img src=x onerror=\"window.__pwned='img'\">",
    "<svg/onload=\"window.__pwned='svg'\">",
    "<script>window.__pwned='script'</script>",
    "<iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe>",
    // Would remove the account through the app's own IPC if it ever ran.
    "<img src=x onerror=\"window.__TAURI__.core.invoke('accounts_remove',{name:'acme'})\">",
];

/// Commands only a user's click may call; customer content must never reach them.
const ACTION_COMMANDS: &[&str] = &[
    "accounts_add",
    "accounts_remove",
    "messages_send",
    "outbox_retry",
    "conversations_assign",
    "conversations_unassign",
    "conversations_note",
    "conversations_bitrix",
    "links_open",
    "attachments_open",
    "attachments_save",
    "files_pick",
    "settings_set",
];

/// Elements customer content could inject if rendered as HTML. The window's own links (built from
/// http(s) text) and image previews are excluded here and checked separately.
const INJECTED: &str =
    "svg, img:not(.message__preview), script, iframe, a:not(.message__link), b, object, embed";

/// The regions customer content is shown in.
const CONTENT_REGIONS: &[&str] = &[
    "#conversations",
    "#messages",
    "#thread-title",
    "#thread-meta",
    "#details",
];

#[test]
fn window_end_to_end() {
    require_display();
    let world = World::start(sandbox_config(SEED, CONVERSATIONS, MESSAGES));
    let hostile = hostile_conversation(world.sandbox());
    for payload in PAYLOADS {
        assert_ne!(
            world.sandbox().push_incoming_message(hostile.id, payload),
            0
        );
    }
    let cli = world.cli();
    world.add_account(&cli, ACCOUNT, &[]).assert_ok();
    rows::sync(&cli, ACCOUNT);
    let listed = rows::conversations(&cli, Some(ACCOUNT));

    let mut env = app_environment(cli.data_dir(), &world.root().join("home"));
    // The assertions read English UI strings.
    env.push(("PARLEY_LOCALE".to_string(), "en".into()));
    let driver = Driver::start(&env, &world.root().join("tauri-driver.log"));
    let app = app_binary();
    let started = Instant::now();
    let window = world.block_on(Window::open(&driver, &app));
    eprintln!("[time] session up in {:.1?}", started.elapsed());
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(run_scenarios(&window, world.sandbox(), &listed, &hostile))
    }));
    if outcome.is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            world.block_on(window.screenshot("failure"))
        }));
        eprintln!("--- tauri-driver / app log ---\n{}", driver.log_text());
    }
    world.block_on(window.close());
    drop(driver);
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
    eprintln!("[time] window scenarios: {:.1?} in all", started.elapsed());
}

/// The four scenarios, in order, in one window.
async fn run_scenarios(
    window: &Window,
    sandbox: &Sandbox,
    listed: &[ConversationRow],
    hostile: &SnapshotConversation,
) {
    let scripts_before = window.count("script").await;
    timed("scrolling", list_is_virtual_and_scrolls(window)).await;
    timed("inbox", inbox_lists_conversations(window, sandbox, listed)).await;
    let opened = pick_thread(sandbox, listed);
    timed(
        "thread",
        thread_shows_messages(window, sandbox, listed, opened),
    )
    .await;
    timed("send", send_shows_message(window, sandbox, listed, opened)).await;
    timed(
        "hostile",
        hostile_renders_as_text(window, listed, hostile, scripts_before),
    )
    .await;
}

/// Awaits a scenario and prints how long it took.
async fn timed(name: &str, scenario: impl std::future::Future<Output = ()>) {
    let started = Instant::now();
    scenario.await;
    eprintln!("[time] scenario {name}: {:.1?}", started.elapsed());
}

/// The first conversation whose name is an HTML payload, after checking the fixture has both an
/// `<svg/onload=…>` and a `<script>` name.
fn hostile_conversation(sandbox: &Sandbox) -> SnapshotConversation {
    let hostile: Vec<SnapshotConversation> = sandbox
        .conversations()
        .into_iter()
        .filter(|c| c.name.as_deref().is_some_and(|name| name.contains('<')))
        .collect();
    for marker in ["<svg", "<script"] {
        assert!(
            hostile
                .iter()
                .any(|c| c.name.as_deref().is_some_and(|name| name.contains(marker))),
            "the seeded fixture has no conversation named like {marker}: pick another SEED"
        );
    }
    hostile.into_iter().next().expect("a hostile name")
}

/// The sandbox's conversations, most recent activity first.
fn most_recent_first(sandbox: &Sandbox) -> Vec<SnapshotConversation> {
    let mut conversations = sandbox.conversations();
    conversations.sort_by_key(|c| std::cmp::Reverse(c.last_message_at));
    conversations
}

/// Position of conversation `id` in the CLI's (and the window's) list.
fn position(listed: &[ConversationRow], id: i64) -> usize {
    listed
        .iter()
        .position(|row| row.id == id)
        .unwrap_or_else(|| panic!("conversation {id} is not in the CLI's list"))
}

/// The list's geometry: its box fits the inbox column, its scroll range covers every row, and only
/// the rows near the view exist in the DOM.
const LIST_GEOMETRY: &str = "const list = document.getElementById('conversations');\
     const box = list.getBoundingClientRect();\
     const column = document.querySelector('.inbox').getBoundingClientRect();\
     return { box: box.height, column: column.height, boxTop: box.top,\
              scrollHeight: list.scrollHeight, scrollTop: list.scrollTop,\
              rows: list.querySelectorAll('li.conversation').length,\
              pageScrolled: document.scrollingElement.scrollTop + document.body.scrollTop };";

/// Scenario 0: with hundreds of conversations the list stays one column tall and scrolls: scrolling
/// it (as a wheel does, through `scrollTop`) brings row 250 into view inside the list, the page itself
/// never moves, and only the rows near the view are in the DOM.
async fn list_is_virtual_and_scrolls(window: &Window) {
    let total = window.conversation_total().await;
    window.conversation_row(0).await;
    let before = window.js(LIST_GEOMETRY, vec![]).await;
    let number = |value: &Value, key: &str| value[key].as_f64().unwrap_or(f64::NAN);
    assert!(
        number(&before, "box") <= number(&before, "column"),
        "the list's box is taller than its column: {before}"
    );
    let full = (total * CONVERSATION_ROW_HEIGHT) as f64;
    assert!(
        number(&before, "scrollHeight") >= full,
        "the scroll range does not cover all {total} rows: {before}"
    );
    let target = 250;
    window
        .js(
            "document.getElementById('conversations').scrollTop = arguments[0]; return true;",
            vec![json!(target * CONVERSATION_ROW_HEIGHT)],
        )
        .await;
    window
        .wait_for(
            &format!("row {target} shown inside the list after scrolling"),
            "const list = document.getElementById('conversations').getBoundingClientRect();\
             const row = document.querySelector(`#conversations li.conversation[data-index=\"${arguments[0]}\"]`);\
             if (!row) return false;\
             const box = row.getBoundingClientRect();\
             return box.top >= list.top - 1 && box.bottom <= list.bottom + 1;",
            vec![json!(target)],
            UI_TIMEOUT,
        )
        .await;
    let after = window.js(LIST_GEOMETRY, vec![]).await;
    assert!(
        number(&after, "scrollTop") > 0.0,
        "the list itself scrolled: {after}"
    );
    assert_eq!(
        (number(&after, "pageScrolled"), number(&after, "boxTop")),
        (0.0, number(&before, "boxTop")),
        "the page moved instead of the list: before {before}, after {after}"
    );
    assert!(
        number(&after, "rows") < 120.0,
        "the virtual list keeps only the rows near the view in the DOM: {after}"
    );
    window
        .js(
            "document.getElementById('conversations').scrollTop = 0; return true;",
            vec![],
        )
        .await;
}

/// Scenario 1: the list shows every seeded conversation, titled as the sandbox names them, most
/// recent first.
async fn inbox_lists_conversations(window: &Window, sandbox: &Sandbox, listed: &[ConversationRow]) {
    let expected = sandbox.conversations().len();
    assert_eq!(
        window.conversation_total().await,
        expected,
        "conversations in the window's list"
    );
    let titles = window.conversation_titles().await;
    assert_eq!(titles.len(), expected, "conversations in the window");
    let cli_titles: Vec<String> = listed
        .iter()
        .map(|row| row.title.clone().unwrap_or_else(|| "(no name)".to_string()))
        .collect();
    assert_eq!(
        titles, cli_titles,
        "the window's list vs `parley-cli conversations`"
    );

    let order = most_recent_first(sandbox);
    let mut compared = 0;
    for (index, conversation) in order.iter().enumerate().take(8) {
        let tied = order
            .iter()
            .filter(|other| other.last_message_at == conversation.last_message_at)
            .count()
            > 1;
        if let (Some(name), false) = (&conversation.name, tied) {
            assert_eq!(
                &titles[index], name,
                "title at position {index} (most recent first)"
            );
            compared += 1;
        }
    }
    assert!(
        compared >= 3,
        "too few named conversations to check the order"
    );
    assert_app_title(window).await;
    window.conversation_row(0).await;
    window.screenshot("01-inbox").await;
}

/// A conversation with texts in both directions, for the thread and send scenarios.
fn pick_thread(sandbox: &Sandbox, listed: &[ConversationRow]) -> i64 {
    listed
        .iter()
        .map(|row| row.id)
        .find(|id| {
            let messages = sandbox.messages(*id);
            let texts = messages.iter().filter(|m| has_text(&m.text)).count();
            texts >= 3
                && messages.iter().any(|m| m.income)
                && messages.iter().any(|m| !m.income)
                && !messages
                    .iter()
                    .any(|m| m.text.as_deref().is_some_and(|t| t.contains('<')))
        })
        .expect("a conversation with texts both ways")
}

fn has_text(text: &Option<String>) -> bool {
    text.as_deref().is_some_and(|t| !t.is_empty())
}

/// Clicks the conversation at `index` and waits until its thread is shown: the title, and a freshly
/// rendered message list (the previous thread's items are marked first, so they cannot count).
async fn open_conversation(window: &Window, index: usize, title: &str) {
    window
        .js(
            "document.querySelectorAll('#messages li').forEach(li => li.dataset.e2eStale = '1');",
            vec![],
        )
        .await;
    window.click_conversation(index).await;
    window
        .wait_for(
            &format!("the thread of {title:?}"),
            "return document.getElementById('thread-title').textContent === arguments[0] \
             && document.querySelectorAll('#messages li.message').length > 0 \
             && document.querySelectorAll('#messages li[data-e2e-stale]').length === 0 \
             && !document.getElementById('composer-text').disabled;",
            vec![json!(title)],
            UI_TIMEOUT,
        )
        .await;
}

/// Each shown message as `(direction class, text or None)`, oldest first.
async fn shown_messages(window: &Window) -> Vec<(String, Option<String>)> {
    let value = window
        .js(
            "return Array.from(document.querySelectorAll('#messages li.message')).map(li => [\
               li.classList.contains('message--in') ? 'in' : (li.classList.contains('message--out') ? 'out' : li.className),\
               li.querySelector('p.message__text')?.textContent ?? null]);",
            vec![],
        )
        .await;
    serde_json::from_value(value).expect("pairs of direction and text")
}

/// Scenario 2: opening a conversation shows its newest messages with the right directions.
async fn thread_shows_messages(
    window: &Window,
    sandbox: &Sandbox,
    listed: &[ConversationRow],
    id: i64,
) {
    let index = position(listed, id);
    let title = listed[index]
        .title
        .clone()
        .unwrap_or_else(|| "(no name)".to_string());
    open_conversation(window, index, &title).await;
    let seeded = sandbox.messages(id);
    let newest = &seeded[seeded.len().saturating_sub(THREAD_PAGE)..];
    let expected: Vec<(String, Option<String>)> = newest
        .iter()
        .map(|m| {
            let direction = if m.income { "in" } else { "out" };
            (
                direction.to_string(),
                m.text.clone().filter(|t| !t.is_empty()),
            )
        })
        .collect();
    assert_eq!(
        shown_messages(window).await,
        expected,
        "the thread of {title:?} vs the sandbox"
    );
    window.screenshot("02-thread").await;
}

/// The delivery status the thread shows for the outgoing message whose text is `text`: the state
/// (`data-status`), after checking its ticks carry the same word as their accessible name (English UI).
async fn status_of(window: &Window, text: &str) -> Option<String> {
    let value = window
        .js(
            "const li = Array.from(document.querySelectorAll('#messages li.message--out'))\
               .find(li => li.querySelector('p.message__text')?.textContent === arguments[0]);\
             const ticks = li?.querySelector('.message__meta .message__status');\
             return li ? [li.dataset.status, ticks?.getAttribute('aria-label') ?? ticks?.textContent ?? ''] : null;",
            vec![json!(text)],
        )
        .await;
    let (status, said): (String, String) = serde_json::from_value(value).ok()?;
    assert_eq!(said, status, "the ticks say the message's state");
    Some(status)
}

/// Scenario 3: Ctrl+Enter sends; the thread shows the message pending, then (sent and) delivered,
/// and the sandbox receives it exactly once.
async fn send_shows_message(
    window: &Window,
    sandbox: &Sandbox,
    listed: &[ConversationRow],
    id: i64,
) {
    let text = format!("e2e window send {} <b>stays text</b>", std::process::id());
    // A slow server keeps the message pending long enough to be seen on screen.
    sandbox.set_latency(SEND_LATENCY);
    let composer = window.find("#composer-text").await;
    within("focus the composer", composer.click()).await;
    let keys = format!(
        "{text}{}{}",
        char::from(Key::Control),
        char::from(Key::Enter)
    );
    within("type and Ctrl+Enter", composer.send_keys(&keys)).await;

    let deadline = Instant::now() + UI_TIMEOUT;
    let mut seen = Vec::new();
    loop {
        let status = status_of(window, &text).await;
        if let Some(status) = &status {
            if seen.last() != Some(status) {
                seen.push(status.clone());
            }
        }
        if status.as_deref() == Some("delivered") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sent message did not show as delivered within {UI_TIMEOUT:?}; statuses seen: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sandbox.set_latency(Duration::ZERO);
    eprintln!("statuses seen in the thread: {seen:?}");
    assert!(
        seen == ["pending", "sent", "delivered"] || seen == ["pending", "delivered"],
        "statuses the thread showed, in order: {seen:?}"
    );
    let composer_value = window
        .js(
            "return document.getElementById('composer-text').value;",
            vec![],
        )
        .await;
    assert_eq!(
        composer_value,
        json!(""),
        "the composer empties after sending"
    );

    let received = wait_for_sandbox_copies(sandbox, &text).await;
    assert_eq!(
        received, 1,
        "the sandbox must receive the message exactly once"
    );
    let title = listed[position(listed, id)]
        .title
        .clone()
        .unwrap_or_default();
    assert_eq!(
        window.texts("#thread-title").await,
        vec![title],
        "still in the same thread"
    );
    window.screenshot("03-sent").await;
}

/// Polls `sent_messages()` until `text` arrived, then waits a little longer for duplicates;
/// returns how many copies arrived.
async fn wait_for_sandbox_copies(sandbox: &Sandbox, text: &str) -> usize {
    let copies = || {
        sandbox
            .sent_messages()
            .iter()
            .filter(|m| m.text.as_deref() == Some(text))
            .count()
    };
    let deadline = Instant::now() + UI_TIMEOUT;
    while copies() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    copies()
}

/// Scenario 4: conversation names and messages that are HTML or script render as literal text, and
/// nothing runs or gets injected.
async fn hostile_renders_as_text(
    window: &Window,
    listed: &[ConversationRow],
    hostile: &SnapshotConversation,
    scripts_before: usize,
) {
    let name = hostile
        .name
        .clone()
        .expect("the hostile conversation has a name");
    let titles = window.conversation_titles().await;
    for row in listed
        .iter()
        .filter(|row| row.title.as_deref().is_some_and(|t| t.contains('<')))
    {
        let index = position(listed, row.id);
        assert_eq!(
            Some(&titles[index]),
            row.title.as_ref(),
            "hostile title in the list"
        );
    }
    window.record_ipc().await;
    open_conversation(window, position(listed, hostile.id), &name).await;
    let texts = window.texts("#messages p.message__text").await;
    for payload in PAYLOADS {
        assert!(
            texts.iter().any(|text| text == payload),
            "payload {payload:?} is not shown as text; texts: {texts:?}"
        );
    }
    assert_nothing_ran(window, scripts_before).await;
    assert_ipc_untouched(window).await;
    window.screenshot("04-hostile").await;
}

/// While the hostile thread was open, the page called only the commands that show a thread (the spy saw
/// them, so it works), none that act, and the account the payload tried to remove is still listed.
async fn assert_ipc_untouched(window: &Window) {
    // Let a payload's event handler (if one had been attached) fire and reach the IPC.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let calls: Vec<String> = window
        .recorded_ipc()
        .await
        .into_iter()
        .map(|call| call.command)
        .collect();
    assert!(
        calls.iter().any(|command| command == "messages_list"),
        "the spy saw the thread being read: {calls:?}"
    );
    let acted: Vec<&String> = calls
        .iter()
        .filter(|command| ACTION_COMMANDS.contains(&command.as_str()))
        .collect();
    assert!(
        acted.is_empty(),
        "customer content reached the IPC: {acted:?}"
    );
    let sidebar = window.texts("#accounts .accounts__name").await;
    assert!(
        sidebar.iter().any(|name| name == ACCOUNT),
        "the account is still listed: {sidebar:?}"
    );
}

/// The window title is the app's own: "Parley", or "Parley (N)" with N unread conversations.
async fn assert_app_title(window: &Window) {
    let title = within("title", window.client().title()).await;
    let unread_suffix = title
        .strip_prefix("Parley (")
        .and_then(|rest| rest.strip_suffix(')'));
    assert!(
        title == "Parley" || unread_suffix.is_some_and(|n| n.parse::<u32>().is_ok()),
        "the window title is {title:?}, not the app's"
    );
}

/// The page title is untouched, no element was injected into the content regions, no extra
/// script exists, no payload set `window.__pwned`, and no alert is open.
async fn assert_nothing_ran(window: &Window, scripts_before: usize) {
    assert_app_title(window).await;
    for region in CONTENT_REGIONS {
        let css = INJECTED
            .split(", ")
            .map(|tag| format!("{region} {tag}"))
            .collect::<Vec<_>>()
            .join(", ");
        assert_eq!(
            window.count(&css).await,
            0,
            "elements injected into {region}"
        );
    }
    assert_eq!(
        window.count("script").await,
        scripts_before,
        "script elements"
    );
    let own = window
        .js(
            "return Array.from(document.querySelectorAll('#messages a.message__link, #messages img.message__preview'))\
               .filter(e => e.tagName === 'A'\
                 ? !(/^https?:\\/\\//.test(e.textContent) && e.getAttribute('href') === e.textContent)\
                 : !e.src.startsWith('blob:') && e.getAttribute('src') !== null).length;",
            vec![],
        )
        .await;
    assert_eq!(own, json!(0), "links and previews the window did not build");
    let pwned = window.js("return typeof window.__pwned;", vec![]).await;
    assert_eq!(pwned, json!("undefined"), "a payload ran");
    let alert =
        tokio::time::timeout(Duration::from_secs(5), window.client().get_alert_text()).await;
    if let Ok(Ok(text)) = alert {
        panic!("an alert is open: {text:?}");
    }
}
