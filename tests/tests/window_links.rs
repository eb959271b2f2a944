//! End-to-end: a link in a customer's message opens in the system browser on a click, and only http(s)
//! links open at all. The "system browser" is a stand-in registered the way desktops register one (a
//! `.desktop` file as the default handler of `x-scheme-handler/https` in the test's XDG folders, and
//! `$BROWSER`) that writes every URL it is asked to open to a file.
//!
//! Run: `cargo build -p parley-app -p parley-cli && bash src-tauri/scripts/test.sh -- -p parley-tests
//! --test window_links`.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parley_tests::rows;
use parley_tests::window::{
    app_binary, app_environment, require_display, within, Driver, Window, UI_TIMEOUT,
};
use parley_tests::{sandbox_config, World};
use serde_json::{json, Value};

const ACCOUNT: &str = "links";
const SEED: u64 = 31;
const LINK: &str = "https://example.com/track?order=24874&lang=ru";
/// How long the stand-in browser may take to be started by the OS's opener.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(15);
/// URLs the app must refuse to hand to the OS.
const REFUSED: &[&str] = &[
    "javascript:alert(document.domain)",
    "file:///etc/passwd",
    "smb://attacker.example/share",
    "data:text/html,<script>alert(1)</script>",
    "vscode://file/etc/passwd",
];

#[test]
fn links_open_in_the_browser_and_only_http() {
    require_display();
    let world = World::start(sandbox_config(SEED, 6, 5));
    let conversation = world
        .sandbox()
        .conversations()
        .into_iter()
        .find(|c| c.name.as_deref().is_some_and(|n| !n.contains('<')))
        .expect("a conversation with a plain name");
    let text = format!("Your parcel: {LINK} — tell me if it does not open");
    assert_ne!(
        world
            .sandbox()
            .push_incoming_message(conversation.id, &text),
        0
    );
    let cli = world.cli();
    world.add_account(&cli, ACCOUNT, &[]).assert_ok();
    rows::sync(&cli, ACCOUNT);
    let listed = rows::conversations(&cli, Some(ACCOUNT));
    let index = listed
        .iter()
        .position(|row| row.id == conversation.id)
        .expect("the conversation is listed");

    let home = world.root().join("home");
    let mut env = app_environment(cli.data_dir(), &home);
    let opened = world.root().join("opened-urls.txt");
    let browser = install_stand_in_browser(&home, &world.root().join("browser.sh"), &opened);
    env.push(("BROWSER".to_string(), browser));
    let driver = Driver::start(&env, &world.root().join("tauri-driver.log"));
    let window = world.block_on(Window::open(&driver, &app_binary()));
    let title = conversation.name.clone().unwrap_or_default();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(async {
            open_conversation(&window, index, &title).await;
            clicked_link_opens(&window, &opened).await;
            other_schemes_are_refused(&window, &opened).await;
        })
    }));
    if outcome.is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            world.block_on(window.screenshot("links-failure"))
        }));
        eprintln!("--- tauri-driver / app log ---\n{}", driver.log_text());
    }
    world.block_on(window.close());
    drop(driver);
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
}

/// Writes the recording browser script and registers it as the default http(s) handler in `home`'s
/// XDG folders (what `gio open` and `xdg-open` consult); returns the script's path.
fn install_stand_in_browser(home: &Path, script: &Path, record: &Path) -> PathBuf {
    std::fs::write(
        script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
            record.display()
        ),
    )
    .expect("write the stand-in browser");
    make_executable(script);
    let applications = home.join(".local/share/applications");
    std::fs::create_dir_all(&applications).expect("create the applications folder");
    std::fs::write(
        applications.join("parley-test-browser.desktop"),
        format!(
            "[Desktop Entry]\nType=Application\nName=Parley test browser\nExec={} %u\n\
             MimeType=x-scheme-handler/http;x-scheme-handler/https;\nNoDisplay=true\n",
            script.display()
        ),
    )
    .expect("write the .desktop file");
    std::fs::create_dir_all(home.join(".config")).expect("create the config folder");
    std::fs::write(
        home.join(".config/mimeapps.list"),
        "[Default Applications]\nx-scheme-handler/http=parley-test-browser.desktop\n\
         x-scheme-handler/https=parley-test-browser.desktop\n",
    )
    .expect("write mimeapps.list");
    script.to_path_buf()
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) {}

fn opened_urls(record: &Path) -> Vec<String> {
    std::fs::read_to_string(record)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

async fn open_conversation(window: &Window, index: usize, title: &str) {
    let row = window.conversation_row(index).await;
    within("click the conversation", row.click()).await;
    window
        .wait_for(
            &format!("the thread of {title:?} with the link"),
            "return document.getElementById('thread-title').textContent === arguments[0] \
             && Array.from(document.querySelectorAll('#messages a')).some(a => a.textContent === arguments[1]);",
            vec![json!(title), json!(LINK)],
            UI_TIMEOUT,
        )
        .await;
}

/// A click on the link hands exactly that URL to the system browser, once, and the page stays.
async fn clicked_link_opens(window: &Window, record: &Path) {
    let link = window
        .js(
            "const a = Array.from(document.querySelectorAll('#messages a'))\
               .find(a => a.textContent === arguments[0]);\
             a.dataset.e2eLink = '1'; a.scrollIntoView({ block: 'center' }); return a.textContent;",
            vec![json!(LINK)],
        )
        .await;
    assert_eq!(link, json!(LINK));
    let anchor = window.find("#messages a[data-e2e-link]").await;
    within("click the link", anchor.click()).await;
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    while opened_urls(record).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the system browser was not asked to open the link within {BROWSER_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        opened_urls(record),
        [LINK],
        "what the browser was asked to open"
    );
    let location = window.js("return window.location.href;", vec![]).await;
    assert!(
        location
            .as_str()
            .is_some_and(|href| !href.contains("example.com")),
        "the app's own page must not navigate to the link: {location}"
    );
    window.screenshot("links").await;
}

/// `links_open` refuses every non-http(s) URL with `invalid_input`, and nothing reaches the OS.
async fn other_schemes_are_refused(window: &Window, record: &Path) {
    for url in REFUSED {
        let answer = window
            .client()
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 window.__TAURI__.core.invoke('links_open', { url: arguments[0] })\
                   .then(() => done({ opened: true }), (error) => done({ error }));",
                vec![json!(url)],
            )
            .await
            .unwrap_or_else(|e| panic!("invoke links_open({url}): {e}"));
        assert_eq!(
            answer["error"]["code"],
            Value::from("invalid_input"),
            "links_open({url:?}) answered {answer}"
        );
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        opened_urls(record),
        [LINK],
        "no refused URL reached the OS's opener"
    );
}
