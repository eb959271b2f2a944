//! End-to-end test of attachments in the real window (tauri-driver + WebKitWebDriver under Xvfb, a
//! Pact account synced from the sandbox by the CLI), on a thread where the customer sent two photos,
//! a voice note and an invoice:
//!
//! - **Voice note**: an inline player (downloaded through the core, played from a blob: URL) shows
//!   the note's duration, its seek bar moves the player, and its speed button goes 1× → 1.5× → 2×
//!   on the player itself.
//! - **File card**: the invoice shows its name and size, Open and Save, and no MIME type.
//! - **Image viewer**: a click on a photo opens it in the app; → shows the thread's next photo, +
//!   zooms, Esc closes. Screenshots `media-thread.png` and `media-viewer.png`.
//!
//! Run: `cargo build -p parley-app -p parley-cli && bash src-tauri/scripts/test.sh -- -p parley-tests
//! --test window_media`.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use fantoccini::key::Key;
use parley_sandbox::{sample_pdf, sample_png, voice_note_wav};
use parley_tests::rows;
use parley_tests::window::{
    app_binary, app_environment, require_display, within, Driver, Window, UI_TIMEOUT,
};
use parley_tests::{sandbox_config, World};
use serde_json::{json, Value};

const ACCOUNT: &str = "media";
const SEED: u64 = 4_711;
/// How long the voice note is, in seconds.
const VOICE_SECONDS: u32 = 2;

#[test]
fn attachments_play_and_open_in_the_window() {
    require_display();
    let world = World::start(sandbox_config(SEED, 3, 2));
    let sandbox = world.sandbox();
    let target = sandbox.conversations()[0].id;
    for pushed in [
        sandbox.push_incoming_file(
            target,
            Some("first photo"),
            sample_png("photo one.png", false),
        ),
        sandbox.push_incoming_file(
            target,
            None,
            voice_note_wav("voice note.wav", VOICE_SECONDS),
        ),
        sandbox.push_incoming_file(target, Some("the invoice"), sample_pdf("invoice 42.pdf")),
        sandbox.push_incoming_file(
            target,
            Some("second photo"),
            sample_png("photo two.png", true),
        ),
    ] {
        assert_ne!(pushed, 0, "the sandbox took the file");
    }
    let cli = world.cli();
    world.add_pact_account(&cli, ACCOUNT).assert_ok();
    rows::sync(&cli, ACCOUNT);
    let listed = rows::conversations(&cli, Some(ACCOUNT));
    let index = listed
        .iter()
        .position(|row| row.id == target)
        .expect("the conversation is listed");
    let mut env = app_environment(cli.data_dir(), &world.root().join("home"));
    env.push(("PARLEY_LOCALE".to_string(), PathBuf::from("en")));

    let log = world.root().join("tauri-driver-media.log");
    let driver = Driver::start(&env, &log);
    let window = world.block_on(Window::open(&driver, &app_binary()));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(async {
            window.click_conversation(index).await;
            wait(
                &window,
                "the thread with its files",
                "return document.querySelectorAll('#messages .message__file').length === 4;",
                vec![],
            )
            .await;
            voice_note_plays(&window).await;
            invoice_is_a_file_card(&window).await;
            window.screenshot("media-thread").await;
            photos_open_in_the_viewer(&window).await;
        })
    }));
    if outcome.is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            world.block_on(window.screenshot("failure-media"))
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

async fn wait(window: &Window, what: &str, script: &str, args: Vec<Value>) {
    window.wait_for(what, script, args, UI_TIMEOUT).await;
}

async fn click(window: &Window, css: &str) {
    let target = window.find(css).await;
    within(&format!("click {css}"), target.click()).await;
}

/// The voice note's player knows its length, and its speed button changes the playback rate.
async fn voice_note_plays(window: &Window) {
    let player = "#messages .message__player--audio";
    window
        .js(
            "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' });",
            vec![json!(player)],
        )
        .await;
    wait(
        window,
        "the voice note's duration",
        "const audio = document.querySelector(arguments[0] + ' audio');\
         return !!audio && audio.src.startsWith('blob:') && audio.readyState >= 1\
           && document.querySelector(arguments[0] + ' .message__duration').textContent === arguments[1];",
        vec![json!(player), json!(format!("0:{VOICE_SECONDS:02}"))],
    )
    .await;
    // Seeking: the bar moves the player, and the position shows it.
    let seeked = window
        .js(
            "const box = document.querySelector(arguments[0]);\
             const seek = box.querySelector('input.message__seek');\
             seek.value = '1.5';\
             seek.dispatchEvent(new Event('input', { bubbles: true }));\
             return box.querySelector('audio').currentTime;",
            vec![json!(player)],
        )
        .await;
    assert!(
        (seeked.as_f64().unwrap_or(0.0) - 1.5).abs() < 0.2,
        "seeking moves the player: {seeked}"
    );
    for (label, rate) in [("1.5×", 1.5), ("2×", 2.0), ("1×", 1.0)] {
        click(window, &format!("{player} .message__speed")).await;
        let state = window
            .js(
                "const box = document.querySelector(arguments[0]);\
                 return [box.querySelector('.message__speed').textContent, box.querySelector('audio').playbackRate];",
                vec![json!(player)],
            )
            .await;
        assert_eq!(
            (state[0].as_str(), state[1].as_f64()),
            (Some(label), Some(rate)),
            "the speed button and the player agree: {state}"
        );
    }
}

/// The invoice: icon, name and size, Open and Save; never its MIME type.
async fn invoice_is_a_file_card(window: &Window) {
    let card = window
        .js(
            "const card = Array.from(document.querySelectorAll('#messages .message__file'))\
               .find(box => box.textContent.includes('invoice 42.pdf'));\
             return card ? card.textContent : null;",
            vec![],
        )
        .await;
    let card = card.as_str().expect("the invoice's card").to_string();
    let size = format!("{} bytes", sample_pdf("x").bytes.len());
    assert!(
        card.contains("Open") && card.contains("Save") && card.contains(&size),
        "the card offers Open and Save and its size ({size}): {card:?}"
    );
    assert!(
        !card.contains("application/") && !card.contains("/pdf"),
        "no MIME type on the card: {card:?}"
    );
}

/// A click on the first photo opens the viewer; → shows the second; + zooms; Esc closes.
async fn photos_open_in_the_viewer(window: &Window) {
    let first = "#messages img.message__preview";
    window
        .js(
            "document.querySelector(arguments[0]).scrollIntoView({ block: 'center' });",
            vec![json!(first)],
        )
        .await;
    wait(
        window,
        "the first photo's preview",
        "const image = document.querySelector(arguments[0]);\
         return !!image && image.complete && image.naturalWidth > 0;",
        vec![json!(first)],
    )
    .await;
    click(window, first).await;
    let shown = "const viewer = document.getElementById('viewer');\
                 const image = document.getElementById('viewer-image');\
                 return viewer.open && image.src.startsWith('blob:') && image.complete && image.naturalWidth > 0\
                   && document.getElementById('viewer-title').textContent === arguments[0]\
                   && document.getElementById('viewer-position').textContent === arguments[1];";
    wait(
        window,
        "the viewer on the first photo",
        shown,
        vec![json!("photo one.png"), json!("1 of 2")],
    )
    .await;
    press(window, &char::from(Key::Right).to_string()).await;
    wait(
        window,
        "the viewer on the second photo",
        shown,
        vec![json!("photo two.png"), json!("2 of 2")],
    )
    .await;
    press(window, "+").await;
    wait(
        window,
        "the photo zoomed",
        "return document.getElementById('viewer-zoom').textContent === '125%';",
        vec![],
    )
    .await;
    window.screenshot("media-viewer").await;
    press(window, &char::from(Key::Escape).to_string()).await;
    wait(
        window,
        "the viewer closed",
        "return !document.getElementById('viewer').open;",
        vec![],
    )
    .await;
}

/// Sends keys to the focused element.
async fn press(window: &Window, keys: &str) {
    let focused = within("the focused element", window.client().active_element()).await;
    within("press keys", focused.send_keys(keys)).await;
}
