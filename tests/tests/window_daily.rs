//! End-to-end test of the agent's daily work in the real window (tauri-driver + WebKitWebDriver under
//! Xvfb, a Pact account on p2 against the sandbox at p2's real-time limits):
//!
//! - **New conversation** (Ctrl+N): a malformed phone is refused in the dialog with the core's
//!   message, everything typed is kept and nothing reaches the sandbox; with a good phone the dialog
//!   closes, the conversation is in the inbox, opened and selected, its first message shows pending and
//!   then delivered, the selection moves from the placeholder to the server's id, and the sandbox holds
//!   the message once, on a conversation with the normalised phone.
//!   A WhatsApp Business conversation starts with a template: its substitutions are asked for in the
//!   dialog and the sandbox gets the filled template.
//! - **Paste** (Ctrl+V): an image put on the X clipboard with `xclip` (as image/png) and a file copied
//!   as a `text/uri-list` (as a file manager does) are staged as chips and sent; the sandbox holds both
//!   byte for byte. Text on the clipboard stays a text paste.
//! - **Attach link…**: a non-http(s) link is refused with a message; a link to a file served on
//!   127.0.0.1 by the test is staged (its name, the URL as title) and sent; the sandbox fetches it and
//!   holds the served bytes.
//! - **Teammates by name**: "42 = Olga" typed in the assign box names user 42, and "Olga" then assigns
//!   the Pact conversation to 42; a VoIPbin conversation's assign box offers the provider's agents by
//!   name, and one assigned by name reaches the sandbox as the agent's id, the header naming them.
//! - **Saved replies**: two are added in the settings view (Ctrl+,); `/` + letters in the composer
//!   opens the picker, the keyboard alone picks one and `{name}` is filled with the contact's name; after
//!   a restart of the app the replies are still there and still offered.
//!
//! Needs `xclip` besides what the other window tests need. Run: `cargo build -p parley-app -p
//! parley-cli && bash src-tauri/scripts/test.sh -- -p parley-tests --test window_daily`.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use parley_sandbox::{Sandbox, SnapshotMessage};
use parley_tests::daily::{Clipboard, FileServer};
use parley_tests::rows::{self, ConversationRow};
use parley_tests::voipbin::VOIPBIN_ACCESS_KEY;
use parley_tests::window::{
    app_binary, app_environment, require_display, within, Driver, Window, UI_TIMEOUT,
};
use parley_tests::{sandbox_config, World};
use rand::RngCore;
use serde_json::json;

const ACCOUNT: &str = "daily";
const VOIPBIN_ACCOUNT: &str = "vb-daily";
/// The user id the agent names in the assign box, and the name.
const LABELLED_ID: &str = "42";
const LABEL: &str = "Olga";
const SEED: u64 = 4_477;
/// The phone typed in the dialog, and the form Pact gets it in.
const PHONE_TYPED: &str = "+7 (925) 000-44-77";
const PHONE_NORMALISED: &str = "79250004477";
/// How long a send may take to reach the sandbox and be reported delivered.
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(60);
/// The saved replies added in the settings view; typing `/gr` offers both, sorted by title.
const REPLY_GREETING: (&str, &str) = ("Greeting", "Hello {name}, thanks for writing to us!");
const REPLY_GOODBYE: (&str, &str) = ("Great day", "Have a great day, {name}!");

#[test]
fn the_agents_daily_work_in_the_window() {
    require_display();
    let mut config = sandbox_config(SEED, 8, 4);
    // "delivered" stays long enough to be seen before it turns "read".
    config.p2_status_read_after = Duration::from_secs(600);
    config.voipbin_conversations = 3;
    config.voipbin_messages_per_conversation = 3;
    config.voipbin_access_key = VOIPBIN_ACCESS_KEY.to_string();
    let world = World::start(config);
    let cli = world.cli();
    world.add_pact_account(&cli, ACCOUNT).assert_ok();
    world
        .add_voipbin_by_key(&cli, VOIPBIN_ACCOUNT, VOIPBIN_ACCESS_KEY)
        .assert_ok();
    rows::sync(&cli, ACCOUNT);
    rows::sync(&cli, VOIPBIN_ACCOUNT);
    let listed = rows::conversations(&cli, Some(ACCOUNT));
    let mut env = app_environment(cli.data_dir(), &world.root().join("home"));
    // The assertions read English UI strings.
    env.push(("PARLEY_LOCALE".to_string(), PathBuf::from("en")));

    let session = Session::start(&world, &env, "first run");
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(async {
            let window = &session.window;
            window.wait_for_inbox().await;
            let started = start_a_conversation(window, world.sandbox()).await;
            paste_an_image_and_a_copied_file(window, world.sandbox(), started, world.root()).await;
            attach_a_link(window, world.sandbox(), started).await;
            name_a_user_id_and_assign_by_name(window, world.sandbox(), started).await;
            assign_a_voipbin_agent_by_name(window, world.sandbox()).await;
            start_with_a_template(window, world.sandbox()).await;
            let (id, name) = named_conversation(&listed);
            add_saved_replies(window).await;
            pick_a_saved_reply(window, id, &name).await;
        })
    }));
    session.finish(&world, outcome);

    // The first run's processes are gone (killed with their group); give the ports a moment.
    std::thread::sleep(Duration::from_secs(2));
    let session = Session::start(&world, &env, "after a restart");
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(async {
            let window = &session.window;
            let (id, name) = named_conversation(&listed);
            saved_replies_survive_the_restart(window, id, &name).await;
        })
    }));
    session.finish(&world, outcome);
}

/// The app running on the test's data folder, in a WebDriver session.
struct Session {
    driver: Driver,
    window: Window,
    log: PathBuf,
    what: String,
}

impl Session {
    fn start(world: &World, env: &[(String, PathBuf)], what: &str) -> Session {
        let log = world
            .root()
            .join(format!("tauri-driver-{}.log", what.replace(' ', "-")));
        let driver = Driver::start(env, &log);
        let window = world.block_on(Window::open(&driver, &app_binary()));
        Session {
            driver,
            window,
            log,
            what: what.to_string(),
        }
    }

    /// Closes the app; on a failure first saves `failure-daily.png` and prints the app's log.
    fn finish(self, world: &World, outcome: std::thread::Result<()>) {
        if outcome.is_err() {
            let _ = catch_unwind(AssertUnwindSafe(|| {
                world.block_on(self.window.screenshot("failure-daily"))
            }));
            eprintln!(
                "--- tauri-driver / app log ({}) ---\n{}",
                self.what,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
        world.block_on(self.window.close());
        drop(self.driver);
        if let Err(panic) = outcome {
            resume_unwind(panic);
        }
    }
}

fn key(key: Key) -> String {
    char::from(key).to_string()
}

async fn value_of(window: &Window, css: &str) -> String {
    window
        .js(
            "return document.querySelector(arguments[0]).value;",
            vec![json!(css)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Scenario 1: Ctrl+N, a malformed phone refused in the dialog, then the conversation started; returns
/// its id on the sandbox.
async fn start_a_conversation(window: &Window, sandbox: &Sandbox) -> i64 {
    let conversations_before = sandbox.conversations().len();
    let sent_before = sandbox.sent_messages().len();
    // Ctrl+N from the search box (any focus works).
    let search = window.find("#search").await;
    within("click the search box", search.click()).await;
    window.press(&[Key::Control], "n").await;
    window
        .wait(
            "the New conversation dialog, focus on its first field",
            "return document.getElementById('new-conversation').open \
         && document.activeElement?.id === 'nc-account' \
         && document.getElementById('nc-channel').options.length > 0;",
            vec![],
        )
        .await;
    assert_eq!(value_of(window, "#nc-account").await, ACCOUNT);
    window.choose("#nc-channel", "whatsapp").await;
    let text = format!("Hello from Parley, order {}", std::process::id());

    // A phone with letters: the core's message in the dialog, everything kept, nothing sent.
    window.type_into("#nc-contact", "+7 925 CALL-ME").await;
    window.type_into("#nc-text", &text).await;
    window.press(&[Key::Control], &key(Key::Enter)).await;
    window
        .wait(
            "the refusal in the dialog",
            "return document.getElementById('nc-error').textContent.length > 0;",
            vec![],
        )
        .await;
    let shown = window.texts("#nc-error").await.concat();
    assert!(
        shown.to_lowercase().contains("phone"),
        "the message names the problem: {shown:?}"
    );
    assert_eq!(
        window
            .js(
                "return document.getElementById('new-conversation').open;",
                vec![]
            )
            .await,
        json!(true),
        "the dialog stays open"
    );
    assert_eq!(value_of(window, "#nc-contact").await, "+7 925 CALL-ME");
    assert_eq!(value_of(window, "#nc-text").await, text, "the text is kept");
    window.settle().await;
    window.screenshot("new-conversation-refused").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        sandbox.conversations().len(),
        conversations_before,
        "nothing reached the sandbox"
    );
    assert_eq!(sandbox.sent_messages().len(), sent_before);

    // The phone corrected: started.
    window
        .js("document.getElementById('nc-contact').value = '';", vec![])
        .await;
    window.type_into("#nc-contact", PHONE_TYPED).await;
    window
        .wait(
            "the refusal cleared as the phone is corrected",
            "return document.getElementById('nc-error').textContent === '';",
            vec![],
        )
        .await;
    window.settle().await;
    window.screenshot("new-conversation").await;
    let field = window.find("#nc-text").await;
    within("click the message", field.click()).await;
    // A slow server for a moment, so the pending state can be seen before the send goes through.
    sandbox.set_latency(Duration::from_millis(2_500));
    window.press(&[Key::Control], &key(Key::Enter)).await;
    window.wait(
        "the dialog closed and the new conversation open and selected, its first message pending",
        "return !document.getElementById('new-conversation').open \
         && document.querySelector('#conversations li.conversation--open') !== null \
         && Array.from(document.querySelectorAll('#messages li.message--out'))\
              .some(li => li.querySelector('p.message__text')?.textContent === arguments[0] \
                          && li.dataset.status === 'pending');",
        vec![json!(text)],
    )
    .await;
    window.settle().await;
    window.screenshot("new-conversation-pending").await;
    sandbox.set_latency(Duration::ZERO);
    let statuses = follow_status(window, &text).await;
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("delivered"),
        "then delivered: {statuses:?}"
    );

    let arrived = wait_for_text(sandbox, &text).await;
    assert_eq!(arrived.len(), 1, "the sandbox got the first message once");
    let conversation = sandbox
        .conversations()
        .into_iter()
        .find(|c| {
            sandbox
                .messages(c.id)
                .iter()
                .any(|m| m.text.as_deref() == Some(&text))
        })
        .expect("the message is in a conversation");
    assert_eq!(
        conversation.name.as_deref(),
        Some(PHONE_NORMALISED),
        "the conversation's contact is the normalised phone"
    );
    assert_eq!(conversation.channel_type, "whatsapp");
    assert_eq!(sandbox.conversations().len(), conversations_before + 1);

    // The selection moved from the placeholder to the server's id, in the list and the thread.
    let real_key = format!("{ACCOUNT}/{}", conversation.id);
    window
        .wait(
            "the selection on the server's id",
            "const row = document.querySelector('#conversations li.conversation--open');\
         return row?.dataset.id === arguments[0];",
            vec![json!(real_key)],
        )
        .await;
    let open_rows = window.count("#conversations li.conversation--open").await;
    assert_eq!(open_rows, 1, "one row selected");
    let placeholders = window
        .js(
            "return Array.from(document.querySelectorAll('#conversations li.conversation'))\
               .filter(li => li.dataset.id.startsWith(arguments[0] + '/new-')).length;",
            vec![json!(ACCOUNT)],
        )
        .await;
    assert_eq!(placeholders, json!(0), "no placeholder row is left");
    window.settle().await;
    window.screenshot("new-conversation-sent").await;
    conversation.id
}

/// Scenario 1b: WhatsApp Business starts with a template: the dialog shows the template's text and one
/// field per substitution instead of a free text; Enter starts it; the sandbox gets the filled template.
async fn start_with_a_template(window: &Window, sandbox: &Sandbox) {
    let search = window.find("#search").await;
    within("click the search box", search.click()).await;
    window.press(&[Key::Control], "n").await;
    window
        .wait(
            "the New conversation dialog",
            "return document.getElementById('new-conversation').open;",
            vec![],
        )
        .await;
    window.choose("#nc-account", ACCOUNT).await;
    window.choose("#nc-channel", "whatsapp_business").await;
    window.wait(
        "the company's templates instead of a free text",
        "return document.getElementById('nc-text-field').hidden \
           && !document.getElementById('nc-template-field').hidden \
           && Array.from(document.getElementById('nc-template').options).some(o => o.value === 'order_status');",
        vec![],
    )
    .await;
    window.choose("#nc-template", "order_status").await;
    window
        .wait(
            "two substitution fields and the template's text",
            "return document.querySelectorAll('#nc-template-vars input').length === 2 \
           && document.getElementById('nc-template-body').textContent.includes('[Field 2]') \
           && !document.getElementById('nc-template-body').textContent.includes('{{');",
            vec![],
        )
        .await;
    let order = format!("{}", std::process::id());
    let fields = within(
        "the substitution fields",
        window
            .client()
            .find_all(fantoccini::Locator::Css("#nc-template-vars input")),
    )
    .await;
    for (field, value) in fields.iter().zip(["Анна", order.as_str()]) {
        within("click a field", field.click()).await;
        within("type a value", field.send_keys(value)).await;
    }
    window.wait(
        "the template's text as the customer will read it",
        "return document.getElementById('nc-template-body').textContent.includes('Привет, Анна.');",
        vec![],
    )
    .await;
    window
        .js("document.getElementById('nc-contact').value = '';", vec![])
        .await;
    window.type_into("#nc-contact", "+7 925 000-55-88").await;
    window.settle().await;
    window.screenshot("new-conversation-template").await;
    // Enter in a field starts it.
    window.press(&[], &key(Key::Enter)).await;
    let expected = format!("Привет, Анна. Ваш заказ {order} передан в доставку.");
    let arrived = wait_for_text(sandbox, &expected).await;
    assert_eq!(arrived.len(), 1, "the template went out once");
    let conversation = sandbox
        .conversations()
        .into_iter()
        .find(|c| c.name.as_deref() == Some("79250005588"))
        .expect("a conversation with the normalised phone");
    assert_eq!(conversation.channel_type, "whatsapp_business");
    window
        .wait(
            "the dialog closed and the conversation open",
            "return !document.getElementById('new-conversation').open \
           && document.getElementById('thread-title').textContent === '+7 925 000-55-88';",
            vec![],
        )
        .await;
}

/// The delivery states the outgoing message with `text` shows, in order (each once), until it is
/// delivered.
async fn follow_status(window: &Window, text: &str) -> Vec<String> {
    let deadline = Instant::now() + ARRIVAL_TIMEOUT;
    let mut seen: Vec<String> = Vec::new();
    loop {
        let status = window
            .js(
                "const li = Array.from(document.querySelectorAll('#messages li.message--out'))\
                   .find(li => li.querySelector('p.message__text')?.textContent === arguments[0]);\
                 return li ? li.dataset.status : null;",
                vec![json!(text)],
            )
            .await;
        if let Some(status) = status.as_str() {
            if seen.last().map(String::as_str) != Some(status) {
                seen.push(status.to_string());
            }
            if status == "delivered" || status == "failed" {
                return seen;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the message was not delivered within {ARRIVAL_TIMEOUT:?}; states seen: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls the sandbox until a message with `text` arrived, then a little longer for duplicates.
async fn wait_for_text(sandbox: &Sandbox, text: &str) -> Vec<SnapshotMessage> {
    wait_for_messages(sandbox, |m| m.text.as_deref() == Some(text), text).await
}

async fn wait_for_messages(
    sandbox: &Sandbox,
    wanted: impl Fn(&SnapshotMessage) -> bool,
    what: &str,
) -> Vec<SnapshotMessage> {
    let matching = || -> Vec<SnapshotMessage> {
        sandbox
            .sent_messages()
            .into_iter()
            .filter(|m| wanted(m))
            .collect()
    };
    let deadline = Instant::now() + ARRIVAL_TIMEOUT;
    while matching().is_empty() {
        assert!(
            Instant::now() < deadline,
            "{what:?} did not reach the sandbox within {ARRIVAL_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    matching()
}

/// A file of `size` random bytes named `name` in `folder` (created).
fn write_random_file(folder: &Path, name: &str, size: usize) -> PathBuf {
    std::fs::create_dir_all(folder).expect("create the file's folder");
    let path = folder.join(name);
    std::fs::write(&path, random_bytes(size)).expect("write the test file");
    path
}

fn random_bytes(size: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; size];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

/// Waits until a chip whose text has `name` is staged in the composer.
async fn wait_for_chip(window: &Window, name: &str) {
    window
        .wait(
            &format!("{name:?} staged in the composer"),
            "return Array.from(document.querySelectorAll('#staged-files li .staged__name'))\
           .some(span => span.textContent === arguments[0]);",
            vec![json!(name)],
        )
        .await;
}

/// Scenario 2: an image (image/png) and a file copied as a text/uri-list, pasted with Ctrl+V into the
/// open conversation's composer, are staged and arrive byte for byte.
async fn paste_an_image_and_a_copied_file(
    window: &Window,
    sandbox: &Sandbox,
    conversation: i64,
    scratch: &Path,
) {
    let image_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../src-tauri/icons/128x128.png");
    let image = std::fs::read(&image_path).expect("read the PNG");
    let copied = write_random_file(&scratch.join("copied"), "contract draft.pdf", 30_000);

    // Text stays a text paste.
    let clipboard = Clipboard::offer("UTF8_STRING", "plain words".as_bytes());
    let composer = window.find("#composer-text").await;
    within("click the composer", composer.click()).await;
    window.press(&[Key::Control], "v").await;
    window
        .wait(
            "the text pasted as text",
            "return document.getElementById('composer-text').value === 'plain words';",
            vec![],
        )
        .await;
    assert_eq!(
        window.count("#staged-files li").await,
        0,
        "no chip for text"
    );
    drop(clipboard);
    window
        .js(
            "const box = document.getElementById('composer-text'); box.value = '';\
             box.dispatchEvent(new Event('input'));",
            vec![],
        )
        .await;

    let clipboard = Clipboard::offer("image/png", &image);
    window.press(&[Key::Control], "v").await;
    wait_for_chip(window, "pasted-image-1.png").await;
    drop(clipboard);
    let clipboard = Clipboard::offer_files(&[&copied]);
    window.press(&[Key::Control], "v").await;
    wait_for_chip(window, "contract draft.pdf").await;
    drop(clipboard);
    let chips = window.texts("#staged-files li").await;
    assert_eq!(chips.len(), 2, "two chips: {chips:?}");
    assert!(
        chips[1].contains("29.3 kB"),
        "the copied file's chip shows its size: {chips:?}"
    );
    assert_eq!(
        value_of(window, "#composer-text").await,
        "",
        "no path was pasted as text"
    );
    let text = format!("pasted files {}", std::process::id());
    within("type the text", composer.send_keys(&text)).await;
    window.settle().await;
    window.screenshot("paste-staged").await;
    within(
        "Ctrl+Enter",
        composer.send_keys(&format!(
            "{}{}",
            char::from(Key::Control),
            char::from(Key::Enter)
        )),
    )
    .await;

    // p2 takes one file per message: the text goes with the first.
    let with_image = wait_for_messages(
        sandbox,
        |m| {
            m.attachments
                .iter()
                .any(|a| a.file_name == "pasted-image-1.png")
        },
        "the pasted image",
    )
    .await;
    let with_file = wait_for_messages(
        sandbox,
        |m| {
            m.attachments
                .iter()
                .any(|a| a.file_name == "contract draft.pdf")
        },
        "the copied file",
    )
    .await;
    assert_eq!(with_image.len(), 1, "the image arrived once");
    assert_eq!(with_file.len(), 1, "the file arrived once");
    assert!(
        with_image[0].attachments[0].bytes == image,
        "the image arrived byte for byte ({} vs {} bytes)",
        with_image[0].attachments[0].bytes.len(),
        image.len()
    );
    assert!(
        with_file[0].attachments[0].bytes == std::fs::read(&copied).expect("read the copy"),
        "the copied file arrived byte for byte"
    );
    let in_conversation = sandbox.messages(conversation);
    assert!(
        in_conversation
            .iter()
            .any(|m| m.text.as_deref() == Some(&text)),
        "the message with the text joined the started conversation"
    );
    window
        .wait(
            "the composer emptied",
            "return document.querySelectorAll('#staged-files li').length === 0;",
            vec![],
        )
        .await;
}

/// Scenario 3: Attach link… refuses a non-http(s) link with a message; a link to a file served here is
/// staged and sent, and the sandbox holds the served bytes.
async fn attach_a_link(window: &Window, sandbox: &Sandbox, conversation: i64) {
    let bytes = random_bytes(12_345);
    let server = FileServer::start("price-list.pdf", bytes.clone());
    let url = server.url("price-list.pdf");
    let button = window.find("#attach-link").await;
    within("click Attach link…", button.click()).await;
    window
        .wait(
            "the link box, focused",
            "return !document.getElementById('link-row').hidden \
         && document.activeElement?.id === 'link-input';",
            vec![],
        )
        .await;
    window.press(&[], "ftp://127.0.0.1/price-list.pdf").await;
    window.press(&[], &key(Key::Enter)).await;
    window
        .wait(
            "the refusal of an ftp link",
            "return document.getElementById('link-error').textContent.includes('http');",
            vec![],
        )
        .await;
    assert_eq!(window.count("#staged-files li").await, 0, "nothing staged");
    window
        .js("document.getElementById('link-input').value = '';", vec![])
        .await;
    window.press(&[], &url).await;
    window.press(&[], &key(Key::Enter)).await;
    wait_for_chip(window, "price-list.pdf").await;
    let title = window
        .js(
            "return document.querySelector('#staged-files li .staged__name').title;",
            vec![],
        )
        .await;
    assert_eq!(title, json!(url), "the chip's title is the whole link");
    let text = format!("our price list {}", std::process::id());
    let composer = window.find("#composer-text").await;
    within("type the text", composer.send_keys(&text)).await;
    window.settle().await;
    window.screenshot("attach-link-staged").await;
    let send = window.find("#composer-send").await;
    within("click Send", send.click()).await;
    let arrived = wait_for_text(sandbox, &text).await;
    assert_eq!(arrived.len(), 1, "the message arrived once");
    assert_eq!(arrived[0].attachments.len(), 1, "with the link's file");
    assert!(
        arrived[0].attachments[0].bytes == bytes,
        "the sandbox holds the link's bytes ({} vs {} bytes)",
        arrived[0].attachments[0].bytes.len(),
        bytes.len()
    );
    assert!(server.served() >= 1, "the file was fetched from the link");
    assert!(sandbox
        .messages(conversation)
        .iter()
        .any(|m| m.text.as_deref() == Some(&text)));
}

/// Scenario 4: in the open (Pact) conversation, "42 = Olga" typed in the assign list names user 42;
/// the list then offers Olga by name, "Olga" assigns the conversation to 42, and the header names
/// her (not the id).
async fn name_a_user_id_and_assign_by_name(window: &Window, sandbox: &Sandbox, conversation: i64) {
    within(
        "open the assign list",
        window.find("#assign-open").await.click(),
    )
    .await;
    let input = window.find("#assign-input").await;
    within("clear the assignee", input.clear()).await;
    within(
        "name an id",
        input.send_keys(&format!(
            "{LABELLED_ID} = {LABEL}{}",
            char::from(Key::Enter)
        )),
    )
    .await;
    window
        .wait(
            "the name saved and offered",
            "return document.getElementById('actions-error').textContent === arguments[0] \
           && Array.from(document.querySelectorAll('#assign-options [role=option]'))\
                .some(o => o.dataset.userId === arguments[1] && o.textContent === arguments[2]);",
            vec![
                json!(format!("User {LABELLED_ID} is {LABEL} from now on.")),
                json!(LABELLED_ID),
                json!(LABEL),
            ],
        )
        .await;
    within("clear the assignee", input.clear()).await;
    within("type the name", input.send_keys(LABEL)).await;
    within("click Assign", window.find("#assign-save").await.click()).await;
    parley_tests::wait_for_conversation(sandbox, conversation, "the assignee", UI_TIMEOUT, |c| {
        c.assignee_id.map(|id| id.to_string()).as_deref() == Some(LABELLED_ID)
    })
    .await;
    window
        .wait(
            "the header naming the assignee",
            "return document.getElementById('assign-current').textContent === arguments[0] \
           && document.getElementById('actions-error').textContent === arguments[1];",
            vec![json!(LABEL), json!(format!("Assigned to {LABEL}."))],
        )
        .await;
}

/// Scenario 5: a VoIPbin conversation's assign box offers the provider's agents by name; one typed by
/// name is assigned by its id on the sandbox, and the header names them.
async fn assign_a_voipbin_agent_by_name(window: &Window, sandbox: &Sandbox) {
    let agents = sandbox.voipbin_agents();
    let agent = agents
        .iter()
        .find(|agent| {
            !agent.current
                && agents
                    .iter()
                    .filter(|other| other.name == agent.name)
                    .count()
                    == 1
        })
        .expect("an agent with a name of their own")
        .clone();
    let target = sandbox
        .voipbin_conversations()
        .into_iter()
        .find(|c| c.owner_id.as_deref() != Some(agent.id.as_str()))
        .expect("a conversation not assigned to the agent");
    let key = format!("{VOIPBIN_ACCOUNT}/{}", target.id);
    window.wait(
        "the VoIPbin row",
        "return document.querySelector(`#conversations li.conversation[data-id=\"${CSS.escape(arguments[0])}\"]`) !== null;",
        vec![json!(key)],
    )
    .await;
    let row = window
        .find(&format!(
            "#conversations li.conversation[data-id=\"{key}\"]"
        ))
        .await;
    within("open the VoIPbin conversation", row.click()).await;
    window.wait(
        "the VoIPbin conversation open",
        "return document.querySelector('#conversations li.conversation--open')?.dataset.id === arguments[0] \
           && !document.getElementById('thread-actions').hidden;",
        vec![json!(key)],
    )
    .await;
    within(
        "open the assign list",
        window.find("#assign-open").await.click(),
    )
    .await;
    window
        .wait(
            "the agents offered by name",
            "return Array.from(document.querySelectorAll('#assign-options [role=option]'))\
           .some(o => o.dataset.userId === arguments[0] && o.textContent === arguments[1]);",
            vec![json!(agent.id), json!(agent.name)],
        )
        .await;
    let input = window.find("#assign-input").await;
    within("clear the assignee", input.clear()).await;
    within("type the name", input.send_keys(&agent.name)).await;
    within("click Assign", window.find("#assign-save").await.click()).await;
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let owner = sandbox
            .voipbin_conversations()
            .into_iter()
            .find(|c| c.id == target.id)
            .and_then(|c| c.owner_id);
        if owner.as_deref() == Some(agent.id.as_str()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the agent was not assigned on the sandbox (owner {owner:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    window
        .wait(
            "the header naming the agent",
            "return document.getElementById('assign-current').textContent === arguments[0];",
            vec![json!(agent.name)],
        )
        .await;
    window.settle().await;
    window.screenshot("teammates-by-name").await;
}

/// The first listed conversation with a plain name: its id and name.
fn named_conversation(listed: &[ConversationRow]) -> (i64, String) {
    listed
        .iter()
        .find_map(|row| {
            row.title
                .as_deref()
                .filter(|title| !title.is_empty() && !title.contains('<'))
                .map(|title| (row.id, title.to_string()))
        })
        .expect("a conversation with a plain name")
}

/// Scenario 4a: the settings view (Ctrl+,) adds two saved replies, one for the account and one for
/// all accounts.
async fn add_saved_replies(window: &Window) {
    let composer = window.find("#composer-text").await;
    within("click the composer", composer.click()).await;
    window.press(&[Key::Control], ",").await;
    window
        .wait(
            "the settings view, focus on its first setting",
            "return document.getElementById('settings').open \
         && document.activeElement?.id === 'theme-choice';",
            vec![],
        )
        .await;
    for ((title, text), account) in [(REPLY_GREETING, ACCOUNT), (REPLY_GOODBYE, "")] {
        window.type_into("#reply-title", title).await;
        window.choose("#reply-account", account).await;
        window.type_into("#reply-text", text).await;
        window.press(&[Key::Control], &key(Key::Enter)).await;
        window
            .wait(
                &format!("{title:?} in the list"),
                "return Array.from(document.querySelectorAll('#replies-list .replies__title'))\
               .some(span => span.textContent === arguments[0]) \
               && document.getElementById('reply-title').value === '';",
                vec![json!(title)],
            )
            .await;
    }
    let accounts = window.texts("#replies-list .replies__account").await;
    assert_eq!(
        accounts,
        vec!["All accounts".to_string(), ACCOUNT.to_string()],
        "sorted by title: Great day (all accounts), Greeting ({ACCOUNT})"
    );
    window.settle().await;
    window.screenshot("saved-replies").await;
    window.press(&[], &key(Key::Escape)).await;
    window
        .wait(
            "the settings view closed",
            "return !document.getElementById('settings').open;",
            vec![],
        )
        .await;
}

/// Opens conversation `id` from the inbox (the list is short: every row is drawn) and waits for its
/// thread.
async fn open_conversation(window: &Window, id: i64, name: &str) {
    let key = format!("{ACCOUNT}/{id}");
    window.wait(
        &format!("the row of {name:?}"),
        "return document.querySelector(`#conversations li.conversation[data-id=\"${CSS.escape(arguments[0])}\"]`) !== null;",
        vec![json!(key)],
    )
    .await;
    let row = window
        .find(&format!(
            "#conversations li.conversation[data-id=\"{key}\"]"
        ))
        .await;
    within("click the row", row.click()).await;
    window
        .wait(
            &format!("the thread of {name:?}"),
            "return document.getElementById('thread-title').textContent === arguments[0] \
         && !document.getElementById('composer-text').disabled;",
            vec![json!(name)],
        )
        .await;
}

/// Types `/gr` in the composer and waits for the picker to offer `titles`, in that order.
async fn open_picker(window: &Window, titles: &[&str]) {
    let composer = window.find("#composer-text").await;
    within("click the composer", composer.click()).await;
    window
        .js(
            "document.getElementById('composer-text').value = '';",
            vec![],
        )
        .await;
    within("type /gr", composer.send_keys("/gr")).await;
    window.wait(
        "the saved-reply picker",
        "const titles = Array.from(document.querySelectorAll('#reply-picker .reply-picker__title'))\
           .map(span => span.textContent);\
         return !document.getElementById('reply-picker').hidden \
           && JSON.stringify(titles) === JSON.stringify(arguments[0]);",
        vec![json!(titles)],
    )
    .await;
}

fn active_option_script() -> &'static str {
    "return document.querySelector('#reply-picker [aria-selected=\"true\"] .reply-picker__title')?.textContent ?? null;"
}

/// Scenario 4b: `/gr` offers both replies; Down, Up, Down and Enter pick "Greeting" with the keyboard
/// alone, and `{name}` is filled with the contact's name.
async fn pick_a_saved_reply(window: &Window, id: i64, name: &str) {
    open_conversation(window, id, name).await;
    open_picker(window, &[REPLY_GOODBYE.0, REPLY_GREETING.0]).await;
    assert_eq!(
        window.js(active_option_script(), vec![]).await,
        json!(REPLY_GOODBYE.0)
    );
    window.press(&[], &key(Key::Down)).await;
    window.press(&[], &key(Key::Up)).await;
    window.press(&[], &key(Key::Down)).await;
    assert_eq!(
        window.js(active_option_script(), vec![]).await,
        json!(REPLY_GREETING.0)
    );
    window.settle().await;
    window.screenshot("saved-reply-picker").await;
    window.press(&[], &key(Key::Enter)).await;
    let filled = REPLY_GREETING.1.replace("{name}", name);
    window
        .wait(
            "the filled reply in the composer, the picker closed",
            "return document.getElementById('composer-text').value === arguments[0] \
           && document.getElementById('reply-picker').hidden;",
            vec![json!(filled)],
        )
        .await;
    // Escape closes the picker and leaves the typed text.
    open_picker(window, &[REPLY_GOODBYE.0, REPLY_GREETING.0]).await;
    window.press(&[], &key(Key::Escape)).await;
    window
        .wait(
            "the picker closed by Escape",
            "return document.getElementById('reply-picker').hidden \
           && document.getElementById('composer-text').value === '/gr';",
            vec![],
        )
        .await;
    window
        .js(
            "const box = document.getElementById('composer-text'); box.value = '';\
             box.dispatchEvent(new Event('input'));",
            vec![],
        )
        .await;
}

/// After a restart: the settings view still lists both replies and the picker still offers them.
async fn saved_replies_survive_the_restart(window: &Window, id: i64, name: &str) {
    window.wait_for_inbox().await;
    // Clicked from script: a pointer click can land on Add account while the sidebar's sync line
    // above it changes height at start-up.
    window
        .js("document.getElementById('settings-open').click();", vec![])
        .await;
    window
        .wait(
            "both replies listed after the restart",
            "const titles = Array.from(document.querySelectorAll('#replies-list .replies__title'))\
           .map(span => span.textContent);\
         return JSON.stringify(titles) === JSON.stringify(arguments[0]);",
            vec![json!([REPLY_GOODBYE.0, REPLY_GREETING.0])],
        )
        .await;
    window.press(&[], &key(Key::Escape)).await;
    open_conversation(window, id, name).await;
    open_picker(window, &[REPLY_GOODBYE.0, REPLY_GREETING.0]).await;
    window.press(&[], &key(Key::Tab)).await;
    let filled = REPLY_GOODBYE.1.replace("{name}", name);
    window
        .wait(
            "Tab inserts the first reply",
            "return document.getElementById('composer-text').value === arguments[0];",
            vec![json!(filled)],
        )
        .await;
    window.settle().await;
    window.screenshot("saved-reply-after-restart").await;
}
