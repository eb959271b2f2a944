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
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// The port tauri-driver listens on; only one session can exist at a time.
pub const DRIVER_PORT: u16 = 4444;
/// The port tauri-driver gives the native WebKitWebDriver.
pub const NATIVE_PORT: u16 = 4445;
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
/// WebKitWebDriver, the app and its web processes).
pub struct Driver {
    child: Child,
    log: PathBuf,
}

impl Driver {
    /// Starts tauri-driver with `env` (inherited by WebKitWebDriver and the app) and waits until it
    /// listens on [`DRIVER_PORT`]; its output goes to `log`.
    pub fn start(env: &[(String, PathBuf)], log: &Path) -> Driver {
        assert_port_free(DRIVER_PORT);
        let output = std::fs::File::create(log).expect("create the tauri-driver log");
        let mut command = Command::new(driver_binary());
        command
            .args(["--port", &DRIVER_PORT.to_string()])
            .args(["--native-port", &NATIVE_PORT.to_string()])
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
        let mut driver = Driver {
            child,
            log: log.to_path_buf(),
        };
        driver.wait_until_listening();
        driver
    }

    fn wait_until_listening(&mut self) {
        let address = SocketAddr::from(([127, 0, 0, 1], DRIVER_PORT));
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("tauri-driver exited with {status}:\n{}", self.log_text());
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "tauri-driver did not listen on {address} within {DRIVER_START_TIMEOUT:?}:\n{}",
            self.log_text()
        );
    }

    /// What tauri-driver, WebKitWebDriver and the app printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The WebDriver URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{DRIVER_PORT}")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        kill_process_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_port_free(port: u16) {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(
        TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err(),
        "port {port} is already in use: another WebDriver session runs (one window test binary at a time)"
    );
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
