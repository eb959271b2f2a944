//! Middleware in front of every p2 route: statistics, latency, the documented rate limits (per
//! token and endpoint), injected faults and the token check, in that order. p2 takes the token
//! from the `X-Private-Api-Token` header, the query, or the JSON / form / multipart body.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::limits::bucket_of;
use super::UPLOAD_LIMIT_BYTES;
use crate::config::FaultKind;
use crate::error::ApiError;
use crate::guard::{abort_connection, html_502, route_name, TOKEN_HEADER};
use crate::server::ConnectionKill;
use crate::state::{lock, Shared};

const TOKEN_PARAM: &str = "private_api_token";

/// Runs every p2 request through the switches, then the handler.
pub async fn p2_guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let route = route_name(&request);
    let client = client_of(&request);
    shared.with_stats(|s| {
        s.p2_requests += 1;
        *s.per_route.entry(route.clone()).or_insert(0) += 1;
        s.p2_clients.entry(client.clone()).or_default().requests += 1;
    });
    let latency = lock(&shared.switches).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (request, token) = match find_token(request).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    let admitted = lock(&shared.p2).admit(token.as_deref().unwrap_or(""), bucket_of(&route));
    if let Err(wait) = admitted {
        shared.with_stats(|s| {
            s.p2_rate_limited += 1;
            s.p2_clients.entry(client).or_default().rate_limited += 1;
        });
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
    let response = match token {
        Some(sent) if sent == shared.token => next.run(request).await,
        sent => {
            shared.with_stats(|s| s.unauthorized += 1);
            let detail = if sent.is_some() {
                "Invalid token"
            } else {
                "No token provided"
            };
            ApiError {
                detail: detail.to_owned(),
                ..ApiError::unauthorized()
            }
            .into_response()
        }
    };
    if fault == Some(FaultKind::ResetAfterProcessing) {
        return abort_connection(kill).await;
    }
    response
}

/// The client a request comes from, for the per-client counts: its `User-Agent` (at most 100
/// characters), or `unknown`.
fn client_of(request: &Request) -> String {
    request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().chars().take(100).collect::<String>())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The token from the header, the query or the body. Only when neither header nor query has
/// it is the body read (and put back), so uploads with a header token still stream.
async fn find_token(request: Request) -> Result<(Request, Option<String>), ApiError> {
    let from_header = request
        .headers()
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned());
    if from_header.is_some() {
        return Ok((request, from_header));
    }
    let query = request.uri().query().unwrap_or("");
    let from_query = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == TOKEN_PARAM)
        .map(|(_, v)| v.into_owned());
    if from_query.is_some() {
        return Ok((request, from_query));
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, UPLOAD_LIMIT_BYTES)
        .await
        .map_err(|_| ApiError::bad_request("request body too large or unreadable"))?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let token = token_in_body(&content_type, &bytes).await;
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}

async fn token_in_body(content_type: &str, bytes: &bytes::Bytes) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let lower = content_type.to_ascii_lowercase();
    if lower.starts_with("multipart/") {
        let request = Request::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(bytes.clone()))
            .ok()?;
        let mut multipart = Multipart::from_request(request, &()).await.ok()?;
        while let Ok(Some(field)) = multipart.next_field().await {
            if field.name() == Some(TOKEN_PARAM) {
                return field.text().await.ok().map(|t| t.trim().to_owned());
            }
        }
        return None;
    }
    let looks_json = lower.contains("json")
        || (!lower.contains("x-www-form-urlencoded")
            && bytes
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b'{'));
    if looks_json {
        let value: Value = serde_json::from_slice(bytes).ok()?;
        return match &value[TOKEN_PARAM] {
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
    }
    url::form_urlencoded::parse(bytes)
        .find(|(k, _)| k == TOKEN_PARAM)
        .map(|(_, v)| v.into_owned())
}

/// The documented 429: the wait only in the text, no `Retry-After`.
fn too_many_requests(wait_seconds: u64) -> Response {
    let body = json!({
        "errors": [{
            "status": 429,
            "code": "too_many_requests",
            "title": "Too many requests error",
            "detail": format!("Please wait for {wait_seconds} seconds"),
        }]
    });
    (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response()
}

fn status_500() -> Response {
    let body = json!({
        "errors": [{
            "status": 500,
            "code": "internal_server_error",
            "title": "Internal Server Error",
            "detail": "Internal Server Error (sandbox fault)",
        }]
    });
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

fn invalid_json() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        "{\"conversations\":[{\"id\":1,\"company_id\":1,\"sender_name\":",
    )
        .into_response()
}
