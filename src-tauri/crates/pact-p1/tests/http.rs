//! End-to-end tests of the client against a tiny axum server on 127.0.0.1:0: paging, errors,
//! retries, form and multipart encoding, timeouts, and that the token only ever travels in its header.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Multipart, Query};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use bytes::Bytes;
use futures::StreamExt;
use parley_pact_p1::{
    ApiToken, AttachmentSource, Error, JobOutcome, NewConversation, OutgoingMessage, PactClient,
    PageRequest, SortDirection, UploadCounter,
};

const TOKEN: &str = "tok-VERY-SECRET-42";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

fn json(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.into(),
    )
        .into_response()
}

/// Starts the router and returns a base URL without the trailing slash (the builder adds it).
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}/p1")
}

fn client(base_url: &str) -> PactClient {
    PactClient::builder(ApiToken::new(TOKEN))
        .base_url(base_url)
        .build()
        .unwrap()
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

fn assert_token_only_in_header(headers: &HeaderMap, uri: &Uri) {
    assert_eq!(headers.get("x-private-api-token").unwrap(), TOKEN);
    assert!(!uri.to_string().contains(TOKEN));
}

fn assert_no_token(text: &str) {
    assert!(!text.contains(TOKEN), "token leaked: {text}");
}

fn company_page(ids: &[i64], next: &str) -> String {
    let companies: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"external_id":{id},"name":"C{id}"}}"#))
        .collect();
    format!(
        r#"{{"status":"ok","data":{{"companies":[{}],"next_page":{next}}}}}"#,
        companies.join(",")
    )
}

#[tokio::test]
async fn company_pages_follow_next_page_to_the_end() {
    let router = Router::new().route(
        "/p1/companies",
        get(|headers: HeaderMap, uri: Uri, Query(query): Query<HashMap<String, String>>| async move {
            assert_token_only_in_header(&headers, &uri);
            assert!(headers[header::USER_AGENT].to_str().unwrap().starts_with("parley/"));
            assert_eq!(query.get("per").map(String::as_str), Some("2"));
            assert_eq!(query.get("sort_direction").map(String::as_str), Some("desc"));
            let body = match query.get("from").map(String::as_str) {
                None => company_page(&[1, 2], r#""page-2""#),
                Some("page-2") => company_page(&[3, 4], r#""page-3""#),
                Some("page-3") => company_page(&[5], "null"),
                Some(other) => panic!("unexpected token {other}"),
            };
            json(StatusCode::OK, body)
        }),
    );
    let client = client(&serve(router).await);
    let pages: Vec<_> = client
        .companies_pages(2, SortDirection::Desc, None)
        .collect()
        .await;
    let pages: Vec<_> = pages.into_iter().map(Result::unwrap).collect();
    let ids: Vec<i64> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|c| c.external_id))
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    let tokens: Vec<_> = pages.iter().map(|p| p.next_page.clone()).collect();
    assert_eq!(
        tokens,
        vec![Some("page-2".into()), Some("page-3".into()), None]
    );

    let resumed: Vec<_> = client
        .companies_pages(2, SortDirection::Desc, Some("page-3".into()))
        .collect()
        .await;
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].as_ref().unwrap().items[0].external_id, 5);
}

#[tokio::test]
async fn message_pages_end_on_an_empty_token() {
    let router = Router::new().route(
        "/p1/companies/7/conversations/9/messages",
        get(|Query(query): Query<HashMap<String, String>>| async move {
            let body = match query.get("from") {
                None => r#"{"status":"ok","data":{"messages":[{"external_id":1,"message":"hi","attachments":null}],"next_page":"m2"}}"#,
                Some(_) => r#"{"status":"ok","data":{"messages":[{"external_id":2,"created_at":1603119600}],"next_page":""}}"#,
            };
            json(StatusCode::OK, body)
        }),
    );
    let client = client(&serve(router).await);
    let pages: Vec<_> = client
        .messages_pages(7, 9, 50, SortDirection::Asc, None)
        .collect()
        .await;
    assert_eq!(pages.len(), 2);
    let last = pages[1].as_ref().unwrap();
    assert_eq!(last.next_page, None);
    assert!(last.items[0].created_at().is_some());
}

#[tokio::test]
async fn a_repeated_page_token_stops_the_stream() {
    let router = Router::new().route(
        "/p1/companies/1/conversations",
        get(|| async {
            // A server that ignores `from` and always answers with the first page.
            json(
                StatusCode::OK,
                r#"{"status":"ok","data":{"conversations":[{"external_id":1}],"next_page":"same"}}"#,
            )
        }),
    );
    let client = client(&serve(router).await);
    let items: Vec<_> = client
        .conversations_pages(1, 50, SortDirection::Asc, None)
        .collect()
        .await;
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    assert!(matches!(items[1], Err(Error::RepeatedPageToken)));

    let resumed: Vec<_> = client
        .conversations_pages(1, 50, SortDirection::Asc, Some("same".into()))
        .collect()
        .await;
    assert_eq!(resumed.len(), 1);
    assert!(matches!(resumed[0], Err(Error::RepeatedPageToken)));
}

#[tokio::test]
async fn unauthorized_is_typed_not_retried_and_redacted() {
    let hits = counter();
    let seen = hits.clone();
    let router = Router::new().route(
        "/p1/companies",
        get(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async move {
                let body = format!(r#"{{"status":"error","message":"Token {TOKEN} is invalid"}}"#);
                json(StatusCode::UNAUTHORIZED, body)
            }
        }),
    );
    let client = client(&serve(router).await);
    let error = client.companies(&PageRequest::default()).await.unwrap_err();
    match &error {
        Error::Unauthorized { message } => assert_eq!(message, "Token <redacted> is invalid"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(error.status(), Some(401));
    assert!(!error.is_retryable());
    assert_no_token(&format!("{error:?} {error} {client:?}"));
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_waited_out() {
    let hits = counter();
    let seen = hits.clone();
    let router = Router::new().route(
        "/p1/companies/1/conversations/5",
        get(move || {
            let attempt = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                if attempt == 0 {
                    let body = r#"{"errors":[{"status":429,"code":"too_many_requests","title":"Too many requests error","detail":"Please wait for 50 seconds"}]}"#;
                    (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")], body).into_response()
                } else {
                    json(StatusCode::OK, fixture("conversation.json"))
                }
            }
        }),
    );
    let client = client(&serve(router).await);
    let started = Instant::now();
    let conversation = client.conversation(1, 5).await.unwrap();
    assert_eq!(conversation.external_id, 1);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 honoured"
    );
}

#[tokio::test]
async fn rate_limit_body_wait_is_honoured_even_for_posts() {
    let hits = counter();
    let seen = hits.clone();
    let router = Router::new().route(
        "/p1/companies/1/conversations/5/messages",
        post(move || {
            let attempt = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                if attempt == 0 {
                    json(
                        StatusCode::TOO_MANY_REQUESTS,
                        r#"{"errors":[{"detail":"Please wait for 1 seconds"}]}"#,
                    )
                } else {
                    json(StatusCode::OK, fixture("message_send.json"))
                }
            }
        }),
    );
    let client = client(&serve(router).await);
    let started = Instant::now();
    let message = OutgoingMessage {
        text: Some("hello".into()),
        ..OutgoingMessage::default()
    };
    let job = client.send_message(1, 5, &message).await.unwrap();
    assert_eq!(job.id, 18);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(started.elapsed() >= Duration::from_millis(950));
}

#[tokio::test]
async fn rate_limit_longer_than_a_minute_is_returned_at_once() {
    let hits = counter();
    let seen = hits.clone();
    let router = Router::new().route(
        "/p1/companies",
        get(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "120")],
                    "slow down",
                )
                    .into_response()
            }
        }),
    );
    let client = client(&serve(router).await);
    let started = Instant::now();
    let error = client.companies(&PageRequest::default()).await.unwrap_err();
    assert!(matches!(error, Error::RateLimited { .. }));
    assert_eq!(error.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn html_bad_gateway_becomes_a_short_server_error_after_retries() {
    let hits = counter();
    let seen = hits.clone();
    let router = Router::new().route(
        "/p1/companies",
        get(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async {
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
            }
        }),
    );
    let client = PactClient::builder(ApiToken::new(TOKEN))
        .base_url(&serve(router).await)
        .max_retries(1)
        .build()
        .unwrap();
    let error = client.companies(&PageRequest::default()).await.unwrap_err();
    match &error {
        Error::Server { status, message } => {
            assert_eq!(*status, 502);
            assert_eq!(message, "HTTP 502 (HTML error page)");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2, "GET retried once");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn invalid_json_or_missing_data_is_an_invalid_response() {
    let hits = counter();
    let seen = hits.clone();
    let router = Router::new()
        .route(
            "/p1/companies",
            get(move || {
                seen.fetch_add(1, Ordering::SeqCst);
                async { json(StatusCode::OK, "this is not json") }
            }),
        )
        .route(
            "/p1/companies/1/conversations/2",
            get(|| async { json(StatusCode::OK, r#"{"status":"ok"}"#) }),
        );
    let client = client(&serve(router).await);
    let error = client.companies(&PageRequest::default()).await.unwrap_err();
    assert!(matches!(error, Error::InvalidResponse { .. }), "{error:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "not retried");
    let error = client.conversation(1, 2).await.unwrap_err();
    assert!(matches!(error, Error::InvalidResponse { .. }), "{error:?}");
}

#[tokio::test]
async fn posts_are_not_retried_on_server_errors() {
    let hits = counter();
    let seen = hits.clone();
    let router = Router::new().route(
        "/p1/companies/1/conversations",
        post(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async { json(StatusCode::INTERNAL_SERVER_ERROR, r#"{"error":"boom"}"#) }
        }),
    );
    let client = client(&serve(router).await);
    let new = NewConversation::Whatsapp {
        phone: "79250000001".into(),
    };
    let error = client.create_conversation(1, &new).await.unwrap_err();
    assert!(matches!(&error, Error::Server { status: 500, message } if message == "boom"));
    assert!(error.outcome_unknown());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn send_message_posts_the_attachment_id_array() {
    let router = Router::new().route(
        "/p1/companies/3/conversations/4/messages",
        post(|headers: HeaderMap, uri: Uri, body: String| async move {
            assert_token_only_in_header(&headers, &uri);
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            let expected = [
                ("message", "hello & bye"),
                ("attachments_ids[]", "11"),
                ("attachments_ids[]", "12"),
                ("send_to_crm", "false"),
            ];
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(pairs, expected);
            json(StatusCode::OK, fixture("message_send.json"))
        }),
    );
    let client = client(&serve(router).await);
    let message = OutgoingMessage {
        text: Some("hello & bye".into()),
        attachment_ids: vec![11, 12],
        send_to_crm: Some(false),
    };
    let job = client.send_message(3, 4, &message).await.unwrap();
    assert_eq!(job.outcome(), JobOutcome::Pending);
    assert_eq!(job.channel.map(|c| c.id), Some(399));
}

#[tokio::test]
async fn upload_sends_a_multipart_file_part() {
    let router = Router::new().route(
        "/p1/companies/3/conversations/4/messages/attachments",
        post(|mut multipart: Multipart| async move {
            let field = multipart.next_field().await.unwrap().unwrap();
            assert_eq!(field.name(), Some("file"));
            assert_eq!(field.file_name(), Some("photo.png"));
            assert_eq!(field.content_type(), Some("image/png"));
            assert_eq!(
                field.bytes().await.unwrap(),
                Bytes::from_static(b"\x89PNG fake")
            );
            assert!(multipart.next_field().await.unwrap().is_none());
            json(StatusCode::OK, fixture("attachment_upload.json"))
        }),
    );
    let client = client(&serve(router).await);
    let source = AttachmentSource::File {
        file_name: "photo.png".into(),
        mime_type: None,
        bytes: Bytes::from_static(b"\x89PNG fake"),
    };
    let uploaded = client.upload_attachment(3, 4, source).await.unwrap();
    assert_eq!(uploaded.external_id, 1);
}

/// A counted upload reaches the server byte for byte, its counter moves while the server is still
/// reading (so a progress bar has something to show between 0 and 100 %), ends at the file's size,
/// and starts again from zero on the next upload.
#[tokio::test]
async fn counted_upload_reports_bytes_while_the_server_reads() {
    const SIZE: usize = 48 * 1024 * 1024;
    let content: Bytes = (0..SIZE)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    let counter = UploadCounter::new();
    let seen_mid_upload = Arc::new(Mutex::new(Vec::new()));
    let router = Router::new()
        .route(
            "/p1/companies/3/conversations/4/messages/attachments",
            post({
                let (counter, seen, expected) =
                    (counter.clone(), seen_mid_upload.clone(), content.clone());
                move |mut multipart: Multipart| async move {
                    let mut field = multipart.next_field().await.unwrap().unwrap();
                    let mut received = Vec::with_capacity(SIZE);
                    while let Some(chunk) = field.chunk().await.unwrap() {
                        received.extend_from_slice(&chunk);
                        seen.lock().unwrap().push(counter.bytes_sent());
                        // A slow reader, as a real uplink is.
                        tokio::time::sleep(Duration::from_micros(200)).await;
                    }
                    assert!(received == expected, "the uploaded bytes differ");
                    json(StatusCode::OK, fixture("attachment_upload.json"))
                }
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::disable());
    let client = client(&serve(router).await);
    let source = AttachmentSource::File {
        file_name: "video.mp4".into(),
        mime_type: None,
        bytes: content.clone(),
    };
    client
        .upload_attachment_counted(3, 4, source.clone(), &counter)
        .await
        .unwrap();
    assert_eq!(counter.bytes_sent(), SIZE as u64, "the count at the end");
    let seen = seen_mid_upload.lock().unwrap().clone();
    assert!(
        seen.iter().any(|&sent| sent > 0 && sent < SIZE as u64),
        "no count between 0 and {SIZE} while the server read: {:?}",
        &seen[..seen.len().min(20)]
    );
    client
        .upload_attachment_counted(3, 4, source, &counter)
        .await
        .unwrap();
    assert_eq!(
        counter.bytes_sent(),
        SIZE as u64,
        "a second upload counts from zero"
    );
}

/// The whole-request timeout is for API calls: an upload gets extra time for its size, so a large file
/// on a slow uplink is not cut off (here 3 s of reading under a 1 s timeout).
#[tokio::test]
async fn a_slow_upload_outlasts_the_request_timeout() {
    const SIZE: usize = 384 * 1024;
    const READ_BYTES_PER_SECOND: f64 = 128.0 * 1024.0;
    let router = Router::new().route(
        "/p1/companies/3/conversations/4/messages/attachments",
        post(|mut multipart: Multipart| async move {
            let mut field = multipart.next_field().await.unwrap().unwrap();
            let mut received = 0;
            while let Some(chunk) = field.chunk().await.unwrap() {
                received += chunk.len();
                let seconds = chunk.len() as f64 / READ_BYTES_PER_SECOND;
                tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
            }
            assert_eq!(received, SIZE);
            json(StatusCode::OK, fixture("attachment_upload.json"))
        }),
    );
    let base = serve(router).await;
    let client = PactClient::builder(ApiToken::new(TOKEN))
        .base_url(&base)
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let source = AttachmentSource::File {
        file_name: "scan.pdf".into(),
        mime_type: None,
        bytes: vec![7u8; SIZE].into(),
    };
    let started = Instant::now();
    let uploaded = client.upload_attachment(3, 4, source).await;
    assert!(
        uploaded.is_ok(),
        "the upload failed after {:?}: {uploaded:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() > Duration::from_secs(2),
        "the server did read slowly"
    );
}

#[tokio::test]
async fn upload_by_url_sends_file_url() {
    let router = Router::new().route(
        "/p1/companies/3/conversations/4/messages/attachments",
        post(|body: String| async move {
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            assert_eq!(
                pairs,
                vec![(
                    "file_url".to_string(),
                    "https://example.com/a.jpg".to_string()
                )]
            );
            json(
                StatusCode::OK,
                r#"{"status":"ok","data":{"conversation":{"external_id":77}}}"#,
            )
        }),
    );
    let client = client(&serve(router).await);
    let source = AttachmentSource::Url("https://example.com/a.jpg".into());
    assert_eq!(
        client
            .upload_attachment(3, 4, source)
            .await
            .unwrap()
            .external_id,
        77
    );
}

#[tokio::test]
async fn conversation_updates_and_jobs() {
    let router = Router::new()
        .route(
            "/p1/companies/1/conversations/2/assign",
            put(|body: String| async move {
                assert_eq!(body, "assignee_id=42");
                json(
                    StatusCode::OK,
                    r#"{"status":"ok","data":{"conversation":{"external_id":2}}}"#,
                )
            }),
        )
        .route(
            "/p1/companies/1/conversations/2/note",
            put(|body: String| async move {
                assert_eq!(body, "note=call+back+%3C3");
                json(StatusCode::OK, fixture("conversation_note.json"))
            }),
        )
        .route(
            "/p1/companies/1/conversations/2/toggle_bitrix_block_openlines",
            put(|body: String| async move {
                assert_eq!(body, "enabled=true");
                json(StatusCode::OK, fixture("conversation_toggle_bitrix.json"))
            }),
        )
        .route(
            "/p1/companies/1/channels/399/jobs/18",
            get(|| async { json(StatusCode::OK, fixture("job.json")) }),
        );
    let client = client(&serve(router).await);
    let reference = client.assign_conversation(1, 2, 42).await.unwrap();
    assert_eq!(reference.external_id, 2);
    client.set_note(1, 2, "call back <3").await.unwrap();
    let toggled = client.set_bitrix_openlines(1, 2, true).await.unwrap();
    assert_eq!(toggled.bitrix_block_openlines, Some(true));
    let job = client.job(1, 399, 18).await.unwrap();
    assert_eq!(
        job.outcome(),
        JobOutcome::Delivered {
            message_id: Some(1)
        }
    );
}

#[tokio::test]
async fn connection_refused_is_not_sent_and_safe_to_repeat() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = PactClient::builder(ApiToken::new(TOKEN))
        .base_url(&format!("http://{address}/p1/"))
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
    assert!(!error.outcome_unknown());
    assert!(error.is_retryable());
    assert_no_token(&format!("{error:?} {error}"));
}

#[tokio::test]
async fn a_timed_out_send_is_not_repeated_and_its_outcome_is_unknown() {
    let hits = counter();
    let seen = hits.clone();
    let router = Router::new().route(
        "/p1/companies/1/conversations/2/messages",
        post(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                json(StatusCode::OK, fixture("message_send.json"))
            }
        }),
    );
    let client = PactClient::builder(ApiToken::new(TOKEN))
        .base_url(&serve(router).await)
        .timeout(Duration::from_millis(300))
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
async fn min_request_interval_spaces_requests() {
    let router = Router::new().route(
        "/p1/companies",
        get(|| async { json(StatusCode::OK, company_page(&[1], "null")) }),
    );
    let client = PactClient::builder(ApiToken::new(TOKEN))
        .base_url(&serve(router).await)
        .min_request_interval(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    for _ in 0..3 {
        client.companies(&PageRequest::default()).await.unwrap();
    }
    assert!(started.elapsed() >= Duration::from_millis(400));
}

/// A `tracing` writer that keeps everything in memory.
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
async fn debug_logs_name_method_and_path_but_never_the_token() {
    let router = Router::new().route(
        "/p1/companies",
        get(|| async {
            json(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(r#"{{"error":"bad {TOKEN}"}}"#),
            )
        }),
    );
    let base_url = serve(router).await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let client = PactClient::builder(ApiToken::new(TOKEN))
        .base_url(&base_url)
        .max_retries(1)
        .build()
        .unwrap();
    let query = PageRequest {
        from: Some("tok".into()),
        ..PageRequest::default()
    };
    let error = client.companies(&query).await.unwrap_err();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("pact request"), "{logs}");
    assert!(logs.contains("companies"), "{logs}");
    assert!(!logs.contains("from=tok"), "no query in logs: {logs}");
    assert_no_token(&logs);
    assert_no_token(&format!("{error:?}"));
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn futures_and_streams_can_be_spawned() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<PactClient>();
    let client = client("http://127.0.0.1:9/p1/");
    assert_send(&client.companies(&PageRequest::default()));
    assert_send(&client.send_message(1, 2, &OutgoingMessage::default()));
    assert_send(&client.upload_attachment(1, 2, AttachmentSource::Url(String::new())));
    assert_send(&client.companies_pages(10, SortDirection::Asc, None));
    assert_send(&client.conversations_pages(1, 10, SortDirection::Asc, None));
    assert_send(&client.messages_pages(1, 2, 10, SortDirection::Desc, None));
}
