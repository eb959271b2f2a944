//! Attachments by link: p1 and p2 download `file_url` from a server on 127.0.0.1 and store the
//! real bytes, name and type; a link that fails (refused, non-2xx, too big, too slow) is a 422 in
//! the API's error shape, and nothing is stored.

use std::time::Duration;

use parley_sandbox::SandboxConfig;
use serde_json::{json, Value};

use crate::harness::{refused_url, FileServer, Harness, Served, ServedBody};

const P1_UPLOAD: &str = "companies/1/conversations/1/messages/attachments";

/// The PNG the file server serves, as a client would upload it.
fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x03\0\0\0\x02".to_vec();
    bytes.extend((0..2_000u32).map(|i| (i % 253) as u8));
    bytes
}

async fn files() -> FileServer {
    let slow = Served {
        delay: Duration::from_secs(3),
        ..Served::file(Some("text/plain"), b"late")
    };
    FileServer::start(vec![
        (
            "/media/%D1%84%D0%BE%D1%82%D0%BE%201+2.png",
            Served::file(None, &png()),
        ),
        (
            "/docs/notes",
            Served::file(Some("Text/Plain; charset=utf-8"), "заметки\n".as_bytes()),
        ),
        ("/dir/", Served::file(Some("application/pdf"), b"%PDF-1.4")),
        (
            "/missing.png",
            Served {
                status: 404,
                ..Served::file(Some("text/html"), b"<h1>Not Found</h1>")
            },
        ),
        (
            "/error.pdf",
            Served {
                status: 503,
                ..Served::file(None, b"busy")
            },
        ),
        ("/empty.txt", Served::file(Some("text/plain"), b"")),
        (
            "/huge-declared.bin",
            Served {
                body: ServedBody::Stream {
                    mebibytes: 65,
                    declared: true,
                },
                ..Served::file(None, b"")
            },
        ),
        (
            "/huge-chunked.bin",
            Served {
                body: ServedBody::Stream {
                    mebibytes: 65,
                    declared: false,
                },
                ..Served::file(None, b"")
            },
        ),
        ("/slow.txt", slow),
    ])
    .await
}

/// A sandbox whose downloads give up after half a second and whose sends deliver at once.
async fn harness() -> Harness {
    Harness::start(SandboxConfig {
        file_url_timeout: Duration::from_millis(500),
        p2_limit_scale: None,
        job_delay: Duration::ZERO,
        ..SandboxConfig::default()
    })
    .await
}

async fn p1_upload(harness: &Harness, url: &str) -> (u16, Value) {
    let response = harness
        .post(P1_UPLOAD)
        .form(&[("file_url", url)])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn p2_upload(harness: &Harness, url: &str) -> (u16, Value) {
    let response = harness
        .http
        .post(format!(
            "{}attachments/",
            harness.sandbox.pact_p2_base_url()
        ))
        .header("X-Private-Api-Token", harness.sandbox.token())
        .json(&json!({"company_id": 1, "file_url": url}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Sends the attachment in conversation 1 through p1 and answers what the sandbox stored.
async fn stored(harness: &Harness, id: i64) -> parley_sandbox::SnapshotAttachment {
    let job = harness
        .post("companies/1/conversations/1/messages")
        .form(&[("attachments_ids[]", id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(job.status(), 200);
    for _ in 0..100 {
        if let Some(attachment) = harness
            .sandbox
            .sent_messages()
            .into_iter()
            .flat_map(|m| m.attachments)
            .find(|a| a.id == id)
        {
            return attachment;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("attachment {id} was not sent");
}

async fn served_bytes(harness: &Harness, url: &str) -> (String, Vec<u8>) {
    let response = harness.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let mime = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (mime, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn p1_downloads_the_link_and_stores_its_bytes_name_and_type() {
    let harness = harness().await;
    let files = files().await;

    let (status, body) = p1_upload(
        &harness,
        &files.url("/media/%D1%84%D0%BE%D1%82%D0%BE%201+2.png?sig=a%2Fb"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = body["data"]["external_id"].as_i64().unwrap();
    let attachment = stored(&harness, id).await;
    assert_eq!(attachment.file_name, "фото 1+2.png");
    assert_eq!(attachment.mime_type, "image/png", "guessed from the name");
    assert_eq!(attachment.bytes, png());
    assert_eq!(attachment.size, png().len() as u64);

    let page = harness
        .get_json("companies/1/conversations/1/messages?sort_direction=desc&per=1")
        .await;
    let listed = &page["data"]["messages"][0]["attachments"][0];
    assert_eq!(listed["file_name"], "фото 1+2.png");
    assert_eq!(listed["size"], png().len());
    let (mime, bytes) = served_bytes(&harness, listed["attachment_url"].as_str().unwrap()).await;
    assert_eq!((mime.as_str(), bytes), ("image/png", png()));

    let (status, body) = p1_upload(&harness, &files.url("/docs/notes")).await;
    assert_eq!(status, 200, "{body}");
    let notes = stored(&harness, body["data"]["external_id"].as_i64().unwrap()).await;
    assert_eq!(notes.file_name, "notes");
    assert_eq!(notes.mime_type, "text/plain", "the answer's Content-Type");
    assert_eq!(notes.bytes, "заметки\n".as_bytes());

    let (status, body) = p1_upload(&harness, &files.url("/dir/")).await;
    assert_eq!(status, 200, "{body}");
    let unnamed = stored(&harness, body["data"]["external_id"].as_i64().unwrap()).await;
    assert_eq!(unnamed.file_name, "file");
    assert_eq!(unnamed.mime_type, "application/pdf");
}

#[tokio::test]
async fn p1_links_that_fail_are_422_and_store_nothing() {
    let harness = harness().await;
    let files = files().await;
    let refused = refused_url().await;
    let cases = [
        (refused.clone(), "connect"),
        (files.url("/missing.png"), "HTTP 404"),
        (files.url("/error.pdf"), "HTTP 503"),
        (files.url("/nowhere"), "HTTP 404"),
        (files.url("/empty.txt"), "empty"),
        (files.url("/huge-declared.bin"), "too large"),
        (files.url("/huge-chunked.bin"), "too large"),
        (files.url("/slow.txt"), "timeout"),
        ("ftp://127.0.0.1/a.png".to_owned(), "http or https"),
    ];
    let before = p1_upload(&harness, &files.url("/docs/notes")).await.1["data"]["external_id"]
        .as_i64()
        .unwrap();
    for (url, wanted) in &cases {
        let (status, body) = p1_upload(&harness, url).await;
        assert_eq!(status, 422, "{url}: {body}");
        let error = &body["errors"][0];
        assert_eq!(error["status"], 422);
        assert_eq!(error["code"], "unprocessable_entity");
        let detail = error["detail"].as_str().unwrap();
        assert!(detail.contains(wanted), "{url}: {detail}");
        assert!(
            !detail.contains("127.0.0.1"),
            "no URL in the detail: {detail}"
        );
    }
    // Nothing was stored: the next attachment takes the very next id.
    let after = p1_upload(&harness, &files.url("/docs/notes")).await.1["data"]["external_id"]
        .as_i64()
        .unwrap();
    assert_eq!(after, before + 1);
    assert!(harness.sandbox.sent_messages().is_empty());
}

#[tokio::test]
async fn p2_downloads_the_link_and_answers_the_real_attachment() {
    let harness = harness().await;
    let files = files().await;
    let (status, body) = p2_upload(
        &harness,
        &files.url("/media/%D1%84%D0%BE%D1%82%D0%BE%201+2.png"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let attachment = &body["attachment"];
    assert_eq!(attachment["file_name"], "фото 1+2.png");
    assert_eq!(attachment["mime_type"], "image/png");
    assert_eq!(attachment["size"], png().len());
    assert_eq!(attachment["data"], json!({"width": 3, "height": 2}));
    let (mime, bytes) =
        served_bytes(&harness, attachment["attachment_url"].as_str().unwrap()).await;
    assert_eq!((mime.as_str(), bytes), ("image/png", png()));
    let id = attachment["id"].as_i64().unwrap();
    let stored = stored(&harness, id).await;
    assert_eq!(stored.bytes, png());

    let refused = refused_url().await;
    for (url, wanted) in [
        (refused.as_str(), "connect"),
        (&files.url("/missing.png"), "HTTP 404"),
        (&files.url("/huge-declared.bin"), "too large"),
        (&files.url("/slow.txt"), "timeout"),
    ] {
        let (status, body) = p2_upload(&harness, url).await;
        assert_eq!(status, 422, "{url}: {body}");
        let error = &body["errors"][0];
        assert_eq!(error["code"], "unprocessable_entity");
        assert!(error["detail"].as_str().unwrap().contains(wanted), "{body}");
    }
    let (status, body) = p2_upload(&harness, &files.url("/docs/notes")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["attachment"]["id"],
        id + 1,
        "the failures stored nothing"
    );
    assert_eq!(body["attachment"]["mime_type"], "text/plain");
}
