//! The Pact p2 API routes (`/api/p2/...`, like `https://api.pact.im/api/p2/`) over the same
//! world as p1: a message sent through one API is seen through the other.

mod attachments;
mod conversations;
pub mod guard;
pub mod limits;
mod messages;
mod params;
pub mod render;
mod templates;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::model::{Company, Conversation, World};
use crate::state::Shared;

/// Largest upload (and body) accepted.
pub const UPLOAD_LIMIT_BYTES: usize = 64 * 1024 * 1024;

const CONVERSATION: &str = "/api/p2/conversations/{conversation_id}";

/// Every p2 route behind its guard (stats, latency, rate limits, faults, token).
pub fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/p2/conversations", get(conversations::list))
        .route(
            CONVERSATION,
            get(conversations::details).put(conversations::update),
        )
        .route(
            &format!("{CONVERSATION}/messages"),
            get(messages::list)
                .post(messages::send)
                .delete(messages::delete),
        )
        .route(
            &format!("{CONVERSATION}/messages/{{message_id}}"),
            get(messages::details),
        )
        .route("/api/p2/messages", post(messages::write_first))
        .route(
            "/api/p2/attachments",
            post(attachments::upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT_BYTES)),
        )
        .route(
            "/api/p2/attachments/",
            post(attachments::upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT_BYTES)),
        )
        .route("/api/p2/waba_templates", get(templates::list))
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT_BYTES))
        .route_layer(from_fn_with_state(shared, guard::p2_guard))
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
