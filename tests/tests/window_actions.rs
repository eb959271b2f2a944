//! End-to-end tests of the inbox tools in the real window (tauri-driver + WebKitWebDriver under Xvfb,
//! against the in-process sandbox): assigning from the header's assign list and editing the note in
//! the details panel reach the sandbox (so does the Bitrix openlines toggle) and are still shown after
//! the app restarts on the same data folder; a teammate named once is shown by name, never by id; the
//! All / Mine / Unassigned filters show exactly the right rows; unread rows carry a count said in
//! words; the `?` overlay, the command palette's "Assign to me", Mark unread (`u`) and next unread
//! (`n`) work from the keyboard; a draft typed in the composer survives a restart; scrolling to the
//! top of a long thread loads the older messages and keeps the reader's place.
//!
//! Run: `bash src-tauri/scripts/test.sh -- -p parley-tests --test window_actions`.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use fantoccini::key::Key;
use parley_sandbox::Sandbox;
use parley_tests::rows::{self, ConversationRow};
use parley_tests::window::{
    app_binary, app_environment, require_display, within, Driver, Window, UI_TIMEOUT,
};
use parley_tests::{sandbox_config, World};
use serde_json::json;

const ACCOUNT: &str = "acme";
const SEED: u64 = 11;
const CONVERSATIONS: usize = 12;
/// More than one thread page (200, ui/thread.js), so a thread has older messages to load.
const MESSAGES: usize = 230;
/// Messages a thread shows when it opens (ui/thread.js `THREAD_PAGE`).
const THREAD_PAGE: usize = 200;
/// The teammate the header assigns a conversation to.
const TEAMMATE: &str = "777";
/// The user's own id on the account (asked once by the "Mine" filter).
const MY_ID: &str = "4242";
/// A note with markup, which must stay text.
const NOTE: &str = "VIP: call back on Monday <b>not bold</b>";

/// What the customer writes after the first sync.
const UNREAD_TEXT: &str = "Добрый день! Есть новости по заказу?";

/// A word no seeded message contains, planted deep in one thread (older than two thread pages).
const MARKER: &str = "zebracrossing42";
/// Messages pushed after the marker, so reaching it takes paging back.
const AFTER_MARKER: usize = 260;

/// The rows the tests act on, by position in the list (most recent first).
const ASSIGNED_ROW: usize = 1;
const MINE_ROW: usize = 2;
const DRAFT_ROW: usize = 3;
const LONG_ROW: usize = 0;

#[test]
fn window_actions_end_to_end() {
    require_display();
    let world = World::start(sandbox_config(SEED, CONVERSATIONS, MESSAGES));
    let marked = plant_search_marker(world.sandbox());
    let cli = world.cli();
    world.add_account(&cli, ACCOUNT, &[]).assert_ok();
    rows::sync(&cli, ACCOUNT);
    // A customer writes after the first sync: that conversation is unread.
    let unread = world.sandbox().conversations()[7].id;
    assert_ne!(
        world.sandbox().push_incoming_message(unread, UNREAD_TEXT),
        0
    );
    rows::sync(&cli, ACCOUNT);
    let listed = rows::conversations(&cli, Some(ACCOUNT));
    assert!(
        listed
            .iter()
            .all(|row| row.assignee_id.map(|id| id.to_string()).as_deref() != Some(MY_ID)),
        "the fixture already assigns a conversation to {MY_ID}: pick another MY_ID"
    );
    let mut env = app_environment(cli.data_dir(), &world.root().join("home"));
    // The assertions read English UI strings.
    env.push(("PARLEY_LOCALE".to_string(), PathBuf::from("en")));
    let draft = format!(
        "draft kept across restarts {}\nsecond line",
        std::process::id()
    );

    let session = AppSession::start(&world, &env, "first run");
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(async {
            let window = &session.window;
            inbox_shows_the_unread_conversation(window, &listed, unread).await;
            assign_and_note_reach_the_sandbox(window, world.sandbox(), &listed).await;
            filters_show_the_right_rows(window, world.sandbox(), &listed).await;
            keyboard_commands_assign_and_mark_unread(window, world.sandbox(), &listed).await;
            draft_is_kept(window, &listed, &draft).await;
            scrolling_up_loads_older_messages(window, world.sandbox(), &listed).await;
            image_preview_shows(window, world.sandbox(), &listed).await;
            keyboard_moves_between_conversations(window, &listed).await;
            search_opens_the_conversation_at_the_hit(window, &listed, marked).await;
            team_is_named_in_settings(window, world.sandbox(), &listed).await;
        })
    }));
    session.finish(&world, outcome);

    let session = AppSession::start(&world, &env, "after a restart");
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(async {
            let window = &session.window;
            actions_survive_the_restart(window, &listed).await;
            draft_survives_the_restart(window, &listed, &draft).await;
        })
    }));
    session.finish(&world, outcome);

    let ru = russian_env(&env);
    let session = AppSession::start(&world, &ru, "in Russian");
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(russian_ui(&session.window, &listed))
    }));
    session.finish(&world, outcome);
}

/// The app running on the test's data folder, in a WebDriver session.
struct AppSession {
    driver: Driver,
    window: Window,
    log: PathBuf,
    what: String,
    started: Instant,
}

impl AppSession {
    /// Starts the app through tauri-driver and opens its window.
    fn start(world: &World, env: &[(String, PathBuf)], what: &str) -> AppSession {
        let log = world
            .root()
            .join(format!("tauri-driver-{}.log", what.replace(' ', "-")));
        let driver = Driver::start(env, &log);
        let window = world.block_on(Window::open(&driver, &app_binary()));
        AppSession {
            driver,
            window,
            log,
            what: what.to_string(),
            started: Instant::now(),
        }
    }

    /// Closes the app; on a failure first saves `failure-actions.png` and prints the app's log, then
    /// passes the failure on.
    fn finish(self, world: &World, outcome: std::thread::Result<()>) {
        eprintln!("[time] {}: {:.1?}", self.what, self.started.elapsed());
        if outcome.is_err() {
            let _ = catch_unwind(AssertUnwindSafe(|| {
                world.block_on(self.window.screenshot("failure-actions"))
            }));
            eprintln!(
                "--- tauri-driver / app log ({}) ---\n{}",
                self.what,
                log_text(&self.log)
            );
        }
        world.block_on(self.window.close());
        drop(self.driver);
        if let Err(panic) = outcome {
            resume_unwind(panic);
        }
    }
}

fn log_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn title_of(row: &ConversationRow) -> String {
    row.title.clone().unwrap_or_else(|| "(no name)".to_string())
}

/// Clicks row `index` of the list and waits for its thread and header.
async fn open_row(window: &Window, listed: &[ConversationRow], index: usize) {
    window
        .js(
            "document.querySelectorAll('#messages li').forEach(li => li.dataset.e2eStale = '1');",
            vec![],
        )
        .await;
    window.click_conversation(index).await;
    window
        .wait_for(
            &format!("the thread of row {index}"),
            "return document.getElementById('thread-title').textContent === arguments[0] \
             && document.querySelectorAll('#messages li.message').length > 0 \
             && document.querySelectorAll('#messages li[data-e2e-stale]').length === 0 \
             && !document.getElementById('thread-actions').hidden \
             && !document.getElementById('composer-text').disabled;",
            vec![json!(title_of(&listed[index]))],
            UI_TIMEOUT,
        )
        .await;
}

/// Replaces the text of input `css` by typing `text`.
async fn type_into(window: &Window, css: &str, text: &str) {
    let input = window.find(css).await;
    within(&format!("clear {css}"), input.clear()).await;
    within(&format!("type into {css}"), input.send_keys(text)).await;
}

/// At the window's 1100×720: at least 10 whole rows in the list, and the messages get at least 75 %
/// of the thread column's height (the header is one line; the details panel is folded).
async fn layout_leaves_room(window: &Window) {
    let layout = window
        .js(
            "const list = document.getElementById('conversations').getBoundingClientRect();\
             const rows = Array.from(document.querySelectorAll('#conversations li.conversation'))\
               .filter(li => { const r = li.getBoundingClientRect(); return r.top >= list.top - 1 && r.bottom <= list.bottom + 1; });\
             const column = document.querySelector('.thread__main').getBoundingClientRect();\
             const messages = document.getElementById('messages').getBoundingClientRect();\
             return { rows: rows.length, share: messages.height / column.height, height: window.innerHeight, width: window.innerWidth };",
            vec![],
        )
        .await;
    eprintln!("layout at the test window's size: {layout}");
    assert!(
        layout["rows"].as_u64().unwrap_or(0) >= 10,
        "at least 10 whole rows: {layout}"
    );
    assert!(
        layout["share"].as_f64().unwrap_or(0.0) >= 0.75,
        "the messages get at least 75 % of the thread column: {layout}"
    );
}

/// Opens the header's assign list, types `text` in its search box and presses its Assign button.
async fn assign_typed(window: &Window, text: &str) {
    window.click("#assign-open").await;
    type_into(window, "#assign-input", text).await;
    window.click("#assign-save").await;
}

/// Unfolds the details panel (note, Bitrix, copy link) when it is folded.
async fn open_details(window: &Window) {
    let folded = window
        .js("return document.getElementById('details').hidden;", vec![])
        .await;
    if folded == json!(true) {
        window.click("#details-toggle").await;
    }
    window
        .wait_for(
            "the details panel",
            "return !document.getElementById('details').hidden;",
            vec![],
            UI_TIMEOUT,
        )
        .await;
}

async fn wait_text(window: &Window, css: &str, expected: &str) {
    window
        .wait_for(
            &format!("{css} to read {expected:?}"),
            "return document.querySelector(arguments[0])?.textContent === arguments[1];",
            vec![json!(css), json!(expected)],
            UI_TIMEOUT,
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

/// Assigns a conversation and edits its note from the header: the sandbox gets both, the header and
/// the list row show them.
async fn assign_and_note_reach_the_sandbox(
    window: &Window,
    sandbox: &Sandbox,
    listed: &[ConversationRow],
) {
    let id = listed[ASSIGNED_ROW].id;
    open_row(window, listed, ASSIGNED_ROW).await;
    layout_leaves_room(window).await;
    assign_typed(window, TEAMMATE).await;
    wait_text(
        window,
        "#actions-error",
        &format!("Assigned to {TEAMMATE}."),
    )
    .await;
    wait_sandbox(sandbox, id, "the assignee", |c| {
        c.assignee_id.map(|a| a.to_string()).as_deref() == Some(TEAMMATE)
    })
    .await;
    wait_text(
        window,
        &format!("#conversations li[data-index=\"{ASSIGNED_ROW}\"] .conversation__assignee"),
        &format!("→ {TEAMMATE}"),
    )
    .await;

    assert_eq!(
        window.texts("#assign-current").await,
        [TEAMMATE],
        "the header's assign button names the assignee"
    );

    open_details(window).await;
    type_into(window, "#note-input", NOTE).await;
    window.click("#note-save").await;
    wait_text(window, "#actions-error", "Note saved.").await;
    wait_sandbox(sandbox, id, "the note", |c| c.note.as_deref() == Some(NOTE)).await;
    assert_eq!(
        window.count(".thread b").await,
        0,
        "the note's markup stays text"
    );

    let blocked_before = window
        .js(
            "return document.getElementById('bitrix-toggle').checked;",
            vec![],
        )
        .await
        .as_bool()
        .expect("a checkbox state");
    window.click("#bitrix-toggle").await;
    let state = if blocked_before {
        "not blocked"
    } else {
        "blocked"
    };
    wait_text(
        window,
        "#actions-error",
        &format!("Bitrix openlines: {state}."),
    )
    .await;
    wait_sandbox(sandbox, id, "the Bitrix openlines flag", |c| {
        c.bitrix_block_openlines != blocked_before
    })
    .await;
    window.screenshot("actions-header").await;
}

/// Clicks a filter button and returns the titles the list then shows.
async fn filtered_titles(window: &Window, filter: &str, expected_total: usize) -> Vec<String> {
    window
        .click(&format!("#filters [data-filter=\"{filter}\"]"))
        .await;
    window
        .wait_for(
            &format!("the {filter} filter to show {expected_total} rows"),
            "const list = document.getElementById('conversations');\
             return document.querySelector(`#filters [data-filter=\"${arguments[0]}\"]`).getAttribute('aria-pressed') === 'true'\
               && Number(list.dataset.total) === arguments[1]\
               && list.querySelectorAll('li.conversation-placeholder').length === 0;",
            vec![json!(filter), json!(expected_total)],
            UI_TIMEOUT,
        )
        .await;
    window.conversation_titles().await
}

/// All, Unassigned and Mine list exactly the conversations they should, in activity order; "Mine"
/// asks once for the user's own id.
async fn filters_show_the_right_rows(
    window: &Window,
    sandbox: &Sandbox,
    listed: &[ConversationRow],
) {
    // Assign one conversation to the user, through the header and the recent-ids list.
    open_row(window, listed, MINE_ROW).await;
    assign_typed(window, MY_ID).await;
    wait_text(window, "#actions-error", &format!("Assigned to {MY_ID}.")).await;
    let mine_id = listed[MINE_ROW].id;
    wait_sandbox(sandbox, mine_id, "the user's assignment", |c| {
        c.assignee_id.map(|a| a.to_string()).as_deref() == Some(MY_ID)
    })
    .await;

    let assignees: std::collections::HashMap<i64, Option<i64>> = sandbox
        .conversations()
        .into_iter()
        .map(|c| (c.id, c.assignee_id))
        .collect();
    let unassigned: Vec<String> = listed
        .iter()
        .filter(|row| assignees[&row.id].is_none())
        .map(title_of)
        .collect();
    assert!(
        !unassigned.is_empty() && unassigned.len() < listed.len(),
        "the fixture needs assigned and unassigned conversations"
    );
    let shown = filtered_titles(window, "unassigned", unassigned.len()).await;
    assert_eq!(shown, unassigned, "the Unassigned filter's rows");
    assert_eq!(
        window.count("#conversations .conversation__assignee").await,
        0,
        "no unassigned row shows an assignee"
    );

    window.click("#filters [data-filter=\"mine\"]").await;
    window
        .wait_for(
            "the dialog asking for the user's id",
            "return document.getElementById('my-id').open;",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    type_into(
        window,
        &format!("#my-id-fields input[name=\"{ACCOUNT}\"]"),
        MY_ID,
    )
    .await;
    window.screenshot("my-user-id").await;
    window.click("#my-id-form button[type=submit]").await;
    let mine = filtered_titles(window, "mine", 1).await;
    assert_eq!(
        mine,
        vec![title_of(&listed[MINE_ROW])],
        "the Mine filter's rows"
    );
    window.screenshot("filter-mine").await;

    let all = filtered_titles(window, "all", listed.len()).await;
    let expected: Vec<String> = listed.iter().map(title_of).collect();
    assert_eq!(all, expected, "the All filter's rows");
    window.click("#assign-open").await;
    let offered = window
        .js(
            "return Array.from(document.querySelectorAll('#assign-options [role=option]')).map(o => o.dataset.userId ?? o.textContent);",
            vec![],
        )
        .await;
    assert_eq!(
        offered,
        json!(["Assign to me", MY_ID, TEAMMATE]),
        "Assign to me first, then the recently used assignees, newest first"
    );
    window.press(&[Key::Escape], "").await;
    window
        .wait_for(
            "the assign list to close",
            "return document.getElementById('assign-popover').hidden;",
            vec![],
            UI_TIMEOUT,
        )
        .await;
}

/// Puts the keyboard focus on the thread (outside any text field), where plain-key shortcuts work.
async fn focus_thread(window: &Window) {
    window
        .js("document.getElementById('messages').focus();", vec![])
        .await;
}

/// From the keyboard: `?` lists the shortcuts; the palette's "Assign to me" assigns the open
/// conversation to the user's id; `u` marks it unread (a count said in words, and it stays unread
/// while open); `n` opens the next unread one; a teammate named once ("777 = Olga") is shown by name
/// in the row and the header, never by id.
async fn keyboard_commands_assign_and_mark_unread(
    window: &Window,
    sandbox: &Sandbox,
    listed: &[ConversationRow],
) {
    const TARGET: usize = 4;
    open_row(window, listed, TARGET).await;
    focus_thread(window).await;
    window.press(&[], "?").await;
    window
        .wait_for(
            "the shortcuts overlay",
            "return document.getElementById('shortcuts').open;",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    let overlay = window.texts("#shortcuts-list .shortcuts__row").await;
    for wanted in [
        "Mark unread",
        "Next unread conversation",
        "Reply",
        "Command palette",
    ] {
        assert!(
            overlay.iter().any(|row| row.starts_with(wanted)),
            "the overlay lists {wanted:?}: {overlay:?}"
        );
    }
    window.press(&[Key::Escape], "").await;

    window.press(&[Key::Control, Key::Shift], "p").await;
    window
        .wait_for(
            "the command palette",
            "return document.getElementById('palette').open                && document.activeElement === document.getElementById('palette-input');",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    type_into(window, "#palette-input", "assign to me").await;
    window.press(&[Key::Enter], "").await;
    let id = listed[TARGET].id;
    wait_text(window, "#actions-error", "Assigned to you.").await;
    wait_sandbox(sandbox, id, "the palette's Assign to me", |c| {
        c.assignee_id.map(|a| a.to_string()).as_deref() == Some(MY_ID)
    })
    .await;

    // Named once, the teammate is shown by name everywhere.
    assign_typed(window, &format!("{TEAMMATE} = Olga")).await;
    wait_text(
        window,
        "#actions-error",
        &format!("User {TEAMMATE} is Olga from now on."),
    )
    .await;
    window.press(&[Key::Escape], "").await;
    window
        .wait_for(
            "Esc to close the assign list (the focus on its Assign button)",
            "return document.getElementById('assign-popover').hidden;",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    let row = format!("#conversations li[data-index=\"{ASSIGNED_ROW}\"] .conversation__assignee");
    wait_text(window, &row, "→ Olga").await;

    focus_thread(window).await;
    window.press(&[], "u").await;
    let row = format!("#conversations li.conversation[data-id=\"{ACCOUNT}/{id}\"]");
    window
        .wait_for(
            "the row marked unread with a count said in words",
            "const row = document.querySelector(arguments[0]);             return row?.classList.contains('conversation--unread')               && row.querySelector('.conversation__count [aria-hidden]')?.textContent === '1'               && row.querySelector('.conversation__count .visually-hidden')?.textContent === '1 unread message';",
            vec![json!(row)],
            UI_TIMEOUT,
        )
        .await;
    window.screenshot("marked-unread").await;

    // The palette switches the theme; it is kept (checked after the restart).
    window.press(&[Key::Control, Key::Shift], "p").await;
    type_into(window, "#palette-input", "theme dark").await;
    window.press(&[Key::Enter], "").await;
    window
        .wait_for(
            "the dark theme",
            "return document.documentElement.dataset.theme === 'dark';",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    window.screenshot("marked-unread-dark").await;

    // Next unread: from the top, the first unread row below the open one (wrapping around).
    open_row(window, listed, 0).await;
    focus_thread(window).await;
    window.press(&[], "n").await;
    window
        .wait_for(
            "next unread to open the unread row",
            "return document.getElementById('thread-title').textContent === arguments[0];",
            vec![json!(title_of(&listed[TARGET]))],
            UI_TIMEOUT,
        )
        .await;
}

/// Settings' Team section: it shows the user's own id and the teammate named earlier, and names
/// another user id seen on the conversations; from then on that row shows the name, the rows and the
/// header assigned to the user say "Me", and a reply sent from here says it is the user's own.
async fn team_is_named_in_settings(window: &Window, sandbox: &Sandbox, listed: &[ConversationRow]) {
    let assignees: std::collections::HashMap<i64, Option<i64>> = sandbox
        .conversations()
        .into_iter()
        .map(|c| (c.id, c.assignee_id))
        .collect();
    let (other_row, other_id) = listed
        .iter()
        .enumerate()
        .find_map(|(index, row)| {
            let id = assignees[&row.id]?.to_string();
            (id != TEAMMATE && id != MY_ID).then_some((index, id))
        })
        .expect("the fixture assigns a conversation to a third user id");

    focus_thread(window).await;
    window.press(&[Key::Control], ",").await;
    window.wait_dialog_open("settings").await;
    let me = format!("#team-settings input.team__me-input[data-account=\"{ACCOUNT}\"]");
    let olga = format!("#team-settings input.team__name[data-user-id=\"{TEAMMATE}\"]");
    let other = format!("#team-settings input.team__name[data-user-id=\"{other_id}\"]");
    window
        .wait(
            "the Team section: the user's id, Olga named, the third id listed unnamed",
            "return document.querySelector(arguments[0])?.value === arguments[3] \
               && document.querySelector(arguments[1])?.value === 'Olga' \
               && document.querySelector(arguments[2])?.value === '';",
            vec![json!(me), json!(olga), json!(other), json!(MY_ID)],
        )
        .await;
    window
        .js(
            "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' });",
            vec![json!(other)],
        )
        .await;
    type_into(window, &other, "Boris").await;
    window.press(&[Key::Tab], "").await;
    let row = format!("#conversations li[data-index=\"{other_row}\"] .conversation__assignee");
    wait_text(window, &row, "→ Boris").await;
    window.screenshot("settings-team").await;
    window.press(&[Key::Escape], "").await;

    let mine = format!("#conversations li[data-index=\"{MINE_ROW}\"] .conversation__assignee");
    wait_text(window, &mine, "→ Me").await;
    open_row(window, listed, MINE_ROW).await;
    wait_text(window, "#assign-current", "Me").await;
    let assignees = window.texts("#conversations .conversation__assignee").await;
    assert!(
        !assignees.contains(&format!("→ {other_id}")) && !assignees.contains(&format!("→ {MY_ID}")),
        "a named teammate's id is still on a row: {assignees:?}"
    );

    // The reply goes to the newest conversation, so the list keeps its order for the restart.
    open_row(window, listed, LONG_ROW).await;
    let reply = format!("sent from this computer {}", std::process::id());
    type_into(window, "#composer-text", &reply).await;
    window.press(&[Key::Control, Key::Enter], "").await;
    window
        .wait(
            "the reply marked as the user's own",
            "const sent = Array.from(document.querySelectorAll('#messages li.message--out'))\
               .find(li => li.textContent.includes(arguments[0]));\
             return sent?.querySelector('.message__sender')?.textContent === 'You · ';",
            vec![json!(reply)],
        )
        .await;
}

/// Types a draft (not sent), switches away and back: the composer shows it again from the core.
async fn draft_is_kept(window: &Window, listed: &[ConversationRow], draft: &str) {
    open_row(window, listed, DRAFT_ROW).await;
    // WebDriver types a line break as the Enter key (a bare "\n" is dropped).
    let typed = draft.replace('\n', &char::from(Key::Enter).to_string());
    type_into(window, "#composer-text", &typed).await;
    open_row(window, listed, DRAFT_ROW + 1).await;
    assert_eq!(
        composer_text(window).await,
        "",
        "another conversation has its own (empty) draft"
    );
    open_row(window, listed, DRAFT_ROW).await;
    wait_composer(window, draft).await;
}

async fn composer_text(window: &Window) -> String {
    let value = window
        .js(
            "return document.getElementById('composer-text').value;",
            vec![],
        )
        .await;
    value.as_str().unwrap_or_default().to_string()
}

async fn wait_composer(window: &Window, expected: &str) {
    window
        .wait_for(
            "the draft in the composer",
            "return document.getElementById('composer-text').value === arguments[0];",
            vec![json!(expected)],
            UI_TIMEOUT,
        )
        .await;
}

/// Scrolling to the top of a thread longer than one page loads the older messages above, in order,
/// and the message the reader was looking at stays in view.
async fn scrolling_up_loads_older_messages(
    window: &Window,
    sandbox: &Sandbox,
    listed: &[ConversationRow],
) {
    let id = listed[LONG_ROW].id;
    let seeded: Vec<Option<String>> = sandbox
        .messages(id)
        .into_iter()
        .map(|m| m.text.filter(|t| !t.is_empty()))
        .collect();
    assert!(
        seeded.len() > THREAD_PAGE,
        "the long thread has more than one page"
    );
    open_row(window, listed, LONG_ROW).await;
    assert_eq!(
        window.count("#messages li.message").await,
        THREAD_PAGE,
        "one page shown at first"
    );
    let first_key = window
        .js(
            "const first = document.querySelector('#messages li.message');\
             document.getElementById('messages').scrollTop = 0;\
             return first.dataset.key;",
            vec![],
        )
        .await;
    window
        .wait_for(
            "a page of older messages above",
            "return document.querySelectorAll('#messages li.message').length > arguments[0];",
            vec![json!(THREAD_PAGE)],
            UI_TIMEOUT,
        )
        .await;
    let kept = window
        .js(
            "const node = document.querySelector(`#messages li[data-key=\"${arguments[0]}\"]`);\
             const list = document.getElementById('messages').getBoundingClientRect();\
             const box = node.getBoundingClientRect();\
             return box.bottom > list.top && box.top < list.bottom;",
            vec![first_key],
        )
        .await;
    assert_eq!(kept, json!(true), "the message read before stays in view");
    window.screenshot("thread-older").await;
    window
        .wait_for(
            "the whole history, page by page while scrolled to the top",
            "const list = document.getElementById('messages');\
             if (list.scrollTop > 0 && list.querySelectorAll('li.message').length < arguments[0]) {\
               list.scrollTop = 0;\
             }\
             return list.querySelectorAll('li.message').length === arguments[0];",
            vec![json!(seeded.len())],
            UI_TIMEOUT,
        )
        .await;
    let texts = window
        .js(
            "return Array.from(document.querySelectorAll('#messages li.message'))\
               .map(li => li.querySelector('p.message__text')?.textContent ?? null);",
            vec![],
        )
        .await;
    assert_eq!(
        texts,
        json!(seeded),
        "the whole thread, oldest first, vs the sandbox"
    );
}

/// After a restart: the list row and the header still show the assignee and the note.
async fn actions_survive_the_restart(window: &Window, listed: &[ConversationRow]) {
    wait_text(
        window,
        &format!("#conversations li[data-index=\"{ASSIGNED_ROW}\"] .conversation__assignee"),
        "→ Olga",
    )
    .await;
    open_row(window, listed, ASSIGNED_ROW).await;
    let values = window
        .js(
            "return [document.getElementById('assign-current').textContent, document.getElementById('note-input').value, document.getElementById('details').hidden];",
            vec![],
        )
        .await;
    assert_eq!(
        values,
        json!(["Olga", NOTE, false]),
        "the header's assignee by name, the note, and the details panel still open"
    );
    window
        .wait_for(
            "the dark theme kept",
            "return document.documentElement.dataset.theme === 'dark';",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    window.screenshot("actions-after-restart-dark").await;
    // Back to the system's theme, from Settings.
    window.press(&[Key::Control], ",").await;
    window
        .js(
            "const choice = document.getElementById('theme-choice');\
             choice.value = 'system';\
             choice.dispatchEvent(new Event('change', { bubbles: true }));",
            vec![],
        )
        .await;
    window
        .wait_for(
            "the system theme",
            "return document.documentElement.dataset.theme === undefined;",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    window.press(&[Key::Escape], "").await;
    window.screenshot("actions-after-restart").await;
}

/// After a restart: the draft is back in its conversation's composer.
async fn draft_survives_the_restart(window: &Window, listed: &[ConversationRow], draft: &str) {
    open_row(window, listed, DRAFT_ROW).await;
    wait_composer(window, draft).await;
    window.screenshot("draft-after-restart").await;
}

/// An image attachment among a thread's newest messages shows a preview (downloaded on demand, shown
/// from a blob: URL) beside its name, size and the Open / Save buttons.
async fn image_preview_shows(window: &Window, sandbox: &Sandbox, listed: &[ConversationRow]) {
    let (index, message_id, name) = listed
        .iter()
        .enumerate()
        .find_map(|(index, row)| {
            let messages = sandbox.messages(row.id);
            let newest = &messages[messages.len().saturating_sub(THREAD_PAGE)..];
            newest.iter().find_map(|message| {
                let image = message.attachments.first()?;
                (image.mime_type == "image/png")
                    .then(|| (index, message.id, image.file_name.clone()))
            })
        })
        .expect("the fixture has a png attachment among a thread's newest messages");
    open_row(window, listed, index).await;
    let row = format!("#messages li[data-key=\"m:{message_id}\"]");
    window
        .js(
            "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' });",
            vec![json!(row)],
        )
        .await;
    window
        .wait_for(
            &format!("the preview of {name:?}"),
            "const image = document.querySelector(arguments[0] + ' img.message__preview');\
             return !!image && image.src.startsWith('blob:') && image.complete && image.naturalWidth > 0;",
            vec![json!(row)],
            UI_TIMEOUT,
        )
        .await;
    let file = window
        .texts(&format!("{row} .message__file"))
        .await
        .concat();
    assert!(
        file.contains(&name) && file.contains("Open") && file.contains("Save"),
        "the attachment row shows its name and the Open / Save buttons: {file:?}"
    );
    window.screenshot("thread-preview").await;
}

/// Puts a message with [`MARKER`] into a conversation, followed by [`AFTER_MARKER`] newer ones; returns
/// the conversation's id.
fn plant_search_marker(sandbox: &Sandbox) -> i64 {
    let id = sandbox.conversations()[5].id;
    assert_ne!(
        sandbox.push_incoming_message(id, &format!("Is the {MARKER} order shipped?")),
        0
    );
    for n in 0..AFTER_MARKER {
        sandbox.push_incoming_message(id, &format!("follow-up {n}"));
    }
    id
}

/// Alt+Down opens the next conversation of the list, Alt+Up the previous one.
async fn keyboard_moves_between_conversations(window: &Window, listed: &[ConversationRow]) {
    open_row(window, listed, 4).await;
    window.press(&[Key::Alt, Key::Down], "").await;
    wait_text(window, "#thread-title", &title_of(&listed[5])).await;
    window.press(&[Key::Alt, Key::Up], "").await;
    window.press(&[Key::Alt, Key::Up], "").await;
    wait_text(window, "#thread-title", &title_of(&listed[3])).await;
}

/// Ctrl+K puts the cursor in the search box; a hit deep in a thread opens the conversation with that
/// message (two pages back) shown and marked; Esc clears the search and the list returns.
async fn search_opens_the_conversation_at_the_hit(
    window: &Window,
    listed: &[ConversationRow],
    marked: i64,
) {
    window.press(&[Key::Control], "k").await;
    let focused = window
        .js("return document.activeElement?.id ?? null;", vec![])
        .await;
    assert_eq!(focused, json!("search"), "Ctrl+K focuses the search box");
    let search = window.find("#search").await;
    within("type a search", search.send_keys(MARKER)).await;
    window
        .wait_for(
            "one search hit",
            "return document.querySelectorAll('#search-results li.search-hit').length === 1 \
               && !document.querySelector('#search-results li.search-hit--none') \
               && document.getElementById('conversations').hidden;",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    let title = title_of(listed.iter().find(|row| row.id == marked).expect("listed"));
    wait_text(window, "#search-results .search-hit__title", &title).await;
    window.screenshot("search").await;
    window.click("#search-results li.search-hit").await;
    window
        .wait_for(
            "the thread opened at the hit",
            "const found = document.querySelector('#messages li.message--found');\
             if (!found) return false;\
             const list = document.getElementById('messages').getBoundingClientRect();\
             const box = found.getBoundingClientRect();\
             return document.getElementById('thread-title').textContent === arguments[0]\
               && found.querySelector('p.message__text').textContent.includes(arguments[1])\
               && box.bottom > list.top && box.top < list.bottom;",
            vec![json!(title), json!(MARKER)],
            UI_TIMEOUT,
        )
        .await;
    assert!(
        window.count("#messages li.message").await > AFTER_MARKER,
        "older pages were loaded to reach the hit"
    );
    window.screenshot("search-hit-opened").await;
    let search = window.find("#search").await;
    within("focus the search", search.click()).await;
    within(
        "Esc",
        search.send_keys(&char::from(Key::Escape).to_string()),
    )
    .await;
    window
        .wait_for(
            "the list back after Esc",
            "return document.getElementById('search').value === '' \
               && !document.getElementById('conversations').hidden \
               && document.getElementById('search-results').hidden;",
            vec![],
            UI_TIMEOUT,
        )
        .await;
}

/// The same app environment with the Russian UI.
fn russian_env(env: &[(String, PathBuf)]) -> Vec<(String, PathBuf)> {
    env.iter()
        .filter(|(key, _)| key != "PARLEY_LOCALE")
        .cloned()
        .chain([("PARLEY_LOCALE".to_string(), PathBuf::from("ru"))])
        .collect()
}

/// With a Russian OS locale every fixed string is Russian (customer content stays as it is).
async fn russian_ui(window: &Window, listed: &[ConversationRow]) {
    window
        .wait_for(
            "the Russian UI",
            "return document.documentElement.lang === 'ru';",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    assert_eq!(
        window.texts("#filters button[data-filter]").await,
        ["Все", "Мои", "Без ответственного", "Архив"],
        "the filters in Russian"
    );
    let placeholder = window
        .js(
            "return document.getElementById('search').placeholder;",
            vec![],
        )
        .await;
    assert_eq!(placeholder, json!("Поиск по сообщениям (Ctrl+K)"));
    open_row(window, listed, ASSIGNED_ROW).await;
    assert_eq!(window.texts("#assign-current").await, ["Olga"]);
    assert_eq!(window.texts("#details-toggle").await, ["Сведения"]);
    assert_eq!(window.texts("#note-save").await, ["Сохранить заметку"]);
    window.screenshot("inbox-ru").await;
}

/// The conversation a customer wrote to since the last look is marked unread in the list, with the
/// message as its preview, and counted in the sidebar and the window title.
async fn inbox_shows_the_unread_conversation(
    window: &Window,
    listed: &[ConversationRow],
    unread: i64,
) {
    let index = listed
        .iter()
        .position(|row| row.id == unread)
        .expect("listed");
    window.conversation_row(index).await;
    let row = format!("#conversations li[data-index=\"{index}\"]");
    window
        .wait_for(
            "the unread conversation marked",
            "const row = document.querySelector(arguments[0]);\
             return row.classList.contains('conversation--unread')\
               && row.querySelector('.conversation__preview').textContent === arguments[1]\
               && document.querySelectorAll('#conversations li.conversation--unread').length === 1\
               && document.title === 'Parley (1)'\
               && document.querySelector('#accounts .accounts__item--all .accounts__unread')?.textContent === '1';",
            vec![json!(row), json!(UNREAD_TEXT)],
            UI_TIMEOUT,
        )
        .await;
    window.conversation_row(0).await;
    window.settle().await;
    window.screenshot("inbox").await;
}
