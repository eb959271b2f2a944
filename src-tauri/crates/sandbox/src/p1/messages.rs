//! Messages: the paged list and sending (which creates a delivery job).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use super::{ok, page_of, parse_id, require_conversation};
use crate::delivery;
use crate::error::ApiError;
use crate::model::{Job, JobState, SentRecord, World};
use crate::paging::{ListKind, PageRequest};
use crate::params::{parse_bool, Params};
use crate::render;
use crate::state::{lock, Shared};

/// `GET .../conversations/{conversation_id}/messages`, sorted by created_at then id.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    Path((company, conversation)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let company_id = parse_id(&company, "Company")?;
    let conversation_id = parse_id(&conversation, "Conversation")?;
    let params = Params::from_query(query.as_deref());
    let request = PageRequest::from_params(&params, ListKind::Messages)?;
    let world = lock(&shared.world);
    let conversation = require_conversation(&world, company_id, conversation_id)?;
    let (messages, next_page) = page_of(
        &conversation.messages,
        &request,
        ListKind::Messages,
        |m| (m.created_at.timestamp_millis(), m.id),
        |m| render::message(&world, conversation, m, &shared.files_base),
    );
    Ok(ok(json!({ "messages": messages, "next_page": next_page })))
}

/// What a send asks for.
struct SendRequest {
    text: Option<String>,
    attachment_ids: Vec<i64>,
}

/// `POST .../conversations/{conversation_id}/messages`: answers a delivery job; the message
/// shows up in the list only once the job is delivered.
pub async fn send(
    State(shared): State<Arc<Shared>>,
    Path((company, conversation)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let company_id = parse_id(&company, "Company")?;
    let conversation_id = parse_id(&conversation, "Conversation")?;
    let params = Params::from_request(query.as_deref(), &headers, &body)?;
    let request = read_send(&params)?;
    let job = {
        let mut world = lock(&shared.world);
        require_conversation(&world, company_id, conversation_id)?;
        check_attachments(&world, company_id, &request.attachment_ids)?;
        accept(&mut world, company_id, conversation_id, request)?
    };
    shared.with_stats(|s| s.messages_accepted += 1);
    let job = if shared.job_delay.is_zero() {
        delivery::deliver(&shared, job.id).unwrap_or(job)
    } else {
        delivery::schedule(Arc::clone(&shared), job.id);
        job
    };
    Ok(ok(render::job(&job)))
}

fn read_send(params: &Params) -> Result<SendRequest, ApiError> {
    if let Some(raw) = params.first("send_to_crm") {
        parse_bool("send_to_crm", raw)?;
    }
    let text = params
        .first("message")
        .filter(|t| !t.trim().is_empty())
        .map(str::to_owned);
    let attachment_ids = read_attachment_ids(params)?;
    if text.is_none() && attachment_ids.is_empty() {
        return Err(ApiError::unprocessable(
            "message text or at least one attachment is required",
        ));
    }
    Ok(SendRequest {
        text,
        attachment_ids,
    })
}

/// `attachments_ids[]` (what the docs' curl sends) and `attachment_ids[]` (what the table
/// names), also without `[]`, with PHP indices (`[0]`), or comma-separated.
fn read_attachment_ids(params: &Params) -> Result<Vec<i64>, ApiError> {
    let values = params.all_matching(|key| {
        ["attachments_ids", "attachment_ids"].iter().any(|name| {
            key == *name
                || key
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('['))
        })
    });
    let mut ids = Vec::new();
    for value in values {
        for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let id = part.parse::<i64>().map_err(|_| {
                ApiError::bad_request(format!("attachment ids must be integers, got {part:?}"))
            })?;
            ids.push(id);
        }
    }
    Ok(ids)
}

fn check_attachments(world: &World, company_id: i64, ids: &[i64]) -> Result<(), ApiError> {
    for id in ids {
        let known = world
            .attachments
            .get(id)
            .is_some_and(|a| a.company_id == company_id);
        if !known {
            return Err(ApiError::unprocessable(format!(
                "unknown attachment id {id}"
            )));
        }
    }
    Ok(())
}

fn accept(
    world: &mut World,
    company_id: i64,
    conversation_id: i64,
    request: SendRequest,
) -> Result<Job, ApiError> {
    let conversation = world
        .conversation(conversation_id)
        .ok_or_else(|| ApiError::not_found("Conversation not found"))?;
    let (channel_id, channel_type) = (conversation.channel_id, conversation.channel_type);
    let now = world.now();
    let job = Job {
        id: world.take_job_id(),
        company_id,
        channel_id,
        channel_type,
        conversation_id,
        state: JobState::TryingDeliver,
        reserved_message_id: world.take_message_id(),
        message_id: None,
        created_at: now,
    };
    world.sent.push(SentRecord {
        message_id: job.reserved_message_id,
        text: request.text,
        attachment_ids: request.attachment_ids,
        accepted_at: now,
        delivered_at: None,
    });
    world.jobs.insert(job.id, job.clone());
    Ok(job)
}
