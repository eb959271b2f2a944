//! Conversations: the list (newest activity first), details and update.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use super::params::{P2Params, Page};
use super::render;
use super::{parse_id, require_company, require_conversation};
use crate::error::ApiError;
use crate::model::Conversation;
use crate::params::parse_int;
use crate::state::{lock, Shared};

/// `GET /api/p2/conversations?company_id=&page=&per_page=&search_string=`, sorted by
/// `last_updated_at` descending (no messages last, ties by id descending).
pub async fn list(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params = P2Params::from_request(query.as_deref(), &headers, &body)?;
    let company_id = params.company_id()?;
    let page = Page::read(&params, 25, 100)?;
    let search = params
        .first("search_string")
        .map(|s| s.trim().trim_start_matches(['+', '@']).to_lowercase())
        .filter(|s| !s.is_empty());
    let world = lock(&shared.world);
    let company = require_company(&world, company_id)?;
    let mut conversations: Vec<&Conversation> = company
        .conversation_ids
        .iter()
        .filter_map(|id| world.conversation(*id))
        .filter(|c| search.as_deref().is_none_or(|s| matches_search(c, s)))
        .collect();
    conversations.sort_by(|a, b| {
        let last = |c: &Conversation| c.messages.last().map(|m| (m.created_at, m.id));
        last(b).cmp(&last(a)).then(b.id.cmp(&a.id))
    });
    let rendered: Vec<Value> = page
        .slice(&conversations)
        .iter()
        .map(|c| render::conversation(c, &shared.files_base))
        .collect();
    let meta = page.meta(rendered.len());
    Ok(Json(json!({ "conversations": rendered, "meta": meta })))
}

fn matches_search(conversation: &Conversation, wanted: &str) -> bool {
    let fields = [
        render::sender_phone(conversation),
        Some(render::sender_name(conversation)),
        Some(conversation.sender_external_id.as_str()),
    ];
    fields
        .into_iter()
        .flatten()
        .any(|field| field.to_lowercase().contains(wanted))
}

/// `GET /api/p2/conversations/{id}?company_id=`
pub async fn details(
    State(shared): State<Arc<Shared>>,
    Path(conversation): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params = P2Params::from_request(query.as_deref(), &headers, &body)?;
    let company_id = params.company_id()?;
    let conversation_id = parse_id(&conversation, "Conversation")?;
    let world = lock(&shared.world);
    let conversation = require_conversation(&world, company_id, conversation_id)?;
    Ok(Json(
        json!({ "conversation": render::conversation(conversation, &shared.files_base) }),
    ))
}

/// `PUT /api/p2/conversations/{id}` with `operational_state` (open|archived), `replied_state`
/// (replied|unreplied) and `assignee_id` (integer; `null` or empty clears it).
pub async fn update(
    State(shared): State<Arc<Shared>>,
    Path(conversation): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params = P2Params::from_request(query.as_deref(), &headers, &body)?;
    let company_id = params.company_id()?;
    let conversation_id = parse_id(&conversation, "Conversation")?;
    let operational_state = match params.first("operational_state").map(str::trim) {
        None => None,
        Some("open") => Some("open"),
        Some("archived") => Some("archived"),
        Some(other) => {
            return Err(ApiError::unprocessable(format!(
                "operational_state must be open or archived, not {other:?}"
            )))
        }
    };
    let replied_state = match params.first("replied_state").map(str::trim) {
        None => None,
        Some("replied") => Some("replied"),
        Some("unreplied") => Some("unreplied"),
        Some(other) => {
            return Err(ApiError::unprocessable(format!(
                "replied_state must be replied or unreplied, not {other:?}"
            )))
        }
    };
    let assignee_id = if params.is_null("assignee_id") {
        Some(None)
    } else {
        match params.first("assignee_id").map(str::trim) {
            None => None,
            Some("") | Some("null") => Some(None),
            Some(raw) => Some(Some(parse_int("assignee_id", raw)?)),
        }
    };
    let mut world = lock(&shared.world);
    require_conversation(&world, company_id, conversation_id)?;
    let conversation = world
        .conversation_mut(conversation_id)
        .ok_or_else(|| ApiError::not_found("Conversation not found"))?;
    if let Some(state) = operational_state {
        conversation.operational_state = state;
    }
    if let Some(state) = replied_state {
        conversation.replied_override = Some(state);
    }
    if let Some(assignee) = assignee_id {
        conversation.assignee_id = assignee;
    }
    Ok(Json(
        json!({ "conversation": render::conversation(conversation, &shared.files_base) }),
    ))
}
