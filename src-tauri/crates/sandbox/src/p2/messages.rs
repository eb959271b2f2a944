//! Messages: the list (oldest first), details, sending to a conversation, deleting, and writing
//! first (which finds or creates the conversation).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use super::params::{P2Params, Page};
use super::render::{self, Clock};
use super::templates;
use super::{parse_id, require_company, require_conversation};
use crate::error::ApiError;
use crate::model::{live_message, Channel, Conversation, LiveSend, SentRecord, TimeShape, World};
use crate::params::parse_bool;
use crate::state::{lock, Shared};

/// Providers whose messages can be deleted.
const DELETABLE: [&str; 3] = ["whatsapp", "telegram_personal", "max"];

/// Most ids one delete may name.
const MAX_DELETE: usize = 100;

/// `GET /api/p2/conversations/{id}/messages?company_id=&page=&per_page=`, ascending by
/// (external_created_at, id); per_page 150 by default, clamped to 1..=150.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    Path(conversation): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params = P2Params::from_request(query.as_deref(), &headers, &body)?;
    let company_id = params.company_id()?;
    let conversation_id = parse_id(&conversation, "Conversation")?;
    let page = Page::read(&params, 150, 150)?;
    let clock = shared.p2_clock();
    let world = lock(&shared.world);
    let conversation = require_conversation(&world, company_id, conversation_id)?;
    let rendered: Vec<Value> = page
        .slice(&conversation.messages)
        .iter()
        .map(|m| render::message(&world, conversation, m, &shared.files_base, &clock))
        .collect();
    let meta = page.meta(rendered.len());
    Ok(Json(json!({ "messages": rendered, "meta": meta })))
}

/// `GET /api/p2/conversations/{id}/messages/{message_id}?company_id=`
pub async fn details(
    State(shared): State<Arc<Shared>>,
    Path((conversation, message)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params = P2Params::from_request(query.as_deref(), &headers, &body)?;
    let company_id = params.company_id()?;
    let conversation_id = parse_id(&conversation, "Conversation")?;
    let message_id = parse_id(&message, "Message")?;
    let clock = shared.p2_clock();
    let world = lock(&shared.world);
    let conversation = require_conversation(&world, company_id, conversation_id)?;
    let message = conversation
        .messages
        .iter()
        .find(|m| m.id == message_id)
        .ok_or_else(|| ApiError::not_found("Message not found"))?;
    Ok(Json(json!({
        "message": render::message(&world, conversation, message, &shared.files_base, &clock)
    })))
}

/// Text and attachment of a send (shared by send and write-first).
struct Outgoing {
    text: Option<String>,
    attachment_ids: Vec<i64>,
}

fn read_outgoing(params: &P2Params) -> Result<Outgoing, ApiError> {
    if let Some(raw) = params.first("send_to_crm") {
        parse_bool("send_to_crm", raw)?;
    }
    let attachment_ids = params.int_list("attachment_ids")?;
    if attachment_ids.len() > 1 {
        return Err(ApiError::unprocessable(
            "One message can contain only one attachment",
        ));
    }
    let text = params
        .first("text")
        .filter(|t| !t.trim().is_empty())
        .map(str::to_owned);
    Ok(Outgoing {
        text,
        attachment_ids,
    })
}

fn check_outgoing(world: &World, company_id: i64, outgoing: &Outgoing) -> Result<(), ApiError> {
    if outgoing.text.is_none() && outgoing.attachment_ids.is_empty() {
        return Err(ApiError::unprocessable(
            "text or attachment_ids is required",
        ));
    }
    for id in &outgoing.attachment_ids {
        let known = world
            .attachments
            .get(id)
            .is_some_and(|a| a.company_id == company_id);
        if !known {
            return Err(ApiError::unprocessable(format!(
                "Attachment {id} not found"
            )));
        }
    }
    Ok(())
}

/// Appends the outgoing message now (status `sent`, moving with time) and records the send.
fn append_outgoing(
    shared: &Shared,
    world: &mut World,
    conversation_id: i64,
    outgoing: Outgoing,
    replied_to_id: Option<String>,
) -> Option<i64> {
    let failed = lock(&shared.switches).fail_deliveries;
    let id = world.take_message_id();
    let mut message = live_message(
        id,
        false,
        outgoing.text.clone(),
        outgoing.attachment_ids.clone(),
        world.now(),
    );
    message.p2.replied_to_id = replied_to_id;
    message.p2.live = Some(LiveSend {
        sent_at: Instant::now(),
        failed,
    });
    if !world.append_live_message(conversation_id, message) {
        return None;
    }
    let at = world
        .conversation(conversation_id)
        .and_then(|c| c.last_message_at)
        .unwrap_or_else(|| world.now());
    world.sent.push(SentRecord {
        message_id: id,
        text: outgoing.text,
        attachment_ids: outgoing.attachment_ids,
        accepted_at: at,
        delivered_at: Some(at),
    });
    shared.with_stats(|s| s.messages_accepted += 1);
    Some(id)
}

fn render_message(
    shared: &Shared,
    world: &World,
    conversation_id: i64,
    message_id: i64,
    clock: &Clock,
) -> Result<Json<Value>, ApiError> {
    let conversation = world
        .conversation(conversation_id)
        .ok_or_else(|| ApiError::not_found("Conversation not found"))?;
    let message = conversation
        .messages
        .iter()
        .rev()
        .find(|m| m.id == message_id)
        .ok_or_else(|| ApiError::not_found("Message not found"))?;
    Ok(Json(json!({
        "message": render::message(world, conversation, message, &shared.files_base, clock)
    })))
}

/// `POST /api/p2/conversations/{id}/messages` with `company_id`, `text`, `attachment_ids` (at
/// most one), `replied_to_id` (external id of the quoted message) and `send_to_crm`.
pub async fn send(
    State(shared): State<Arc<Shared>>,
    Path(conversation): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params = P2Params::from_request(query.as_deref(), &headers, &body)?;
    let company_id = params.company_id()?;
    let conversation_id = parse_id(&conversation, "Conversation")?;
    let outgoing = read_outgoing(&params)?;
    let replied_to = params
        .first("replied_to_id")
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    let clock = shared.p2_clock();
    let mut world = lock(&shared.world);
    let conversation = require_conversation(&world, company_id, conversation_id)?;
    if let Some(external) = &replied_to {
        if render::find_by_external_id(conversation, external, &clock).is_none() {
            return Err(ApiError::unprocessable(format!(
                "replied_to_id {external:?} is not a message of this conversation"
            )));
        }
    }
    check_outgoing(&world, company_id, &outgoing)?;
    let id = append_outgoing(&shared, &mut world, conversation_id, outgoing, replied_to)
        .ok_or_else(|| ApiError::not_found("Conversation not found"))?;
    render_message(&shared, &world, conversation_id, id, &shared.p2_clock())
}

/// `DELETE /api/p2/conversations/{id}/messages` with `message_ids` (at most 100) and
/// `company_id`: marks them deleted (they stay listed). whatsapp, telegram_personal and max only.
pub async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(conversation): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params = P2Params::from_request(query.as_deref(), &headers, &body)?;
    let company_id = params.company_id()?;
    let conversation_id = parse_id(&conversation, "Conversation")?;
    let ids = params.int_list("message_ids")?;
    if ids.is_empty() {
        return Err(ApiError::bad_request("message_ids is required"));
    }
    if ids.len() > MAX_DELETE {
        return Err(ApiError::unprocessable(format!(
            "message_ids can contain at most {MAX_DELETE} ids"
        )));
    }
    let mut world = lock(&shared.world);
    let conversation = require_conversation(&world, company_id, conversation_id)?;
    if !DELETABLE.contains(&conversation.channel_type) {
        return Err(ApiError::unprocessable(
            "Deleting messages is not available for this provider",
        ));
    }
    if let Some(missing) = ids
        .iter()
        .find(|id| !conversation.messages.iter().any(|m| m.id == **id))
    {
        return Err(ApiError::not_found(format!("Message {missing} not found")));
    }
    if let Some(conversation) = world.conversation_mut(conversation_id) {
        for message in &mut conversation.messages {
            if ids.contains(&message.id) {
                message.p2.deleted = true;
            }
        }
    }
    Ok(Json(json!({ "status": "ok", "message_ids": ids })))
}

/// Who a first message goes to.
struct Recipient {
    provider: &'static str,
    handle: String,
}

fn read_recipient(params: &P2Params) -> Result<Recipient, ApiError> {
    let provider = match params.first("provider").map(str::trim) {
        Some("max") => "max",
        Some("whatsapp") => "whatsapp",
        Some("telegram_personal") => "telegram_personal",
        Some("whatsapp_business") => "whatsapp_business",
        Some("vkontakte_direct") => "vkontakte_direct",
        None | Some("") => return Err(ApiError::unprocessable("provider is required")),
        Some(other) => {
            return Err(ApiError::unprocessable(format!(
                "provider must be one of max, whatsapp, telegram_personal, whatsapp_business, \
                 vkontakte_direct, not {other:?}"
            )))
        }
    };
    let present = |key: &str| {
        params
            .first(key)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let handle = match provider {
        "telegram_personal" => match (present("phone"), present("nickname")) {
            (Some(_), Some(_)) => {
                return Err(ApiError::unprocessable("use only one of phone or nickname"))
            }
            (Some(phone), None) => valid_phone(&phone)?,
            (None, Some(nickname)) => valid_nickname(&nickname)?,
            (None, None) => return Err(ApiError::unprocessable("phone or nickname is required")),
        },
        "vkontakte_direct" => match (present("vkontakte_id"), present("vkontakte_domain")) {
            (Some(_), Some(_)) => {
                return Err(ApiError::unprocessable(
                    "vkontakte_id and vkontakte_domain are mutually exclusive",
                ))
            }
            (Some(id), None) if id.bytes().all(|b| b.is_ascii_digit()) => id,
            (Some(_), None) => return Err(ApiError::unprocessable("vkontakte_id must be digits")),
            (None, Some(domain)) => domain.trim_start_matches('@').to_owned(),
            (None, None) => {
                return Err(ApiError::unprocessable(
                    "vkontakte_id or vkontakte_domain is required",
                ))
            }
        },
        _ => valid_phone(
            &present("phone").ok_or_else(|| ApiError::unprocessable("phone is required"))?,
        )?,
    };
    Ok(Recipient { provider, handle })
}

/// `79250000001`: digits only (a leading `+` is tolerated), 10 to 15 of them.
fn valid_phone(raw: &str) -> Result<String, ApiError> {
    let digits = raw.trim().trim_start_matches('+');
    if (10..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits.to_owned())
    } else {
        Err(ApiError::unprocessable(
            "phone must be in format 79250000001 (10 to 15 digits)",
        ))
    }
}

/// A Telegram username: 5 to 32 of `A-Z a-z 0-9 _`, a leading `@` dropped.
fn valid_nickname(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim().trim_start_matches('@');
    if (5..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(name.to_owned())
    } else {
        Err(ApiError::unprocessable(
            "nickname must be 5 to 32 letters, digits or underscores",
        ))
    }
}

/// For whatsapp_business: the template's body with the substitutions filled in.
fn template_text(world: &World, company_id: i64, params: &P2Params) -> Result<String, ApiError> {
    let waba_id = params
        .first("waba_id")
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .ok_or_else(|| ApiError::unprocessable("waba_id is required for whatsapp_business"))?;
    let template = templates::for_company(world, company_id)
        .into_iter()
        .find(|t| t.waba_id == waba_id)
        .ok_or_else(|| ApiError::unprocessable(format!("WABA template {waba_id:?} not found")))?;
    let substitutions = params.list("substitutions");
    if substitutions.len() != template.substitutions_count {
        return Err(ApiError::unprocessable(format!(
            "WABA template {waba_id:?} needs {} substitutions, got {}",
            template.substitutions_count,
            substitutions.len()
        )));
    }
    let mut text = template.body.clone();
    for (index, value) in substitutions.iter().enumerate() {
        text = text.replace(&format!("{{{{{}}}}}", index + 1), value);
    }
    Ok(text)
}

/// `POST /api/p2/messages`: writes first to a contact of a provider, in the company's existing
/// conversation with them or a new one (and a new channel when the company has none).
pub async fn write_first(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params = P2Params::from_request(query.as_deref(), &headers, &body)?;
    let company_id = params.company_id()?;
    let mut outgoing = read_outgoing(&params)?;
    let mut world = lock(&shared.world);
    require_company(&world, company_id)?;
    let recipient = read_recipient(&params)?;
    if recipient.provider == "whatsapp_business" {
        outgoing.text = Some(template_text(&world, company_id, &params)?);
    }
    check_outgoing(&world, company_id, &outgoing)?;
    let conversation_id = find_or_add_conversation(&mut world, company_id, &recipient);
    let id = append_outgoing(&shared, &mut world, conversation_id, outgoing, None)
        .ok_or_else(|| ApiError::not_found("Conversation not found"))?;
    render_message(&shared, &world, conversation_id, id, &shared.p2_clock())
}

fn find_or_add_conversation(world: &mut World, company_id: i64, recipient: &Recipient) -> i64 {
    let existing = world.conversations.iter().find(|c| {
        c.company_id == company_id
            && c.channel_type == recipient.provider
            && c.sender_external_id == recipient.handle
    });
    if let Some(conversation) = existing {
        return conversation.id;
    }
    let channel = match world.channel_for(company_id, recipient.provider) {
        Some(channel) => channel.clone(),
        None => {
            let channel = Channel {
                id: world.channels.iter().map(|c| c.id).max().unwrap_or(399) + 1,
                company_id,
                provider: recipient.provider,
            };
            world.channels.push(channel.clone());
            channel
        }
    };
    let id = world.conversations.len() as i64 + 1;
    world.conversations.push(Conversation {
        id,
        company_id,
        name: Some(recipient.handle.clone()),
        channel_id: channel.id,
        hide_channel_id: false,
        channel_type: channel.provider,
        created_at: world.now(),
        time_shape: TimeShape::Iso,
        avatar: "/avatars/original/missing.png".to_owned(),
        sender_external_id: recipient.handle.clone(),
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
