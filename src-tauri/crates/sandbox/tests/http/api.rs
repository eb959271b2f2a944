//! p1 endpoints: token check, errors, sending with delivery jobs, uploads, conversation changes.

use std::time::{Duration, Instant};

use parley_sandbox::SandboxConfig;
use serde_json::{json, Value};

use crate::harness::{FileServer, Harness, Served};

const UNAUTHORIZED: &str = r#"{"errors":[{"status":401,"code":"unauthorized","title":"Unauthorized","detail":"Invalid API token"}]}"#;

#[tokio::test]
async fn missing_or_wrong_token_is_401_and_query_token_works() {
    let harness = Harness::default().await;
    let url = harness.url("companies");
    let missing = harness.http.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body, serde_json::from_str::<Value>(UNAUTHORIZED).unwrap());
    let wrong = harness
        .http
        .get(&url)
        .header("X-Private-Api-Token", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let by_query = harness
        .http
        .get(format!(
            "{url}?private_api_token={}",
            harness.sandbox.token()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), 200);
    assert_eq!(harness.sandbox.stats().unauthorized, 2);
}

#[tokio::test]
async fn unknown_company_or_conversation_is_404() {
    let harness = Harness::default().await;
    for path in [
        "companies/999/conversations",
        "companies/abc/conversations",
        "companies/1/conversations/999999",
        "companies/1/conversations/2", // conversation 2 belongs to company 2
        "companies/1/conversations/999999/messages",
        "companies/1/channels/400/jobs/1",
    ] {
        let response = harness.get(path).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["status"], 404);
    }
}

async fn wait_for_job(harness: &Harness, job: &Value) -> Value {
    let path = format!(
        "companies/{}/channels/{}/jobs/{}",
        job["company_id"], job["channel"]["id"], job["id"]
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let current = harness.get_json(&path).await["data"].clone();
        if current["state"] == "delivered" {
            return current;
        }
        assert!(Instant::now() < deadline, "job never delivered: {current}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn message_ids(harness: &Harness, path: &str) -> Vec<i64> {
    let body = harness.get_json(&format!("{path}?per=100")).await;
    body["data"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["external_id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_send_is_a_job_and_the_message_appears_only_once_delivered() {
    let harness = Harness::start(SandboxConfig {
        job_delay: Duration::from_millis(300),
        ..SandboxConfig::default()
    })
    .await;
    let path = "companies/1/conversations/1/messages";
    let before = message_ids(&harness, path).await;
    let last_before = harness.sandbox.conversations()[0].last_message_at;
    let response = harness
        .post(path)
        .form(&[("message", "Привет <b>там</b> & 👋")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let job = response.json::<Value>().await.unwrap()["data"].clone();
    assert_eq!(job["state"], "trying_deliver");
    assert!(job["message_id"].is_null());
    assert_eq!(job["conversation_id"], 1);
    assert_eq!(message_ids(&harness, path).await, before, "not visible yet");
    assert_eq!(
        harness.sandbox.sent_messages().len(),
        1,
        "counted when accepted"
    );

    let delivered = wait_for_job(&harness, &job).await;
    let message_id = delivered["message_id"].as_i64().unwrap();
    assert_eq!(delivered["details"]["result"], "DELIVERED");
    let after = message_ids(&harness, path).await;
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after.last(), Some(&message_id));
    let stored = harness.sandbox.messages(1).pop().unwrap();
    assert_eq!(stored.text.as_deref(), Some("Привет <b>там</b> & 👋"));
    assert!(!stored.income);
    assert!(harness.sandbox.conversations()[0].last_message_at > last_before);
    let sent = harness.sandbox.sent_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].id, message_id);
}

#[tokio::test]
async fn zero_job_delay_delivers_synchronously() {
    let harness = Harness::start(SandboxConfig {
        job_delay: Duration::ZERO,
        ..SandboxConfig::default()
    })
    .await;
    let response = harness
        .post("companies/2/conversations/2/messages")
        .form(&[("message", "sync")])
        .send()
        .await
        .unwrap();
    let job = response.json::<Value>().await.unwrap()["data"].clone();
    assert_eq!(job["state"], "delivered");
    assert!(job["message_id"].is_i64());
}

async fn upload_bytes(
    harness: &Harness,
    conversation: &str,
    name: &str,
    bytes: Vec<u8>,
    mime: &str,
) -> i64 {
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(name.to_owned())
        .mime_str(mime)
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    let response = harness
        .post(&format!("{conversation}/messages/attachments"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["data"]["external_id"].as_i64().unwrap()
}

#[tokio::test]
async fn uploads_are_served_back_byte_identical_and_several_can_be_sent() {
    let harness = Harness::default().await;
    let conversation = "companies/1/conversations/3";
    let photo: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let photo_id = upload_bytes(
        &harness,
        conversation,
        "фото 1.jpg",
        photo.clone(),
        "image/jpeg",
    )
    .await;
    let doc_id = upload_bytes(
        &harness,
        conversation,
        "../a&b <c>%2F.pdf",
        b"%PDF-1.4 tiny".to_vec(),
        "application/pdf",
    )
    .await;
    let jpeg: Vec<u8> = (0..5_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let files = FileServer::start(vec![(
        "/media/Katun.jpg",
        Served::file(Some("image/jpeg"), &jpeg),
    )])
    .await;
    let url_response = harness
        .post(&format!("{conversation}/messages/attachments"))
        .form(&[("file_url", files.url("/media/Katun.jpg?sig=abc"))])
        .send()
        .await
        .unwrap();
    assert_eq!(url_response.status(), 200);
    let url_id = url_response.json::<Value>().await.unwrap()["data"]["external_id"]
        .as_i64()
        .unwrap();

    let body =
        format!("attachment_ids[]={photo_id}&attachment_ids[]={doc_id}&attachments_ids[]={url_id}");
    let job = harness
        .post(&format!("{conversation}/messages"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["data"]
        .clone();
    wait_for_job(&harness, &job).await;

    let page = harness
        .get_json(&format!(
            "{conversation}/messages?sort_direction=desc&per=1"
        ))
        .await;
    let message = &page["data"]["messages"][0];
    assert!(message["message"].is_null(), "attachment-only: {message}");
    let attachments = message["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 3);
    assert_eq!(attachments[0]["file_name"], "фото 1.jpg");
    assert_eq!(attachments[0]["mime_type"], "image/jpeg");
    assert_eq!(attachments[0]["size"], 70_000);
    assert_eq!(attachments[2]["file_name"], "Katun.jpg");
    assert_eq!(attachments[2]["mime_type"], "image/jpeg");
    assert_eq!(attachments[2]["size"], jpeg.len());
    let url = attachments[0]["attachment_url"].as_str().unwrap();
    let served = harness.http.get(url).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    assert_eq!(served.bytes().await.unwrap().to_vec(), photo);
    let served_doc = harness
        .http
        .get(attachments[1]["attachment_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(served_doc.bytes().await.unwrap().as_ref(), b"%PDF-1.4 tiny");
    let sent = harness.sandbox.sent_messages();
    assert_eq!(sent[0].attachments.len(), 3);
    assert_eq!(sent[0].attachments[0].bytes, photo);
    assert_eq!(sent[0].attachments[2].bytes, jpeg);
}

#[tokio::test]
async fn bad_sends_and_uploads_are_rejected_with_a_clear_detail() {
    let harness = Harness::default().await;
    let messages = "companies/1/conversations/1/messages";
    let cases: Vec<(Vec<(&str, &str)>, u16)> = vec![
        (vec![], 422),
        (vec![("message", "   ")], 422),
        (
            vec![("message", "hi"), ("attachments_ids[]", "987654")],
            422,
        ),
        (vec![("attachments_ids[]", "x")], 400),
        (vec![("message", "hi"), ("send_to_crm", "maybe")], 400),
    ];
    for (form, status) in cases {
        let response = harness.post(messages).form(&form).send().await.unwrap();
        assert_eq!(response.status(), status, "{form:?}");
        let body: Value = response.json().await.unwrap();
        assert!(!body["errors"][0]["detail"].as_str().unwrap().is_empty());
    }
    assert!(harness.sandbox.sent_messages().is_empty());

    let uploads = "companies/1/conversations/1/messages/attachments";
    let none = harness
        .post(uploads)
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 422);
    let bad_url = harness
        .post(uploads)
        .form(&[("file_url", "ftp://x/y")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_url.status(), 422);
}

#[tokio::test]
async fn assign_note_and_toggle_change_state_that_reads_back() {
    let harness = Harness::default().await;
    let conversation = "companies/1/conversations/5";
    let assign = harness
        .put(&format!("{conversation}/assign"))
        .form(&[("assignee_id", "42")])
        .send()
        .await
        .unwrap();
    assert_eq!(assign.status(), 200);
    assert_eq!(
        assign.json::<Value>().await.unwrap()["data"]["conversation"]["external_id"],
        5
    );
    let note = harness
        .put(&format!("{conversation}/note"))
        .form(&[("note", "перезвонить <script>")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        note.json::<Value>().await.unwrap(),
        json!({"status": "updated"})
    );
    let toggle = harness
        .put(&format!("{conversation}/toggle_bitrix_block_openlines"))
        .form(&[("enabled", "true")])
        .send()
        .await
        .unwrap();
    let toggled = toggle.json::<Value>().await.unwrap();
    assert_eq!(
        toggled["data"]["conversation"]["bitrix_block_openlines"],
        true
    );

    let snapshot = harness
        .sandbox
        .conversations()
        .into_iter()
        .find(|c| c.id == 5)
        .unwrap();
    assert_eq!(snapshot.assignee_id, Some(42));
    assert_eq!(snapshot.note.as_deref(), Some("перезвонить <script>"));
    assert!(snapshot.bitrix_block_openlines);
    let details = harness.get_json(conversation).await;
    assert_eq!(details["data"]["conversation"]["assignee_id"], 42);

    let bad = harness
        .put(&format!("{conversation}/assign"))
        .form(&[("assignee_id", "forty")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn conversations_can_be_created_for_whatsapp_and_telegram_personal() {
    let harness = Harness::default().await;
    let path = "companies/1/conversations";
    let created = harness
        .post(path)
        .form(&[("provider", "whatsapp"), ("phone", "79250000001")])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let conversation = created.json::<Value>().await.unwrap()["data"]["conversation"].clone();
    assert_eq!(conversation["channel_type"], "whatsapp");
    assert_eq!(conversation["name"], "79250000001");
    let again = harness
        .post(path)
        .form(&[("provider", "whatsapp"), ("phone", "79250000001")])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        again["data"]["conversation"]["external_id"],
        conversation["external_id"]
    );

    let telegram = harness
        .post(path)
        .form(&[
            ("provider", "telegram_personal"),
            ("username", "@test_user"),
            ("text", "Hello"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(telegram.status(), 200);
    let id = telegram.json::<Value>().await.unwrap()["data"]["conversation"]["external_id"]
        .as_i64()
        .unwrap();
    assert_eq!(harness.sandbox.messages(id).len(), 1);
    assert_eq!(harness.sandbox.sent_messages().len(), 1);

    for form in [
        vec![("provider", "whatsapp"), ("phone", "12ab")],
        vec![("provider", "viber"), ("phone", "79250000001")],
        vec![("provider", "telegram_personal"), ("username", "someone")],
        vec![
            ("provider", "telegram_personal"),
            ("phone", "79250000001"),
            ("username", "someone"),
            ("text", "x"),
        ],
        vec![("phone", "79250000001")],
    ] {
        let response = harness.post(path).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 422, "{form:?}");
    }
}

#[tokio::test]
async fn pushed_incoming_messages_move_both_last_message_times() {
    let harness = Harness::default().await;
    let id = harness.sandbox.push_incoming_message(4, "новое сообщение");
    assert!(id > 0);
    let newest = harness.sandbox.messages(4).pop().unwrap();
    assert_eq!((newest.id, newest.income), (id, true));
    let details = harness.get_json("companies/2/conversations/4").await;
    let conversation = &details["data"]["conversation"];
    assert_eq!(
        conversation["last_message_at"],
        newest.created_at.timestamp()
    );
    assert_eq!(
        conversation["last_income_message_at"],
        newest.created_at.timestamp()
    );
    assert_eq!(harness.sandbox.push_incoming_message(999_999, "x"), 0);
}
