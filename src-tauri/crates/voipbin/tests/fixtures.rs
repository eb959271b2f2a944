//! Parsing tests: every documented JSON example (legacy and current shapes) read through the public models.

use chrono::{TimeZone, Utc};
use parley_voipbin::events::{parse_frame, Action, Event};
use parley_voipbin::{Channel, Conversation, Direction, Message};
use serde_json::Value;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn list<T: serde::de::DeserializeOwned>(name: &str) -> Vec<T> {
    let body: Value = serde_json::from_str(&fixture(name)).unwrap();
    serde_json::from_value(body["result"].clone()).unwrap()
}

fn one<T: serde::de::DeserializeOwned>(name: &str) -> T {
    serde_json::from_str(&fixture(name)).unwrap()
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, micros: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap() + chrono::Duration::microseconds(micros)
}

#[test]
fn legacy_conversations_give_the_unified_view() {
    for conversation in [
        list::<Conversation>("legacy_conversations_list.json").remove(0),
        one("legacy_conversation.json"),
    ] {
        assert_eq!(conversation.id(), "a7bc12b7-f95c-43e6-82a1-38f4b7ff9b3f");
        assert_eq!(conversation.channel(), Channel::Line);
        // The peer's name is the placeholder "Unknown", so its LINE id is the title.
        assert_eq!(conversation.title(), "Ud871bcaf7c3ad13d2a0b0d78a42a287f");
        assert_eq!(conversation.owner(), None);
        assert_eq!(
            conversation.last_activity(),
            Some(at(2022, 6, 17, 6, 6, 14, 446_167))
        );
        assert_eq!(
            conversation.created_at(),
            Some(at(2022, 6, 17, 6, 6, 14, 446_158))
        );
        assert!(!conversation.is_deleted());
        assert_eq!(conversation.participants.len(), 2);
    }
}

#[test]
fn legacy_struct_example_parses() {
    let conversation: Conversation = one("legacy_conversation_struct.json");
    assert!(!conversation.id().is_empty());
    assert!(conversation.last_activity().is_some());
    assert!(!conversation.is_deleted());
}

#[test]
fn current_conversations_give_the_unified_view() {
    let listed = list::<Conversation>("conversations_list.json").remove(0);
    let detail: Conversation = one("conversation.json");
    assert_eq!(listed, detail);
    assert_eq!(detail.channel(), Channel::Line);
    assert_eq!(detail.owner(), Some("eb1ac5c0-ff63-47e2-bcdb-5da9c336eb4b"));
    assert_eq!(detail.title(), "Ud871bcaf7c3ad13d2a0b0d78a42a287f");
    assert_eq!(
        detail.self_address.as_ref().unwrap().display_name(),
        Some("me")
    );

    let sms: Conversation = one("conversation_struct.json");
    assert_eq!(sms.channel(), Channel::Sms);
    assert_eq!(sms.title(), "+673802");
    assert_eq!(sms.owner(), Some("3a4b5c6d-7e8f-9012-3456-789abcdef012"));
}

#[test]
fn assignment_examples_show_owner_and_nil_uuid() {
    let assigned: Conversation = one("conversation_assign.json");
    assert_eq!(
        assigned.owner(),
        Some("eb1ac5c0-ff63-47e2-bcdb-5da9c336eb4b")
    );
    assert_eq!(assigned.last_activity(), Some(at(2026, 4, 30, 9, 0, 0, 0)));
    let unassigned: Conversation = one("conversation_unassign.json");
    assert_eq!(unassigned.owner(), None);
    assert_eq!(unassigned.owner_type.as_deref(), Some(""));
}

#[test]
fn rfc3339_null_and_absent_fields_in_the_current_shape() {
    let conversation: Conversation = serde_json::from_str(
        r#"{"id":"c1","type":"whatsapp","peer":{"type":"tel","target":"+15550001","name":"Ann"},
            "owner_id":"","tm_create":"2026-04-30T10:00:00.000000Z","tm_update":null,
            "tm_delete":null,"participants":null,"brand_new_field":{"x":1}}"#,
    )
    .unwrap();
    assert_eq!(conversation.channel(), Channel::Whatsapp);
    assert_eq!(conversation.title(), "Ann");
    assert_eq!(conversation.owner(), None);
    assert_eq!(
        conversation.last_activity(),
        Some(at(2026, 4, 30, 10, 0, 0, 0))
    );
    assert!(!conversation.is_deleted());

    let bare: Conversation = serde_json::from_str(r#"{"id":"c2"}"#).unwrap();
    assert_eq!(bare.channel(), Channel::Unknown);
    assert_eq!(bare.title(), "c2");
    assert_eq!(bare.last_activity(), None);

    let deleted: Conversation =
        serde_json::from_str(r#"{"id":"c3","tm_delete":"2026-05-01T00:00:00Z"}"#).unwrap();
    assert!(deleted.is_deleted());
}

#[test]
fn legacy_messages_without_direction_use_the_sender_target() {
    let sent: Message = one("legacy_message_send.json");
    assert_eq!(sent.direction(), Direction::Outgoing);
    assert_eq!(
        sent.text(),
        "hi, this is test message. Good to see you. hahaha :)"
    );
    assert_eq!(sent.created_at(), Some(at(2022, 6, 20, 3, 7, 11, 372_307)));
    let listed = list::<Message>("legacy_messages_list.json").remove(0);
    assert_eq!(listed, sent);

    let received: Message = one("legacy_message_struct.json");
    assert_eq!(received.direction(), Direction::Incoming);
    assert_eq!(received.text(), "안녕");

    let inferred: Message =
        serde_json::from_str(r#"{"id":"m","source":{"type":"line","target":"U1"}}"#).unwrap();
    assert_eq!(inferred.direction(), Direction::Incoming);
    let unknown: Message = serde_json::from_str(r#"{"id":"m"}"#).unwrap();
    assert_eq!(unknown.direction(), Direction::Unknown);
    assert_eq!(unknown.text(), "");
}

#[test]
fn current_messages_say_their_direction() {
    let sent: Message = one("message_send.json");
    assert_eq!(sent.direction(), Direction::Outgoing);
    assert_eq!(
        sent.conversation_id.as_deref(),
        Some("a7bc12b7-f95c-43e6-82a1-38f4b7ff9b3f")
    );
    let listed = list::<Message>("messages_list.json").remove(0);
    assert_eq!(listed.direction(), Direction::Outgoing);
    let reply: Message = one("message_send_agent_reply.json");
    assert_eq!(reply.created_at(), Some(at(2026, 4, 30, 9, 5, 0, 0)));
    let incoming: Message = one("message_struct.json");
    assert_eq!(incoming.direction(), Direction::Incoming);
    // The SMS message API says inbound/outbound instead.
    let sms: Message = one("message_api_struct.json");
    assert_eq!(sms.direction(), Direction::Outgoing);
    assert_eq!(sms.text(), "Hello, this is test message.");
}

#[test]
fn wrapped_frames_become_typed_events() {
    let Event::Conversation {
        action,
        conversation,
    } = parse_frame(&fixture("webhook_conversation_created.json")).unwrap()
    else {
        panic!("expected a conversation event");
    };
    assert_eq!(action, Action::Created);
    assert_eq!(conversation.channel(), Channel::Sms);
    assert_eq!(conversation.owner(), None);

    let updated = parse_frame(&fixture("webhook_conversation_updated.json")).unwrap();
    assert!(matches!(
        updated,
        Event::Conversation {
            action: Action::Updated,
            ..
        }
    ));

    let Event::Message { action, message } =
        parse_frame(&fixture("webhook_conversation_message_created.json")).unwrap()
    else {
        panic!("expected a message event");
    };
    assert_eq!(action, Action::Created);
    assert_eq!(message.direction(), Direction::Incoming);
}

#[test]
fn bare_frames_become_the_same_events() {
    let wrapped = parse_frame(&fixture("webhook_conversation_created.json")).unwrap();
    let data: Value = serde_json::from_str(&fixture("webhook_conversation_created.json")).unwrap();
    // A bare conversation carries its own `type` ("message"), which must not look like a wrapper.
    let bare = parse_frame(&data["data"].to_string()).unwrap();
    let Event::Conversation {
        action,
        conversation,
    } = &bare
    else {
        panic!("expected a conversation event");
    };
    assert_eq!(*action, Action::Unknown);
    assert_eq!(conversation.kind.as_deref(), Some("message"));
    assert_eq!(bare.dedup_key(), wrapped.dedup_key());

    let message: Value =
        serde_json::from_str(&fixture("webhook_conversation_message_created.json")).unwrap();
    let bare_message = parse_frame(&message["data"].to_string()).unwrap();
    assert!(matches!(bare_message, Event::Message { .. }));
    assert_eq!(
        bare_message.dedup_key(),
        Some((
            "cc46341b-f00a-452f-b527-19c85d030eaf".to_string(),
            "2022-06-24 04:28:51.558090".to_string()
        ))
    );
}

#[test]
fn other_and_broken_frames() {
    for name in ["ws_call_created.json", "ws_chatmessage_created.json"] {
        let event = parse_frame(&fixture(name)).unwrap();
        assert!(
            matches!(
                event,
                Event::Other {
                    event_type: Some(_)
                }
            ),
            "{name}"
        );
        assert_eq!(event.dedup_key(), None);
    }
    assert!(matches!(
        parse_frame(r#"{"id":"x","status":"ringing"}"#),
        Ok(Event::Other { event_type: None })
    ));
    assert!(parse_frame("not json").is_err());
    assert!(parse_frame("[1,2]").is_err());
    assert!(
        parse_frame(r#"{"type":"conversation_message_created","data":{"text":"no id"}}"#).is_err()
    );
    assert!(
        parse_frame(r#"{"type":"conversation_updated","data":{"id":"c","participants":7}}"#)
            .is_err()
    );
}

#[test]
fn subscribe_frame_names_the_conversation_topic() {
    let frame: Value = serde_json::from_str(
        &parley_voipbin::events::subscribe_conversations_frame("cust-1"),
    )
    .unwrap();
    assert_eq!(frame["type"], "subscribe");
    assert_eq!(frame["topics"][0], "customer_id:cust-1:conversation");
}

#[test]
fn documented_error_envelope_and_login_examples_are_valid_json() {
    let envelope: Value = serde_json::from_str(&fixture("error_envelope.json")).unwrap();
    assert_eq!(envelope["error"]["status"], "PERMISSION_DENIED");
    let login: Value = serde_json::from_str(&fixture("login.json")).unwrap();
    assert!(login["token"].is_string());
}
