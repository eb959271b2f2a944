//! Parses every JSON example of the Pact p2 docs (copied verbatim into `tests/fixtures/`, see
//! `SOURCES.md`) with the matching model, plus the shape variations real servers and older doc
//! revisions produce, so a model change that breaks a known shape fails here.

use chrono::{DateTime, Utc};
use parley_pact_p2::{Attachment, Conversation, ErrorItem, Message, WabaTemplate};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

fn load(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn parse<T: DeserializeOwned>(value: &Value) -> T {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"))
}

fn utc(text: &str) -> Option<DateTime<Utc>> {
    Some(
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc),
    )
}

fn check_documented_conversation(conversation: &Conversation) {
    assert_eq!(conversation.id, 18642847);
    assert_eq!(conversation.company_id, Some(52204));
    assert_eq!(conversation.sender_name.as_deref(), Some("79517591813"));
    assert_eq!(conversation.sender_phone.as_deref(), Some("79517591813"));
    assert_eq!(
        conversation.sender_external_public_id.as_deref(),
        Some("79517591813")
    );
    assert_eq!(conversation.provider.as_deref(), Some("whatsapp"));
    assert_eq!(conversation.created_at, utc("2024-11-11T12:35:57.995Z"));
    assert_eq!(
        conversation.last_updated_at,
        utc("2024-11-21T08:37:36.000Z")
    );
    assert_eq!(conversation.last_message_id, Some(14056));
    assert_eq!(conversation.operational_state.as_deref(), Some("open"));
    assert_eq!(conversation.replied_state.as_deref(), Some("replied"));
    assert_eq!(conversation.group, Some(false));
    assert_eq!(conversation.assignee_id, None);
}

#[test]
fn documented_conversations() {
    let list = load("conversations_list.json");
    let items: Vec<Conversation> = parse(&list["conversations"]);
    assert_eq!(items.len(), 1);
    check_documented_conversation(&items[0]);
    assert_eq!(list["meta"]["per_page"], 25);
    check_documented_conversation(&parse(&load("conversation_get.json")["conversation"]));
    check_documented_conversation(&parse(&load("conversation_object.json")["conversation"]));
    let updated: Conversation = parse(&load("conversation_update.json")["conversation"]);
    assert_eq!(updated.id, 3);
    assert_eq!(updated.sender_name.as_deref(), Some("Иван"));
    assert_eq!(updated.sender_phone, None);
    assert_eq!(updated.provider.as_deref(), Some("telegram_personal"));
    assert_eq!(updated.operational_state.as_deref(), Some("archived"));
    assert_eq!(updated.replied_state.as_deref(), Some("unreplied"));
}

#[test]
fn documented_messages() {
    let list = load("messages_list.json");
    let items: Vec<Message> = parse(&list["messages"]);
    let voice = &items[0];
    assert_eq!(voice.id, 13224);
    assert_eq!(
        voice.external_id.as_deref(),
        Some("b91c9b99-7c24-40a7-8b52-1d80b5b3e158")
    );
    assert_eq!(voice.conversation_id, Some(18642850));
    assert_eq!(voice.contact_id, Some(549645235));
    assert!(!voice.income && !voice.deleted);
    assert_eq!(voice.status.as_deref(), Some("read"));
    assert_eq!(voice.message, None);
    assert_eq!(voice.details, None);
    assert_eq!(voice.time(), utc("2024-11-12T06:28:10.000Z"));
    assert_eq!(voice.attachments.len(), 1);
    let ogg = &voice.attachments[0];
    assert_eq!(ogg.id, Some(53431944));
    assert_eq!(ogg.message_id, Some(13224));
    assert_eq!(ogg.mime_type.as_deref(), Some("audio/ogg"));
    assert_eq!(ogg.size, Some(39185));
    assert_eq!(ogg.push_to_talk, Some(true));
    assert_eq!(ogg.preview_url, None);

    let sent: Message = parse(&load("message_send.json")["message"]);
    assert_eq!(sent.id, 123);
    assert_eq!(sent.external_id, None);
    assert_eq!(
        sent.replied_to_id.as_deref(),
        Some("AC36714A437FAE372F0CC3CC21330F336")
    );
    assert_eq!(sent.message.as_deref(), Some("Hello World!"));
    assert_eq!(sent.delivery, Some(false));
    assert!(!sent.deleted);
    assert_eq!(sent.attachments[0].aspect_ratio, None);
    assert_eq!(sent.attachments[0].id, Some(315200264));
    assert_eq!(sent.error_reason(), None);

    let got: Message = parse(&load("message_get.json")["message"]);
    assert_eq!(got.id, 1134326991);
    assert_eq!(got.external_id.as_deref(), Some("34577"));
    assert!(got.income);
    assert_eq!(got.status.as_deref(), Some("created"));
    assert_eq!(got.message.as_deref(), Some(""));
    assert!(got.attachments.is_empty());
    assert_eq!(got.time(), utc("2025-02-05T09:01:47Z"));

    let object: Message = parse(&load("message_object.json")["message"]);
    assert_eq!(object.id, got.id);
    assert_eq!(object.delivery, Some(false));

    let first: Message = parse(&load("write_first.json")["message"]);
    assert_eq!(first.id, 239);
    assert_eq!(first.conversation_id, Some(18642824));
    assert_eq!(first.status.as_deref(), Some("sent"));
    let image = &first.attachments[0];
    assert_eq!(image.aspect_ratio, Some(0.46));
    assert_eq!(image.file_name.as_deref(), Some("5287346531311154701.png"));
}

#[test]
fn documented_attachments() {
    for name in ["attachment_upload.json", "attachment_object.json"] {
        let attachment: Attachment = parse(&load(name)["attachment"]);
        assert_eq!(attachment.id, Some(53439177), "{name}");
        assert_eq!(attachment.message_id, None);
        assert_eq!(attachment.file_name.as_deref(), Some("1.jpg"));
        assert_eq!(attachment.mime_type.as_deref(), Some("image/jpg"));
        assert_eq!(attachment.size, Some(812089));
        assert_eq!(attachment.aspect_ratio, Some(0.8));
        assert_eq!(attachment.push_to_talk, None);
    }
}

#[test]
fn documented_waba_templates() {
    let list = load("waba_templates_list.json");
    let templates: Vec<WabaTemplate> = parse(&list["waba_templates"]);
    assert_eq!(templates.len(), 2);
    assert_eq!(templates[0].id, 1);
    assert_eq!(templates[0].waba_id.as_deref(), Some("cjw8av3d2l"));
    assert_eq!(templates[0].substitutions_count, Some(0));
    assert_eq!(templates[0].namespace, None);
    assert_eq!(templates[1].substitutions_count, Some(2));
    assert_eq!(templates[1].position, Some(2));
    assert_eq!(templates[1].created_at, utc("2025-05-21T02:13:08.232Z"));
    let object: WabaTemplate = parse(&load("waba_template_object.json")["waba_template"]);
    assert_eq!(object, templates[1]);
}

#[test]
fn documented_errors_and_meta() {
    let unauthorized: Vec<ErrorItem> = parse(&load("error_unauthorized.json")["errors"]);
    assert_eq!(unauthorized[0].status, Some(401));
    assert_eq!(unauthorized[0].detail.as_deref(), Some("No token provided"));
    let limited: Vec<ErrorItem> = parse(&load("error_rate_limited.json")["errors"]);
    assert_eq!(limited[0].code.as_deref(), Some("too_many_requests"));
    assert_eq!(
        limited[0].detail.as_deref(),
        Some("Please wait for 50 seconds")
    );
    for name in ["pagination_example.json", "pagination_meta.json"] {
        let meta = &load(name)["meta"];
        assert_eq!(meta["entries_count"], 4, "{name}");
        assert_eq!(meta["per_page"], 25, "{name}");
    }
}

#[test]
fn conversation_shape_variations() {
    let drifted: Conversation = parse(&json!({
        "id": "18642847",
        "company_id": "52204",
        "sender_name": null,
        "sender_phone": 79517591813_i64,
        "created_at": 1731328557,
        "last_updated_at": "2024-11-21T11:37:36+03:00",
        "last_message_id": null,
        "group": "true",
        "assignee_id": "42",
        "labels": ["vip"],
        "new_field": {"nested": true}
    }));
    assert_eq!(drifted.id, 18642847);
    assert_eq!(drifted.company_id, Some(52204));
    assert_eq!(drifted.sender_name, None);
    assert_eq!(drifted.sender_phone.as_deref(), Some("79517591813"));
    assert_eq!(drifted.created_at, utc("2024-11-11T12:35:57Z"));
    assert_eq!(drifted.last_updated_at, utc("2024-11-21T08:37:36Z"));
    assert_eq!(drifted.group, Some(true));
    assert_eq!(drifted.assignee_id, Some(42));
    let bare: Conversation = parse(&json!({"id": 1}));
    assert_eq!(
        bare,
        Conversation {
            id: 1,
            ..Conversation::default()
        }
    );
    let group: Conversation =
        parse(&json!({"id": 1, "group": 1, "created_at": "2024-11-11 12:35:57"}));
    assert_eq!(group.group, Some(true));
    assert_eq!(group.created_at, utc("2024-11-11T12:35:57Z"));
    assert!(serde_json::from_value::<Conversation>(json!({"sender_name": "x"})).is_err());
}

#[test]
fn message_shape_variations() {
    let drifted: Message = parse(&json!({
        "id": "5",
        "external_id": 34577,
        "income": "true",
        "deleted": 1,
        "delivery": "0",
        "created_at": 1738746108514_i64,
        "external_created_at": null,
        "attachments": null,
        "reactions": null,
        "status": "error",
        "details": {"reason": "Recipient is not on WhatsApp", "code": 1}
    }));
    assert_eq!(drifted.id, 5);
    assert_eq!(drifted.external_id.as_deref(), Some("34577"));
    assert!(drifted.income && drifted.deleted);
    assert_eq!(drifted.delivery, Some(false));
    assert_eq!(drifted.created_at, utc("2025-02-05T09:01:48.514Z"));
    assert_eq!(drifted.time(), drifted.created_at);
    assert!(drifted.attachments.is_empty());
    assert_eq!(
        drifted.error_reason().as_deref(),
        Some("Recipient is not on WhatsApp")
    );
    let absent: Message = parse(&json!({"id": 6}));
    assert!(!absent.income && !absent.deleted && absent.attachments.is_empty());
    let nulls: Message = parse(&json!({"id": 7, "income": null, "deleted": null, "details": {}}));
    assert!(!nulls.income && !nulls.deleted);
    assert_eq!(nulls.details, Some(json!({})));
    assert_eq!(nulls.error_reason(), None);
    let attachment_data: Message = parse(&json!({
        "id": 8,
        "attachments": [{"id": "9", "size": "100", "aspect_ratio": "0.5", "push_to_talk": "false", "data": {}}]
    }));
    let attachment = &attachment_data.attachments[0];
    assert_eq!(attachment.id, Some(9));
    assert_eq!(attachment.size, Some(100));
    assert_eq!(attachment.aspect_ratio, Some(0.5));
    assert_eq!(attachment.push_to_talk, Some(false));
}

#[test]
fn waba_template_shape_variations() {
    let drifted: WabaTemplate = parse(&json!({
        "id": "2",
        "substitutions_count": "2",
        "company_id": null,
        "created_at": "2025-05-21T02:13:08Z",
        "position": "3",
        "components": []
    }));
    assert_eq!(drifted.id, 2);
    assert_eq!(drifted.substitutions_count, Some(2));
    assert_eq!(drifted.position, Some(3));
    assert_eq!(drifted.created_at, utc("2025-05-21T02:13:08Z"));
    let negative: WabaTemplate = parse(&json!({"id": 1, "substitutions_count": -1}));
    assert_eq!(negative.substitutions_count, None);
}
