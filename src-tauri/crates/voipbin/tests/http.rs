//! End-to-end tests against a tiny axum server on 127.0.0.1:0: credentials (access key only in the
//! query, login, renewal, re-login on 401), pagination ends, retries, error mapping and redaction.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::StreamExt;
use parley_voipbin::{unsigned_token, Credentials, Error, VoipbinClient};

const KEY: &str = "vb_ACCESS-KEY-SECRET-42";
const PASSWORD: &str = "pw-VERY-SECRET-99";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    query: String,
    authorization: Option<String>,
    body: String,
}

impl Seen {
    fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Serves every request with `respond(request, index among requests so far)`; returns the root URL.
async fn serve<F>(respond: F) -> (String, Log)
where
    F: Fn(&Seen, usize) -> Response + Send + Sync + 'static,
{
    let log: Log = Arc::default();
    let respond = Arc::new(respond);
    let handler_log = log.clone();
    let router = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = handler_log.clone();
            let respond = respond.clone();
            async move {
                let seen = Seen {
                    method,
                    path: uri.path().to_string(),
                    query: uri.query().unwrap_or_default().to_string(),
                    authorization: headers
                        .get(header::AUTHORIZATION)
                        .map(|v| v.to_str().unwrap().to_string()),
                    body: String::from_utf8_lossy(&body).into_owned(),
                };
                let index = {
                    let mut log = log.lock().unwrap();
                    log.push(seen.clone());
                    log.len() - 1
                };
                respond(&seen, index)
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{address}"), log)
}

fn json(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.into(),
    )
        .into_response()
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

fn envelope(status: &str, reason: &str, message: &str) -> String {
    serde_json::json!({"error": {"status": status, "reason": reason, "message": message, "request_id": "req_1"}})
        .to_string()
}

fn key_client(root: &str) -> VoipbinClient {
    VoipbinClient::builder(Credentials::access_key(KEY))
        .root_url(root)
        .build()
        .unwrap()
}

fn password_client(root: &str) -> VoipbinClient {
    VoipbinClient::builder(Credentials::password("agent@example.com", PASSWORD))
        .root_url(root)
        .build()
        .unwrap()
}

fn token_expiring_in(seconds: u64, label: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + seconds;
    unsigned_token(&format!(r#"{{"label":"{label}","exp":{exp}}}"#))
}

/// A list page of conversations `first..first+count`, newest first, with distinct `tm_create`s.
fn conversation_page(first: u32, count: u32) -> String {
    let items: Vec<_> = (first..first + count)
        .map(|i| {
            serde_json::json!({
                "id": format!("c{i}"),
                "type": "line",
                "tm_create": format!("2026-01-01 00:00:{:02}.000000", 59 - i),
            })
        })
        .collect();
    let token = items
        .last()
        .map(|item| item["tm_create"].clone())
        .unwrap_or_default();
    serde_json::json!({"result": items, "next_page_token": token}).to_string()
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains(KEY), "access key leaked: {text}");
    assert!(!text.contains(PASSWORD), "password leaked: {text}");
}

#[tokio::test]
async fn access_key_travels_only_in_the_query() {
    let (root, log) = serve(|_, _| json(StatusCode::OK, fixture("conversations_list.json"))).await;
    let page = key_client(&root)
        .conversations_page(10, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        page.items[0].owner(),
        Some("eb1ac5c0-ff63-47e2-bcdb-5da9c336eb4b")
    );
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(seen.path, "/v1.0/conversations");
    assert_eq!(seen.query_param("accesskey").as_deref(), Some(KEY));
    assert_eq!(seen.query_param("page_size").as_deref(), Some("10"));
    assert_eq!(seen.query_param("token"), None);
    assert_eq!(seen.authorization, None);
}

#[tokio::test]
async fn password_logs_in_once_and_sends_a_bearer_token() {
    let token = token_expiring_in(7 * 24 * 3600, "one");
    let login_token = token.clone();
    let (root, log) = serve(move |seen, _| match seen.path.as_str() {
        "/auth/login" => json(
            StatusCode::OK,
            serde_json::json!({"username": "agent@example.com", "token": login_token}).to_string(),
        ),
        _ => json(StatusCode::OK, fixture("conversation.json")),
    })
    .await;
    let client = password_client(&root);
    for _ in 0..3 {
        client
            .conversation("a7bc12b7-f95c-43e6-82a1-38f4b7ff9b3f")
            .await
            .unwrap();
    }
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 4, "one login, three calls: {log:?}");
    let login: serde_json::Value = serde_json::from_str(&log[0].body).unwrap();
    assert_eq!(log[0].method, Method::POST);
    assert_eq!(login["username"], "agent@example.com");
    assert_eq!(login["password"], PASSWORD);
    for call in &log[1..] {
        assert_eq!(
            call.authorization.as_deref(),
            Some(format!("Bearer {token}").as_str())
        );
        assert_eq!(call.query, "", "nothing secret in the query");
        assert_eq!(
            call.path,
            "/v1.0/conversations/a7bc12b7-f95c-43e6-82a1-38f4b7ff9b3f"
        );
    }
}

#[tokio::test]
async fn a_401_logs_in_again_and_retries_once() {
    let (root, log) = serve(|seen, index| match seen.path.as_str() {
        "/auth/login" => json(
            StatusCode::OK,
            serde_json::json!({"token": token_expiring_in(3600, &format!("login{index}"))})
                .to_string(),
        ),
        // The first token is "expired" server-side.
        _ if index == 1 => json(
            StatusCode::UNAUTHORIZED,
            envelope("UNAUTHENTICATED", "INVALID_CREDENTIALS", "token expired"),
        ),
        _ => json(StatusCode::OK, fixture("conversation.json")),
    })
    .await;
    let conversation = password_client(&root).conversation("c1").await.unwrap();
    assert_eq!(conversation.id(), "a7bc12b7-f95c-43e6-82a1-38f4b7ff9b3f");
    let log = log.lock().unwrap();
    let paths: Vec<_> = log.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/auth/login",
            "/v1.0/conversations/c1",
            "/auth/login",
            "/v1.0/conversations/c1"
        ]
    );
    assert_ne!(log[1].authorization, log[3].authorization);
}

#[tokio::test]
async fn a_second_401_is_returned_as_unauthorized() {
    let (root, log) = serve(|seen, _| match seen.path.as_str() {
        "/auth/login" => json(StatusCode::OK, r#"{"token":"opaque-token"}"#),
        _ => json(
            StatusCode::UNAUTHORIZED,
            envelope("UNAUTHENTICATED", "INVALID_CREDENTIALS", "no"),
        ),
    })
    .await;
    let error = password_client(&root).conversation("c1").await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized(_)), "{error:?}");
    assert_eq!(log.lock().unwrap().len(), 4, "login, call, login, call");
}

#[tokio::test]
async fn a_failed_re_login_is_not_repeated_by_the_call() {
    let (root, log) = serve(|seen, index| match (seen.path.as_str(), index) {
        ("/auth/login", 0) => json(StatusCode::OK, r#"{"token":"opaque-token"}"#),
        // The re-login after the 401 fails where the server may have acted: not sent again.
        ("/auth/login", _) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            envelope("UNAVAILABLE", "SERVICE_UNAVAILABLE", "busy"),
        ),
        _ => json(
            StatusCode::UNAUTHORIZED,
            envelope("UNAUTHENTICATED", "INVALID_CREDENTIALS", "token expired"),
        ),
    })
    .await;
    let error = password_client(&root).conversation("c1").await.unwrap_err();
    assert!(
        matches!(error, Error::Server { status: 503, .. }),
        "{error:?}"
    );
    let paths: Vec<_> = log.lock().unwrap().iter().map(|s| s.path.clone()).collect();
    assert_eq!(
        paths,
        ["/auth/login", "/v1.0/conversations/c1", "/auth/login"]
    );
}

#[tokio::test]
async fn a_token_near_expiry_is_renewed_before_use() {
    let (root, log) = serve(|seen, index| match seen.path.as_str() {
        "/auth/login" => json(
            StatusCode::OK,
            serde_json::json!({"token": token_expiring_in(3, &format!("login{index}"))})
                .to_string(),
        ),
        _ => json(StatusCode::OK, fixture("conversation.json")),
    })
    .await;
    let client = password_client(&root);
    client.conversation("c1").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    client.conversation("c1").await.unwrap();
    let logins = log
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.path == "/auth/login")
        .count();
    assert_eq!(logins, 2);
}

#[tokio::test]
async fn a_wrong_password_is_unauthorized_without_the_password() {
    let (root, log) = serve(|_, _| StatusCode::BAD_REQUEST.into_response()).await;
    let error = password_client(&root).conversation("c1").await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized(_)), "{error:?}");
    assert!(error.to_string().contains("wrong username or password"));
    assert_no_secret(&format!("{error} {error:?}"));
    assert_eq!(
        log.lock().unwrap().len(),
        1,
        "a rejected login is not retried"
    );
}

#[tokio::test]
async fn pages_end_at_a_short_page() {
    let (root, log) = serve(|_, index| match index {
        0 => json(StatusCode::OK, conversation_page(0, 2)),
        _ => json(StatusCode::OK, conversation_page(2, 1)),
    })
    .await;
    let pages: Vec<_> = key_client(&root).conversation_pages(2).collect().await;
    let ids: Vec<String> = pages
        .iter()
        .flat_map(|p| p.as_ref().unwrap().items.iter().map(|c| c.id.clone()))
        .collect();
    assert_eq!(ids, ["c0", "c1", "c2"]);
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].query_param("page_token"), None);
    assert_eq!(log[1].query_param("page_size").as_deref(), Some("2"));
    assert_eq!(
        log[1].query_param("page_token").as_deref(),
        Some("2026-01-01 00:00:58.000000"),
        "the token is the last item's tm_create"
    );
}

#[tokio::test]
async fn pages_end_at_an_empty_page_even_with_a_token() {
    let (root, log) = serve(|_, index| match index {
        0 => json(StatusCode::OK, conversation_page(0, 2)),
        _ => json(
            StatusCode::OK,
            r#"{"result":[],"next_page_token":"2026-01-01 00:00:58.000000"}"#,
        ),
    })
    .await;
    let pages: Vec<_> = key_client(&root).message_pages("c1", 2).collect().await;
    assert_eq!(pages.len(), 2);
    assert!(pages[1].as_ref().unwrap().items.is_empty());
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].path, "/v1.0/conversations/c1/messages");
}

#[tokio::test]
async fn a_repeated_page_token_stops_with_an_error() {
    let (root, log) = serve(|_, _| json(StatusCode::OK, conversation_page(0, 2))).await;
    let pages: Vec<_> = key_client(&root).conversation_pages(2).collect().await;
    assert_eq!(pages.len(), 3);
    assert!(pages[0].is_ok() && pages[1].is_ok());
    let error = pages[2].as_ref().unwrap_err();
    assert!(matches!(error, Error::InvalidResponse { .. }), "{error:?}");
    assert!(error.to_string().contains("repeated page token"));
    assert_eq!(log.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_even_for_a_send() {
    let (root, log) = serve(|_, index| match index {
        0 => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            envelope("RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED", "slow down"),
        )
            .into_response(),
        _ => json(StatusCode::OK, fixture("message_send.json")),
    })
    .await;
    let started = Instant::now();
    let message = key_client(&root).send_text("c1", "hello").await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(
        message.text(),
        "Hello, this is a test message. Thank you for your time."
    );
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 2);
    let body: serde_json::Value = serde_json::from_str(&log[1].body).unwrap();
    assert_eq!(body["text"], "hello");
    assert_eq!(log[1].method, Method::POST);
}

#[tokio::test]
async fn a_send_is_not_repeated_after_a_server_error_but_a_read_is() {
    let (root, log) = serve(|seen, index| match (seen.method.as_str(), index) {
        ("POST", _) | (_, 1) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            envelope("UNAVAILABLE", "SERVICE_UNAVAILABLE", "busy"),
        ),
        _ => json(StatusCode::OK, fixture("conversation.json")),
    })
    .await;
    let client = key_client(&root);
    let error = client.send_text("c1", "hi").await.unwrap_err();
    assert!(
        matches!(error, Error::Server { status: 503, .. }),
        "{error:?}"
    );
    assert_eq!(log.lock().unwrap().len(), 1);
    client.conversation("c1").await.unwrap();
    assert_eq!(log.lock().unwrap().len(), 3, "the read was retried once");
}

#[tokio::test]
async fn error_envelopes_become_typed_errors() {
    let (root, _) = serve(|seen, _| match (seen.method.as_str(), seen.path.as_str()) {
        ("PUT", _) => json(
            StatusCode::FORBIDDEN,
            envelope(
                "PERMISSION_DENIED",
                "PERMISSION_DENIED",
                "The authenticated user does not have permission for this resource.",
            ),
        ),
        ("GET", "/v1.0/conversations/missing") => json(
            StatusCode::NOT_FOUND,
            envelope(
                "NOT_FOUND",
                "CONVERSATION_NOT_FOUND",
                "Conversation ID does not exist",
            ),
        ),
        ("POST", _) => json(
            StatusCode::BAD_REQUEST,
            envelope(
                "INVALID_ARGUMENT",
                "INVALID_ID",
                "owner_id is not a valid UUID",
            ),
        ),
        _ => json(StatusCode::PAYMENT_REQUIRED, "{}"),
    })
    .await;
    let client = key_client(&root);

    let denied = client
        .assign_conversation("c1", "agent-1")
        .await
        .unwrap_err();
    let Error::PermissionDenied(server) = &denied else {
        panic!("{denied:?}")
    };
    assert_eq!(server.reason.as_deref(), Some("PERMISSION_DENIED"));
    assert!(denied
        .to_string()
        .contains("agents need an admin or manager role to use conversations"));

    let missing = client.conversation("missing").await.unwrap_err();
    let Error::NotFound(server) = &missing else {
        panic!("{missing:?}")
    };
    assert_eq!(server.reason.as_deref(), Some("CONVERSATION_NOT_FOUND"));
    assert_eq!(server.request_id.as_deref(), Some("req_1"));

    let invalid = client.send_text("c1", "x").await.unwrap_err();
    assert!(matches!(invalid, Error::Validation { status: 400, .. }));
    assert!(invalid.to_string().contains("owner_id is not a valid UUID"));

    let refused = client.conversation("c1").await.unwrap_err();
    assert!(matches!(refused, Error::Refused { status: 402, .. }));
}

#[tokio::test]
async fn assign_and_unassign_use_the_documented_endpoints() {
    let (root, log) = serve(|seen, _| match seen.path.as_str() {
        "/v1.0/conversations/c1/unassign" => {
            json(StatusCode::OK, fixture("conversation_unassign.json"))
        }
        _ => json(StatusCode::OK, fixture("conversation_assign.json")),
    })
    .await;
    let client = key_client(&root);
    let assigned = client
        .assign_conversation("c1", "eb1ac5c0-ff63-47e2-bcdb-5da9c336eb4b")
        .await
        .unwrap();
    assert_eq!(
        assigned.owner(),
        Some("eb1ac5c0-ff63-47e2-bcdb-5da9c336eb4b")
    );
    let unassigned = client.unassign_conversation("c1").await.unwrap();
    assert_eq!(unassigned.owner(), None);
    let log = log.lock().unwrap();
    assert_eq!(log[0].method, Method::PUT);
    assert_eq!(log[0].path, "/v1.0/conversations/c1");
    let body: serde_json::Value = serde_json::from_str(&log[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"owner_id": "eb1ac5c0-ff63-47e2-bcdb-5da9c336eb4b"})
    );
    assert_eq!(log[1].method, Method::POST);
    assert_eq!(log[1].body, "");
}

#[tokio::test]
async fn path_segments_are_encoded() {
    let (root, log) = serve(|_, _| json(StatusCode::OK, fixture("conversation.json"))).await;
    key_client(&root).conversation("../auth/x?y").await.unwrap();
    assert_eq!(
        log.lock().unwrap()[0].path,
        "/v1.0/conversations/..%2Fauth%2Fx%3Fy"
    );
}

#[tokio::test]
async fn legacy_setup_is_unsupported_where_the_server_answers_404() {
    let (root, _) = serve(|_, _| {
        json(
            StatusCode::NOT_FOUND,
            envelope("NOT_FOUND", "ROUTE_NOT_FOUND", "no route"),
        )
    })
    .await;
    let error = key_client(&root)
        .setup_conversation("line")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unsupported { .. }), "{error:?}");

    let (root, log) = serve(|_, _| StatusCode::OK.into_response()).await;
    assert_eq!(
        key_client(&root).setup_conversation("line").await.unwrap(),
        None
    );
    let log = log.lock().unwrap();
    assert_eq!(log[0].path, "/v1.0/conversations/setup");
    assert_eq!(log[0].body, r#"{"reference_type":"line"}"#);
}

#[tokio::test]
async fn a_refused_connection_is_a_network_error_not_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = VoipbinClient::builder(Credentials::access_key(KEY))
        .root_url(&root)
        .max_retries(1)
        .build()
        .unwrap();
    let error = client.send_text("c1", "hi").await.unwrap_err();
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
    assert_no_secret(&format!("{error} {error:?}"));
}

/// Collects log output so the test can check that no secret is ever logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_reach_logs_errors_or_debug() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("parley_voipbin=trace")
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // A hostile server echoes whatever secret the caller used back in its error messages.
    let (root, _) = serve(|seen, index| {
        let echo = match &seen.authorization {
            Some(bearer) => format!("{PASSWORD} {bearer}"),
            None => KEY.to_string(),
        };
        match (seen.path.as_str(), index) {
            ("/auth/login", _) => json(StatusCode::OK, r#"{"token":"jwt-token-1234"}"#),
            (_, 0) | (_, 1) => json(
                StatusCode::SERVICE_UNAVAILABLE,
                envelope(
                    "UNAVAILABLE",
                    "SERVICE_UNAVAILABLE",
                    &format!("echo {echo}"),
                ),
            ),
            _ => json(
                StatusCode::BAD_REQUEST,
                envelope(
                    "INVALID_ARGUMENT",
                    "INVALID_ARGUMENT",
                    &format!("bad {echo}"),
                ),
            ),
        }
    })
    .await;
    let key = VoipbinClient::builder(Credentials::access_key(KEY))
        .root_url(&root)
        .max_retries(1)
        .build()
        .unwrap();
    let first = key.conversation("c1").await.unwrap_err();
    let password = password_client(&root);
    let second = password.conversation("c1").await.unwrap_err();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("/v1.0/conversations/c1"),
        "paths are logged: {logs}"
    );
    for text in [
        logs.clone(),
        format!("{first} {first:?}"),
        format!("{second} {second:?}"),
        format!("{key:?} {password:?}"),
        format!("{:?}", Credentials::password("u", PASSWORD)),
    ] {
        assert_no_secret(&text);
        assert!(!text.contains("jwt-token-1234"), "JWT leaked: {text}");
    }
}

#[test]
fn bad_settings_are_rejected() {
    let build = |credentials: Credentials, root: &str| {
        VoipbinClient::builder(credentials).root_url(root).build()
    };
    assert!(matches!(
        build(Credentials::access_key(" "), "https://api.voipbin.net"),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        build(Credentials::password("", "x"), "https://api.voipbin.net"),
        Err(Error::InvalidConfig { .. })
    ));
    for root in [
        "ftp://x",
        "not a url",
        "https://h/?accesskey=1",
        "https://u:p@h/",
    ] {
        assert!(build(Credentials::access_key(KEY), root).is_err(), "{root}");
    }
    let client = build(Credentials::access_key(KEY), "https://api.voipbin.net").unwrap();
    assert_eq!(client.root_url().as_str(), "https://api.voipbin.net/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_repeat_reads_but_not_sends() {
    let (root, log) = serve(|_, _| {
        std::thread::sleep(Duration::from_millis(400));
        json(StatusCode::OK, fixture("conversation.json"))
    })
    .await;
    let client = VoipbinClient::builder(Credentials::access_key(KEY))
        .root_url(&root)
        .timeout(Duration::from_millis(150))
        .max_retries(1)
        .build()
        .unwrap();
    let send = client.send_text("c1", "hi").await.unwrap_err();
    assert!(
        matches!(send, Error::Timeout { maybe_sent: true }),
        "{send:?}"
    );
    assert_eq!(log.lock().unwrap().len(), 1);
    let read = client.conversation("c1").await.unwrap_err();
    assert!(matches!(read, Error::Timeout { .. }), "{read:?}");
    assert_eq!(log.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn unreadable_success_bodies_are_invalid_responses() {
    let (root, _) = serve(|seen, _| match seen.path.as_str() {
        "/v1.0/conversations/html" => (StatusCode::OK, "<html>hi</html>").into_response(),
        "/v1.0/conversations" => json(StatusCode::OK, r#"{"result":{"id":"x"}}"#),
        _ => json(StatusCode::OK, r#"{"name":"no id"}"#),
    })
    .await;
    let client = key_client(&root);
    for error in [
        client.conversation("html").await.unwrap_err(),
        client.conversation("noid").await.unwrap_err(),
        client.conversations_page(10, None).await.unwrap_err(),
    ] {
        assert!(matches!(error, Error::InvalidResponse { .. }), "{error:?}");
    }
}
