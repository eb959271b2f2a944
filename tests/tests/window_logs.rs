//! Acceptance for the app's log (issue 11, point 2), in the real window: a session adds a Pact account
//! through the Add account form (the test knows its token), syncs, sends a distinctive reply, meets a
//! sync the server fails and a send the messenger refuses, copies the diagnostics from Settings, and
//! quits. Then `<data>/logs/app.log` exists, holds both errors with their codes, and holds neither the
//! token, nor the texts sent, nor a customer's message or name; the copied diagnostics name the
//! version, the OS, the account's provider and the log file, and hold none of those either.
//!
//! Run: `cargo build -p parley-app -p parley-cli && bash src-tauri/scripts/test.sh -- -p parley-tests
//! --test window_logs`.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use parley_sandbox::{FaultConfig, FaultKind, Sandbox};
use parley_tests::window::{
    app_binary, app_environment, require_display, within, x11, Driver, Window, UI_TIMEOUT,
};
use parley_tests::{sandbox_config, World, SANDBOX_TOKEN};
use serde_json::json;

const ACCOUNT: &str = "support-desk";
const SENT_TEXT: &str = "window log test, a private reply 4e7c19";
const REFUSED_TEXT: &str = "window log test, refused by the messenger 91ad";
const INCOMING_TEXT: &str = "a customer's private words for the log test b3f0";
/// Longest wait for the app to end after its window closed.
const QUIT_TIMEOUT: Duration = Duration::from_secs(15);

#[test]
fn app_log_holds_the_errors_and_no_token_or_text() {
    require_display();
    let world = World::start(sandbox_config(2_211, 8, 4));
    let sandbox = world.sandbox();
    let conversation = sandbox.conversations()[0].id;
    sandbox.push_incoming_message(conversation, INCOMING_TEXT);
    let cli = world.cli();
    let data_dir = cli.data_dir().to_path_buf();
    let mut env = app_environment(&data_dir, &world.root().join("home"));
    env.push(("PARLEY_LOCALE".to_string(), PathBuf::from("en")));
    // Closing the window quits (as without a tray), so the app really ends.
    env.push(("PARLEY_CLOSE_TO_TRAY".to_string(), PathBuf::from("0")));
    let driver = Driver::start(&env, &world.root().join("tauri-driver-logs.log"));
    let window = world.block_on(Window::open(&driver, &app_binary()));
    let log_file = data_dir.join("logs").join("app.log");
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(session(&window, sandbox, &data_dir, &log_file))
    }));
    if outcome.is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            world.block_on(window.screenshot("logs-failure"))
        }));
        eprintln!("--- tauri-driver / app log ---\n{}", driver.log_text());
        eprintln!(
            "--- app.log ---\n{}",
            std::fs::read_to_string(&log_file).unwrap_or_default()
        );
    }
    world.block_on(window.close());
    drop(driver);
    // The keyring entry the window created goes with the account.
    let _ = cli.run(&["account", "remove", ACCOUNT]);
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
}

async fn session(window: &Window, sandbox: &Sandbox, data_dir: &Path, log_file: &Path) {
    add_account_in_the_window(window, sandbox).await;
    open_a_plain_conversation(window).await;
    send(window, SENT_TEXT).await;
    wait_until(
        "the reply reaches the sandbox",
        || {
            sandbox
                .sent_messages()
                .iter()
                .any(|m| m.text.as_deref() == Some(SENT_TEXT))
        },
        UI_TIMEOUT,
    )
    .await;
    wait_for_status_of(window, SENT_TEXT, &["sent", "delivered"]).await;

    // A send the messenger refuses: failed, with the reason.
    sandbox.set_fail_deliveries(true);
    send(window, REFUSED_TEXT).await;
    wait_for_status_of(window, REFUSED_TEXT, &["failed"]).await;
    sandbox.set_fail_deliveries(false);

    // A sync the server fails.
    sandbox.set_faults(Some(FaultConfig {
        rate: 1.0,
        kinds: vec![FaultKind::Status500],
    }));
    within("click Sync now", window.find("#sync-now").await.click()).await;
    window
        .wait_for(
            "the failed sync's message",
            "const status = document.getElementById('status').textContent;\
             return status.includes('500') || status.toLowerCase().includes('server error');",
            vec![],
            Duration::from_secs(60),
        )
        .await;
    sandbox.set_faults(None);

    let text = copy_diagnostics(window).await;
    eprintln!("--- diagnostics ---\n{text}");
    let version = env!("CARGO_PKG_VERSION");
    for wanted in [
        format!("Version: {version}"),
        format!("({} {})", std::env::consts::OS, std::env::consts::ARCH),
        "OS: ".to_string(),
        format!("- {ACCOUNT}: provider pact"),
        format!("Log file: {}", log_file.display()),
        format!("Data folder: {}", data_dir.display()),
        "server_error".to_string(),
    ] {
        assert!(
            text.contains(&wanted),
            "{wanted:?} is not in the diagnostics"
        );
    }
    assert_private_texts_absent("the diagnostics", &text, sandbox);

    quit(log_file, data_dir.parent().expect("the test's folder")).await;
    let log = std::fs::read_to_string(log_file)
        .unwrap_or_else(|error| panic!("{}: {error}", log_file.display()));
    eprintln!("--- app.log ---\n{log}");
    for wanted in [
        "logging started program=\"app\"",
        "command failed: server_error",
        "code=\"server_error\"",
        "outbox entry failed",
        "app exiting",
    ] {
        assert!(log.contains(wanted), "{wanted:?} is not in app.log");
    }
    assert_private_texts_absent("app.log", &log, sandbox);
}

/// Fails when `text` holds the token, a text sent or received, or a customer's name.
fn assert_private_texts_absent(what: &str, text: &str, sandbox: &Sandbox) {
    let mut private = vec![
        SANDBOX_TOKEN.to_string(),
        SENT_TEXT.to_string(),
        REFUSED_TEXT.to_string(),
        INCOMING_TEXT.to_string(),
    ];
    for conversation in sandbox.conversations() {
        private.extend(conversation.name.filter(|name| name.chars().count() >= 5));
        private.extend(
            sandbox
                .messages(conversation.id)
                .into_iter()
                .filter_map(|message| message.text)
                .filter(|text| text.chars().count() >= 12),
        );
    }
    for secret in &private {
        assert!(!text.contains(secret.as_str()), "{what} holds {secret:?}");
    }
}

/// Opens Add account, fills it as a user would (the token typed into the password field), submits,
/// and waits for the first sync to list the conversations.
async fn add_account_in_the_window(window: &Window, sandbox: &Sandbox) {
    window
        .wait_for(
            "the window to load",
            "return !!document.getElementById('add-account-open');",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    // With no account yet the form may already be open.
    window
        .js(
            "if (!document.getElementById('add-account').open) \
               document.getElementById('add-account-open').click(); \
             return true;",
            vec![],
        )
        .await;
    window
        .js(
            "document.getElementById('account-provider').value = 'pact';\
             document.getElementById('account-provider').dispatchEvent(new Event('change'));\
             return true;",
            vec![],
        )
        .await;
    let form = "#add-account-form";
    for (field, value) in [
        ("name", ACCOUNT.to_string()),
        ("token", SANDBOX_TOKEN.to_string()),
        ("base_url", sandbox.pact_root_url()),
    ] {
        let input = window
            .find(&format!("{form} input[name=\"{field}\"]"))
            .await;
        within(&format!("type the {field}"), input.send_keys(&value)).await;
    }
    within(
        "click Add",
        window
            .find(&format!("{form} button[type=\"submit\"]"))
            .await
            .click(),
    )
    .await;
    window
        .wait_for(
            "the account added and synced",
            "return !document.getElementById('add-account').open \
               && document.getElementById('status').textContent.startsWith('Up to date') \
               && document.querySelectorAll('#conversations li.conversation').length > 0;",
            vec![],
            Duration::from_secs(90),
        )
        .await;
}

/// Clicks the first conversation whose title is plain text and waits for its thread.
async fn open_a_plain_conversation(window: &Window) {
    let titles = window.conversation_titles().await;
    let index = titles
        .iter()
        .position(|title| !title.contains('<') && !title.is_empty())
        .expect("a conversation with a plain name");
    window.click_conversation(index).await;
    window
        .wait_for(
            "the thread to open",
            "return document.getElementById('thread-title').textContent === arguments[0] \
               && !document.getElementById('composer-text').disabled;",
            vec![json!(titles[index])],
            UI_TIMEOUT,
        )
        .await;
}

/// Types `text` into the composer and sends it with Ctrl+Enter.
async fn send(window: &Window, text: &str) {
    let composer = window.find("#composer-text").await;
    within("focus the composer", composer.click()).await;
    let keys = format!(
        "{text}{}{}",
        char::from(Key::Control),
        char::from(Key::Enter)
    );
    within("type and Ctrl+Enter", composer.send_keys(&keys)).await;
}

/// Waits until the outgoing message `text` shows one of `statuses`.
async fn wait_for_status_of(window: &Window, text: &str, statuses: &[&str]) {
    window
        .wait_for(
            &format!("{text:?} shown as one of {statuses:?}"),
            "const li = Array.from(document.querySelectorAll('#messages li.message--out'))\
               .find(li => li.querySelector('p.message__text')?.textContent === arguments[0]);\
             return arguments[1].includes(li?.dataset.status);",
            vec![json!(text), json!(statuses)],
            Duration::from_secs(60),
        )
        .await;
}

/// Settings… → Copy diagnostics; returns the copied text (from the X clipboard, or from the
/// read-only box the window shows where the clipboard cannot be written).
async fn copy_diagnostics(window: &Window) -> String {
    within("open Settings", window.find("#settings-open").await.click()).await;
    within(
        "click Copy diagnostics",
        window.find("#diagnostics-copy").await.click(),
    )
    .await;
    window
        .wait_for(
            "the diagnostics copied",
            "return document.getElementById('diagnostics-status').textContent.length > 0;",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    let status = window
        .js(
            "return document.getElementById('diagnostics-status').textContent;",
            vec![],
        )
        .await;
    window.screenshot("diagnostics").await;
    assert_eq!(
        status.as_str(),
        Some("Copied. Paste it into your support request."),
        "the clipboard was written"
    );
    let pasted = Command::new("xclip")
        .args(["-selection", "clipboard", "-o"])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run xclip (apt-get install xclip): {e}"));
    assert!(pasted.status.success(), "xclip -o failed");
    let text = String::from_utf8_lossy(&pasted.stdout).into_owned();
    within(
        "close Settings",
        window.find("#settings-close").await.click(),
    )
    .await;
    text
}

/// Asks the window manager's way for the main window to close: `WM_DELETE_WINDOW`, which a window
/// manager sends when the user clicks the close button (Xvfb has no window manager, so it is sent
/// with libX11 from Python's ctypes). `argv[1]` is the X window id.
const CLOSE_WINDOW_PY: &str = r#"
import ctypes, sys
x = ctypes.cdll.LoadLibrary("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XInternAtom.restype = ctypes.c_ulong
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
class ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong),
                ("message_type", ctypes.c_ulong), ("format", ctypes.c_int),
                ("data", ctypes.c_long * 5)]
class Event(ctypes.Union):
    _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]
x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                         ctypes.POINTER(Event)]
display = x.XOpenDisplay(None)
window = int(sys.argv[1])
event = Event()
event.xclient.type = 33
event.xclient.window = window
event.xclient.message_type = x.XInternAtom(display, b"WM_PROTOCOLS", 0)
event.xclient.format = 32
event.xclient.data[0] = x.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
x.XSendEvent(display, window, 0, 0, ctypes.byref(event))
x.XFlush(display)
"#;

/// Closes the main window as a user does (the app quits with it, `PARLEY_CLOSE_TO_TRAY=0`) and waits
/// until the app has said goodbye in its log; asks again every few seconds, in case a request arrived
/// before the window listened.
async fn quit(log_file: &Path, folder: &Path) {
    let script = folder.join("close_window.py");
    std::fs::write(&script, CLOSE_WINDOW_PY).expect("write the close script");
    let python = std::env::var_os("PARLEY_PYTHON").unwrap_or_else(|| "/usr/bin/python3".into());
    let asked = Instant::now();
    let mut last_ask: Option<Instant> = None;
    while !std::fs::read_to_string(log_file)
        .unwrap_or_default()
        .contains("app exiting")
    {
        assert!(
            asked.elapsed() < QUIT_TIMEOUT,
            "the app did not quit within {QUIT_TIMEOUT:?} of its window closing; windows: {:?}",
            x11::windows_named(".")
        );
        if last_ask.is_none_or(|at| at.elapsed() > Duration::from_secs(3)) {
            let windows = x11::windows_named("^Parley");
            eprintln!("closing {windows:?}");
            for (id, _) in &windows {
                let status = Command::new(&python)
                    .arg(&script)
                    .arg(id)
                    .status()
                    .unwrap_or_else(|e| panic!("cannot run {}: {e}", Path::new(&python).display()));
                assert!(status.success(), "the close script failed");
            }
            last_ask = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "[time] the app quit {:.1?} after it was asked",
        asked.elapsed()
    );
}

/// Polls `check` until it holds, or fails after `timeout`.
async fn wait_until(what: &str, check: impl Fn() -> bool, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
