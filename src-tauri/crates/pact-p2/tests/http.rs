//! End-to-end tests of the client against small axum servers on 127.0.0.1:0 (and a raw TCP
//! server for connection resets): what each call sends (token header, query, JSON, multipart),
//! paging, typed errors, retries and their limits, the request budget, and that the token only
//! ever travels in its header.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Multipart, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use parley_http::{LocalBudget, RequestBudget};
use parley_pact_p2::{
    ApiToken, AttachmentSource, ConversationUpdate, Error, FirstMessage, OperationalState,
    OutgoingMessage, PactP2Client, RepliedState, MAX_MESSAGES_PER_PAGE,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "tok-VERY-SECRET-42";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

fn json_response(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.into(),
    )
        .into_response()
}

/// What the fixture server received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    raw_query: String,
    query: Vec<(String, String)>,
    token: Option<String>,
    user_agent: Option<String>,
    content_type: Option<String>,
    body: Bytes,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Starts a server that records every request and answers with `respond(request, index)`.
/// Returns the base URL without the trailing slash (the builder adds it) and the log.
async fn recording_server<F>(respond: F) -> (String, Log)
where
    F: Fn(&Seen, usize) -> Response + Send + Sync + 'static,
{
    let log: Log = Arc::default();
    let respond = Arc::new(respond);
    let router = Router::new().fallback({
        let log = log.clone();
        move |request: Request| {
            let (log, respond) = (log.clone(), respond.clone());
            async move {
                let (parts, body) = request.into_parts();
                let header = |name: &str| {
                    parts
                        .headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let raw_query = parts.uri.query().unwrap_or_default().to_string();
                let seen = Seen {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_string(),
                    query: url::form_urlencoded::parse(raw_query.as_bytes())
                        .into_owned()
                        .collect(),
                    raw_query,
                    token: header("x-private-api-token"),
                    user_agent: header("user-agent"),
                    content_type: header("content-type"),
                    body: axum::body::to_bytes(body, usize::MAX).await.unwrap(),
                };
                let index = {
                    let mut log = log.lock().unwrap();
                    log.push(seen.clone());
                    log.len() - 1
                };
                respond(&seen, index)
            }
        }
    });
    (serve(router).await, log)
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}/api/p2")
}

fn client(base_url: &str) -> PactP2Client {
    PactP2Client::builder(ApiToken::new(TOKEN))
        .base_url(base_url)
        .build()
        .unwrap()
}

fn seen(log: &Log) -> Vec<Seen> {
    log.lock().unwrap().clone()
}

fn assert_token_only_in_header(seen: &Seen) {
    assert_eq!(
        seen.token.as_deref(),
        Some(TOKEN),
        "{} {}",
        seen.method,
        seen.path
    );
    assert!(!seen.raw_query.contains(TOKEN) && !seen.path.contains(TOKEN));
    assert!(!String::from_utf8_lossy(&seen.body).contains(TOKEN));
}

fn assert_no_token(text: &str) {
    assert!(!text.contains(TOKEN), "token leaked: {text}");
}

fn conversations_body(ids: std::ops::Range<i64>, meta: Value) -> String {
    let items: Vec<Value> = ids
        .map(|id| json!({"id": id, "sender_name": format!("C{id}")}))
        .collect();
    json!({"conversations": items, "meta": meta}).to_string()
}

#[tokio::test]
async fn list_conversations_sends_the_token_header_and_query() {
    let (base, log) =
        recording_server(|_, _| json_response(StatusCode::OK, fixture("conversations_list.json")))
            .await;
    let client = client(&base);
    assert_eq!(client.base_url(), format!("{base}/"));
    let page = client
        .conversations(52204, 2, 25, Some(" +79517591813 "))
        .await
        .unwrap();
    assert_eq!(page.items[0].id, 18642847);
    assert_eq!((page.page, page.per_page, page.entries_count), (1, 25, 2));
    assert!(page.is_last, "one item on a page of 25");
    let seen = seen(&log);
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_token_only_in_header(request);
    assert_eq!(request.method, "GET");
    assert_eq!(request.path, "/api/p2/conversations");
    assert!(request
        .user_agent
        .as_deref()
        .unwrap()
        .starts_with("parley/"));
    assert_eq!(request.param("company_id"), Some("52204"));
    assert_eq!(request.param("page"), Some("2"));
    assert_eq!(request.param("per_page"), Some("25"));
    assert_eq!(request.param("search_string"), Some("+79517591813"));
    assert!(request.body.is_empty(), "a GET carries no body");

    client.conversations(1, 0, 1000, Some("  ")).await.unwrap();
    let again = &self::seen(&log)[1];
    assert_eq!(again.param("page"), Some("1"));
    assert_eq!(again.param("per_page"), Some("100"), "never more than 100");
    assert_eq!(again.param("search_string"), None);
}

#[tokio::test]
async fn every_documented_response_parses_through_the_client() {
    let (base, log) = recording_server(|seen, _| {
        let name = match (seen.method.as_str(), seen.path.as_str()) {
            ("GET", "/api/p2/conversations") => "conversations_list.json",
            ("GET", "/api/p2/conversations/18642847") => "conversation_get.json",
            ("PUT", "/api/p2/conversations/3") => "conversation_update.json",
            ("GET", "/api/p2/conversations/18642850/messages") => "messages_list.json",
            ("GET", "/api/p2/conversations/209752626/messages/1134326991") => "message_get.json",
            ("POST", "/api/p2/conversations/2073572213/messages") => "message_send.json",
            ("POST", "/api/p2/messages") => "write_first.json",
            ("POST", "/api/p2/attachments") => "attachment_upload.json",
            ("GET", "/api/p2/waba_templates") => "waba_templates_list.json",
            other => panic!("unexpected {other:?}"),
        };
        json_response(StatusCode::OK, fixture(name))
    })
    .await;
    let client = client(&base);
    let conversations = client.conversations(52204, 1, 25, None).await.unwrap();
    assert_eq!(conversations.items.len(), 1);
    let conversation = client.conversation(52204, 18642847).await.unwrap();
    assert_eq!(conversation.last_message_id, Some(14056));
    let update = ConversationUpdate {
        operational_state: Some(OperationalState::Archived),
        replied_state: Some(RepliedState::Unreplied),
        assignee_id: None,
    };
    let updated = client.update_conversation(1, 3, &update).await.unwrap();
    assert_eq!(updated.operational_state.as_deref(), Some("archived"));
    let messages = client.messages(52204, 18642850, 1, 150).await.unwrap();
    assert_eq!(messages.items[0].attachments[0].push_to_talk, Some(true));
    assert!(messages.is_last);
    let message = client.message(86605, 209752626, 1134326991).await.unwrap();
    assert!(message.income);
    let sent = client
        .send_message(
            838111,
            2073572213,
            &OutgoingMessage {
                text: Some("Hello World!".into()),
                ..OutgoingMessage::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(sent.status.as_deref(), Some("sent"));
    let first = client
        .write_first(
            52204,
            &FirstMessage {
                provider: "whatsapp".into(),
                phone: Some("79517591813".into()),
                text: Some("test".into()),
                ..FirstMessage::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.conversation_id, Some(18642824));
    let url = url::Url::parse("https://example.com/1.jpg").unwrap();
    let attachment = client
        .upload_attachment(52204, AttachmentSource::Url(url), None)
        .await
        .unwrap();
    assert_eq!(attachment.id, Some(53439177));
    let templates = client.waba_templates(&[52204], 1, 25).await.unwrap();
    assert_eq!(templates.items.len(), 2);
    assert_eq!(templates.entries_count, 2);
    let all = seen(&log);
    assert_eq!(all.len(), 9);
    all.iter().for_each(assert_token_only_in_header);
    let put = &all[2];
    assert_eq!(
        put.json(),
        json!({"company_id": 1, "operational_state": "archived", "replied_state": "unreplied"})
    );
    assert_eq!(all[1].param("company_id"), Some("52204"));
    assert_eq!(all[4].param("company_id"), Some("86605"));
}

#[tokio::test]
async fn a_clamped_full_page_is_not_the_last() {
    let (base, log) = recording_server(|seen, _| {
        // The server clamps per_page to 150 silently, as Pact does.
        let asked: usize = seen.param("per_page").unwrap().parse().unwrap();
        let per_page = asked.min(150);
        let items: Vec<Value> = (1..=per_page).map(|id| json!({"id": id})).collect();
        let body = json!({
            "messages": items,
            "meta": {"page": 1, "entries_count": per_page, "per_page": per_page}
        });
        json_response(StatusCode::OK, body.to_string())
    })
    .await;
    let client = client(&base);
    let page = client.messages(1, 2, 1, 500).await.unwrap();
    assert_eq!(page.items.len(), 150);
    assert_eq!(page.per_page, MAX_MESSAGES_PER_PAGE);
    assert!(!page.is_last, "a full page of 150 has a successor");
    assert_eq!(seen(&log)[0].param("per_page"), Some("150"));
}

#[tokio::test]
async fn paging_meta_may_be_absent_smaller_or_strings() {
    let (base, _log) = recording_server(|seen, _| {
        let body = match seen.param("page").unwrap() {
            // No meta: the requested per_page decides.
            "1" => conversations_body(0..3, Value::Null).replace(r#","meta":null"#, ""),
            // Numbers as strings, and a server page size smaller than asked.
            "2" => conversations_body(
                3..5,
                json!({"page": "2", "entries_count": "2", "per_page": "2"}),
            ),
            "3" => conversations_body(5..6, json!({"page": 3, "entries_count": 1, "per_page": 2})),
            _ => conversations_body(0..0, json!({"page": 4, "entries_count": 0, "per_page": 3})),
        };
        json_response(StatusCode::OK, body)
    })
    .await;
    let client = client(&base);
    let first = client.conversations(1, 1, 3, None).await.unwrap();
    assert_eq!((first.page, first.per_page, first.entries_count), (1, 3, 3));
    assert!(!first.is_last);
    let second = client.conversations(1, 2, 3, None).await.unwrap();
    assert_eq!(
        (second.page, second.per_page, second.entries_count),
        (2, 2, 2)
    );
    assert!(!second.is_last, "full at the server's page size");
    let third = client.conversations(1, 3, 3, None).await.unwrap();
    assert!(third.is_last);
    let empty = client.conversations(1, 4, 3, None).await.unwrap();
    assert!(empty.is_last && empty.items.is_empty());
}

#[tokio::test]
async fn update_sends_null_to_unassign_and_the_id_to_assign() {
    let (base, log) =
        recording_server(|_, _| json_response(StatusCode::OK, fixture("conversation_update.json")))
            .await;
    let client = client(&base);
    let unassign = ConversationUpdate {
        assignee_id: Some(None),
        ..ConversationUpdate::default()
    };
    client.update_conversation(7, 3, &unassign).await.unwrap();
    let assign = ConversationUpdate {
        operational_state: Some(OperationalState::Open),
        replied_state: Some(RepliedState::Replied),
        assignee_id: Some(Some(42)),
    };
    client.update_conversation(7, 3, &assign).await.unwrap();
    let seen = seen(&log);
    assert_eq!(seen[0].method, "PUT");
    assert_eq!(seen[0].path, "/api/p2/conversations/3");
    assert!(seen[0]
        .content_type
        .as_deref()
        .unwrap()
        .contains("application/json"));
    assert_eq!(
        seen[0].json(),
        json!({"company_id": 7, "assignee_id": null})
    );
    assert!(
        seen[0].raw_query.is_empty(),
        "PUT parameters travel in the body"
    );
    assert_eq!(
        seen[1].json(),
        json!({"company_id": 7, "operational_state": "open", "replied_state": "replied", "assignee_id": 42})
    );
}

#[tokio::test]
async fn send_message_sends_one_attachment_as_an_id_array() {
    let (base, log) =
        recording_server(|_, _| json_response(StatusCode::OK, fixture("message_send.json"))).await;
    let client = client(&base);
    let message = OutgoingMessage {
        text: Some("hello & bye".into()),
        attachment_id: Some(315200264),
        replied_to_id: Some("AC36714A437FAE372F0CC3CC21330F336".into()),
        send_to_crm: Some(false),
    };
    let sent = client
        .send_message(838111, 2073572213, &message)
        .await
        .unwrap();
    assert_eq!(sent.id, 123);
    let request = &seen(&log)[0];
    assert_token_only_in_header(request);
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/p2/conversations/2073572213/messages");
    assert_eq!(
        request.json(),
        json!({
            "company_id": 838111,
            "text": "hello & bye",
            "attachment_ids": [315200264],
            "replied_to_id": "AC36714A437FAE372F0CC3CC21330F336",
            "send_to_crm": false
        })
    );
}

#[tokio::test]
async fn write_first_and_delete_bodies() {
    let (base, log) = recording_server(|seen, _| match seen.method.as_str() {
        "DELETE" => json_response(StatusCode::OK, "{}"),
        _ => json_response(StatusCode::OK, fixture("write_first.json")),
    })
    .await;
    let client = client(&base);
    let first = FirstMessage {
        provider: "whatsapp_business".into(),
        phone: Some("79250000001".into()),
        attachment_id: Some(5),
        waba_id: Some("with_params".into()),
        substitutions: vec!["Ann".into(), "Tuesday".into()],
        send_to_crm: Some(true),
        ..FirstMessage::default()
    };
    client.write_first(52204, &first).await.unwrap();
    let ids: Vec<i64> = (1..=150).collect();
    client.delete_messages(52204, 9, &ids).await.unwrap();
    client.delete_messages(52204, 9, &[]).await.unwrap();
    let seen = seen(&log);
    assert_eq!(
        seen.len(),
        3,
        "150 ids in two requests, none for an empty list"
    );
    assert_eq!(seen[0].path, "/api/p2/messages");
    assert_eq!(
        seen[0].json(),
        json!({
            "company_id": 52204,
            "provider": "whatsapp_business",
            "phone": "79250000001",
            "attachment_ids": [5],
            "waba_id": "with_params",
            "substitutions": ["Ann", "Tuesday"],
            "send_to_crm": true
        })
    );
    assert_eq!(seen[1].method, "DELETE");
    assert_eq!(seen[1].path, "/api/p2/conversations/9/messages");
    assert_eq!(seen[1].json()["company_id"], 52204);
    assert_eq!(seen[1].json()["message_ids"].as_array().unwrap().len(), 100);
    assert_eq!(
        seen[2].json()["message_ids"],
        json!((101..=150).collect::<Vec<i64>>())
    );
    seen.iter().for_each(assert_token_only_in_header);
}

#[tokio::test]
async fn waba_templates_query_uses_bracketed_company_ids() {
    let (base, log) =
        recording_server(|_, _| json_response(StatusCode::OK, fixture("waba_templates_list.json")))
            .await;
    let client = client(&base);
    client.waba_templates(&[52204, 86605], 2, 50).await.unwrap();
    client.waba_templates(&[], 1, 25).await.unwrap();
    let seen = seen(&log);
    let ids: Vec<&str> = seen[0]
        .query
        .iter()
        .filter(|(k, _)| k == "company_ids[]")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(ids, ["52204", "86605"]);
    assert_eq!(seen[0].param("page"), Some("2"));
    assert_eq!(seen[0].param("per_page"), Some("50"));
    assert!(!seen[1].raw_query.contains("company_ids"));
}

#[tokio::test]
async fn error_lists_become_typed_errors_with_the_detail() {
    let (base, log) = recording_server(|seen, _| match seen.path.as_str() {
        "/api/p2/conversations/1" => json_response(StatusCode::UNAUTHORIZED, fixture("error_unauthorized.json")),
        "/api/p2/conversations/2" => json_response(
            StatusCode::NOT_FOUND,
            r#"{"errors":[{"status":404,"code":"not_found","title":"Not found","detail":"Conversation not found"}]}"#,
        ),
        "/api/p2/conversations/3/messages" => json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"errors":[{"status":422,"code":"invalid","title":"Invalid","detail":"attachment_ids must contain one id"},{"status":422,"title":"text is too long"}]}"#,
        ),
        _ => json_response(StatusCode::PAYMENT_REQUIRED, r#"{"error":"Paywall enabled"}"#),
    })
    .await;
    let client = client(&base);
    let unauthorized = client.conversation(5, 1).await.unwrap_err();
    match &unauthorized {
        Error::Unauthorized { message, errors } => {
            assert_eq!(message, "No token provided");
            assert_eq!(errors[0].code.as_deref(), Some("unauthorized"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(unauthorized.status(), Some(401));
    assert!(!unauthorized.is_retryable());
    let missing = client.conversation(5, 2).await.unwrap_err();
    assert!(
        matches!(&missing, Error::NotFound { message, .. } if message == "Conversation not found")
    );
    assert_eq!(missing.errors()[0].status, Some(404));
    let invalid = client
        .send_message(5, 3, &OutgoingMessage::default())
        .await
        .unwrap_err();
    match &invalid {
        Error::Validation {
            status,
            message,
            errors,
        } => {
            assert_eq!(*status, 422);
            assert_eq!(
                message,
                "attachment_ids must contain one id; text is too long"
            );
            assert_eq!(errors.len(), 2);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!invalid.outcome_unknown());
    let paywall = client.messages(5, 4, 1, 10).await.unwrap_err();
    assert!(
        matches!(&paywall, Error::PaymentRequired { message, .. } if message == "Paywall enabled")
    );
    assert_eq!(seen(&log).len(), 4, "4xx answers are never repeated");
}

#[tokio::test]
async fn a_429_detail_wait_is_sat_out_and_counted_even_for_a_send() {
    let (base, log) = recording_server(|_, index| {
        if index == 0 {
            json_response(
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"errors":[{"status":429,"code":"too_many_requests","title":"Too many requests error","detail":"Please wait for 2 seconds"}]}"#,
            )
        } else {
            json_response(StatusCode::OK, fixture("message_send.json"))
        }
    })
    .await;
    let client = client(&base);
    let started = Instant::now();
    let message = OutgoingMessage {
        text: Some("hi".into()),
        ..OutgoingMessage::default()
    };
    let sent = client.send_message(1, 2, &message).await.unwrap();
    assert_eq!(sent.id, 123);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(seen(&log).len(), 2);
    assert_eq!(client.budget().refusals(), 1);
}

#[tokio::test]
async fn a_429_beyond_the_patience_is_returned_with_its_wait() {
    let (base, log) = recording_server(|_, _| {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "120")],
            "slow down",
        )
            .into_response()
    })
    .await;
    let client = client(&base);
    let started = Instant::now();
    let error = client.conversations(1, 1, 10, None).await.unwrap_err();
    assert!(matches!(&error, Error::RateLimited { message, .. } if message == "slow down"));
    assert_eq!(error.retry_after(), Some(Duration::from_secs(120)));
    assert!(error.is_retryable());
    assert_eq!(seen(&log).len(), 1);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(client.budget().refusals(), 1);
}

/// A raw HTTP server: reads each request whole, resets the first `resets` connections (SO_LINGER
/// 0, so the client sees a reset after its request went out), then answers `body` with 200.
async fn resetting_server(resets: usize, body: String) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let (counter, body) = (counter.clone(), body.clone());
            tokio::spawn(async move {
                if !read_request(&mut stream).await {
                    return;
                }
                let index = counter.fetch_add(1, Ordering::SeqCst);
                if index < resets {
                    #[allow(deprecated)]
                    stream.set_linger(Some(Duration::ZERO)).unwrap();
                    drop(stream);
                } else {
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    stream.write_all(response.as_bytes()).await.unwrap();
                    stream.shutdown().await.ok();
                }
            });
        }
    });
    (format!("http://{address}/api/p2/"), requests)
}

/// Reads one request (headers and a `content-length` body); false when the peer went away.
async fn read_request(stream: &mut tokio::net::TcpStream) -> bool {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |value| value.trim().parse().unwrap());
            if buffer.len() >= end + 4 + length {
                return true;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    }
}

#[tokio::test]
async fn a_reset_send_is_not_repeated_but_a_reset_read_is() {
    let (base, requests) = resetting_server(1, fixture("message_send.json")).await;
    let client = client(&base);
    let error = client
        .send_message(
            1,
            2,
            &OutgoingMessage {
                text: Some("once".into()),
                ..OutgoingMessage::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Network {
                maybe_sent: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.outcome_unknown());
    assert_eq!(requests.load(Ordering::SeqCst), 1, "the send went out once");
    assert_no_token(&format!("{error} {error:?}"));

    let (base, requests) = resetting_server(1, fixture("message_get.json")).await;
    let message = self::client(&base).message(1, 2, 3).await.unwrap();
    assert_eq!(message.id, 1134326991);
    assert_eq!(requests.load(Ordering::SeqCst), 2, "the read was repeated");
}

#[tokio::test]
async fn connection_refused_is_safe_to_repeat_even_for_a_send() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = PactP2Client::builder(ApiToken::new(TOKEN))
        .base_url(format!("http://{address}/api/p2/"))
        .max_retries(1)
        .build()
        .unwrap();
    let error = client
        .send_message(1, 2, &OutgoingMessage::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Network {
                maybe_sent: false,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.outcome_unknown() && error.is_retryable());
    assert_no_token(&format!("{error} {error:?}"));
}

#[tokio::test]
async fn a_timed_out_send_is_not_repeated() {
    let hits = Arc::new(AtomicUsize::new(0));
    let router = Router::new().route(
        "/api/p2/conversations/2/messages",
        post({
            let hits = hits.clone();
            move || async move {
                hits.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(2)).await;
                json_response(StatusCode::OK, fixture("message_send.json"))
            }
        }),
    );
    let client = PactP2Client::builder(ApiToken::new(TOKEN))
        .base_url(serve(router).await)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = client
        .send_message(1, 2, &OutgoingMessage::default())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Timeout { maybe_sent: true }),
        "{error:?}"
    );
    assert!(error.outcome_unknown());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_5xx_html_page_is_summarised_and_a_get_retried() {
    let (base, log) = recording_server(|_, _| {
        let page = format!(
            "<html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
            "nginx ".repeat(500)
        );
        (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            page,
        )
            .into_response()
    })
    .await;
    let client = PactP2Client::builder(ApiToken::new(TOKEN))
        .base_url(&base)
        .max_retries(1)
        .build()
        .unwrap();
    let error = client.conversations(1, 1, 10, None).await.unwrap_err();
    match &error {
        Error::Server { status, message } => {
            assert_eq!(*status, 502);
            assert_eq!(message, "HTTP 502 (HTML error page)");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "server error (HTTP 502): HTTP 502 (HTML error page)"
    );
    assert_eq!(seen(&log).len(), 2, "the GET was repeated once");
    let sends = log.lock().unwrap().len();
    let error = client
        .send_message(1, 2, &OutgoingMessage::default())
        .await
        .unwrap_err();
    assert!(error.outcome_unknown());
    assert_eq!(
        seen(&log).len(),
        sends + 1,
        "a send is not repeated after a 5xx"
    );
}

#[tokio::test]
async fn the_token_never_reaches_an_error() {
    let (base, _log) = recording_server(|seen, _| match seen.path.as_str() {
        "/api/p2/conversations/1" => json_response(
            StatusCode::UNAUTHORIZED,
            format!(r#"{{"errors":[{{"status":401,"title":"Bad {TOKEN}","detail":"Token {TOKEN} is invalid"}}]}}"#),
        ),
        "/api/p2/conversations/2" => (StatusCode::INTERNAL_SERVER_ERROR, format!("crash near {TOKEN}")).into_response(),
        "/api/p2/conversations/3" => json_response(StatusCode::OK, format!("not json {TOKEN}")),
        "/api/p2/conversations/4" => json_response(
            StatusCode::OK,
            format!(r#"{{"errors":[{{"detail":"echo {TOKEN}"}}]}}"#),
        ),
        _ => json_response(StatusCode::FORBIDDEN, format!(r#"{{"message":"{TOKEN}"}}"#)),
    })
    .await;
    let client = PactP2Client::builder(ApiToken::new(TOKEN))
        .base_url(&base)
        .max_retries(0)
        .build()
        .unwrap();
    for id in 1..=5 {
        let error = client.conversation(1, id).await.unwrap_err();
        let text = format!("{error} {error:?} {:?}", error.errors());
        assert_no_token(&text);
        assert!(
            text.contains("<redacted>") || matches!(error, Error::InvalidResponse { .. }),
            "{text}"
        );
    }
    let unauthorized = client.conversation(1, 1).await.unwrap_err();
    assert_eq!(
        unauthorized.to_string(),
        "unauthorized: Token <redacted> is invalid"
    );
    assert_no_token(&format!("{client:?}"));
}

#[tokio::test]
async fn the_local_budget_spaces_list_conversations() {
    let (base, log) = recording_server(|_, _| {
        json_response(
            StatusCode::OK,
            conversations_body(1..2, json!({"per_page": 10})),
        )
    })
    .await;
    let budget: Arc<dyn RequestBudget> = Arc::new(LocalBudget::with_scale(600.0));
    let client = PactP2Client::builder(ApiToken::new(TOKEN))
        .base_url(&base)
        .budget(budget.clone())
        .build()
        .unwrap();
    assert!(Arc::ptr_eq(client.budget(), &budget));
    let started = Instant::now();
    for _ in 0..11 {
        client.conversations(1, 1, 10, None).await.unwrap();
    }
    // 10 a minute at 600× is 10 per 100 ms: the 11th waits for the first to leave the window.
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(seen(&log).len(), 11);
    assert_eq!(budget.refusals(), 0);
}

#[tokio::test]
async fn broken_bodies_are_invalid_responses_and_not_repeated() {
    let (base, log) = recording_server(|seen, _| match seen.path.as_str() {
        "/api/p2/conversations" => json_response(StatusCode::OK, r#"{"conversations":[{"id":1},"#),
        "/api/p2/conversations/1" => json_response(StatusCode::OK, r#"{"message":{"id":1}}"#),
        "/api/p2/conversations/1/messages" => json_response(
            StatusCode::OK,
            r#"{"messages":[{"id":1},{"message":"no id"}]}"#,
        ),
        _ => json_response(StatusCode::OK, ""),
    })
    .await;
    let client = client(&base);
    for error in [
        client.conversations(1, 1, 10, None).await.unwrap_err(),
        client.conversation(1, 1).await.unwrap_err(),
        client.messages(1, 1, 1, 10).await.unwrap_err(),
        client.message(1, 1, 1).await.unwrap_err(),
    ] {
        assert!(matches!(error, Error::InvalidResponse { .. }), "{error:?}");
        assert!(!error.is_retryable());
    }
    assert_eq!(seen(&log).len(), 4);
}

#[tokio::test]
async fn a_success_status_with_an_error_list_is_an_error() {
    let (base, log) = recording_server(|_, index| {
        if index == 0 {
            json_response(
                StatusCode::OK,
                r#"{"errors":[{"status":"429","detail":"Please wait for 0 seconds"}]}"#,
            )
        } else {
            json_response(
                StatusCode::OK,
                r#"{"errors":[{"detail":"company_id is invalid"}]}"#,
            )
        }
    })
    .await;
    let client = client(&base);
    let error = client.conversation(1, 2).await.unwrap_err();
    assert!(
        matches!(&error, Error::Validation { message, .. } if message == "company_id is invalid"),
        "{error:?}"
    );
    assert_eq!(seen(&log).len(), 2, "the 429 inside a 200 was waited out");
    assert_eq!(client.budget().refusals(), 1);
}

#[tokio::test]
async fn upload_by_file_is_multipart_with_the_name_and_counted() {
    const SIZE: usize = 300 * 1024;
    let content: Bytes = (0..SIZE)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    let received = Arc::new(Mutex::new(Vec::new()));
    let router = Router::new()
        .route(
            "/api/p2/attachments",
            post({
                let received = received.clone();
                move |headers: axum::http::HeaderMap, mut multipart: Multipart| async move {
                    assert_eq!(headers["x-private-api-token"], TOKEN);
                    let mut fields = Vec::new();
                    while let Some(field) = multipart.next_field().await.unwrap() {
                        let name = field.name().map(str::to_string);
                        let file_name = field.file_name().map(str::to_string);
                        let content_type = field.content_type().map(str::to_string);
                        let bytes = field.bytes().await.unwrap();
                        fields.push((name, file_name, content_type, bytes));
                    }
                    received.lock().unwrap().push(fields);
                    json_response(StatusCode::OK, fixture("attachment_upload.json"))
                }
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::disable());
    let client = client(&serve(router).await);
    let sent = Arc::new(AtomicU64::new(0));
    let source = AttachmentSource::File {
        file_name: "photo 1.png".into(),
        mime_type: None,
        bytes: content.clone(),
    };
    let attachment = client
        .upload_attachment(52204, source, Some(sent.clone()))
        .await
        .unwrap();
    assert_eq!(attachment.id, Some(53439177));
    assert_eq!(sent.load(Ordering::SeqCst), SIZE as u64);
    let typed = AttachmentSource::File {
        file_name: "notes".into(),
        mime_type: Some("text/plain".into()),
        bytes: Bytes::from_static(b"hello"),
    };
    client.upload_attachment(52204, typed, None).await.unwrap();
    let received = received.lock().unwrap().clone();
    let fields = &received[0];
    let company = fields
        .iter()
        .find(|f| f.0.as_deref() == Some("company_id"))
        .unwrap();
    assert_eq!(company.3, Bytes::from_static(b"52204"));
    let file = fields
        .iter()
        .find(|f| f.0.as_deref() == Some("file"))
        .unwrap();
    assert_eq!(file.1.as_deref(), Some("photo 1.png"));
    assert_eq!(file.2.as_deref(), Some("image/png"));
    assert!(file.3 == content, "the uploaded bytes differ");
    let small = received[1]
        .iter()
        .find(|f| f.0.as_deref() == Some("file"))
        .unwrap();
    assert_eq!(small.2.as_deref(), Some("text/plain"));
    assert_eq!(small.3, Bytes::from_static(b"hello"));
}

#[tokio::test]
async fn upload_by_url_is_json_and_only_for_http_urls() {
    let (base, log) =
        recording_server(|_, _| json_response(StatusCode::OK, fixture("attachment_object.json")))
            .await;
    let client = client(&base);
    let url = url::Url::parse("https://example.com/files/1.jpg?sig=abc").unwrap();
    let attachment = client
        .upload_attachment(52204, AttachmentSource::Url(url), None)
        .await
        .unwrap();
    assert_eq!(attachment.file_name.as_deref(), Some("1.jpg"));
    let ftp = url::Url::parse("ftp://example.com/SECRET.jpg").unwrap();
    let error = client
        .upload_attachment(52204, AttachmentSource::Url(ftp), None)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidConfig { .. }));
    assert!(!error.to_string().contains("SECRET"));
    let seen = seen(&log);
    assert_eq!(seen.len(), 1, "the ftp URL was refused before sending");
    assert_eq!(seen[0].path, "/api/p2/attachments");
    assert!(seen[0]
        .content_type
        .as_deref()
        .unwrap()
        .contains("application/json"));
    assert_eq!(
        seen[0].json(),
        json!({"company_id": 52204, "file_url": "https://example.com/files/1.jpg?sig=abc"})
    );
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn the_client_and_its_futures_can_be_spawned() {
    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
    assert_send_sync_clone::<PactP2Client>();
    let client = client("http://127.0.0.1:9/api/p2/");
    let update = ConversationUpdate::default();
    let message = OutgoingMessage::default();
    let first = FirstMessage::default();
    assert_send(&client.conversations(1, 1, 10, None));
    assert_send(&client.conversation(1, 2));
    assert_send(&client.update_conversation(1, 2, &update));
    assert_send(&client.messages(1, 2, 1, 10));
    assert_send(&client.message(1, 2, 3));
    assert_send(&client.send_message(1, 2, &message));
    assert_send(&client.delete_messages(1, 2, &[3]));
    assert_send(&client.write_first(1, &first));
    let url = url::Url::parse("https://example.com/a.jpg").unwrap();
    assert_send(&client.upload_attachment(1, AttachmentSource::Url(url), None));
    assert_send(&client.waba_templates(&[1], 1, 10));
}
