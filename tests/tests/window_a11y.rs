//! Accessibility of the real window (tauri-driver + WebKitWebDriver under Xvfb, a Pact account synced
//! from the sandbox by the CLI): axe-core (npm `axe-core`, fetched by deps.sh into
//! `target/tools/axe-core/`) runs inside the window through WebDriver on every screen an agent uses:
//! the inbox, a thread, the details panel, the image viewer, the new-conversation dialog, Settings,
//! the command palette and the shortcuts overlay, each in the light and in the dark theme. No serious
//! or critical violation of the WCAG 2.1 A and AA rules may remain; every violation found is printed.
//! On each screen the app's own visible text (customer content left out) holds nothing technical:
//! no OS error, HTTP method or path, API name, MIME type, `parley-cli`, temporary path or UUID
//! (`parley_tests::plain_text`). Each screen is saved as `screen-<screen>-<theme>.png`, the
//! README's table of screens.
//!
//! Run: `cargo build -p parley-app -p parley-cli && bash src-tauri/scripts/test.sh -- -p parley-tests
//! --test window_a11y`.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use fantoccini::key::Key;
use parley_sandbox::sample_png;
use parley_tests::plain_text::{technical_text, HIT};
use parley_tests::rows;
use parley_tests::window::{app_binary, app_environment, require_display, within, Driver, Window};
use parley_tests::{sandbox_config, World};
use serde_json::{json, Value};

const ACCOUNT: &str = "access";
const SEED: u64 = 2_024;
/// The rule sets axe runs: WCAG 2.0 and 2.1, levels A and AA.
const WCAG_TAGS: &[&str] = &["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

#[test]
fn every_screen_passes_axe_in_light_and_dark() {
    require_display();
    let axe = std::fs::read_to_string(axe_script()).unwrap_or_else(|error| {
        panic!(
            "cannot read {} ({error}): run bash src-tauri/scripts/deps.sh",
            axe_script().display()
        )
    });
    let world = World::start(sandbox_config(SEED, 8, 6));
    let target = world.sandbox().conversations()[0].id;
    for (name, checker) in [("photo one.png", false), ("photo two.png", true)] {
        let pushed =
            world
                .sandbox()
                .push_incoming_file(target, Some("a photo"), sample_png(name, checker));
        assert_ne!(pushed, 0);
    }
    let cli = world.cli();
    world.add_pact_account(&cli, ACCOUNT).assert_ok();
    rows::sync(&cli, ACCOUNT);
    let listed = rows::conversations(&cli, Some(ACCOUNT));
    let index = listed
        .iter()
        .position(|row| row.id == target)
        .expect("listed");
    let mut env = app_environment(cli.data_dir(), &world.root().join("home"));
    env.push(("PARLEY_LOCALE".to_string(), PathBuf::from("en")));

    let log = world.root().join("tauri-driver-a11y.log");
    let driver = Driver::start(&env, &log);
    let window = world.block_on(Window::open(&driver, &app_binary()));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(async {
            window.wait_for_inbox().await;
            axe_sees_a_planted_violation(&window, &axe).await;
            let mut found = Vec::new();
            // The inbox first, before a conversation is open, in both themes.
            for theme in ["light", "dark"] {
                window.set_theme(theme).await;
                found.extend(screen(&window, &axe, "inbox", theme).await);
            }
            for theme in ["light", "dark"] {
                window.set_theme(theme).await;
                found.extend(screens(&window, &axe, theme, index).await);
            }
            assert!(
                found.is_empty(),
                "serious or critical WCAG violations:\n{}",
                found.join("\n")
            );
        })
    }));
    if outcome.is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            world.block_on(window.screenshot("failure-a11y"))
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

/// The checks can fail: a `role=button` with no name and an OS error's words, planted in the page,
/// are both reported.
async fn axe_sees_a_planted_violation(window: &Window, axe: &str) {
    window
        .js(
            "const canary = document.createElement('div');\
             canary.id = 'axe-canary'; canary.setAttribute('role', 'button'); canary.tabIndex = 0;\
             canary.style.cssText = 'width: 20px; height: 20px;';\
             const words = document.createElement('p');\
             words.id = 'technical-canary'; words.textContent = 'tcp connect error (os error 111)';\
             document.body.append(canary, words);",
            vec![],
        )
        .await;
    let found = check(window, axe, "planted canary").await;
    window
        .js(
            "document.getElementById('axe-canary')?.remove();\
             document.getElementById('technical-canary')?.remove();",
            vec![],
        )
        .await;
    assert!(
        found
            .iter()
            .any(|line| line.contains("aria-command-name") && line.contains("axe-canary")),
        "axe did not report the planted nameless button: {found:?}"
    );
    assert!(
        found
            .iter()
            .any(|line| line.contains(HIT) && line.contains("os error 111")),
        "the planted OS error text was not found: {found:?}"
    );
}

/// Where deps.sh puts axe-core's script.
fn axe_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/axe-core/axe.min.js")
}

/// Walks the screens from a thread on in one theme; returns the serious and critical violations,
/// one line each.
async fn screens(window: &Window, axe: &str, theme: &str, index: usize) -> Vec<String> {
    let mut found = Vec::new();
    window.close_dialogs().await;
    window.click_conversation(index).await;
    window
        .wait(
            "the thread",
            "return document.querySelectorAll('#messages li.message').length > 0 \
               && !document.getElementById('thread-actions').hidden;",
            vec![],
        )
        .await;
    // The thread alone (the panel stays open from the theme before).
    show_details(window, false).await;
    found.extend(screen(window, axe, "thread", theme).await);
    show_details(window, true).await;
    found.extend(screen(window, axe, "details", theme).await);

    window.click("#assign-open").await;
    window
        .wait(
            "the assign list",
            "return !document.getElementById('assign-popover').hidden;",
            vec![],
        )
        .await;
    found.extend(screen(window, axe, "assign", theme).await);
    window.press(&[Key::Escape], "").await;

    let preview = "#messages img.message__preview";
    window
        .js(
            "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' });",
            vec![json!(preview)],
        )
        .await;
    window
        .wait(
            "a preview",
            "const image = document.querySelector('#messages img.message__preview');\
             return !!image && image.complete && image.naturalWidth > 0;",
            vec![],
        )
        .await;
    window.click(preview).await;
    window
        .wait(
            "the viewer",
            "const image = document.getElementById('viewer-image');\
             return document.getElementById('viewer').open && image.complete && image.naturalWidth > 0;",
            vec![],
        )
        .await;
    // The sample photo is a few pixels wide (shown at its size, it is a dot): zoom in.
    for _ in 0..10 {
        window.click("#viewer-zoom-in").await;
    }
    window
        .wait(
            "the photo zoomed in to the most",
            "return document.getElementById('viewer-zoom').textContent === '800%';",
            vec![],
        )
        .await;
    found.extend(screen(window, axe, "viewer", theme).await);
    window.close_dialogs().await;

    for (slug, keys, key, dialog) in [
        (
            "new-conversation",
            vec![Key::Control],
            "n",
            "new-conversation",
        ),
        ("settings", vec![Key::Control], ",", "settings"),
        ("palette", vec![Key::Control, Key::Shift], "p", "palette"),
        ("shortcuts", vec![], "?", "shortcuts"),
    ] {
        focus_thread(window).await;
        window.press(&keys, key).await;
        window.wait_dialog_open(dialog).await;
        found.extend(screen(window, axe, slug, theme).await);
        window.close_dialogs().await;
    }
    found
}

/// Checks one screen ([`check`]) and saves it as `screen-<slug>-<theme>.png`.
async fn screen(window: &Window, axe: &str, slug: &str, theme: &str) -> Vec<String> {
    let found = check(window, axe, &format!("{slug} ({theme})")).await;
    window.settle().await;
    window.screenshot(&format!("screen-{slug}-{theme}")).await;
    found
}

/// Opens (`true`) or folds away the details panel with its toggle, as the agent would.
async fn show_details(window: &Window, shown: bool) {
    let hidden = window
        .js("return document.getElementById('details').hidden;", vec![])
        .await;
    if hidden == json!(shown) {
        window.click("#details-toggle").await;
    }
    window
        .wait(
            if shown {
                "the details panel"
            } else {
                "the details panel folded away"
            },
            "return document.getElementById('details').hidden === arguments[0];",
            vec![json!(!shown)],
        )
        .await;
}

async fn focus_thread(window: &Window) {
    window
        .js("document.getElementById('messages').focus();", vec![])
        .await;
}

/// Runs axe-core on the page as it is; returns its serious and critical violations as lines and
/// prints every violation it found.
async fn check(window: &Window, axe: &str, screen: &str) -> Vec<String> {
    let loaded = window
        .js(
            &format!("if (!window.axe) {{ {axe}\n }} return typeof window.axe.run;"),
            vec![],
        )
        .await;
    assert_eq!(loaded, json!("function"), "axe-core loaded in the window");
    let script = "const done = arguments[arguments.length - 1];\
        window.axe.run(document, { runOnly: { type: 'tag', values: arguments[0] }, resultTypes: ['violations'] })\
          .then(result => done(result.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,\
             nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 160)) }))))\
          .catch(error => done({ error: String(error) }));";
    let result = within(
        &format!("axe on {screen}"),
        window
            .client()
            .execute_async(script, vec![json!(WCAG_TAGS)]),
    )
    .await;
    let violations = result
        .as_array()
        .unwrap_or_else(|| panic!("axe failed on {screen}: {result}"))
        .clone();
    let mut serious = technical_text(window, screen, &["{{".to_string()]).await;
    for violation in &violations {
        let line = describe(screen, violation);
        eprintln!("axe: {line}");
        if matches!(violation["impact"].as_str(), Some("serious" | "critical")) {
            serious.push(line);
        }
    }
    serious
}

fn describe(screen: &str, violation: &Value) -> String {
    format!(
        "{screen}: {} [{}] {}: {}",
        violation["id"].as_str().unwrap_or("?"),
        violation["impact"].as_str().unwrap_or("?"),
        violation["help"].as_str().unwrap_or(""),
        violation["nodes"]
    )
}
