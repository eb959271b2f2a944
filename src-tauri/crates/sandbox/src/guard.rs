//! Middleware in front of every p1 route: statistics, latency, rate limit, injected faults and
//! the token check, in that order.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::json;

use crate::config::FaultKind;
use crate::error::ApiError;
use crate::server::ConnectionKill;
use crate::state::{lock, Shared};

/// Header that carries the API token.
pub const TOKEN_HEADER: &str = "x-private-api-token";

const HTML_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// Runs every p1 request through the switches, then the handler.
pub async fn p1_guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let route = route_name(&request);
    shared.count_request(&route);
    let latency = lock(&shared.switches).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(wait) = lock(&shared.switches).check_rate_limit(Instant::now()) {
        shared.with_stats(|s| s.rate_limited += 1);
        return too_many_requests(wait);
    }
    let fault = lock(&shared.switches).draw_fault(&route);
    if let Some(kind) = fault {
        shared.count_fault(&route, kind);
    }
    let kill = request.extensions().get::<ConnectionKill>().cloned();
    match fault {
        Some(FaultKind::Status500) => return status_500(),
        Some(FaultKind::Html502) => return html_502(),
        Some(FaultKind::InvalidJson) => return invalid_json(),
        Some(FaultKind::ConnectionReset) => return abort_connection(kill).await,
        Some(FaultKind::ResetAfterProcessing) | None => {}
    }
    let response = if has_valid_token(&request, &shared.token) {
        next.run(request).await
    } else {
        shared.with_stats(|s| s.unauthorized += 1);
        ApiError::unauthorized().into_response()
    };
    if fault == Some(FaultKind::ResetAfterProcessing) {
        return abort_connection(kill).await;
    }
    response
}

/// `METHOD /matched/path` (the route's pattern, or the raw path when none matched).
pub(crate) fn route_name(request: &Request) -> String {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| request.uri().path(), MatchedPath::as_str);
    format!("{} {}", request.method(), path)
}

fn has_valid_token(request: &Request, token: &str) -> bool {
    let from_header = request
        .headers()
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    if let Some(sent) = from_header {
        return sent == token;
    }
    let query = request.uri().query().unwrap_or("");
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "private_api_token")
        .is_some_and(|(_, v)| v == token)
}

fn too_many_requests(wait_seconds: u64) -> Response {
    let body = json!({
        "errors": [{
            "status": 429,
            "code": "too_many_requests",
            "title": "Too Many Requests",
            "detail": format!("Please wait for {wait_seconds} seconds"),
        }]
    });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait_seconds));
    response
}

fn status_500() -> Response {
    let body = json!({ "status": "error", "message": "Internal Server Error (sandbox fault)" });
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

/// A proxy's HTML 502 page, as a real gateway sends it (shared by the p1 and VoIPbin fault paths).
pub(crate) fn html_502() -> Response {
    (
        StatusCode::BAD_GATEWAY,
        [(header::CONTENT_TYPE, "text/html")],
        HTML_502,
    )
        .into_response()
}

fn invalid_json() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        "{\"status\":\"ok\",\"data\":{\"conversations\":[{\"external_id\":1,\"name\":",
    )
        .into_response()
}

/// Resets the connection and never answers. Outside our accept loop (no kill handle), the
/// response body fails instead, which also breaks the connection mid-response.
pub(crate) async fn abort_connection(kill: Option<ConnectionKill>) -> Response {
    match kill {
        Some(kill) => {
            kill.trigger();
            std::future::pending::<Response>().await
        }
        None => {
            let failing = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("sandbox connection reset"))
            });
            Response::new(Body::from_stream(failing))
        }
    }
}
