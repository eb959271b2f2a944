//! JSON shapes of p1 objects, written the way the docs show them (including the variations:
//! ISO or epoch `created_at`, optional `created_at_timestamp`, nullable `channel_id`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::model::{
    Attachment, Channel, Company, Conversation, EmptyList, EmptyText, Job, JobState, Message,
    TimeShape, World,
};

/// Epoch seconds, or 0 for "never" (as the newer docs write `last_message_at`).
fn epoch_or_zero(at: Option<DateTime<Utc>>) -> i64 {
    at.map_or(0, |t| t.timestamp())
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn insert_created_at(object: &mut Map<String, Value>, at: DateTime<Utc>, shape: TimeShape) {
    match shape {
        TimeShape::Epoch => {
            object.insert("created_at".into(), json!(at.timestamp()));
            object.insert("created_at_timestamp".into(), json!(at.timestamp()));
        }
        TimeShape::Iso => {
            object.insert("created_at".into(), json!(iso(at)));
            object.insert("created_at_timestamp".into(), json!(at.timestamp()));
        }
        TimeShape::IsoOnly => {
            object.insert("created_at".into(), json!(iso(at)));
        }
    }
}

/// A company.
pub fn company(company: &Company) -> Value {
    json!({
        "external_id": company.id,
        "name": company.name,
        "phone": company.phone,
        "description": company.description,
        "webhook_url": Value::Null,
        "hidden": false,
    })
}

/// A channel in the channel list.
pub fn channel(channel: &Channel) -> Value {
    json!({ "external_id": channel.id, "provider": channel.provider })
}

/// A conversation (list and details).
pub fn conversation(conversation: &Conversation) -> Value {
    let mut object = Map::new();
    object.insert("external_id".into(), json!(conversation.id));
    object.insert("name".into(), json!(conversation.name));
    let channel_id = (!conversation.hide_channel_id).then_some(conversation.channel_id);
    object.insert("channel_id".into(), json!(channel_id));
    object.insert("channel_type".into(), json!(conversation.channel_type));
    insert_created_at(
        &mut object,
        conversation.created_at,
        conversation.time_shape,
    );
    object.insert("avatar".into(), json!(conversation.avatar));
    object.insert(
        "sender_external_id".into(),
        json!(conversation.sender_external_id),
    );
    object.insert("meta".into(), json!({}));
    object.insert(
        "last_message_at".into(),
        json!(epoch_or_zero(conversation.last_message_at)),
    );
    object.insert(
        "last_income_message_at".into(),
        json!(epoch_or_zero(conversation.last_income_message_at)),
    );
    object.insert(
        "bitrix_block_openlines".into(),
        json!(conversation.bitrix_block_openlines),
    );
    object.insert("assignee_id".into(), json!(conversation.assignee_id));
    object.insert("note".into(), json!(conversation.note));
    Value::Object(object)
}

/// A message of a conversation; `files_base` is e.g. `http://127.0.0.1:PORT`.
pub fn message(
    world: &World,
    conversation: &Conversation,
    message: &Message,
    files_base: &str,
) -> Value {
    let mut object = Map::new();
    object.insert("external_id".into(), json!(message.id));
    let channel_id = (!conversation.hide_channel_id).then_some(conversation.channel_id);
    object.insert("channel_id".into(), json!(channel_id));
    object.insert("channel_type".into(), json!(conversation.channel_type));
    match (&message.text, message.empty_text) {
        (Some(text), _) => {
            object.insert("message".into(), json!(text));
        }
        (None, EmptyText::Null) => {
            object.insert("message".into(), Value::Null);
        }
        (None, EmptyText::Blank) => {
            object.insert("message".into(), json!(""));
        }
        (None, EmptyText::Absent) => {}
    }
    object.insert("income".into(), json!(message.income));
    insert_created_at(&mut object, message.created_at, message.time_shape);
    insert_attachments(&mut object, world, message, files_base);
    if let Some(ack) = message.ack {
        object.insert("ack".into(), json!(ack));
    }
    if let Some(job_id) = message.job_id {
        object.insert("job_id".into(), json!(job_id));
    }
    Value::Object(object)
}

fn insert_attachments(
    object: &mut Map<String, Value>,
    world: &World,
    message: &Message,
    files_base: &str,
) {
    if message.attachment_ids.is_empty() {
        match message.empty_attachments {
            EmptyList::Array => object.insert("attachments".into(), json!([])),
            EmptyList::Null => object.insert("attachments".into(), Value::Null),
            EmptyList::Absent => None,
        };
        return;
    }
    let list: Vec<Value> = message
        .attachment_ids
        .iter()
        .filter_map(|id| world.attachments.get(id))
        .map(|a| attachment(a, files_base))
        .collect();
    object.insert("attachments".into(), Value::Array(list));
}

/// The absolute URL a stored file is served at.
pub fn file_url(attachment: &Attachment, files_base: &str) -> String {
    format!(
        "{files_base}/files/{}/{}",
        attachment.id,
        encode_path_segment(&attachment.file_name)
    )
}

/// An attachment object (p2's shape, which p1 leaves undocumented).
pub fn attachment(attachment: &Attachment, files_base: &str) -> Value {
    let url = file_url(attachment, files_base);
    let is_image = attachment.mime_type.starts_with("image/");
    let mut object = Map::new();
    object.insert("id".into(), json!(attachment.id));
    object.insert("external_id".into(), json!(attachment.id));
    object.insert("file_name".into(), json!(attachment.file_name));
    object.insert("mime_type".into(), json!(attachment.mime_type));
    object.insert("size".into(), json!(attachment.bytes.len()));
    object.insert("attachment_url".into(), json!(url));
    if is_image {
        object.insert("preview_url".into(), json!(url));
        object.insert("aspect_ratio".into(), json!(1.0));
    }
    object.insert("push_to_talk".into(), json!(attachment.push_to_talk));
    Value::Object(object)
}

/// A delivery job.
pub fn job(job: &Job) -> Value {
    let (state, details) = match job.state {
        JobState::TryingDeliver => ("trying_deliver", Value::Null),
        JobState::Delivered => ("delivered", json!({ "result": "DELIVERED" })),
        JobState::NotDelivered => (
            "failed",
            json!({ "result": "NOT DELIVERED", "reason": "Contact is not present in the messenger" }),
        ),
    };
    json!({
        "id": job.id,
        "company_id": job.company_id,
        "channel": { "id": job.channel_id, "type": job.channel_type },
        "conversation_id": job.conversation_id,
        "state": state,
        "message_id": job.message_id,
        "details": details,
        "created_at": job.created_at.timestamp(),
    })
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode_path_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
