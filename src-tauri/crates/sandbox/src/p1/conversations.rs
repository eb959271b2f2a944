//! Conversations: list, create (whatsapp / telegram_personal), details, assign, note, and the
//! Bitrix open lines toggle.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use super::{ok, page_of, parse_id, require_company, require_conversation};
use crate::error::ApiError;
use crate::model::{live_message, Conversation, SentRecord, TimeShape, World};
use crate::paging::{ListKind, PageRequest};
use crate::params::{parse_bool, parse_int, Params};
use crate::render;
use crate::state::{lock, Shared};

/// `GET /p1/companies/{company_id}/conversations`
pub async fn list(
    State(shared): State<Arc<Shared>>,
    Path(company): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let company_id = parse_id(&company, "Company")?;
    let params = Params::from_query(query.as_deref());
    let request = PageRequest::from_params(&params, ListKind::Conversations)?;
    let world = lock(&shared.world);
    let company = require_company(&world, company_id)?;
    let (conversations, next_page) = page_of(
        &company.conversation_ids,
        &request,
        ListKind::Conversations,
        |id| (0, *id),
        |id| {
            world
                .conversation(*id)
                .map_or(Value::Null, render::conversation)
        },
    );
    Ok(ok(
        json!({ "conversations": conversations, "next_page": next_page }),
    ))
}

/// `GET /p1/companies/{company_id}/conversations/{conversation_id}`
pub async fn details(
    State(shared): State<Arc<Shared>>,
    Path((company, conversation)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (company_id, conversation_id) = ids(&company, &conversation)?;
    let world = lock(&shared.world);
    let conversation = require_conversation(&world, company_id, conversation_id)?;
    Ok(ok(
        json!({ "conversation": render::conversation(conversation) }),
    ))
}

/// `PUT .../assign` with `assignee_id` (absent or empty clears it).
pub async fn assign(
    State(shared): State<Arc<Shared>>,
    Path((company, conversation)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (company_id, conversation_id) = ids(&company, &conversation)?;
    let params = Params::from_request(query.as_deref(), &headers, &body)?;
    let assignee_id = match params.first("assignee_id").map(str::trim) {
        None | Some("") | Some("null") => None,
        Some(raw) => Some(parse_int("assignee_id", raw)?),
    };
    let mut world = lock(&shared.world);
    let conversation = conversation_mut(&mut world, company_id, conversation_id)?;
    conversation.assignee_id = assignee_id;
    Ok(ok(
        json!({ "conversation": { "external_id": conversation.id } }),
    ))
}

/// `PUT .../note` with `note`; answers `{"status":"updated"}`.
pub async fn note(
    State(shared): State<Arc<Shared>>,
    Path((company, conversation)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (company_id, conversation_id) = ids(&company, &conversation)?;
    let params = Params::from_request(query.as_deref(), &headers, &body)?;
    let note = params
        .first("note")
        .ok_or_else(|| ApiError::unprocessable("note is required"))?
        .to_owned();
    let mut world = lock(&shared.world);
    let conversation = conversation_mut(&mut world, company_id, conversation_id)?;
    conversation.note = Some(note);
    Ok(Json(json!({ "status": "updated" })))
}

/// `PUT .../toggle_bitrix_block_openlines` with `enabled` (absent flips the flag).
pub async fn toggle_bitrix_block_openlines(
    State(shared): State<Arc<Shared>>,
    Path((company, conversation)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (company_id, conversation_id) = ids(&company, &conversation)?;
    let params = Params::from_request(query.as_deref(), &headers, &body)?;
    let enabled = params
        .first("enabled")
        .map(|raw| parse_bool("enabled", raw))
        .transpose()?;
    let mut world = lock(&shared.world);
    let conversation = conversation_mut(&mut world, company_id, conversation_id)?;
    conversation.bitrix_block_openlines = enabled.unwrap_or(!conversation.bitrix_block_openlines);
    Ok(ok(
        json!({ "conversation": render::conversation(conversation) }),
    ))
}

fn ids(company: &str, conversation: &str) -> Result<(i64, i64), ApiError> {
    Ok((
        parse_id(company, "Company")?,
        parse_id(conversation, "Conversation")?,
    ))
}

fn conversation_mut(
    world: &mut World,
    company_id: i64,
    conversation_id: i64,
) -> Result<&mut Conversation, ApiError> {
    require_conversation(world, company_id, conversation_id)?;
    world
        .conversation_mut(conversation_id)
        .ok_or_else(|| ApiError::not_found("Conversation not found"))
}

/// Who a new conversation is with.
struct NewContact {
    provider: &'static str,
    /// Phone digits or telegram username, used as name and sender_external_id.
    handle: String,
    /// First message (telegram_personal only).
    text: Option<String>,
}

/// `POST /p1/companies/{company_id}/conversations`
pub async fn create(
    State(shared): State<Arc<Shared>>,
    Path(company): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let company_id = parse_id(&company, "Company")?;
    let params = Params::from_request(query.as_deref(), &headers, &body)?;
    let contact = read_contact(&params)?;
    let mut world = lock(&shared.world);
    require_company(&world, company_id)?;
    let channel = world
        .channel_for(company_id, contact.provider)
        .cloned()
        .ok_or_else(|| {
            ApiError::unprocessable(format!("company has no {} channel", contact.provider))
        })?;
    let conversation_id =
        find_or_add_conversation(&mut world, company_id, &channel, &contact.handle);
    if let Some(text) = contact.text {
        add_first_message(&mut world, conversation_id, text);
        shared.with_stats(|s| s.messages_accepted += 1);
    }
    let conversation = world
        .conversation(conversation_id)
        .ok_or_else(|| ApiError::not_found("Conversation not found"))?;
    Ok(ok(
        json!({ "conversation": render::conversation(conversation) }),
    ))
}

fn read_contact(params: &Params) -> Result<NewContact, ApiError> {
    if let Some(raw) = params.first("send_to_crm") {
        parse_bool("send_to_crm", raw)?;
    }
    match params.first("provider").map(str::trim) {
        None | Some("") => Err(ApiError::unprocessable("provider is required")),
        Some("whatsapp") => {
            let phone = params
                .first("phone")
                .ok_or_else(|| ApiError::unprocessable("phone is required"))?;
            Ok(NewContact {
                provider: "whatsapp",
                handle: valid_phone(phone)?,
                text: None,
            })
        }
        Some("telegram_personal") => read_telegram_contact(params),
        Some(other) => Err(ApiError::unprocessable(format!(
            "provider must be whatsapp or telegram_personal, not {other:?}"
        ))),
    }
}

fn read_telegram_contact(params: &Params) -> Result<NewContact, ApiError> {
    let handle = match (params.first("phone"), params.first("username")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::unprocessable("use only one of phone or username"))
        }
        (None, None) => return Err(ApiError::unprocessable("phone or username is required")),
        (Some(phone), None) => valid_phone(phone)?,
        (None, Some(username)) => valid_username(username)?,
    };
    let text = params
        .first("text")
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ApiError::unprocessable("text is required for telegram_personal"))?;
    Ok(NewContact {
        provider: "telegram_personal",
        handle,
        text: Some(text.to_owned()),
    })
}

/// `79250000001`: digits only (a leading `+` is tolerated), 10 to 15 of them.
fn valid_phone(raw: &str) -> Result<String, ApiError> {
    let digits = raw.trim().trim_start_matches('+');
    let ok = (10..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(digits.to_owned())
    } else {
        Err(ApiError::unprocessable(
            "phone must be in format 79250000001 (10 to 15 digits)",
        ))
    }
}

/// A Telegram username: 5 to 32 of `A-Z a-z 0-9 _`, an optional leading `@` dropped.
fn valid_username(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim().trim_start_matches('@');
    let ok = (5..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(ApiError::unprocessable(
            "username must be 5 to 32 letters, digits or underscores",
        ))
    }
}

fn find_or_add_conversation(
    world: &mut World,
    company_id: i64,
    channel: &crate::model::Channel,
    handle: &str,
) -> i64 {
    let existing = world.conversations.iter().find(|c| {
        c.company_id == company_id && c.channel_id == channel.id && c.sender_external_id == handle
    });
    if let Some(conversation) = existing {
        return conversation.id;
    }
    let id = world.conversations.len() as i64 + 1;
    world.conversations.push(Conversation {
        id,
        company_id,
        name: Some(handle.to_owned()),
        channel_id: channel.id,
        hide_channel_id: false,
        channel_type: channel.provider,
        created_at: world.now(),
        time_shape: TimeShape::Iso,
        avatar: "/avatars/original/missing.png".to_owned(),
        sender_external_id: handle.to_owned(),
        last_message_at: None,
        last_income_message_at: None,
        assignee_id: None,
        note: None,
        bitrix_block_openlines: false,
        operational_state: "open",
        replied_override: None,
        messages: Vec::new(),
    });
    if let Some(company) = world.companies.iter_mut().find(|c| c.id == company_id) {
        company.conversation_ids.push(id);
    }
    id
}

fn add_first_message(world: &mut World, conversation_id: i64, text: String) {
    let id = world.take_message_id();
    let message = live_message(id, false, Some(text.clone()), Vec::new(), world.now());
    if !world.append_live_message(conversation_id, message) {
        return;
    }
    let delivered_at = world
        .conversation(conversation_id)
        .and_then(|c| c.last_message_at)
        .unwrap_or_else(|| world.now());
    world.sent.push(SentRecord {
        message_id: id,
        text: Some(text),
        attachment_ids: Vec::new(),
        accepted_at: delivered_at,
        delivered_at: Some(delivered_at),
    });
}
