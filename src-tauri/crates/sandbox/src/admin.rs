//! Admin endpoints under `/_sandbox/` (no token, never faulted) to flip the switches at run
//! time and read the statistics, plus `GET /files/{id}/{file_name}` that serves stored files.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::FaultConfig;
use crate::error::ApiError;
use crate::state::{lock, Shared};

/// The `/_sandbox/...` and `/files/...` routes.
pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sandbox/faults", post(set_faults))
        .route("/_sandbox/latency", post(set_latency))
        .route("/_sandbox/rate_limit", post(set_rate_limit))
        .route("/_sandbox/upload_speed", post(set_upload_speed))
        .route("/_sandbox/p2_limits", post(set_p2_limits))
        .route("/_sandbox/incoming", post(push_incoming))
        .route("/_sandbox/clock", post(set_clock))
        .route("/_sandbox/stats", get(stats))
        .route("/files/{id}/{file_name}", get(serve_file))
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        &b"null"[..]
    } else {
        &body[..]
    };
    serde_json::from_slice(text)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

fn done() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `POST /_sandbox/faults` with `{"rate":0.3,"kinds":["status500",...]}`, or `null` to stop.
async fn set_faults(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let faults: Option<FaultConfig> = parse_body(&body)?;
    if let Some(f) = &faults {
        if !(0.0..=1.0).contains(&f.rate) {
            return Err(ApiError::bad_request("rate must be between 0 and 1"));
        }
    }
    lock(&shared.switches).faults = faults;
    Ok(done())
}

#[derive(Deserialize)]
struct ClockBody {
    offset_seconds: i64,
}

/// `POST /_sandbox/clock` with `{"offset_seconds":-31536000}`: the server's clock that far from
/// the computer's for every time written from now on (0 puts them in agreement again).
async fn set_clock(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let ClockBody { offset_seconds } = parse_body(&body)?;
    let offset = chrono::Duration::try_seconds(offset_seconds)
        .ok_or_else(|| ApiError::bad_request("offset_seconds is out of range"))?;
    shared.clock.set_offset(offset);
    Ok(done())
}

#[derive(Deserialize)]
struct LatencyBody {
    ms: u64,
}

/// `POST /_sandbox/latency` with `{"ms":50}`.
async fn set_latency(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let LatencyBody { ms } = parse_body(&body)?;
    lock(&shared.switches).latency = Duration::from_millis(ms);
    Ok(done())
}

#[derive(Deserialize)]
struct RateLimitBody {
    per_minute: Option<u32>,
}

/// `POST /_sandbox/rate_limit` with `{"per_minute":N}`, `{"per_minute":null}` or `null`.
async fn set_rate_limit(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let limit: Option<RateLimitBody> = parse_body(&body)?;
    lock(&shared.switches).set_rate_limit(limit.and_then(|l| l.per_minute));
    Ok(done())
}

#[derive(Deserialize)]
struct UploadSpeedBody {
    bytes_per_second: Option<u64>,
}

/// `POST /_sandbox/upload_speed` with `{"bytes_per_second":N}`, `{"bytes_per_second":null}` or `null`.
async fn set_upload_speed(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let speed: Option<UploadSpeedBody> = parse_body(&body)?;
    lock(&shared.switches).set_upload_speed(speed.and_then(|s| s.bytes_per_second));
    Ok(done())
}

#[derive(Deserialize)]
struct P2LimitsBody {
    scale: Option<f64>,
}

/// `POST /_sandbox/p2_limits` with `{"scale":1.0}` (real time), `{"scale":60.0}` (a minute lasts a
/// second), `{"scale":null}` or `null` (limits off). Forgets the windows counted so far.
async fn set_p2_limits(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let limits: Option<P2LimitsBody> = parse_body(&body)?;
    lock(&shared.p2).set_scale(limits.and_then(|l| l.scale));
    Ok(done())
}

#[derive(Deserialize)]
struct IncomingBody {
    conversation_id: i64,
    text: String,
}

/// `POST /_sandbox/incoming` with `{"conversation_id":1,"text":"hi"}` -> `{"message_id":N}`.
async fn push_incoming(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let incoming: IncomingBody = parse_body(&body)?;
    let id = shared
        .push_incoming(incoming.conversation_id, &incoming.text)
        .ok_or_else(|| ApiError::not_found("Conversation not found"))?;
    Ok(Json(json!({ "status": "ok", "message_id": id })))
}

/// `GET /_sandbox/stats`
async fn stats(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let stats = lock(&shared.stats).clone();
    Json(serde_json::to_value(stats).unwrap_or(Value::Null))
}

/// `GET /files/{id}/{file_name}`: the stored bytes, whatever name follows the id.
async fn serve_file(
    State(shared): State<Arc<Shared>>,
    Path((id, _name)): Path<(String, String)>,
) -> Response {
    let attachment = id
        .parse::<i64>()
        .ok()
        .and_then(|id| lock(&shared.world).attachments.get(&id).cloned());
    let Some(attachment) = attachment else {
        return ApiError::not_found("File not found").into_response();
    };
    let content_type = HeaderValue::from_str(&attachment.mime_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox"),
            ),
        ],
        attachment.bytes,
    )
        .into_response()
}
