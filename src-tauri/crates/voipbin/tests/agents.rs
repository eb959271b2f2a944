//! The agents listing against a tiny axum server on 127.0.0.1:0: every page read with `page_size`
//! and `page_token`, agents read loosely, and a 403 (a login without admin or manager permission)
//! as a typed error that carries no secret.

use std::sync::{Arc, Mutex};

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::StreamExt;
use parley_voipbin::{Credentials, Error, VoipbinClient};
use serde_json::json;

const KEY: &str = "vb_AGENTS-KEY-SECRET-17";

/// Serves every request with `respond(uri, index among requests so far)`; returns the root URL and
/// the request URIs seen.
async fn serve<F>(respond: F) -> (String, Arc<Mutex<Vec<Uri>>>)
where
    F: Fn(&Uri, usize) -> Response + Send + Sync + 'static,
{
    let log: Arc<Mutex<Vec<Uri>>> = Arc::default();
    let respond = Arc::new(respond);
    let handler_log = log.clone();
    let router = Router::new().fallback(move |uri: Uri| {
        let (log, respond) = (handler_log.clone(), respond.clone());
        async move {
            let index = {
                let mut log = log.lock().unwrap();
                log.push(uri.clone());
                log.len() - 1
            };
            respond(&uri, index)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{address}"), log)
}

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn client(root: &str) -> VoipbinClient {
    VoipbinClient::builder(Credentials::access_key(KEY))
        .root_url(root)
        .build()
        .unwrap()
}

/// An agent as VoIPbin sends it, created `second` seconds into the minute.
fn agent(id: &str, name: &str, username: &str, second: u32) -> serde_json::Value {
    json!({
        "id": id,
        "username": username,
        "name": name,
        "detail": "",
        "ring_method": "ringall",
        "status": "available",
        "permission": 64,
        "tag_ids": ["d8a1c2f0-0000-4000-8000-000000000001"],
        "addresses": [{"type": "tel", "target": "+821100000001"}],
        "tm_create": format!("2026-01-01 00:00:{second:02}.000000"),
        "tm_update": format!("2026-01-01 00:00:{second:02}.000000"),
        "tm_delete": "9999-01-01 00:00:00.000000",
    })
}

#[tokio::test]
async fn every_page_of_agents_is_read_with_the_last_items_time_as_token() {
    let (root, log) = serve(|_, index| match index {
        0 => json_response(
            StatusCode::OK,
            json!({
                "result": [
                    agent("a1", "Olga Petrova", "olga@example.com", 59),
                    agent("a2", "", "ivan@example.com", 58),
                ],
                "next_page_token": "2026-01-01 00:00:58.000000",
            }),
        ),
        _ => json_response(
            StatusCode::OK,
            json!({
                "result": [agent("a3", "Mia", "mia@example.com", 57)],
                "next_page_token": "2026-01-01 00:00:57.000000",
            }),
        ),
    })
    .await;
    let pages: Vec<_> = client(&root).agent_pages(2).collect().await;
    let agents: Vec<_> = pages
        .into_iter()
        .flat_map(|page| page.unwrap().items)
        .collect();
    let names: Vec<_> = agents.iter().map(|a| a.display_name().unwrap()).collect();
    assert_eq!(names, ["Olga Petrova", "ivan@example.com", "Mia"]);
    assert_eq!(agents[0].status.as_deref(), Some("available"));
    assert_eq!(agents[0].permission, Some(64));
    assert_eq!(agents[0].addresses[0].target(), Some("+821100000001"));
    assert!(!agents[0].is_deleted());

    let log = log.lock().unwrap();
    assert_eq!(log.len(), 2, "a short page ends the list: {log:?}");
    assert!(log.iter().all(|uri| uri.path() == "/v1.0/agents"));
    assert_eq!(query_param(&log[0], "page_size").as_deref(), Some("2"));
    assert_eq!(query_param(&log[0], "page_token"), None);
    assert_eq!(
        query_param(&log[1], "page_token").as_deref(),
        Some("2026-01-01 00:00:58.000000")
    );
}

#[tokio::test]
async fn an_agent_that_cannot_be_read_is_skipped_not_fatal() {
    let (root, _) = serve(|_, _| {
        json_response(
            StatusCode::OK,
            json!({"result": [
                {"name": "no id"},
                {"id": "a1", "name": "Olga", "addresses": "not a list"},
                agent("a2", "Ivan", "ivan@example.com", 10),
            ]}),
        )
    })
    .await;
    let page = client(&root).agents_page(100, None).await.unwrap();
    assert_eq!(page.skipped, 2);
    let ids: Vec<_> = page.items.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["a2"]);
}

#[tokio::test]
async fn a_login_without_admin_or_manager_permission_gets_a_typed_error() {
    let (root, log) = serve(|_, _| {
        json_response(
            StatusCode::FORBIDDEN,
            json!({"error": {
                "status": "PERMISSION_DENIED",
                "reason": "PERMISSION_DENIED",
                "message": "The authenticated user does not have permission for this resource.",
                "request_id": "req_9"
            }}),
        )
    })
    .await;
    let error = client(&root).agents_page(100, None).await.unwrap_err();
    let Error::PermissionDenied(server) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(server.request_id.as_deref(), Some("req_9"));
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(KEY), "the access key leaked: {shown}");
    assert_eq!(log.lock().unwrap().len(), 1, "a 403 is not retried");
}
