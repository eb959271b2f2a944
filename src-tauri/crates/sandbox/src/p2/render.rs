//! JSON shapes of p2 objects as the v2 docs show them, and the p2 view of a message that is
//! computed rather than stored: its status (moving with time for live sends) and external id.

use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::model::{Attachment, Conversation, Message, World};
use crate::render::file_url;
use crate::seed::mix64;

/// Reason a message refused by the messenger carries in `details`.
pub const FAILED_REASON: &str = "Contact is not present in the messenger";

/// What a live status depends on: now, the time scale and the configured delays.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: Instant,
    pub scale: f64,
    pub delivered_after: Duration,
    pub read_after: Duration,
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Providers whose contacts are phone numbers.
fn has_phones(provider: &str) -> bool {
    matches!(
        provider,
        "whatsapp" | "whatsapp_business" | "viber" | "max" | "telegram_personal"
    )
}

/// The contact's phone, where the provider has phones and the handle is one.
pub fn sender_phone(conversation: &Conversation) -> Option<&str> {
    let handle = conversation.sender_external_id.as_str();
    let is_phone = (10..=15).contains(&handle.len()) && handle.bytes().all(|b| b.is_ascii_digit());
    (has_phones(conversation.channel_type) && is_phone).then_some(handle)
}

/// `sender_name`: the contact's name, or its handle where it has none.
pub fn sender_name(conversation: &Conversation) -> &str {
    conversation
        .name
        .as_deref()
        .unwrap_or(&conversation.sender_external_id)
}

/// A conversation object.
pub fn conversation(conversation: &Conversation, files_base: &str) -> Value {
    let last = conversation.messages.last();
    let avatar = if conversation.avatar.starts_with('/') {
        format!("{files_base}{}", conversation.avatar)
    } else {
        conversation.avatar.clone()
    };
    json!({
        "id": conversation.id,
        "company_id": conversation.company_id,
        "sender_name": sender_name(conversation),
        "sender_phone": sender_phone(conversation),
        "sender_external_id": conversation.sender_external_id,
        "sender_external_public_id": conversation.sender_external_id,
        "provider": conversation.channel_type,
        "avatar_url": avatar,
        "created_at": iso(conversation.created_at),
        "last_updated_at": last.map(|m| iso(m.created_at)),
        "last_message_id": last.map(|m| m.id),
        "operational_state": conversation.operational_state,
        "replied_state": conversation.replied_state(),
        "group": false,
    })
}

/// A message's p2 status and `details`.
pub fn status(message: &Message, clock: &Clock) -> (&'static str, Value) {
    if message.income {
        return ("created", Value::Null);
    }
    let Some(live) = message.p2.live else {
        return ("read", Value::Null);
    };
    let elapsed = clock.now.saturating_duration_since(live.sent_at);
    let elapsed = Duration::from_secs_f64(elapsed.as_secs_f64() * clock.scale);
    if elapsed < clock.delivered_after {
        ("sent", Value::Null)
    } else if live.failed {
        ("error", json!({ "reason": FAILED_REASON }))
    } else if elapsed < clock.read_after {
        ("delivered", Value::Null)
    } else {
        ("read", Value::Null)
    }
}

/// The provider's id of a message: derived from its id, so stable; a live send gets it once
/// delivered.
pub fn external_id(provider: &str, message: &Message, clock: &Clock) -> Option<String> {
    if message.p2.live.is_some() && matches!(status(message, clock).0, "sent" | "error") {
        return None;
    }
    Some(derived_external_id(provider, message.id))
}

fn derived_external_id(provider: &str, id: i64) -> String {
    let high = mix64(id as u64 ^ 0x0E71_D000_0000_0003);
    let low = mix64(high);
    match provider {
        "whatsapp" | "whatsapp_business" => format!("wamid.HBgL{high:016X}{low:08X}"),
        "telegram_personal" | "telegram" | "max" => (high % 1_000_000_000_000).to_string(),
        _ => format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            high >> 32,
            (high >> 16) & 0xffff,
            high & 0xfff,
            0x8000 | (low >> 48) & 0x3fff,
            low & 0xffff_ffff_ffff
        ),
    }
}

/// The message with this external id in the conversation, if any.
pub fn find_by_external_id<'a>(
    conversation: &'a Conversation,
    external: &str,
    clock: &Clock,
) -> Option<&'a Message> {
    conversation
        .messages
        .iter()
        .find(|m| external_id(conversation.channel_type, m, clock).as_deref() == Some(external))
}

/// `contact_id`: one contact per conversation.
pub fn contact_id(conversation: &Conversation) -> i64 {
    1_000_000 + conversation.id
}

/// A message object.
pub fn message(
    world: &World,
    conversation: &Conversation,
    message: &Message,
    files_base: &str,
    clock: &Clock,
) -> Value {
    let (status, details) = status(message, clock);
    let stored_after = ChronoDuration::milliseconds(1 + (mix64(message.id as u64) % 40) as i64);
    let attachments: Vec<Value> = message
        .attachment_ids
        .iter()
        .filter_map(|id| world.attachments.get(id))
        .map(|a| attachment(a, Some(message.id), files_base))
        .collect();
    let mut object = Map::new();
    object.insert("id".into(), json!(message.id));
    object.insert(
        "external_id".into(),
        json!(external_id(conversation.channel_type, message, clock)),
    );
    object.insert("company_id".into(), json!(conversation.company_id));
    object.insert("conversation_id".into(), json!(conversation.id));
    object.insert("contact_id".into(), json!(contact_id(conversation)));
    object.insert("replied_to_id".into(), json!(message.p2.replied_to_id));
    object.insert(
        "created_at".into(),
        json!(iso(message.created_at + stored_after)),
    );
    object.insert("external_created_at".into(), json!(iso(message.created_at)));
    object.insert("income".into(), json!(message.income));
    object.insert("status".into(), json!(status));
    object.insert("message".into(), json!(message.text));
    object.insert("reactions".into(), json!([]));
    object.insert("details".into(), details);
    object.insert("attachments".into(), Value::Array(attachments));
    object.insert("delivery".into(), json!(false));
    object.insert("deleted".into(), json!(message.p2.deleted));
    Value::Object(object)
}

/// Width and height of a PNG, GIF or JPEG, read from its header.
fn image_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let be32 = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some((be32(16)?, be32(20)?));
    }
    if bytes.starts_with(b"GIF8") {
        let le16 = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
        return Some((u32::from(le16(6)?), u32::from(le16(8)?)));
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut at = 2;
        while at + 9 < bytes.len() {
            if bytes[at] != 0xFF {
                return None;
            }
            let marker = bytes[at + 1];
            let length = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
            if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
                let height = u16::from_be_bytes([bytes[at + 5], bytes[at + 6]]);
                let width = u16::from_be_bytes([bytes[at + 7], bytes[at + 8]]);
                return Some((u32::from(width), u32::from(height)));
            }
            at += 2 + length;
        }
    }
    None
}

/// An attachment object; `preview_url` only for images, `aspect_ratio` and `data` from the
/// image's size where it can be read (null and `{}` otherwise).
pub fn attachment(attachment: &Attachment, message_id: Option<i64>, files_base: &str) -> Value {
    let url = file_url(attachment, files_base);
    let is_image = attachment.mime_type.starts_with("image/");
    let size = if is_image {
        image_size(&attachment.bytes).filter(|(w, h)| *w > 0 && *h > 0)
    } else {
        None
    };
    let mut object = Map::new();
    object.insert("id".into(), json!(attachment.id));
    object.insert("message_id".into(), json!(message_id));
    object.insert("file_name".into(), json!(attachment.file_name));
    object.insert("mime_type".into(), json!(attachment.mime_type));
    object.insert("size".into(), json!(attachment.bytes.len()));
    object.insert("attachment_url".into(), json!(url));
    if is_image {
        object.insert("preview_url".into(), json!(url));
    }
    match size {
        Some((width, height)) => {
            let ratio = (f64::from(width) / f64::from(height) * 100.0).round() / 100.0;
            object.insert("aspect_ratio".into(), json!(ratio));
            object.insert("data".into(), json!({ "width": width, "height": height }));
        }
        None => {
            object.insert("aspect_ratio".into(), Value::Null);
            object.insert("data".into(), json!({}));
        }
    }
    object.insert("push_to_talk".into(), json!(attachment.push_to_talk));
    Value::Object(object)
}
