//! End-to-end: desktop notifications from the real app, seen by a stand-in notification server on the
//! test's private session bus (a small python3-gi service owning `org.freedesktop.Notifications` that
//! records every `Notify` call and can report a click). A customer's new message raises a notification
//! with the sender and the text; a message in the conversation open in the focused window raises none;
//! clicking a notification opens its conversation.
//!
//! Run: `cargo build -p parley-app -p parley-cli && bash src-tauri/scripts/test.sh -- -p parley-tests
//! --test window_notify` (needs the D-Bus session test.sh provides, xdotool and python3-gi).

use std::io::{BufRead, BufReader, Write};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use parley_tests::rows::{self, ConversationRow};
use parley_tests::window::x11::{self, DragSource};
use parley_tests::window::{
    app_binary, app_environment, require_display, within, Driver, Window, UI_TIMEOUT,
};
use parley_tests::{sandbox_config, World};
use serde::Deserialize;
use serde_json::json;

const ACCOUNT: &str = "bell";
const SEED: u64 = 23;
/// How long a notification may take: a sync, then the check of the changed conversations.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one "Sync now" may take to bring a notification before it is pressed again.
const SYNC_AGAIN_AFTER: Duration = Duration::from_secs(6);
/// How long to wait for a notification that must not come, after a later one arrived.
const QUIET_GRACE: Duration = Duration::from_secs(2);

#[test]
fn new_customer_messages_notify_except_in_the_open_focused_conversation() {
    require_display();
    let world = World::start(sandbox_config(SEED, 10, 6));
    let cli = world.cli();
    world.add_account(&cli, ACCOUNT, &[]).assert_ok();
    rows::sync(&cli, ACCOUNT);
    let listed = rows::conversations(&cli, Some(ACCOUNT));
    let named: Vec<(usize, &ConversationRow)> = listed
        .iter()
        .enumerate()
        .filter(|(_, row)| row.title.as_deref().is_some_and(plain_name))
        .take(2)
        .collect();
    assert_eq!(named.len(), 2, "two conversations with plain names");
    let server = NotificationServer::start(world.root());

    let mut env = app_environment(cli.data_dir(), &world.root().join("home"));
    env.push(("PARLEY_LOCALE".to_string(), PathBuf::from("en")));
    let driver = Driver::start(&env, &world.root().join("tauri-driver.log"));
    let window = world.block_on(Window::open(&driver, &app_binary()));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(async {
            let (other, open) = (named[0], named[1]);
            let pid = std::process::id();
            window
                .wait_for(
                    "the inbox",
                    "return document.querySelectorAll('#conversations li.conversation').length > 0;",
                    vec![],
                    UI_TIMEOUT,
                )
                .await;
            // 1. A customer writes: a notification with the sender and the text.
            let first = format!("Is my order {pid} ready?");
            world.sandbox().push_incoming_message(other.1.id, &first);
            let shown = server.sync_until_shown(&window, &first).await;
            assert_eq!(Some(&shown.summary), other.1.title.as_ref(), "the sender");

            // 2. The same in the open conversation of the focused window: nothing; elsewhere: notified.
            open_conversation(&window, open.0, open.1).await;
            focus_app_window();
            let quiet = format!("Thanks, reading it now {pid}");
            let loud = format!("Hello again, any news {pid}?");
            world.sandbox().push_incoming_message(open.1.id, &quiet);
            world.sandbox().push_incoming_message(other.1.id, &loud);
            let second = server.sync_until_shown(&window, &loud).await;
            tokio::time::sleep(QUIET_GRACE).await;
            assert!(
                !server.bodies().iter().any(|body| body.contains(&quiet)),
                "no notification for the open conversation of the focused window; shown: {:?}",
                server.bodies()
            );

            // 3. The same conversation while another window has the focus: notified.
            let elsewhere = focus_another_window(world.root());
            let behind = format!("Are you still there {pid}?");
            world.sandbox().push_incoming_message(open.1.id, &behind);
            let third = server.sync_until_shown(&window, &behind).await;
            assert_eq!(Some(&third.summary), open.1.title.as_ref(), "the sender");
            drop(elsewhere);

            // 4. A click on the notification opens its conversation.
            server.click(second.id);
            let title = other.1.title.clone().unwrap_or_default();
            window
                .wait_for(
                    "the clicked notification's conversation to open",
                    "return document.getElementById('thread-title').textContent === arguments[0];",
                    vec![json!(title)],
                    UI_TIMEOUT,
                )
                .await;
            window.screenshot("notification-opened").await;
        })
    }));
    if outcome.is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            world.block_on(window.screenshot("notify-failure"))
        }));
        eprintln!("--- notifications seen ---\n{:?}", server.bodies());
        eprintln!("--- tauri-driver / app log ---\n{}", driver.log_text());
    }
    world.block_on(window.close());
    drop(driver);
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
}

/// Names the notification server shows as typed (no markup characters, which it would escape).
fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['<', '>', '&'])
}

async fn sync_now(window: &Window) {
    let button = window.find("#sync-now").await;
    within("click Sync now", button.click()).await;
}

async fn open_conversation(window: &Window, index: usize, row: &ConversationRow) {
    let title = row.title.clone().unwrap_or_default();
    let item = window.conversation_row(index).await;
    within("click the conversation", item.click()).await;
    window
        .wait_for(
            &format!("the thread of {title:?}"),
            "return document.getElementById('thread-title').textContent === arguments[0] \
             && document.querySelectorAll('#messages li.message').length > 0;",
            vec![json!(title)],
            UI_TIMEOUT,
        )
        .await;
}

/// Gives the app's window the keyboard focus (Xvfb has no window manager to do it).
fn focus_app_window() {
    let app = x11::wait_for_window("Parley", "Parley", |name| name.starts_with("Parley"));
    x11::xdotool(&["windowfocus", "--sync", &app]);
    std::thread::sleep(Duration::from_millis(300));
}

/// Opens another window (a small GTK one) and gives it the keyboard focus; closed when dropped.
fn focus_another_window(folder: &Path) -> DragSource {
    let file = folder.join("focus-thief.txt");
    std::fs::write(&file, "x").expect("write a file for the other window");
    let other = DragSource::start(&file, folder, 1150, 600);
    x11::xdotool(&["windowfocus", "--sync", other.window()]);
    std::thread::sleep(Duration::from_millis(300));
    other
}

/// One `Notify` call the stand-in server received.
#[derive(Debug, Clone, Deserialize)]
struct Shown {
    id: u32,
    summary: String,
    body: String,
}

/// The stand-in notification server: records `Notify` calls as JSON lines in a file, and emits
/// `ActionInvoked(id, "default")` (a click) when told on its stdin.
struct NotificationServer {
    child: Child,
    control: ChildStdin,
    log: PathBuf,
}

impl NotificationServer {
    fn start(folder: &Path) -> NotificationServer {
        let script = folder.join("notification_server.py");
        std::fs::write(&script, SERVER_PY).expect("write the notification server");
        let log = folder.join("notifications.jsonl");
        let python = std::env::var_os("PARLEY_PYTHON").unwrap_or_else(|| "/usr/bin/python3".into());
        let mut child = Command::new(python)
            .arg(&script)
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the stand-in notification server (python3-gi)");
        let mut ready = String::new();
        let _ = BufReader::new(child.stdout.take().expect("its stdout")).read_line(&mut ready);
        assert_eq!(
            ready.trim(),
            "ready",
            "the stand-in notification server did not take org.freedesktop.Notifications \
             (is another one running on this session bus?)"
        );
        let control = child.stdin.take().expect("its stdin");
        NotificationServer {
            child,
            control,
            log,
        }
    }

    fn shown(&self) -> Vec<Shown> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    fn bodies(&self) -> Vec<String> {
        self.shown().into_iter().map(|shown| shown.body).collect()
    }

    /// Presses "Sync now" and waits for a notification whose body contains `text`, pressing it again
    /// every few seconds (a sync the app was already running may have listed the inbox just before
    /// the message came).
    async fn sync_until_shown(&self, window: &Window, text: &str) -> Shown {
        let deadline = Instant::now() + NOTIFY_TIMEOUT;
        loop {
            sync_now(window).await;
            let round = Instant::now() + SYNC_AGAIN_AFTER;
            while Instant::now() < round {
                if let Some(shown) = self.shown().into_iter().find(|s| s.body.contains(text)) {
                    return shown;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let status = window
                .js(
                    "return document.getElementById('status')?.textContent;",
                    vec![],
                )
                .await;
            eprintln!(
                "no notification with {text:?} yet; status: {status}; pressing Sync now again"
            );
            assert!(
                Instant::now() < deadline,
                "no notification with {text:?} within {NOTIFY_TIMEOUT:?}; shown: {:?}",
                self.bodies()
            );
        }
    }

    /// Reports a click on notification `id`.
    fn click(&self, id: u32) {
        let mut control = &self.control;
        writeln!(control, "click {id}").expect("tell the server to click");
        control.flush().expect("flush");
    }
}

impl Drop for NotificationServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal org.freedesktop.Notifications server (python3-gi, Gio).
const SERVER_PY: &str = r#"
import json, sys
import gi
from gi.repository import Gio, GLib

XML = """<node><interface name='org.freedesktop.Notifications'>
<method name='Notify'><arg type='s' direction='in'/><arg type='u' direction='in'/><arg type='s' direction='in'/>
<arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='as' direction='in'/>
<arg type='a{sv}' direction='in'/><arg type='i' direction='in'/><arg type='u' direction='out'/></method>
<method name='CloseNotification'><arg type='u' direction='in'/></method>
<method name='GetCapabilities'><arg type='as' direction='out'/></method>
<method name='GetServerInformation'><arg type='s' direction='out'/><arg type='s' direction='out'/>
<arg type='s' direction='out'/><arg type='s' direction='out'/></method>
<signal name='NotificationClosed'><arg type='u'/><arg type='u'/></signal>
<signal name='ActionInvoked'><arg type='u'/><arg type='s'/></signal>
</interface></node>"""
PATH, IFACE = "/org/freedesktop/Notifications", "org.freedesktop.Notifications"
log = open(sys.argv[1], "a")
state = {"next": 0, "connection": None}

def on_call(connection, sender, path, interface, method, params, invocation):
    if method == "Notify":
        _app, _replaces, _icon, summary, body, actions, _hints, _timeout = params.unpack()
        state["next"] += 1
        log.write(json.dumps({"id": state["next"], "summary": summary, "body": body, "actions": actions}) + "\n")
        log.flush()
        invocation.return_value(GLib.Variant("(u)", (state["next"],)))
    elif method == "GetCapabilities":
        invocation.return_value(GLib.Variant("(as)", (["body", "actions", "body-markup"],)))
    elif method == "GetServerInformation":
        invocation.return_value(GLib.Variant("(ssss)", ("stand-in", "parley-tests", "1", "1.2")))
    else:
        invocation.return_value(None)

def on_bus(connection, _name):
    state["connection"] = connection
    info = Gio.DBusNodeInfo.new_for_xml(XML).interfaces[0]
    connection.register_object(PATH, info, on_call, None, None)

def on_name(_connection, _name):
    print("ready", flush=True)

def on_lost(_connection, _name):
    print("lost", flush=True)
    sys.exit(1)

def on_stdin(channel, _condition):
    line = channel.readline()
    if not line:
        loop.quit()
        return False
    words = line.split()
    if len(words) == 2 and words[0] == "click":
        state["connection"].emit_signal(None, PATH, IFACE, "ActionInvoked",
                                        GLib.Variant("(us)", (int(words[1]), "default")))
    return True

Gio.bus_own_name(Gio.BusType.SESSION, IFACE, Gio.BusNameOwnerFlags.DO_NOT_QUEUE, on_bus, on_name, on_lost)
GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.IO_IN | GLib.IO_HUP, on_stdin)
loop = GLib.MainLoop()
loop.run()
"#;
