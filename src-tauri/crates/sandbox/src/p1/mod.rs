//! The Pact p1 API routes (`/p1/...`) and the helpers their handlers share.

pub(crate) mod attachments;
mod companies;
mod conversations;
mod messages;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::guard::p1_guard;
use crate::model::{Company, Conversation, World};
use crate::paging::{encode_token, Key, ListKind, PageRequest};
use crate::state::Shared;

/// Largest upload accepted (the real service's limits are not documented).
const UPLOAD_LIMIT_BYTES: usize = 64 * 1024 * 1024;

const CONVERSATION: &str = "/p1/companies/{company_id}/conversations/{conversation_id}";

/// Every p1 route behind the guard (stats, latency, rate limit, faults, token).
pub fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/p1/companies", get(companies::list_companies))
        .route(
            "/p1/companies/{company_id}/channels",
            get(companies::list_channels),
        )
        .route(
            "/p1/companies/{company_id}/channels/{channel_id}/jobs/{job_id}",
            get(companies::job_details),
        )
        .route(
            "/p1/companies/{company_id}/conversations",
            get(conversations::list).post(conversations::create),
        )
        .route(CONVERSATION, get(conversations::details))
        .route(
            &format!("{CONVERSATION}/assign"),
            put(conversations::assign),
        )
        .route(&format!("{CONVERSATION}/note"), put(conversations::note))
        .route(
            &format!("{CONVERSATION}/toggle_bitrix_block_openlines"),
            put(conversations::toggle_bitrix_block_openlines),
        )
        .route(
            &format!("{CONVERSATION}/messages"),
            get(messages::list).post(messages::send),
        )
        .route(
            &format!("{CONVERSATION}/messages/attachments"),
            post(attachments::upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT_BYTES)),
        )
        .route_layer(from_fn_with_state(shared, p1_guard))
}

/// `{"status":"ok","data":...}`
fn ok(data: Value) -> Json<Value> {
    Json(json!({ "status": "ok", "data": data }))
}

/// An id from the path; anything that is not an integer names nothing, hence 404.
fn parse_id(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::not_found(format!("{what} not found")))
}

fn require_company(world: &World, company_id: i64) -> Result<&Company, ApiError> {
    world
        .company(company_id)
        .ok_or_else(|| ApiError::not_found("Company not found"))
}

fn require_conversation(
    world: &World,
    company_id: i64,
    conversation_id: i64,
) -> Result<&Conversation, ApiError> {
    require_company(world, company_id)?;
    world
        .company_conversation(company_id, conversation_id)
        .ok_or_else(|| ApiError::not_found("Conversation not found"))
}

/// One page of a sorted list: the rendered items and `next_page` (null on the last page).
fn page_of<T>(
    items: &[T],
    request: &PageRequest,
    kind: ListKind,
    key: impl Fn(&T) -> Key,
    render: impl Fn(&T) -> Value,
) -> (Vec<Value>, Value) {
    let (indices, more) = request.select(items, &key);
    let rendered = indices.iter().map(|&i| render(&items[i])).collect();
    let next_page = match indices.last() {
        Some(&last) if more => json!(encode_token(kind, key(&items[last]))),
        _ => Value::Null,
    };
    (rendered, next_page)
}
