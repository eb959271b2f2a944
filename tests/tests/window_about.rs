//! End-to-end test of "who and what it is" in the real window (tauri-driver + WebKitWebDriver under
//! Xvfb, a Pact account synced from the sandbox by the CLI):
//!
//! - **Started with a link**: the app started as `parley parley://open/ACCOUNT/ID` opens that
//!   conversation once the inbox shows.
//! - **About** (Settings… → About Parley…): the same version as `parley --version`, Parley's MIT
//!   licence, `tauri` listed with its licence, a licence text readable, and that no fonts are shipped.
//!   Screenshot `about.png`.
//! - **A second launch with a link** (`parley parley://open/…`, same environment, so the same
//!   single-instance D-Bus name) exits at once and the running window shows that conversation.
//! - **Refused links**: a malformed one, an unknown account and an unknown conversation each exit at
//!   once and show their notice, and the open conversation stays as it was.
//! - **Copy link** puts the open conversation's `parley://` link on the X clipboard (read back with
//!   xclip), and that link is one the app accepts.
//!
//! Run: `cargo build -p parley-app -p parley-cli && bash src-tauri/scripts/test.sh -- -p parley-tests
//! --test window_about`.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use parley_tests::rows::{self, ConversationRow};
use parley_tests::window::{
    app_binary, app_environment, require_display, within, Driver, Window, UI_TIMEOUT,
};
use parley_tests::{sandbox_config, World};
use serde_json::json;

const ACCOUNT: &str = "links";
const SEED: u64 = 1_212;
/// A second launch hands its link over and exits within this.
const HANDOVER_TIMEOUT: Duration = Duration::from_secs(15);

#[test]
fn about_view_and_parley_links() {
    require_display();
    let world = World::start(sandbox_config(SEED, 6, 3));
    let cli = world.cli();
    world.add_pact_account(&cli, ACCOUNT).assert_ok();
    rows::sync(&cli, ACCOUNT);
    let listed = rows::conversations(&cli, Some(ACCOUNT));
    assert!(
        listed.len() >= 2,
        "the sandbox gave {} conversations",
        listed.len()
    );
    let (first, second) = (&listed[listed.len() - 1], &listed[0]);
    let mut env = app_environment(cli.data_dir(), &world.root().join("home"));
    env.push(("PARLEY_LOCALE".to_string(), PathBuf::from("en")));

    let log = world.root().join("tauri-driver-about.log");
    let driver = Driver::start(&env, &log);
    let started_with = link(ACCOUNT, &first.id.to_string());
    let window = world.block_on(open_with_args(&driver, &[started_with.as_str()]));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(async {
            window.wait_for_inbox().await;
            wait_for_title(&window, first, "the conversation the app was started with").await;
            about_view(&window).await;
            second_launch_opens(&window, &env, second).await;
            refused_links_change_nothing(&window, &env, second).await;
            copy_link(&window, &env, second).await;
        })
    }));
    if outcome.is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            world.block_on(window.screenshot("failure-about"))
        }));
        eprintln!(
            "--- tauri-driver / app log ---\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    world.block_on(window.close());
    drop(driver);
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
}

/// `parley://open/ACCOUNT/ID` as a user would write it (these names need no escaping).
fn link(account: &str, id: &str) -> String {
    format!("parley://open/{account}/{id}")
}

/// A WebDriver session whose app starts with `args`.
async fn open_with_args(driver: &Driver, args: &[&str]) -> Window {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "tauri:options".to_string(),
        json!({ "application": app_binary(), "args": args }),
    );
    Window::open_with(driver, capabilities).await
}

async fn text_of(window: &Window, css: &str) -> String {
    let value = window
        .js(
            "const node = document.querySelector(arguments[0]); return node ? node.textContent : null;",
            vec![json!(css)],
        )
        .await;
    value.as_str().unwrap_or_default().to_string()
}

fn title_of(conversation: &ConversationRow) -> String {
    conversation
        .title
        .clone()
        .unwrap_or_else(|| "(no name)".to_string())
}

async fn wait_for_title(window: &Window, conversation: &ConversationRow, what: &str) {
    window
        .wait_for(
            what,
            "return document.getElementById('thread-title').textContent === arguments[0];",
            vec![json!(title_of(conversation))],
            UI_TIMEOUT,
        )
        .await;
}

async fn about_view(window: &Window) {
    let version = command_line_version();
    within("open Settings", window.find("#settings-open").await.click()).await;
    within("open About", window.find("#about-open").await.click()).await;
    window
        .wait(
            "the crate list",
            "return document.querySelectorAll('#about-crates li').length > 100;",
            vec![],
        )
        .await;
    assert_eq!(text_of(window, "#about-name").await, "Parley");
    assert_eq!(
        text_of(window, "#about-version").await,
        format!("Version {version}"),
        "the same version as parley --version"
    );
    assert_eq!(
        text_of(window, "#about-license").await,
        "Parley is licensed under the MIT licence."
    );
    assert!(
        text_of(window, "#about-fonts")
            .await
            .contains("none shipped"),
        "the view says no fonts are shipped"
    );
    let tauri = text_of(window, "#about-crates li[data-crate='tauri']").await;
    assert!(
        tauri.starts_with("tauri 2.") && tauri.contains("Apache-2.0") && tauri.contains("MIT"),
        "tauri with its licence: {tauri:?}"
    );
    let entry = window
        .find("#about-texts details[data-license='MIT'] summary")
        .await;
    within("open the MIT text", entry.click()).await;
    // The text is put in the page by the toggle event, which fires after the click.
    window.wait(
        "the MIT text",
        "return document.querySelector(\"#about-texts details[data-license='MIT'] pre\") !== null;",
        vec![],
    )
    .await;
    let text = text_of(window, "#about-texts details[data-license='MIT'] pre").await;
    assert!(
        text.contains("Permission is hereby granted, free of charge"),
        "the MIT text is readable: {:?}",
        text.chars().take(200).collect::<String>()
    );
    window.settle().await;
    let shot = window.screenshot("about").await;
    eprintln!("screenshot: {}", shot.display());
    within("close About", window.find("#about-close").await.click()).await;
}

/// What `parley --version` prints after "parley ".
fn command_line_version() -> String {
    let output = Command::new(app_binary())
        .arg("--version")
        .output()
        .expect("run parley --version");
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_string();
    printed
        .strip_prefix("parley ")
        .unwrap_or_else(|| panic!("parley --version printed {printed:?}"))
        .to_string()
}

/// Runs `parley LINK` as the OS would and checks it handed over and exited promptly.
fn launch_with(env: &[(String, PathBuf)], link: &str) {
    let mut child = Command::new(app_binary())
        .arg(link)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a second parley");
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for the second parley") {
            assert!(
                status.success(),
                "the second parley with {link:?} exited with {status}"
            );
            eprintln!(
                "second launch with {link:?} exited after {:?}",
                started.elapsed()
            );
            return;
        }
        if started.elapsed() > HANDOVER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the second parley with {link:?} did not exit within {HANDOVER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn second_launch_opens(window: &Window, env: &[(String, PathBuf)], second: &ConversationRow) {
    launch_with(env, &link(ACCOUNT, &second.id.to_string()));
    wait_for_title(window, second, "the conversation the second launch named").await;
    let banner = window.find("#deep-link-banner").await;
    assert!(!is_displayed(&banner).await, "no notice for a good link");
}

async fn is_displayed(element: &fantoccini::elements::Element) -> bool {
    within("is displayed", element.is_displayed()).await
}

async fn refused_links_change_nothing(
    window: &Window,
    env: &[(String, PathBuf)],
    open: &ConversationRow,
) {
    let cases = [
        (
            "parley://open/links".to_string(),
            "This link cannot be opened: Parley opens only links of the form parley://open/ACCOUNT/ID.".to_string(),
        ),
        (
            "parley://open/links/1?then=delete".to_string(),
            "This link cannot be opened: Parley opens only links of the form parley://open/ACCOUNT/ID.".to_string(),
        ),
        (
            link("nobody", "1"),
            "This link names the account “nobody”, which is not on this computer.".to_string(),
        ),
        (
            link(ACCOUNT, "999999999"),
            format!("This link names a conversation (999999999) that the account “{ACCOUNT}” does not have here."),
        ),
    ];
    for (refused, notice) in cases {
        // Each case must show its own notice, not the previous one still there.
        window
            .js(
                "document.getElementById('deep-link-banner').hidden = true; return true;",
                vec![],
            )
            .await;
        launch_with(env, &refused);
        window
            .wait_for(
                &format!("the notice for {refused}"),
                "const banner = document.getElementById('deep-link-banner');\
                 return !banner.hidden && document.getElementById('deep-link-text').textContent === arguments[0];",
                vec![json!(notice)],
                UI_TIMEOUT,
            )
            .await;
        assert_eq!(
            text_of(window, "#thread-title").await,
            title_of(open),
            "{refused} changed the open conversation"
        );
    }
    let dismiss = window.find("#deep-link-dismiss").await;
    within("OK", dismiss.click()).await;
    let banner = window.find("#deep-link-banner").await;
    assert!(!is_displayed(&banner).await, "OK dismisses the notice");
}

async fn copy_link(window: &Window, env: &[(String, PathBuf)], open: &ConversationRow) {
    // Copy link sits in the details panel beside the thread: unfold it first.
    within("Details", window.find("#details-toggle").await.click()).await;
    window
        .wait(
            "the details panel",
            "return !document.getElementById('details').hidden;",
            vec![],
        )
        .await;
    within("Copy link", window.find("#copy-link").await.click()).await;
    window
        .wait(
            "Copied",
            "return document.getElementById('copy-link-status').textContent === 'Link copied.';",
            vec![],
        )
        .await;
    let pasted = Command::new("xclip")
        .args(["-selection", "clipboard", "-o"])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run xclip (apt-get install xclip): {e}"));
    let copied = String::from_utf8_lossy(&pasted.stdout).into_owned();
    assert_eq!(copied, link(ACCOUNT, &open.id.to_string()));
    // The copied link opens the conversation again after another one was picked.
    let titles = window.conversation_titles().await;
    let index = titles
        .iter()
        .position(|title| *title != title_of(open))
        .expect("another conversation in the list");
    window.click_conversation(index).await;
    window
        .wait_for(
            "another conversation",
            "return document.getElementById('thread-title').textContent !== arguments[0];",
            vec![json!(title_of(open))],
            UI_TIMEOUT,
        )
        .await;
    launch_with(env, &copied);
    wait_for_title(window, open, "the conversation of the copied link").await;
}
