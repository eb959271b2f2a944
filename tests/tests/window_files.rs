//! End-to-end: attachments reach the server from the real window, both ways a user attaches a file —
//! chosen in the native GTK file chooser (driven with xdotool: Ctrl+L, the path typed, Enter) and dropped
//! on the window by a real XDND drag from another GTK window. Each file is staged (name shown), sent, and
//! must arrive at the sandbox byte for byte, exactly once.
//!
//! Run: `cargo build -p parley-app -p parley-cli && bash src-tauri/scripts/test.sh -- -p parley-tests
//! --test window_files` (Xvfb, keyring session, tauri-driver; xdotool and python3-gi from deps.sh).

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parley_sandbox::{Sandbox, SnapshotMessage};
use parley_tests::rows::{self, ConversationRow};
use parley_tests::window::x11::{self, DragSource};
use parley_tests::window::{
    app_binary, app_environment, require_display, within, Driver, Window, UI_TIMEOUT,
};
use parley_tests::{sandbox_config, World};
use rand::RngCore;
use serde_json::json;

const ACCOUNT: &str = "files";
const SEED: u64 = 7;
/// How long a sent file may take to reach the sandbox (upload, send, delivery job).
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(30);
/// The large file of the upload-progress scenario, and how fast the sandbox reads it (about 8 s: long
/// enough to watch, with room for the OS's socket buffers, which take the first megabytes at once).
const LARGE_FILE: usize = 24 * 1024 * 1024;
const SLOW_UPLINK_BYTES_PER_SECOND: u64 = 3 * 1024 * 1024;
/// The file chooser's title (src-tauri/src/commands/files.rs), in English or Russian.
const PICKER_TITLE: &str = "Attach|Прикреп";

#[test]
fn files_from_the_picker_and_from_a_drop_arrive_intact() {
    require_display();
    let world = World::start(sandbox_config(SEED, 12, 8));
    let cli = world.cli();
    world.add_account(&cli, ACCOUNT, &[]).assert_ok();
    rows::sync(&cli, ACCOUNT);
    let listed = rows::conversations(&cli, Some(ACCOUNT));
    let files = world.root().join("files");
    let picked = write_random_file(
        &files.join("picked"),
        "quarterly report (final).bin",
        48_000,
    );
    let dropped = write_random_file(&files.join("dropped"), "photo from customer.jpg", 20_000);
    let large = write_random_file(&files.join("large"), "screen recording.mp4", LARGE_FILE);

    let env = app_environment(cli.data_dir(), &world.root().join("home"));
    let driver = Driver::start(&env, &world.root().join("tauri-driver.log"));
    let window = world.block_on(Window::open(&driver, &app_binary()));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        world.block_on(async {
            let index = open_named_conversation(&window, &listed).await;
            let id = listed[index].id;
            picked_file_is_sent(&window, world.sandbox(), id, &picked).await;
            dropped_file_is_sent(&window, world.sandbox(), id, &dropped, world.root()).await;
            large_upload_shows_its_progress(&window, world.sandbox(), id, &large, world.root())
                .await;
        })
    }));
    if outcome.is_err() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            world.block_on(window.screenshot("files-failure"))
        }));
        eprintln!("--- tauri-driver / app log ---\n{}", driver.log_text());
    }
    world.block_on(window.close());
    drop(driver);
    if let Err(panic) = outcome {
        resume_unwind(panic);
    }
}

/// A file of `size` random bytes named `name` in `folder` (created).
fn write_random_file(folder: &Path, name: &str, size: usize) -> PathBuf {
    std::fs::create_dir_all(folder).expect("create the file's folder");
    let mut bytes = vec![0u8; size];
    rand::thread_rng().fill_bytes(&mut bytes);
    let path = folder.join(name);
    std::fs::write(&path, bytes).expect("write the test file");
    path
}

/// Opens the first conversation with a plain name and waits for its thread; returns its index.
async fn open_named_conversation(window: &Window, listed: &[ConversationRow]) -> usize {
    let index = listed
        .iter()
        .position(|row| row.title.as_deref().is_some_and(|t| !t.contains('<')))
        .expect("a conversation with a plain name");
    let title = listed[index].title.clone().unwrap_or_default();
    let row = window.conversation_row(index).await;
    within("click the conversation", row.click()).await;
    window
        .wait_for(
            &format!("the thread of {title:?}"),
            "return document.getElementById('thread-title').textContent === arguments[0] \
             && document.querySelectorAll('#messages li.message').length > 0 \
             && !document.getElementById('attach').disabled;",
            vec![json!(title)],
            UI_TIMEOUT,
        )
        .await;
    index
}

/// Scenario 1: Attach… opens the GTK file chooser; the path typed there stages the file; Send delivers
/// it to the sandbox unchanged.
async fn picked_file_is_sent(window: &Window, sandbox: &Sandbox, conversation: i64, file: &Path) {
    let attach = window.find("#attach").await;
    within("click Attach", attach.click()).await;
    let dialog = x11::wait_for_window("file chooser", PICKER_TITLE, |_| true);
    x11::choose_file_in_gtk_dialog(&dialog, file, Some("files-picker"));
    stage_and_send(window, sandbox, conversation, file, "files-picked").await;
}

/// Scenario 2: a file dragged from another window and dropped on Parley's is staged and delivered.
async fn dropped_file_is_sent(
    window: &Window,
    sandbox: &Sandbox,
    conversation: i64,
    file: &Path,
    scratch: &Path,
) {
    let source = drop_on_parley(file, scratch);
    stage_and_send(window, sandbox, conversation, file, "files-dropped").await;
    drop(source);
}

/// Drags `file` from a GTK window beside Parley's and drops it over the thread, away from the
/// composer's text box (a drop there would insert text). The drag source lives as long as the result.
fn drop_on_parley(file: &Path, scratch: &Path) -> DragSource {
    let app = x11::wait_for_window("Parley", "Parley", |name| name.starts_with("Parley"));
    let (left, top, width, height) = x11::geometry(&app);
    let source = DragSource::start(file, scratch, left + width + 10, top + 40);
    source.drag_to(left + width * 2 / 3, top + height / 3);
    source
}

/// Scenario 3: a large file over a slow uplink: while it uploads, its message shows a progress bar and
/// "uploading file 1 of 1: N %" that move forward; then it arrives intact and the bar goes.
async fn large_upload_shows_its_progress(
    window: &Window,
    sandbox: &Sandbox,
    conversation: i64,
    file: &Path,
    scratch: &Path,
) {
    sandbox.set_upload_speed(Some(SLOW_UPLINK_BYTES_PER_SECOND));
    let source = drop_on_parley(file, scratch);
    let text = stage_and_click_send(window, file, "files-large").await;
    let seen = watch_upload_progress(window, &text).await;
    sandbox.set_upload_speed(None);
    assert!(
        seen.len() >= 3,
        "the progress moved through at least 3 values between 0 and 100 %: {seen:?}"
    );
    assert!(
        seen.windows(2).all(|pair| pair[0].0 <= pair[1].0),
        "the progress never goes back: {seen:?}"
    );
    check_arrival(window, sandbox, conversation, file, &text, "files-large").await;
    let bars = window
        .js(
            "return document.querySelectorAll('#messages progress.message__progress').length;",
            vec![],
        )
        .await;
    assert_eq!(bars, json!(0), "no progress bar once the file is sent");
    drop(source);
}

/// Samples the progress bar of the message with `text` until the upload ends; returns each distinct
/// (value, shown text) seen strictly between 0 and the file's size, and saves a screenshot of one.
async fn watch_upload_progress(window: &Window, text: &str) -> Vec<(u64, String)> {
    let deadline = Instant::now() + ARRIVAL_TIMEOUT;
    let mut seen: Vec<(u64, String)> = Vec::new();
    let mut pictured = false;
    loop {
        let sample = window
            .js(
                "const li = Array.from(document.querySelectorAll('#messages li.message--out'))                   .find(li => li.querySelector('p.message__text')?.textContent === arguments[0]);                 if (!li) return { state: 'absent' };                 const bar = li.querySelector('progress.message__progress');                 return { state: li.dataset.status, value: bar ? bar.value : null,                          max: bar ? bar.max : null,                          meta: li.querySelector('.message__meta')?.textContent ?? '' };",
                vec![json!(text)],
            )
            .await;
        let value = sample["value"].as_f64().map(|v| v as u64);
        let max = sample["max"].as_f64().map(|v| v as u64);
        if let (Some(value), Some(max)) = (value, max) {
            assert_eq!(max, LARGE_FILE as u64, "the bar's end is the file's size");
            let meta = sample["meta"].as_str().unwrap_or_default().to_string();
            if value > 0 && value < max && seen.last().is_none_or(|last| last.0 != value) {
                let percent = value * 100 / max;
                assert!(
                    meta.contains(&format!("1 of 1: {percent} %"))
                        || meta.contains(&format!("1 из 1: {percent} %")),
                    "the message says how far the upload is ({percent} %): {meta:?}"
                );
                seen.push((value, meta));
                if !pictured && percent >= 20 {
                    window.screenshot("files-upload-progress").await;
                    pictured = true;
                }
            }
        } else if sample["state"] != json!("pending") && sample["state"] != json!("absent") {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "the upload did not finish within {ARRIVAL_TIMEOUT:?}; seen {seen:?}, last {sample}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `file` is staged in the composer, sends it with a unique text, and checks that the
/// sandbox receives it once, byte for byte.
async fn stage_and_send(
    window: &Window,
    sandbox: &Sandbox,
    conversation: i64,
    file: &Path,
    screenshot: &str,
) {
    let text = stage_and_click_send(window, file, screenshot).await;
    check_arrival(window, sandbox, conversation, file, &text, screenshot).await;
}

/// Waits until `file` is staged, types a unique text and clicks Send; returns the text.
async fn stage_and_click_send(window: &Window, file: &Path, screenshot: &str) -> String {
    let name = file_name(file);
    window
        .wait_for(
            &format!("{name:?} staged in the composer"),
            "return Array.from(document.querySelectorAll('#staged-files li'))\
               .some(li => li.textContent.includes(arguments[0]));",
            vec![json!(name)],
            UI_TIMEOUT,
        )
        .await;
    window.screenshot(&format!("{screenshot}-staged")).await;
    let text = format!("e2e {screenshot} {}", std::process::id());
    let composer = window.find("#composer-text").await;
    within("type the text", composer.send_keys(&text)).await;
    let send = window.find("#composer-send").await;
    within("click Send", send.click()).await;
    text
}

/// Checks that the sandbox got the message with `text` once, with `file` byte for byte, and that the
/// thread shows it sent with the file's name and an emptied composer.
async fn check_arrival(
    window: &Window,
    sandbox: &Sandbox,
    conversation: i64,
    file: &Path,
    text: &str,
    screenshot: &str,
) {
    let name = file_name(file);
    let arrived = wait_for_arrival(sandbox, text).await;
    assert_eq!(
        arrived.len(),
        1,
        "the sandbox must receive {text:?} exactly once"
    );
    let attachments = &arrived[0].attachments;
    assert_eq!(attachments.len(), 1, "one attachment on {text:?}");
    assert_eq!(attachments[0].file_name, name, "the attachment's name");
    let original = std::fs::read(file).expect("read the original file");
    assert!(
        attachments[0].bytes == original,
        "the bytes that arrived differ from {} ({} vs {} bytes)",
        file.display(),
        attachments[0].bytes.len(),
        original.len()
    );
    let conversation_messages = sandbox.messages(conversation);
    assert!(
        conversation_messages
            .iter()
            .any(|m| m.text.as_deref() == Some(text)),
        "the message joined conversation {conversation}"
    );
    window
        .wait_for(
            "the sent message in the thread with its attachment, and the composer emptied",
            "const li = Array.from(document.querySelectorAll('#messages li.message--out'))\
               .find(li => li.querySelector('p.message__text')?.textContent === arguments[0]);\
             return !!li && li.textContent.includes(arguments[1]) \
               && document.querySelectorAll('#staged-files li').length === 0;",
            vec![json!(text), json!(name)],
            UI_TIMEOUT,
        )
        .await;
    window.screenshot(screenshot).await;
}

/// Polls the sandbox until a message with `text` arrived, then a little longer for duplicates.
async fn wait_for_arrival(sandbox: &Sandbox, text: &str) -> Vec<SnapshotMessage> {
    let matching = || -> Vec<SnapshotMessage> {
        sandbox
            .sent_messages()
            .into_iter()
            .filter(|m| m.text.as_deref() == Some(text))
            .collect()
    };
    let deadline = Instant::now() + ARRIVAL_TIMEOUT;
    while matching().is_empty() {
        assert!(
            Instant::now() < deadline,
            "{text:?} did not reach the sandbox within {ARRIVAL_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    matching()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .expect("a file name")
        .to_string_lossy()
        .into_owned()
}
