//! The installed app updates itself (issue 12, point 2), end to end: the .deb of version N is
//! installed (`/usr/bin/parley`), a loopback HTTP server plays the release server (`latest.json` and
//! the .deb of N+1), and the real window, driven through tauri-driver under Xvfb, is what the user
//! sees. In order: a package signed with another key is refused with the clear signature message and
//! N stays installed and running; a package the server answers with 404, then 500, leaves N
//! installed too; then the real N+1: "Install and restart" installs it (dpkg says N+1, `parley
//! --version` says N+1), the app comes back by itself as a new process with its window, and a fresh
//! session on the installed app shows N+1 in the window.
//!
//! Not part of `cargo test --workspace` (`test = false` in tests/Cargo.toml):
//! `src-tauri/scripts/package-test.sh` runs it as root after installing N, with
//! - `PARLEY_INSTALLED_APP` (`/usr/bin/parley`), `PARLEY_INSTALLED_VERSION` (N),
//!   `PARLEY_NEXT_VERSION` (N+1), `PARLEY_NEXT_DEB` and `PARLEY_NEXT_DEB_SIG` (its .sig from the
//!   build), `PARLEY_UPDATE_PORT` (the port built into N's updater endpoint), `PARLEY_TAURI_CLI` (to
//!   sign the package with a second, unrelated key).
//!
//! Both N and N+1 are built with the Tauri CLI's `--config` overlay agreed with package-test.sh:
//! `{"bundle":{"createUpdaterArtifacts":true},"plugins":{"updater":{"pubkey":"<throwaway .pub>",
//! "endpoints":["http://127.0.0.1:<PORT>/latest.json"],"dangerousInsecureTransportProtocol":true}}}`,
//! N+1's with `"version"` too. The app installs a .deb with the plugin's chain (pkexec, a graphical
//! sudo, then `sudo dpkg -i`); as root without polkit that is `sudo`, which deps.sh installs.
//!
//! The manifest has only the `linux-x86_64-deb` entry: the plugin looks that up first for an app
//! whose binary the bundler marked as installed from a .deb, and `linux-x86_64` (the AppImage in a
//! real release) only after, so an app not marked as a .deb would find nothing here.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parley_tests::window::{app_environment, require_display, within, x11, Driver, Window};
use serde_json::json;

/// Longest wait for the first automatic check's banner (the app checks 3 s after start).
const OFFER_TIMEOUT: Duration = Duration::from_secs(40);
/// Longest wait for a download, signature check and install by dpkg.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(180);
/// Longest wait for the restarted app's window.
const RESTART_TIMEOUT: Duration = Duration::from_secs(60);
/// Wait for what follows at once from what the test already saw.
const SHORT: Duration = Duration::from_secs(5);
/// Release notes as a hostile server might send them: markup that must stay text.
const HOSTILE_NOTES: &str =
    "Faster sync.\n<img src=x onerror=\"document.title='owned'\"><b>bold</b>";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run this through src-tauri/scripts/package-test.sh")
    })
}

/// The installed package's version, as dpkg has it.
fn installed_version() -> String {
    let output = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "parley"])
        .output()
        .expect("run dpkg-query");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// What `parley --version` prints.
fn version_output(app: &Path) -> String {
    let output = Command::new(app)
        .arg("--version")
        .output()
        .expect("run parley --version");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// An answer the server gives for a path: HTTP status and body.
type Answer = (u16, Vec<u8>);

/// A tiny HTTP/1.1 server on 127.0.0.1 whose answers the test changes as it goes: path → (status,
/// body). Counts the requests per path.
#[derive(Clone, Default)]
struct ReleaseServer {
    routes: Arc<Mutex<HashMap<String, Answer>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl ReleaseServer {
    fn start(port: u16) -> ReleaseServer {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1:{port}: {e}"));
        let server = ReleaseServer::default();
        let serving = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let server = serving.clone();
                std::thread::spawn(move || server.answer(stream));
            }
        });
        server
    }

    fn serve(&self, path: &str, status: u16, body: Vec<u8>) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), (status, body));
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn answer(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone the connection"));
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        let mut header = String::new();
        while reader.read_line(&mut header).is_ok_and(|read| read > 2) {
            header.clear();
        }
        let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
        *self.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
        let (status, body) = self
            .routes
            .lock()
            .unwrap()
            .get(&path)
            .cloned()
            .unwrap_or((404, b"not here".to_vec()));
        let reason = match status {
            200 => "OK",
            404 => "Not Found",
            _ => "Internal Server Error",
        };
        let mut stream = stream;
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
    }
}

/// The static manifest the release workflow publishes, for one .deb.
fn manifest(version: &str, port: u16, package_path: &str, signature: &str) -> Vec<u8> {
    let manifest = json!({
        "version": version,
        "notes": HOSTILE_NOTES,
        "pub_date": "2026-12-01T10:00:00Z",
        "platforms": {
            "linux-x86_64-deb": {
                "url": format!("http://127.0.0.1:{port}{package_path}"),
                "signature": signature,
            }
        }
    });
    serde_json::to_vec(&manifest).unwrap()
}

/// A signature of `deb` by a second key the app does not trust, made with the Tauri CLI.
fn foreign_signature(cli: &str, deb: &Path, folder: &Path, version: &str) -> String {
    let key = folder.join("other.key");
    let status = Command::new(cli)
        .args(["signer", "generate", "--ci", "-p", "", "-f", "-w"])
        .arg(&key)
        .output()
        .expect("run tauri signer generate");
    assert!(status.status.success(), "signer generate: {status:?}");
    let copy = folder.join("parley-next.deb");
    std::fs::copy(deb, &copy).expect("copy the .deb to sign it again");
    let private_key = std::fs::read_to_string(&key).expect("read the other key");
    let signed = Command::new(cli)
        .args([
            "signer",
            "sign",
            "-k",
            private_key.trim(),
            "-p",
            "",
            "--app-version",
            version,
        ])
        .arg(&copy)
        .output()
        .expect("run tauri signer sign");
    assert!(signed.status.success(), "signer sign: {signed:?}");
    std::fs::read_to_string(folder.join("parley-next.deb.sig")).expect("read the foreign .sig")
}

/// True when the element's text contains `text` and neither it nor a parent is hidden.
const SHOWS_TEXT: &str = "const node = document.querySelector(arguments[0]);\
    return !!node && !node.closest('[hidden]') && node.textContent.includes(arguments[1]);";

async fn wait_text(window: &Window, css: &str, text: &str, timeout: Duration) {
    window
        .wait_for(
            &format!("{css} to show “{text}”"),
            SHOWS_TEXT,
            vec![json!(css), json!(text)],
            timeout,
        )
        .await;
}

async fn click(window: &Window, css: &str) {
    let button = window.find(css).await;
    within(&format!("click {css}"), button.click()).await;
}

/// The pid behind the app's X window.
fn window_pid() -> u32 {
    let id = x11::wait_for_window("Parley", "Parley", |name| name.starts_with("Parley"));
    pid_of_window(&id).expect("the window's pid")
}

/// The pid an X window says it belongs to (`_NET_WM_PID`), if any.
fn pid_of_window(id: &str) -> Option<u32> {
    let output = Command::new("xdotool")
        .args(["getwindowpid", id])
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

/// With no account yet the app opens "Add account" at start; the user cancels it.
async fn cancel_add_account(window: &Window) {
    window
        .wait_for(
            "the Add account dialog a first start opens",
            "return !!document.getElementById('add-account')?.open;",
            vec![],
            OFFER_TIMEOUT,
        )
        .await;
    click(window, "#add-account-cancel").await;
}

/// Settings → Check for updates, until it reports `expected`, then back to the inbox.
async fn check_by_hand(window: &Window, expected: &str) {
    click(window, "#settings-open").await;
    click(window, "#updates-check").await;
    wait_text(window, "#updates-check-status", expected, OFFER_TIMEOUT).await;
    click(window, "#settings-close").await;
}

/// Clicks "Install and restart" and waits for the failure's words; N must still be installed and
/// its process still the one that showed the window.
async fn install_fails_with(window: &Window, words: &str, pid: u32, installed: &str, shot: &str) {
    click(window, "#update-install").await;
    wait_text(window, "#update-problem", words, INSTALL_TIMEOUT).await;
    wait_text(
        window,
        "#update-problem",
        &format!("Parley {installed} is still installed"),
        SHORT,
    )
    .await;
    window.settle().await;
    window.screenshot(shot).await;
    assert_eq!(
        installed_version(),
        installed,
        "dpkg after a refused update"
    );
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the app exited after a refused update"
    );
    assert_eq!(window_pid(), pid, "the same app shows the window");
}

/// The running version, as the settings view says it ("This is Parley N.").
async fn shown_version(window: &Window) -> String {
    click(window, "#settings-open").await;
    wait_text(window, "#updates-current", "Parley", SHORT).await;
    let shown = window.texts("#updates-current").await.join("");
    click(window, "#settings-close").await;
    shown
}

#[test]
fn installed_app_updates_itself() {
    require_display();
    let app = PathBuf::from(env("PARLEY_INSTALLED_APP"));
    let version = env("PARLEY_INSTALLED_VERSION");
    let next = env("PARLEY_NEXT_VERSION");
    let next_deb = PathBuf::from(env("PARLEY_NEXT_DEB"));
    let good_signature =
        std::fs::read_to_string(env("PARLEY_NEXT_DEB_SIG")).expect("read N+1's .sig");
    let port: u16 = env("PARLEY_UPDATE_PORT").parse().expect("a port number");
    let cli = env("PARLEY_TAURI_CLI");
    assert_eq!(
        installed_version(),
        version,
        "N is installed before the test"
    );
    assert_eq!(version_output(&app), format!("parley {version}"));

    let root = tempfile::tempdir().expect("a temporary folder");
    let bad_signature = foreign_signature(&cli, &next_deb, root.path(), &next);
    let server = ReleaseServer::start(port);
    let deb_bytes = std::fs::read(&next_deb).expect("read N+1's .deb");
    server.serve("/parley-next.deb", 200, deb_bytes);
    server.serve(
        "/latest.json",
        200,
        manifest(&next, port, "/parley-next.deb", &bad_signature),
    );

    let home = root.path().join("home");
    let mut environment = app_environment(&root.path().join("data"), &home);
    environment.push(("PARLEY_LOCALE".to_string(), "en".into()));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let driver = Driver::start(&environment, &root.path().join("tauri-driver.log"));
    let window = runtime.block_on(Window::open(&driver, &app));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(refused_then_installed(
            &window,
            &server,
            port,
            &version,
            &next,
            &good_signature,
        ))
    }));
    let old_pid = match outcome {
        Ok(pid) => pid,
        Err(panic) => {
            eprintln!("--- tauri-driver / app log ---\n{}", driver.log_text());
            std::panic::resume_unwind(panic);
        }
    };

    let started = Instant::now();
    wait_until("dpkg to have N+1", INSTALL_TIMEOUT, || {
        installed_version() == next
    });
    assert_eq!(version_output(&app), format!("parley {next}"));
    let new_pid = wait_for_restarted_window(&app, old_pid);
    println!(
        "installed {next} and restarted as pid {new_pid} (was {old_pid}) {:.1?} after the click",
        started.elapsed()
    );
    // Let the restarted window paint before the capture.
    std::thread::sleep(Duration::from_secs(2));
    x11::screenshot_screen("update-restarted");
    // The restarted app belongs to the old session's process group; end both before a new session.
    runtime.block_on(window.close());
    drop(driver);

    let driver = Driver::start(&environment, &root.path().join("tauri-driver-2.log"));
    let window = runtime.block_on(Window::open(&driver, &app));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            cancel_add_account(&window).await;
            assert_eq!(
                shown_version(&window).await,
                format!("This is Parley {next}.")
            );
            check_by_hand(&window, &format!("Parley {next} is the newest version.")).await;
            window.settle().await;
            // The whole screen: a WebDriver screenshot hung in this second session here.
            x11::screenshot_screen("update-after-restart");
        })
    }));
    if outcome.is_err() {
        eprintln!("--- tauri-driver / app log ---\n{}", driver.log_text());
    }
    runtime.block_on(window.close());
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    println!(
        "requests: latest.json {}, package {}, missing package {}",
        server.hits("/latest.json"),
        server.hits("/parley-next.deb"),
        server.hits("/parley-missing.deb")
    );
}

/// The refused updates, then the real one; returns the pid of the app that installed it.
async fn refused_then_installed(
    window: &Window,
    server: &ReleaseServer,
    port: u16,
    version: &str,
    next: &str,
    good_signature: &str,
) -> u32 {
    // The first check runs by itself a moment after start.
    wait_text(
        window,
        "#update-title",
        &format!("Update available: Parley {next}"),
        OFFER_TIMEOUT,
    )
    .await;
    assert_eq!(
        window.texts("#update-notes").await,
        vec![HOSTILE_NOTES.to_string()]
    );
    assert_eq!(
        window.count("#update-banner img, #update-banner b").await,
        0,
        "notes stay text"
    );
    cancel_add_account(window).await;
    assert_eq!(
        shown_version(window).await,
        format!("This is Parley {version}.")
    );
    let pid = window_pid();

    // (a) Signed with a key the app does not trust.
    install_fails_with(
        window,
        "The update's signature does not match Parley's release key, so nothing was installed.",
        pid,
        version,
        "update-bad-signature",
    )
    .await;
    assert!(
        server.hits("/parley-next.deb") >= 1,
        "the package was downloaded"
    );

    // (c) The server fails the package's download: 404, then 500.
    for status in [404, 500] {
        server.serve("/parley-missing.deb", status, b"no".to_vec());
        server.serve(
            "/latest.json",
            200,
            manifest(next, port, "/parley-missing.deb", good_signature),
        );
        check_by_hand(window, &format!("Update available: Parley {next}")).await;
        install_fails_with(
            window,
            "The update could not be downloaded, so nothing was installed.",
            pid,
            version,
            &format!("update-download-{status}"),
        )
        .await;
        let detail = window.texts("#update-detail").await.join("");
        assert!(
            detail.contains(&status.to_string()),
            "the detail names HTTP {status}: {detail}"
        );
    }

    // (b) The real N+1.
    server.serve(
        "/latest.json",
        200,
        manifest(next, port, "/parley-next.deb", good_signature),
    );
    check_by_hand(window, &format!("Update available: Parley {next}")).await;
    click(window, "#update-install").await;
    pid
}

fn wait_until(what: &str, timeout: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Waits until the old process is gone and a new one of the installed binary shows the window.
fn wait_for_restarted_window(app: &Path, old_pid: u32) -> u32 {
    wait_until("the old app to exit", RESTART_TIMEOUT, || {
        !Path::new(&format!("/proc/{old_pid}")).exists()
    });
    let deadline = Instant::now() + RESTART_TIMEOUT;
    loop {
        let restarted = x11::windows_named("Parley")
            .into_iter()
            .find_map(|(id, name)| {
                let pid = pid_of_window(&id)?;
                let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
                (name.starts_with("Parley") && pid != old_pid && exe == app).then_some(pid)
            });
        if let Some(pid) = restarted {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "no restarted Parley window within {RESTART_TIMEOUT:?}; windows: {:?}",
            x11::windows_named(".")
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}
