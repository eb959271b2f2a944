//! Attachment downloads through the core against a real HTTP server on 127.0.0.1: a whole file is
//! saved once under a safe name; an endless body stops at the cap with a clear error, bounded memory
//! and no file left; a body cut (or a download dropped) halfway leaves nothing that counts as cached.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::{core_with_account, sandbox, sync, ACCOUNT};
use parley_core::{ConversationRef, ErrorCode, Parley, MAX_ATTACHMENT_BYTES};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// What the file host sends for the next request.
#[derive(Clone)]
enum Answer {
    /// The whole body, with its `Content-Length`.
    Whole(Vec<u8>),
    /// `Content-Length` of twice the body, then the body, then (once `go_on` is notified) the
    /// connection is closed.
    CutHalfway(Vec<u8>, Arc<Notify>),
    /// A chunked body that never ends (until the client hangs up).
    Endless,
    /// A `Content-Length` one byte over the cap, then one byte, then the connection is closed.
    OverTheCap,
}

/// Body bytes the endless answers have sent so far.
static ENDLESS_SENT: AtomicU64 = AtomicU64::new(0);

/// A file host on 127.0.0.1 that answers every request as `answer` says; returns its address.
async fn file_host(answer: Arc<Mutex<Answer>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let answer = answer.lock().unwrap().clone();
            tokio::spawn(serve(stream, answer));
        }
    });
    format!("http://{address}/files/report.pdf")
}

async fn serve(mut stream: TcpStream, answer: Answer) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let ok = "HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nConnection: close\r\n";
    match answer {
        Answer::Whole(body) => {
            let head = format!("{ok}Content-Length: {}\r\n\r\n", body.len());
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&body).await?;
        }
        Answer::CutHalfway(body, go_on) => {
            let head = format!("{ok}Content-Length: {}\r\n\r\n", body.len() * 2);
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&body).await?;
            stream.flush().await?;
            go_on.notified().await;
        }
        Answer::OverTheCap => {
            let head = format!("{ok}Content-Length: {}\r\n\r\n", MAX_ATTACHMENT_BYTES + 1);
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(b"x").await?;
        }
        Answer::Endless => {
            stream
                .write_all(format!("{ok}Transfer-Encoding: chunked\r\n\r\n").as_bytes())
                .await?;
            let chunk = vec![b'x'; 256 * 1024];
            let chunk_len = chunk.len() as u64;
            let framed = [format!("{:x}\r\n", chunk.len()).into_bytes(), chunk].concat();
            loop {
                stream.write_all(&framed).await?;
                ENDLESS_SENT.fetch_add(chunk_len, Ordering::SeqCst);
                stream.write_all(b"\r\n").await?;
            }
        }
    }
    stream.shutdown().await
}

/// A synced core whose first attachment now points at `url`: its conversation, message id and the
/// folder its bytes go to.
struct Attachment {
    conversation: ConversationRef,
    message_id: String,
    folder: PathBuf,
}

async fn attachment_at(parley: &Parley, data_dir: &Path, url: &str) -> Attachment {
    let pool = parley.store().pool();
    let (id, message_id, conversation_id): (i64, String, String) = sqlx::query_as(
        "SELECT a.id, m.provider_id, c.provider_id FROM attachments a
         JOIN messages m ON m.id = a.message_id JOIN conversations c ON c.id = m.conversation_id
         WHERE a.position = 0 ORDER BY a.id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("the sandbox seeds an attachment");
    sqlx::query("UPDATE attachments SET url = ?, file_name = ?, local_path = NULL WHERE id = ?")
        .bind(url)
        .bind("CON.pdf")
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
    let account_id: i64 = sqlx::query_scalar("SELECT id FROM accounts WHERE name = ?")
        .bind(ACCOUNT)
        .fetch_one(pool)
        .await
        .unwrap();
    Attachment {
        conversation: ConversationRef {
            account: ACCOUNT.into(),
            id: conversation_id,
        },
        message_id,
        folder: data_dir
            .join("attachments")
            .join(account_id.to_string())
            .join(id.to_string()),
    }
}

impl Attachment {
    async fn fetch(&self, parley: &Parley) -> parley_core::Result<PathBuf> {
        parley
            .fetch_attachment(&self.conversation, &self.message_id, 0)
            .await
    }

    /// Every file in the attachment's folder, hidden temp files included.
    fn files(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.folder) else {
            return Vec::new();
        };
        entries
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }
}

/// The most memory this process has held so far (Linux: `VmHWM`, in bytes).
#[cfg(target_os = "linux")]
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

#[tokio::test]
async fn an_endless_attachment_stops_at_the_cap_in_bounded_memory_and_leaves_no_file() {
    let sandbox = sandbox(5, 20).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = core_with_account(dir.path(), &sandbox).await;
    sync(&parley).await;
    let answer = Arc::new(Mutex::new(Answer::Endless));
    let attachment = attachment_at(&parley, dir.path(), &file_host(answer.clone()).await).await;

    #[cfg(target_os = "linux")]
    let before = peak_rss();
    let error = attachment.fetch(&parley).await.unwrap_err();
    assert!(
        error.to_string().contains("larger than 100 MB"),
        "a clear error: {error}"
    );
    assert_eq!(error.code(), ErrorCode::TooLarge, "{error}");
    assert!(
        !error.retryable(),
        "a file over the cap stays over it: {error}"
    );
    let sent = ENDLESS_SENT.load(Ordering::SeqCst);
    assert!(
        sent >= MAX_ATTACHMENT_BYTES,
        "stopped before the cap: {sent} bytes"
    );
    #[cfg(target_os = "linux")]
    {
        let grown = peak_rss().saturating_sub(before);
        assert!(
            grown < MAX_ATTACHMENT_BYTES / 2,
            "the download was held in memory: peak grew by {grown} bytes"
        );
    }
    assert_eq!(attachment.files(), Vec::<String>::new(), "no file left");

    // A file whose Content-Length is over the cap is refused before its body is read.
    *answer.lock().unwrap() = Answer::OverTheCap;
    let error = attachment.fetch(&parley).await.unwrap_err();
    assert!(error.to_string().contains("larger than 100 MB"), "{error}");
    assert_eq!(error.code(), ErrorCode::TooLarge, "{error}");
    assert_eq!(attachment.files(), Vec::<String>::new(), "no file left");

    // The same attachment, small, downloads under a name safe on every OS.
    *answer.lock().unwrap() = Answer::Whole(b"%PDF-1.7".to_vec());
    let whole = attachment
        .fetch(&parley)
        .await
        .expect("a small file downloads");
    assert_eq!(whole.file_name().unwrap().to_string_lossy(), "_CON.pdf");
    assert_eq!(std::fs::read(&whole).unwrap(), b"%PDF-1.7");
}

/// Waits (up to 20 s) until `condition` holds; fails the test otherwise.
async fn wait_until(mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The sizes of the attachment folder's files.
fn sizes(folder: &Path) -> Vec<u64> {
    std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().metadata().unwrap().len())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_download_cut_or_killed_halfway_leaves_no_file_that_counts_as_cached() {
    let sandbox = sandbox(5, 20).await;
    let dir = tempfile::tempdir().unwrap();
    let parley = Arc::new(core_with_account(dir.path(), &sandbox).await);
    sync(&parley).await;
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let half = body[..body.len() / 2].to_vec();
    let go_on = Arc::new(Notify::new());
    let answer = Arc::new(Mutex::new(Answer::CutHalfway(half.clone(), go_on.clone())));
    let attachment =
        Arc::new(attachment_at(&parley, dir.path(), &file_host(answer.clone()).await).await);
    let start = |parley: &Arc<Parley>, attachment: &Arc<Attachment>| {
        let (parley, attachment) = (parley.clone(), attachment.clone());
        tokio::spawn(async move { attachment.fetch(&parley).await })
    };

    // Halfway, the bytes are on disk in a hidden temp file, not under the attachment's name.
    let cut = start(&parley, &attachment);
    wait_until(|| sizes(&attachment.folder) == vec![half.len() as u64]).await;
    assert!(
        attachment
            .files()
            .iter()
            .all(|name| name.starts_with(".download-")),
        "{:?}",
        attachment.files()
    );
    go_on.notify_one();
    let error = cut.await.unwrap().unwrap_err();
    assert_eq!(error.code(), parley_core::ErrorCode::Offline, "{error}");
    assert_eq!(attachment.files(), Vec::<String>::new(), "no partial file");

    // A download stopped halfway (its task dropped, as when the app quits) leaves nothing either.
    let killed = start(&parley, &attachment);
    wait_until(|| sizes(&attachment.folder) == vec![half.len() as u64]).await;
    killed.abort();
    assert!(killed.await.unwrap_err().is_cancelled());
    assert_eq!(attachment.files(), Vec::<String>::new(), "no partial file");
    go_on.notify_one();

    // The next try downloads the whole file again instead of taking a partial one as cached.
    *answer.lock().unwrap() = Answer::Whole(body.clone());
    let path = attachment.fetch(&parley).await.expect("the whole file");
    assert_eq!(std::fs::read(&path).unwrap(), body);
    assert_eq!(attachment.files(), vec!["_CON.pdf".to_string()]);
    // Once whole it is cached: the host is not asked again.
    *answer.lock().unwrap() = Answer::CutHalfway(Vec::new(), go_on.clone());
    assert_eq!(attachment.fetch(&parley).await.expect("cached"), path);
}
