//! Parses every JSON example of the Pact p1 docs (copied verbatim into `tests/fixtures/`) with the
//! matching model, so a model change that breaks a documented shape fails here.

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use parley_pact_p1::{
    Attachment, Company, Conversation, ConversationRef, DeliveryJob, JobOutcome, Message,
    UploadedAttachment,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Removes commas that directly precede `}` or `]` outside strings.
///
/// Some doc examples are not valid JSON (`{"external_id":1,}`): the docs were typed by hand.
/// The fixtures keep them verbatim so they stay comparable with the docs; real servers send
/// valid JSON, so the client itself stays strict and only this test helper forgives them.
fn strip_trailing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let chars: Vec<char> = text.chars().collect();
    for (index, &c) in chars.iter().enumerate() {
        if in_string {
            in_string = c != '"' || escaped;
            escaped = c == '\\' && !escaped;
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let next = chars[index + 1..].iter().find(|n| !n.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture_dir().join(name)).unwrap();
    serde_json::from_str(&strip_trailing_commas(&text)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn data(name: &str) -> Value {
    let envelope = load(name);
    let status = envelope["status"].as_str().unwrap_or_default().to_string();
    assert!(
        ["ok", "updated", "created", ""].contains(&status.as_str()),
        "{name}: status {status}"
    );
    envelope["data"].clone()
}

fn parse<T: DeserializeOwned>(name: &str, value: Value) -> T {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn list<T: DeserializeOwned>(name: &str, key: &str) -> (Vec<T>, Option<String>) {
    let data = data(name);
    let items = parse(name, data[key].clone());
    (items, data["next_page"].as_str().map(str::to_string))
}

fn utc(text: &str) -> Option<DateTime<Utc>> {
    Some(
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc),
    )
}

fn check_companies_list(name: &str) {
    let (companies, next): (Vec<Company>, _) = list(name, "companies");
    assert_eq!(companies[0].external_id, 1);
    assert_eq!(companies[0].name.as_deref(), Some("COMPANY_NAME"));
    assert_eq!(companies[0].webhook_url, None);
    assert_eq!(
        next.as_deref(),
        Some("fslkfg2lkdfmlwkmlmw4of94wg34lfkm34lg")
    );
}

fn check_company_id_ack(name: &str) {
    // Update/create company answer with just the id; no client call wraps them yet.
    assert_eq!(data(name)["external_id"].as_i64(), Some(2));
}

fn check_conversations_list(name: &str) {
    let (conversations, next): (Vec<Conversation>, _) = list(name, "conversations");
    let first = &conversations[0];
    assert_eq!(first.external_id, 1);
    assert_eq!(first.name.as_deref(), Some("Friend"));
    assert_eq!(first.channel_id, Some(1));
    assert_eq!(first.channel_type.as_deref(), Some("whatsapp"));
    assert_eq!(first.created_at, utc("2017-04-25T18:30:23.076Z"));
    assert_eq!(first.sender_external_id.as_deref(), Some("79260000001"));
    assert!(first.meta.as_ref().is_some_and(Value::is_object));
    if name == "conversations_list_seed000.json" {
        assert_eq!(next, None);
    } else {
        assert!(next.is_some());
    }
}

fn check_conversation(name: &str) {
    let conversation: Conversation = parse(name, data(name)["conversation"].clone());
    assert_eq!(conversation.external_id, 1);
    assert_eq!(conversation.name.as_deref(), Some("79250000001"));
    assert_eq!(conversation.created_at, utc("2017-11-11T10:17:10.655Z"));
    assert_eq!(conversation.last_activity_at(), conversation.created_at);
    if name == "conversation.json" {
        assert_eq!(
            conversation.created_at_timestamp,
            utc("2020-10-19T15:00:00Z")
        );
    }
}

fn check_note(name: &str) {
    assert_eq!(load(name), serde_json::json!({"status": "updated"}));
}

fn check_assign(name: &str) {
    let reference: ConversationRef = parse(name, data(name)["conversation"].clone());
    assert_eq!(reference.external_id, 1);
    assert!(!reference.has_details());
}

fn check_toggle(name: &str) {
    let conversation: Conversation = parse(name, data(name)["conversation"].clone());
    assert_eq!(conversation.external_id, 91);
    assert_eq!(conversation.channel_id, None);
    assert_eq!(conversation.bitrix_block_openlines, Some(true));
    assert_eq!(conversation.last_message_at, utc("2021-12-09T06:08:50Z"));
    assert_eq!(conversation.last_income_message_at, None, "0 means never");
    assert_eq!(
        conversation.last_activity_at(),
        conversation.last_message_at
    );
}

fn check_upload_in_conversation_wrapper(name: &str) {
    let uploaded: UploadedAttachment = parse(name, data(name)["conversation"].clone());
    assert_eq!(uploaded.external_id, 1);
}

fn check_upload(name: &str) {
    let uploaded: UploadedAttachment = parse(name, data(name));
    assert_eq!(uploaded.external_id, 1);
}

fn check_messages_list(name: &str) {
    let (messages, next): (Vec<Message>, _) = list(name, "messages");
    let first = &messages[0];
    assert_eq!(first.external_id, 47098);
    assert_eq!(first.channel_id, Some(381));
    assert_eq!(first.message.as_deref(), Some("Hello"));
    assert_eq!(first.income, Some(false));
    assert_eq!(first.created_at(), utc("2017-09-17T12:44:28Z"));
    assert!(first.attachments.is_empty());
    assert_eq!(next.is_some(), name != "messages_list_seed003.json");
}

fn check_send(name: &str) {
    let job: DeliveryJob = parse(name, data(name));
    assert_eq!(job.id, 18);
    assert_eq!(job.channel.as_ref().map(|c| c.id), Some(399));
    assert_eq!(
        job.channel.as_ref().and_then(|c| c.r#type.as_deref()),
        Some("whatsapp")
    );
    assert_eq!(job.conversation_id, Some(8741));
    assert_eq!(job.created_at, utc("2017-11-11T10:27:37Z"));
    assert_eq!(job.outcome(), JobOutcome::Pending);
}

fn check_job(name: &str) {
    let job: DeliveryJob = parse(name, data(name));
    assert_eq!(
        job.outcome(),
        JobOutcome::Delivered {
            message_id: Some(1)
        }
    );
}

fn check_write_first(name: &str) {
    let job: DeliveryJob = parse(name, data(name));
    assert_eq!(job.id, 17);
    assert_eq!(job.conversation_id, None);
    assert_eq!(job.outcome(), JobOutcome::Pending);
}

fn check_service_message(name: &str) {
    let job: DeliveryJob = parse(name, data(name));
    assert_eq!((job.id, job.company_id), (42, Some(154)));
}

fn check_webhook_conversation(name: &str) {
    let conversation: Conversation = parse(name, load(name)["data"].clone());
    assert_eq!(conversation.created_at, utc("2017-11-11T12:45:53Z"));
    assert_eq!(conversation.last_message_at, None);
    assert!(conversation.avatar_url.is_some());
}

fn check_webhook_message(name: &str) {
    let message: Message = parse(name, load(name)["data"].clone());
    assert_eq!(message.conversation_id, Some(1));
    assert_eq!((message.ack, message.job_id), (Some(1), Some(1)));
    assert!(message.is_incoming());
    assert_eq!(message.created_at(), utc("2017-11-11T12:45:53Z"));
}

fn check_webhook_job(name: &str) {
    let job: DeliveryJob = parse(name, load(name)["data"].clone());
    assert_eq!(
        job.outcome(),
        JobOutcome::Delivered {
            message_id: Some(1)
        }
    );
}

fn check_p2_attachment(name: &str) {
    let attachment: Attachment = parse(name, load(name)["attachment"].clone());
    assert_eq!(attachment.id, Some(53439177));
    assert_eq!(attachment.size, Some(812089));
    assert_eq!(attachment.aspect_ratio, Some(0.8));
    assert_eq!(attachment.push_to_talk, None);
}

type Check = fn(&str);

const FIXTURES: &[(&str, Check)] = &[
    ("companies_list.json", check_companies_list),
    ("companies_update.json", check_company_id_ack),
    ("companies_create.json", check_company_id_ack),
    ("conversations_list.json", check_conversations_list),
    ("conversations_list_seed000.json", check_conversations_list),
    ("conversations_list_php_sdk.json", check_conversations_list),
    ("conversation.json", check_conversation),
    ("conversation_seed000.json", check_conversation),
    ("conversation_note.json", check_note),
    ("conversation_assign.json", check_assign),
    ("conversation_toggle_bitrix.json", check_toggle),
    (
        "attachment_upload_conversations_doc.json",
        check_upload_in_conversation_wrapper,
    ),
    ("messages_list.json", check_messages_list),
    ("messages_list_seed003.json", check_messages_list),
    ("messages_list_php_sdk.json", check_messages_list),
    ("message_send.json", check_send),
    ("attachment_upload.json", check_upload),
    ("job.json", check_job),
    ("job_write_first_whatsapp.json", check_write_first),
    ("service_message_send.json", check_service_message),
    ("webhook_conversation_new.json", check_webhook_conversation),
    (
        "webhook_conversation_update.json",
        check_webhook_conversation,
    ),
    ("webhook_message_new.json", check_webhook_message),
    ("webhook_job_executed.json", check_webhook_job),
    ("p2_attachment_object.json", check_p2_attachment),
];

#[test]
fn every_fixture_parses_with_its_model() {
    for (name, check) in FIXTURES {
        check(name);
    }
}

#[test]
fn every_fixture_file_is_checked() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    let checked: BTreeSet<String> = FIXTURES.iter().map(|(name, _)| name.to_string()).collect();
    assert_eq!(on_disk, checked);
}

#[test]
fn models_round_trip_through_serde() {
    let conversation: Conversation = parse(
        "t",
        data("conversation_toggle_bitrix.json")["conversation"].clone(),
    );
    let again: Conversation =
        serde_json::from_value(serde_json::to_value(&conversation).unwrap()).unwrap();
    assert_eq!(again, conversation);
    let (messages, _): (Vec<Message>, _) = list("messages_list.json", "messages");
    let again: Message =
        serde_json::from_value(serde_json::to_value(&messages[0]).unwrap()).unwrap();
    assert_eq!(again, messages[0]);
}

#[test]
fn trailing_comma_helper_leaves_strings_alone() {
    assert_eq!(strip_trailing_commas(r#"{"a":1,}"#), r#"{"a":1}"#);
    assert_eq!(strip_trailing_commas("[1, 2 ,\n ]"), "[1, 2 \n ]");
    assert_eq!(strip_trailing_commas(r#"{"a":",}"}"#), r#"{"a":",}"}"#);
    assert_eq!(strip_trailing_commas(r#"{"a":"\",}"}"#), r#"{"a":"\",}"}"#);
}
