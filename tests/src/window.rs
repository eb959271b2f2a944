//! End-to-end harness for the real desktop window: starts `tauri-driver` (which starts WebKitWebDriver,
//! which starts the built `parley` app) on the test's data folder, drives the page with fantoccini with
//! a timeout on every WebDriver call, saves screenshots, and kills the whole process tree when dropped.
//!
//! Needs a display (Xvfb), `tauri-driver` on PATH (or `TAURI_DRIVER_BIN`), Debian's `WebKitWebDriver`,
//! and the app built with `cargo build -p parley-app`; `src-tauri/scripts/test.sh` provides all four.

use std::future::Future;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// `PARLEY_WEBDRIVER_PORT`, when set, pins tauri-driver's port (WebKitWebDriver gets the next one),
/// e.g. to attach a debugger; otherwise every session takes two free ports of its own, so a session
/// never meets the sockets of the one before it (a killed WebKitWebDriver can hold its port for a
/// moment after its parent has been reaped).
pub const PORT_VARIABLE: &str = "PARLEY_WEBDRIVER_PORT";
/// How many times [`Driver::start`] tries fresh ports when a driver cannot listen on the ones it got.
const START_ATTEMPTS: u32 = 3;
/// Longest wait for a pinned port to be given up by the session before.
const PORT_FREE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for tauri-driver to listen.
pub const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest wait for a WebDriver session (the app's window) to come up.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest any single WebDriver command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// Default wait for something to appear on screen.
pub const UI_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the built app is: `PARLEY_APP_BIN` if set, else `target/<profile>/parley` next to the tests.
pub fn app_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PARLEY_APP_BIN") {
        return PathBuf::from(path);
    }
    let binary = profile_dir().join(format!("parley{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} does not exist: build the app first: cargo build -p parley-app",
        binary.display()
    );
    binary
}

/// `target/<profile>`, found from this test executable (`target/<profile>/deps/<test>`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps")
        .to_path_buf()
}

/// `target/e2e-screenshots`, created.
pub fn screenshot_dir() -> PathBuf {
    let dir = profile_dir()
        .parent()
        .expect("target/<profile> has a parent")
        .join("e2e-screenshots");
    std::fs::create_dir_all(&dir).expect("create target/e2e-screenshots");
    dir
}

/// The tauri-driver to run: `TAURI_DRIVER_BIN`, else `tauri-driver` from PATH.
fn driver_binary() -> PathBuf {
    std::env::var_os("TAURI_DRIVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("tauri-driver"))
}

/// Fails the test with instructions unless an X display is there for the window.
pub fn require_display() {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        panic!(
            "no DISPLAY: the window tests need one. Run them with \
             `bash src-tauri/scripts/test.sh -- -p parley-tests --test window` (Xvfb), \
             or under `xvfb-run -a -s \"-screen 0 1280x800x24\"`"
        );
    }
}

/// The environment the app runs with: the shared data folder and a private HOME/XDG layout (the same
/// one [`crate::Cli`] gives the CLI, so both see the same files and keyring).
pub fn app_environment(data_dir: &Path, home: &Path) -> Vec<(String, PathBuf)> {
    let mut env = vec![("PARLEY_DATA_DIR".to_string(), data_dir.to_path_buf())];
    for (variable, folder) in [
        ("HOME", ""),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
    ] {
        let path = home.join(folder);
        std::fs::create_dir_all(&path).expect("create the app's HOME folders");
        env.push((variable.to_string(), path));
    }
    env
}

/// A running tauri-driver in its own process group; dropping it kills the group (tauri-driver,
/// WebKitWebDriver, the app and its web processes) and waits until its ports are given up.
pub struct Driver {
    child: Child,
    log: PathBuf,
    ports: DriverPorts,
}

/// The two ports of one session: tauri-driver's and the native WebKitWebDriver's behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverPorts {
    /// Where tauri-driver listens; the WebDriver URL.
    pub driver: u16,
    /// Where WebKitWebDriver listens (`--native-port`).
    pub native: u16,
}

impl DriverPorts {
    /// The pinned ports of `PARLEY_WEBDRIVER_PORT`, waited for until both are free; otherwise two
    /// ports the kernel has just handed out as free (held together, so they differ).
    pub fn choose() -> DriverPorts {
        if let Some(port) = std::env::var(PORT_VARIABLE)
            .ok()
            .and_then(|port| port.parse::<u16>().ok())
        {
            let ports = DriverPorts {
                driver: port,
                native: port + 1,
            };
            ports.wait_until_free(PORT_FREE_TIMEOUT);
            return ports;
        }
        let bind = || {
            std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind a free port on 127.0.0.1")
        };
        let (first, second) = (bind(), bind());
        let port_of =
            |listener: &std::net::TcpListener| listener.local_addr().expect("a bound port").port();
        DriverPorts {
            driver: port_of(&first),
            native: port_of(&second),
        }
    }

    /// Waits until nothing accepts connections on either port; panics after `timeout`.
    fn wait_until_free(self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.any_listening() {
            assert!(
                Instant::now() < deadline,
                "ports {} and {} are still in use after {timeout:?}: another WebDriver session holds \
                 them (unset {PORT_VARIABLE} to give each session free ports)",
                self.driver,
                self.native
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn any_listening(self) -> bool {
        is_listening(self.driver) || is_listening(self.native)
    }

    fn both_listening(self) -> bool {
        is_listening(self.driver) && is_listening(self.native)
    }
}

fn is_listening(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
}

impl Driver {
    /// Starts tauri-driver with `env` (inherited by WebKitWebDriver and the app) on ports of its own
    /// ([`DriverPorts::choose`]) and waits until it and WebKitWebDriver both listen; when they cannot
    /// (a port taken meanwhile), it starts again on fresh ports. Its output goes to `log`.
    pub fn start(env: &[(String, PathBuf)], log: &Path) -> Driver {
        let mut failures = Vec::new();
        for attempt in 1..=START_ATTEMPTS {
            let mut driver = Driver::spawn(env, log, DriverPorts::choose());
            match driver.wait_until_listening() {
                Ok(()) => return driver,
                Err(failure) => failures.push(format!("attempt {attempt}: {failure}")),
            }
        }
        panic!(
            "tauri-driver could not start in {START_ATTEMPTS} attempts:\n{}",
            failures.join("\n")
        );
    }

    fn spawn(env: &[(String, PathBuf)], log: &Path, ports: DriverPorts) -> Driver {
        let output = std::fs::File::create(log).expect("create the tauri-driver log");
        let mut command = Command::new(driver_binary());
        command
            .args(["--port", &ports.driver.to_string()])
            .args(["--native-port", &ports.native.to_string()])
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .env_remove("PARLEY_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("clone the log handle"))
            .stderr(output);
        for (key, value) in env {
            command.env(key, value);
        }
        set_own_process_group(&mut command);
        let child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e}; install it: cargo install tauri-driver --version ^2 --locked",
                driver_binary().display()
            )
        });
        Driver {
            child,
            log: log.to_path_buf(),
            ports,
        }
    }

    /// Ok once tauri-driver and WebKitWebDriver both accept connections; Err with the log when
    /// tauri-driver exits, a driver says it cannot listen, or [`DRIVER_START_TIMEOUT`] passes.
    fn wait_until_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "tauri-driver exited with {status}:\n{}",
                    self.log_text()
                ));
            }
            if self.log_text().contains("Unable to listen") {
                return Err(format!("a driver could not listen:\n{}", self.log_text()));
            }
            if self.ports.both_listening() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "tauri-driver ({}) and WebKitWebDriver ({}) did not both listen within \
             {DRIVER_START_TIMEOUT:?}:\n{}",
            self.ports.driver,
            self.ports.native,
            self.log_text()
        ))
    }

    /// What tauri-driver, WebKitWebDriver and the app printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The ports this session's drivers listen on.
    pub fn ports(&self) -> DriverPorts {
        self.ports
    }

    /// The WebDriver URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.driver)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        kill_process_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The killed WebKitWebDriver is reparented and reaped by someone else, a moment later: wait
        // (briefly) for its socket to close, so a pinned port is free for the next session.
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.ports.any_listening() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(unix)]
fn set_own_process_group(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

#[cfg(not(unix))]
fn set_own_process_group(_command: &mut Command) {}

/// SIGKILL to the process group `leader` started (its id is the group's id).
fn kill_process_group(leader: u32) {
    if cfg!(unix) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{leader}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs one WebDriver call with [`COMMAND_TIMEOUT`], panicking with `what` on error or timeout.
pub async fn within<T, F>(what: &str, call: F) -> T
where
    F: Future<Output = Result<T, CmdError>>,
{
    match tokio::time::timeout(COMMAND_TIMEOUT, call).await {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => panic!("WebDriver: {what}: {error}"),
        Err(_) => panic!("WebDriver: {what}: no answer within {COMMAND_TIMEOUT:?}"),
    }
}

/// A WebDriver session on the app's window.
pub struct Window {
    client: Client,
}

impl Window {
    /// Opens a session that starts `application`, with [`SESSION_TIMEOUT`].
    pub async fn open(driver: &Driver, application: &Path) -> Window {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "tauri:options".to_string(),
            json!({ "application": application }),
        );
        Window::open_with(driver, capabilities).await
    }

    /// Opens a session with these capabilities (e.g. `tauri:options` with `args` for the app).
    pub async fn open_with(
        driver: &Driver,
        capabilities: serde_json::Map<String, Value>,
    ) -> Window {
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let client =
            match tokio::time::timeout(SESSION_TIMEOUT, builder.connect(&driver.url())).await {
                Ok(Ok(client)) => client,
                Ok(Err(error)) => panic!(
                    "no WebDriver session: {error}\n--- tauri-driver log ---\n{}",
                    driver.log_text()
                ),
                Err(_) => panic!(
                    "no WebDriver session within {SESSION_TIMEOUT:?}\n--- tauri-driver log ---\n{}",
                    driver.log_text()
                ),
            };
        Window { client }
    }

    /// The fantoccini client, for calls this type does not wrap (wrap them in [`within`]).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and returns its JSON result.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        within(
            &format!("execute {script}"),
            self.client.execute(script, args),
        )
        .await
    }

    /// Evaluates `script` until it returns JSON `true`, or panics after `timeout` with `what` and
    /// the last value of `describe` (another script) to say what was on screen instead.
    pub async fn wait_for(&self, what: &str, script: &str, args: Vec<Value>, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.js(script, args.clone()).await == Value::Bool(true) {
                return;
            }
            if Instant::now() >= deadline {
                let shown = self.js(DESCRIBE_SCREEN, vec![]).await;
                panic!("timed out after {timeout:?} waiting for {what}; on screen: {shown}");
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// [`Window::wait_for`] with [`UI_TIMEOUT`].
    pub async fn wait(&self, what: &str, script: &str, args: Vec<Value>) {
        self.wait_for(what, script, args, UI_TIMEOUT).await;
    }

    /// Waits until the `<dialog id=…>` is open.
    pub async fn wait_dialog_open(&self, dialog: &str) {
        self.wait(
            &format!("the {dialog} dialog"),
            "const box = document.getElementById(arguments[0]); return !!box && box.open;",
            vec![json!(dialog)],
        )
        .await;
    }

    /// Closes every open `<dialog>`, as if each got Esc.
    pub async fn close_dialogs(&self) {
        self.js(
            "document.querySelectorAll('dialog[open]').forEach(d => d.close());",
            vec![],
        )
        .await;
    }

    /// Shows the window in `theme` (`light` or `dark`): the attribute Settings sets.
    pub async fn set_theme(&self, theme: &str) {
        self.js(
            "document.documentElement.dataset.theme = arguments[0];",
            vec![json!(theme)],
        )
        .await;
    }

    /// Waits until the conversation list shows at least one row.
    pub async fn wait_for_inbox(&self) {
        self.wait(
            "the inbox",
            "return document.querySelectorAll('#conversations li.conversation').length > 0;",
            vec![],
        )
        .await;
    }

    /// Picks `value` in the `<select>` `css` as a user would (the change event fires); panics when
    /// it offers no such enabled option.
    pub async fn choose(&self, css: &str, value: &str) {
        let chosen = self
            .js(
                "const select = document.querySelector(arguments[0]);\
                 if (!Array.from(select.options).some(o => o.value === arguments[1] && !o.disabled)) return false;\
                 select.value = arguments[1];\
                 select.dispatchEvent(new Event('change', { bubbles: true }));\
                 return true;",
                vec![json!(css), json!(value)],
            )
            .await;
        assert_eq!(chosen, json!(true), "{css} offers {value:?}");
    }

    /// Clicks the first element matching `css`, as a pointer would (WebDriver's element click).
    pub async fn click(&self, css: &str) {
        let target = self.find(css).await;
        within(&format!("click {css}"), target.click()).await;
    }

    /// Sends a chord to the focused element: the `modifiers`, then `keys` (text or more keys).
    /// WebDriver releases the modifiers at the end of the call.
    pub async fn press(&self, modifiers: &[Key], keys: &str) {
        let chord: String = modifiers.iter().map(|k| char::from(*k)).collect::<String>() + keys;
        let focused = within("the focused element", self.client.active_element()).await;
        within("press keys", focused.send_keys(&chord)).await;
    }

    /// Clicks the element `css` (so it has the focus) and types `text` into it.
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        within(&format!("click {css}"), field.click()).await;
        within(&format!("type into {css}"), field.send_keys(text)).await;
    }

    /// Waits up to `timeout` for `performance.mark(name)` in the page; returns it as epoch
    /// milliseconds (the page's own clock, so WebDriver's overhead is not in it).
    pub async fn wait_for_mark(&self, name: &str, timeout: Duration) -> f64 {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self
                .js(
                    "const m = performance.getEntriesByName(arguments[0], 'mark');\
                     return m.length ? performance.timeOrigin + m[m.length - 1].startTime : null;",
                    vec![json!(name)],
                )
                .await;
            if let Value::Number(at) = value {
                return at.as_f64().expect("a number");
            }
            assert!(
                Instant::now() < deadline,
                "no '{name}' mark within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The first element matching `css`.
    pub async fn find(&self, css: &str) -> Element {
        within(&format!("find {css}"), self.client.find(Locator::Css(css))).await
    }

    /// The `textContent` of every element matching `css`, in document order.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let value = self
            .js(
                "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent);",
                vec![json!(css)],
            )
            .await;
        serde_json::from_value(value).expect("a list of strings")
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> usize {
        let value = self
            .js(
                "return document.querySelectorAll(arguments[0]).length;",
                vec![json!(css)],
            )
            .await;
        value.as_u64().expect("a count") as usize
    }

    /// Saves a PNG of the window as `target/e2e-screenshots/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = within("screenshot", self.client.screenshot()).await;
        assert!(
            png.starts_with(b"\x89PNG"),
            "the screenshot is not a PNG ({} bytes)",
            png.len()
        );
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        eprintln!("screenshot: {}", path.display());
        path
    }

    /// Ends the session (the app closes), with a timeout; errors are ignored, the driver's drop
    /// kills whatever is left.
    pub async fn close(self) {
        let _ = tokio::time::timeout(COMMAND_TIMEOUT, self.client.close()).await;
    }
}

/// A script that sums up the screen for failure messages.
const DESCRIBE_SCREEN: &str = "return {\
    title: document.title,\
    status: document.getElementById('status')?.textContent,\
    thread: document.getElementById('thread-title')?.textContent,\
    conversations: document.querySelectorAll('#conversations li').length,\
    messages: Array.from(document.querySelectorAll('#messages li')).slice(-5).map(e => e.className + ': ' + e.textContent),\
};";

/// Wraps `fetch`, which Tauri's IPC sends every command through (`ipc://localhost/COMMAND`; Tauri's own
/// `invoke` and the `__TAURI__` namespaces are frozen), so each command the page calls lands in
/// `window.__ipcCalls` with its start and end (epoch ms; the end is when the answer's headers came).
/// Running it again empties the list.
const IPC_RECORDER: &str = "if (!window.__ipcCalls) {\
       window.__ipcCalls = [];\
       const original = window.fetch;\
       const now = () => performance.timeOrigin + performance.now();\
       window.fetch = function (input, init) {\
         const url = new URL(String(input && input.url ? input.url : input), location.href);\
         const answer = original.call(this, input, init);\
         if (url.protocol === 'ipc:' || url.hostname === 'ipc.localhost') {\
           const call = { command: decodeURIComponent(url.pathname.slice(1)), start: now(), end: null };\
           window.__ipcCalls.push(call);\
           const done = () => { call.end = now(); };\
           answer.then(done, done);\
         }\
         return answer;\
       };\
     }\
     window.__ipcCalls.length = 0;\
     return true;";

/// One IPC command the page called, as [`Window::record_ipc`] saw it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct IpcCall {
    /// The command's name (`messages_list`, `plugin:event|listen`, ...).
    pub command: String,
    /// When it was called, epoch milliseconds.
    pub start: f64,
    /// When its answer came, if it has.
    pub end: Option<f64>,
}

impl Window {
    /// Starts recording (again, from empty) every IPC command the page calls.
    pub async fn record_ipc(&self) {
        assert_eq!(
            self.js(IPC_RECORDER, vec![]).await,
            json!(true),
            "IPC recorder installed"
        );
    }

    /// The IPC commands called since [`record_ipc`](Self::record_ipc), in call order.
    pub async fn recorded_ipc(&self) -> Vec<IpcCall> {
        let calls = self.js("return window.__ipcCalls || [];", vec![]).await;
        serde_json::from_value(calls).expect("the recorded IPC calls")
    }
}

/// Height of one row of the virtual conversation list (ui/inbox.js `ROW_HEIGHT`).
pub const CONVERSATION_ROW_HEIGHT: usize = 58;

impl Window {
    /// How many conversations the (virtual) list holds in all, once it has loaded.
    pub async fn conversation_total(&self) -> usize {
        self.wait_for(
            "the conversation list to load",
            "return document.getElementById('conversations').dataset.total !== undefined;",
            vec![],
            UI_TIMEOUT,
        )
        .await;
        let value = self
            .js(
                "return Number(document.getElementById('conversations').dataset.total);",
                vec![],
            )
            .await;
        value.as_u64().expect("a total") as usize
    }

    /// Scrolls the virtual conversation list until row `index` (0 = most recent) exists, and returns
    /// it (`li.conversation[data-index=index]`).
    pub async fn conversation_row(&self, index: usize) -> Element {
        let css = format!("#conversations li.conversation[data-index=\"{index}\"]");
        self.js(
            "const list = document.getElementById('conversations');\
             const row = list.querySelector(arguments[0]);\
             if (row) row.scrollIntoView({ block: 'nearest' }); else list.scrollTop = arguments[1];",
            vec![json!(css), json!(index * CONVERSATION_ROW_HEIGHT)],
        )
        .await;
        self.wait_for(
            &format!("conversation row {index}"),
            "const row = document.querySelector(arguments[0]);\
             if (row) row.scrollIntoView({ block: 'nearest' });\
             return !!row;",
            vec![json!(css)],
            UI_TIMEOUT,
        )
        .await;
        self.find(&css).await
    }

    /// The titles of every conversation in the list, most recent first, scrolling through the whole
    /// virtual list (only the rows in view exist in the DOM at any time).
    pub async fn conversation_titles(&self) -> Vec<String> {
        let total = self.conversation_total().await;
        let mut titles = Vec::with_capacity(total);
        while titles.len() < total {
            self.conversation_row(titles.len()).await;
            let value = self
                .js(
                    "const from = arguments[0];\
                     const rows = Array.from(document.querySelectorAll('#conversations li.conversation'))\
                       .filter(li => Number(li.dataset.index) >= from)\
                       .sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index));\
                     const out = [];\
                     for (const li of rows) {\
                       if (Number(li.dataset.index) !== from + out.length) break;\
                       out.push(li.querySelector('.conversation__title').textContent);\
                     }\
                     return out;",
                    vec![json!(titles.len())],
                )
                .await;
            let batch: Vec<String> = serde_json::from_value(value).expect("titles");
            assert!(!batch.is_empty(), "row {} is not rendered", titles.len());
            titles.extend(batch);
        }
        titles
    }
}

/// Driving native parts of the desktop under X11 with `xdotool`: the GTK file chooser the app opens, and
/// real drag-and-drop (XDND) from a small GTK drag source (`python3-gi`) onto the app's window. Used by
/// `tests/tests/window_files.rs`; needs `xdotool` and `/usr/bin/python3` with GTK 3 bindings (deps.sh).
pub mod x11 {
    use std::io::{BufRead, BufReader};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// Longest wait for a native window to appear.
    pub const WINDOW_TIMEOUT: Duration = Duration::from_secs(20);
    /// Delay between typed characters: GTK's path completion garbles faster typing.
    const TYPE_DELAY_MS: &str = "60";

    /// Runs `xdotool ARGS`, returning its stdout; panics with its stderr when it fails.
    pub fn xdotool(args: &[&str]) -> String {
        let output = Command::new("xdotool")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run xdotool (install it: apt-get install xdotool): {e}")
            });
        assert!(
            output.status.success(),
            "xdotool {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The visible X windows whose title matches the regular expression, as `(id, title)`.
    pub fn windows_named(pattern: &str) -> Vec<(String, String)> {
        let listed = Command::new("xdotool")
            .args(["search", "--onlyvisible", "--name", pattern])
            .output()
            .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
            .unwrap_or_default();
        listed
            .lines()
            .map(|id| {
                let name = Command::new("xdotool")
                    .args(["getwindowname", id])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                    .unwrap_or_default();
                (id.to_string(), name)
            })
            .collect()
    }

    /// Waits until a visible window whose title satisfies `wanted` exists (searched with `pattern`)
    /// and returns its id.
    pub fn wait_for_window(what: &str, pattern: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WINDOW_TIMEOUT;
        loop {
            if let Some((id, _)) = windows_named(pattern)
                .into_iter()
                .find(|(_, name)| wanted(name))
            {
                return id;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} window appeared within {WINDOW_TIMEOUT:?}; windows now: {:?}",
                windows_named(".")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Saves the whole X screen (native dialogs included, which a WebDriver screenshot of the page
    /// cannot show) as `target/e2e-screenshots/<name>.png` with ImageMagick's `import`.
    pub fn screenshot_screen(name: &str) -> PathBuf {
        let path = super::screenshot_dir().join(format!("{name}.png"));
        let status = Command::new("import")
            .args(["-window", "root"])
            .arg(&path)
            .status()
            .unwrap_or_else(|e| panic!("cannot run import (apt-get install imagemagick): {e}"));
        assert!(status.success(), "import -window root failed");
        eprintln!("screenshot: {}", path.display());
        path
    }

    /// Whether the window still exists and is mapped.
    pub fn window_is_open(id: &str) -> bool {
        windows_named(".").iter().any(|(other, _)| other == id)
    }

    /// The window's position and size on screen: `(x, y, width, height)`.
    pub fn geometry(id: &str) -> (i32, i32, i32, i32) {
        let shell = xdotool(&["getwindowgeometry", "--shell", id]);
        let field = |name: &str| {
            shell
                .lines()
                .find_map(|line| line.strip_prefix(&format!("{name}=")))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in xdotool's geometry: {shell}"))
        };
        (field("X"), field("Y"), field("WIDTH"), field("HEIGHT"))
    }

    /// Chooses `file` in the open GTK file chooser `dialog`: focus it, open the location bar (Ctrl+L),
    /// type the path slowly, Enter. Retypes once if the dialog is still open (completion got in the way).
    /// With `screenshot`, the screen is saved under that name with the path typed, before Enter.
    pub fn choose_file_in_gtk_dialog(dialog: &str, file: &Path, screenshot: Option<&str>) {
        let path = file.to_str().expect("a UTF-8 path");
        for attempt in 0..2 {
            xdotool(&["windowfocus", "--sync", dialog]);
            std::thread::sleep(Duration::from_millis(300));
            xdotool(&["key", "--clearmodifiers", "ctrl+l"]);
            std::thread::sleep(Duration::from_millis(300));
            xdotool(&["key", "--clearmodifiers", "ctrl+a"]);
            xdotool(&["type", "--clearmodifiers", "--delay", TYPE_DELAY_MS, path]);
            std::thread::sleep(Duration::from_millis(600));
            if let (Some(name), 0) = (screenshot, attempt) {
                screenshot_screen(name);
            }
            xdotool(&["key", "--clearmodifiers", "Return"]);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if !window_is_open(dialog) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(150));
            }
        }
        panic!("the file chooser stayed open after typing {path}");
    }

    /// The drag source program: a small GTK window whose label drags `uri` as text/uri-list.
    const DRAG_SOURCE_PY: &str = r#"
import sys
import gi
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk, Gdk

uri, title, x, y = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
window = Gtk.Window(title=title)
window.set_default_size(160, 120)
window.move(x, y)
box = Gtk.EventBox()
box.add(Gtk.Label(label="drag me"))
box.drag_source_set(Gdk.ModifierType.BUTTON1_MASK, [], Gdk.DragAction.COPY)
box.drag_source_add_uri_targets()
box.connect("drag-data-get", lambda _w, _c, data, _i, _t: data.set_uris([uri]))
window.add(box)
window.connect("destroy", Gtk.main_quit)
window.connect("map-event", lambda *_: print("ready", flush=True))
window.show_all()
Gtk.main()
"#;

    /// The Python with GTK bindings: `PARLEY_PYTHON`, else Debian's `/usr/bin/python3` (a pyenv or venv
    /// python on PATH usually lacks `gi`).
    fn python() -> PathBuf {
        std::env::var_os("PARLEY_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/python3"))
    }

    /// A GTK window offering one file for dragging; closed when dropped.
    pub struct DragSource {
        child: Child,
        window: String,
    }

    impl DragSource {
        /// Opens the drag source for `file` with its top-left corner at `(x, y)`; `folder` holds the script.
        pub fn start(file: &Path, folder: &Path, x: i32, y: i32) -> DragSource {
            let script = folder.join("drag_source.py");
            std::fs::write(&script, DRAG_SOURCE_PY).expect("write the drag source script");
            let uri = format!("file://{}", file.to_str().expect("a UTF-8 path"));
            let title = format!("parley-drag-source-{}", std::process::id());
            let mut child = Command::new(python())
                .arg(&script)
                .args([uri.as_str(), title.as_str(), &x.to_string(), &y.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", python().display()));
            let stdout = child.stdout.take().expect("the helper's stdout");
            let mut first_line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut first_line);
            assert_eq!(
                first_line.trim(),
                "ready",
                "the GTK drag source did not start (needs python3-gi and gir1.2-gtk-3.0)"
            );
            let window = wait_for_window("drag source", &title, |name| name == title);
            DragSource { child, window }
        }

        /// The X window id of the source's window.
        pub fn window(&self) -> &str {
            &self.window
        }

        /// Presses the mouse on the source, moves it in steps to `(x, y)` and releases it there: a real
        /// XDND drag, as a user's.
        pub fn drag_to(&self, x: i32, y: i32) {
            let (left, top, width, height) = geometry(&self.window);
            let (from_x, from_y) = (left + width / 2, top + height / 2);
            xdotool(&[
                "mousemove",
                "--sync",
                &from_x.to_string(),
                &from_y.to_string(),
            ]);
            std::thread::sleep(Duration::from_millis(200));
            xdotool(&["mousedown", "1"]);
            std::thread::sleep(Duration::from_millis(200));
            let steps = 20;
            for step in 1..=steps {
                let at_x = from_x + (x - from_x) * step / steps;
                let at_y = from_y + (y - from_y) * step / steps;
                xdotool(&["mousemove", &at_x.to_string(), &at_y.to_string()]);
                std::thread::sleep(Duration::from_millis(40));
            }
            // A last small move over the target, so it sees the pointer settle before the drop.
            xdotool(&["mousemove", &(x + 2).to_string(), &(y + 2).to_string()]);
            std::thread::sleep(Duration::from_millis(400));
            xdotool(&["mouseup", "1"]);
        }
    }

    impl Drop for DragSource {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Window {
    /// Clicks row `index` of the virtual conversation list (scrolled into view first). A row can be
    /// redrawn between finding and clicking it (the list re-renders while it scrolls or reloads), so a
    /// click on a stale node is retried on the fresh one.
    pub async fn click_conversation(&self, index: usize) {
        let mut last_error = String::new();
        for _ in 0..5 {
            let row = self.conversation_row(index).await;
            match tokio::time::timeout(COMMAND_TIMEOUT, row.click()).await {
                Ok(Ok(())) => return,
                Ok(Err(error)) => last_error = error.to_string(),
                Err(_) => last_error = format!("no answer within {COMMAND_TIMEOUT:?}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("WebDriver: click conversation row {index}: {last_error}");
    }
}

impl Window {
    /// Waits until the page has painted twice more, so a screenshot shows what the DOM already holds.
    pub async fn settle(&self) {
        self.js(
            "window.__e2eFrames = 0;\
             requestAnimationFrame(() => requestAnimationFrame(() => { window.__e2eFrames = 2; }));",
            vec![],
        )
        .await;
        self.wait_for(
            "two painted frames",
            "return window.__e2eFrames === 2;",
            vec![],
            UI_TIMEOUT,
        )
        .await;
    }
}
