//! Pact p2 (`/api/p2/`): documented shapes, paging and clamping, the shared world with p1,
//! conversation updates, deletes, writing first, attachments, live statuses, WABA templates,
//! faults and the documented per-token rate limits.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use parley_sandbox::{FaultConfig, FaultKind, SandboxConfig};
use serde_json::{json, Value};

use crate::harness::{FileServer, Harness, Served};

/// A sandbox whose p2 limits are off, so tests can make as many requests as they like.
async fn unlimited() -> Harness {
    Harness::start(SandboxConfig {
        p2_limit_scale: None,
        ..SandboxConfig::default()
    })
    .await
}

fn p2_url(harness: &Harness, path: &str) -> String {
    format!("{}{}", harness.sandbox.pact_p2_base_url(), path)
}

fn request(harness: &Harness, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    harness
        .http
        .request(method, p2_url(harness, path))
        .header("X-Private-Api-Token", harness.sandbox.token())
}

/// A p2 call with a JSON body (as the docs' curl examples send, GET included); answers
/// (status, body).
async fn call(harness: &Harness, method: &str, path: &str, body: Value) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let response = request(harness, method, path)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, body)
}

async fn ok(harness: &Harness, method: &str, path: &str, body: Value) -> Value {
    let (status, answer) = call(harness, method, path, body.clone()).await;
    assert_eq!(status, 200, "{method} {path} {body}: {answer}");
    answer
}

fn keys(object: &Value) -> BTreeSet<String> {
    object.as_object().unwrap().keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn error_of(body: &Value) -> (u64, String, String) {
    let error = &body["errors"][0];
    assert_eq!(
        keys(error),
        set(&["status", "code", "title", "detail"]),
        "{body}"
    );
    (
        error["status"].as_u64().unwrap(),
        error["code"].as_str().unwrap().to_owned(),
        error["detail"].as_str().unwrap().to_owned(),
    )
}

const CONVERSATION_KEYS: &[&str] = &[
    "id",
    "company_id",
    "sender_name",
    "sender_phone",
    "sender_external_id",
    "sender_external_public_id",
    "provider",
    "avatar_url",
    "created_at",
    "last_updated_at",
    "last_message_id",
    "operational_state",
    "replied_state",
    "group",
];

const MESSAGE_KEYS: &[&str] = &[
    "id",
    "external_id",
    "company_id",
    "conversation_id",
    "contact_id",
    "replied_to_id",
    "created_at",
    "external_created_at",
    "income",
    "status",
    "message",
    "reactions",
    "details",
    "attachments",
    "delivery",
    "deleted",
];

async fn all_conversations(harness: &Harness, company_id: i64) -> Vec<Value> {
    let body = ok(
        harness,
        "GET",
        "conversations",
        json!({"company_id": company_id, "per_page": 100}),
    )
    .await;
    body["conversations"].as_array().unwrap().clone()
}

async fn p2_messages(harness: &Harness, company_id: i64, conversation_id: i64) -> Vec<Value> {
    let body = ok(
        harness,
        "GET",
        &format!("conversations/{conversation_id}/messages"),
        json!({"company_id": company_id}),
    )
    .await;
    body["messages"].as_array().unwrap().clone()
}

/// A company-1 conversation of one of these providers.
fn conversation_with(harness: &Harness, providers: &[&str]) -> i64 {
    harness
        .sandbox
        .conversations()
        .into_iter()
        .find(|c| c.company_id == 1 && providers.contains(&c.channel_type.as_str()))
        .map(|c| c.id)
        .expect("seed has such a conversation")
}

#[tokio::test]
async fn p2_tokens_and_error_shapes() {
    let harness = unlimited().await;
    let url = p2_url(&harness, "conversations?company_id=1");
    let missing = harness.http.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({"errors":[{"status":401,"code":"unauthorized","title":"Unauthorized","detail":"No token provided"}]})
    );
    let wrong = harness
        .http
        .get(&url)
        .header("X-Private-Api-Token", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        error_of(&wrong.json().await.unwrap()).2,
        "Invalid token".to_owned()
    );
    let token = harness.sandbox.token();
    let by_query = harness
        .http
        .get(format!("{url}&private_api_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), 200);
    // The docs' curl: a JSON body with the token and parameters, even on GET.
    let by_body = harness
        .http
        .get(p2_url(&harness, "conversations"))
        .json(&json!({"private_api_token": token, "company_id": 1, "page": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_body.status(), 200);
    let by_form = harness
        .http
        .put(p2_url(&harness, "conversations/1"))
        .form(&[("private_api_token", token.as_str()), ("company_id", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(by_form.status(), 200);

    for (path, body, status, code) in [
        ("conversations", json!({}), 400, "bad_request"),
        (
            "conversations",
            json!({"company_id": "abc"}),
            400,
            "bad_request",
        ),
        (
            "conversations",
            json!({"company_id": 1, "page": "x"}),
            400,
            "bad_request",
        ),
        (
            "conversations",
            json!({"company_id": 999}),
            404,
            "not_found",
        ),
        (
            "conversations/2",
            json!({"company_id": 1}),
            404,
            "not_found",
        ),
        (
            "conversations/999999",
            json!({"company_id": 1}),
            404,
            "not_found",
        ),
        (
            "conversations/1/messages/1",
            json!({"company_id": 1}),
            404,
            "not_found",
        ),
        ("conversations/1/messages", json!({}), 400, "bad_request"),
    ] {
        let (got, answer) = call(&harness, "GET", path, body.clone()).await;
        assert_eq!(got, status, "{path} {body}: {answer}");
        let (error_status, error_code, _) = error_of(&answer);
        assert_eq!((error_status, error_code.as_str()), (status as u64, code));
    }
    let stats = harness.sandbox.stats();
    assert_eq!(stats.unauthorized, 2);
    assert!(stats.p2_requests >= 13);
    assert!(stats.per_route["GET /api/p2/conversations"] >= 6);
    assert_eq!(stats.requests, 0, "p1 counters untouched");
}

#[tokio::test]
async fn p2_conversations_have_the_documented_shape_and_newest_activity_first() {
    let harness = unlimited().await;
    let conversations = all_conversations(&harness, 1).await;
    assert_eq!(conversations.len(), 10);
    let snapshots = harness.sandbox.conversations();
    for conversation in &conversations {
        assert_eq!(keys(conversation), set(CONVERSATION_KEYS), "{conversation}");
        assert_eq!(conversation["company_id"], 1);
        assert_eq!(conversation["group"], false);
        assert!(conversation["avatar_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"));
        let id = conversation["id"].as_i64().unwrap();
        let snapshot = snapshots.iter().find(|c| c.id == id).unwrap();
        assert_eq!(conversation["provider"], snapshot.channel_type.as_str());
        assert_eq!(
            conversation["operational_state"],
            snapshot.operational_state.as_str()
        );
        assert_eq!(
            conversation["replied_state"],
            snapshot.replied_state.as_str()
        );
        let messages = harness.sandbox.messages(id);
        let last = messages.last().unwrap();
        assert_eq!(conversation["last_message_id"], last.id);
        let expected_state = if last.income { "unreplied" } else { "replied" };
        assert_eq!(conversation["replied_state"], expected_state);
        if snapshot.channel_type == "telegram_personal" {
            assert!(conversation["sender_phone"].is_null(), "{conversation}");
        }
    }
    let every: Vec<Value> = [
        all_conversations(&harness, 1).await,
        all_conversations(&harness, 2).await,
    ]
    .concat();
    assert!(
        every.iter().any(|c| c["operational_state"] == "archived"),
        "a few are seeded archived"
    );
    let times: Vec<String> = conversations
        .iter()
        .map(|c| c["last_updated_at"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest activity first");

    // A customer writes in the quietest conversation: it moves to the top of page 1.
    let quietest = conversations.last().unwrap()["id"].as_i64().unwrap();
    let message_id = harness.sandbox.push_incoming_message(quietest, "есть кто?");
    let page = ok(
        &harness,
        "GET",
        "conversations",
        json!({"company_id": 1, "per_page": 3}),
    )
    .await;
    let top = &page["conversations"][0];
    assert_eq!(top["id"], quietest);
    assert_eq!(top["last_message_id"], message_id);
    assert_eq!(top["replied_state"], "unreplied");
    assert_eq!(
        page["meta"],
        json!({"page": 1, "entries_count": 3, "per_page": 3})
    );

    let single = ok(
        &harness,
        "GET",
        &format!("conversations/{quietest}"),
        json!({"company_id": 1}),
    )
    .await;
    assert_eq!(&single["conversation"], top);
}

#[tokio::test]
async fn p2_search_matches_phone_name_and_public_id() {
    let harness = unlimited().await;
    let conversations = all_conversations(&harness, 1).await;
    let with_phone = conversations
        .iter()
        .find(|c| c["sender_phone"].is_string())
        .expect("a whatsapp conversation");
    let phone = with_phone["sender_phone"].as_str().unwrap();
    for search in [format!("+{phone}"), phone[3..9].to_owned()] {
        let found = ok(
            &harness,
            "GET",
            "conversations",
            json!({"company_id": 1, "search_string": search}),
        )
        .await;
        let ids: Vec<&Value> = found["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["id"])
            .collect();
        assert!(ids.contains(&&with_phone["id"]), "{search}: {found}");
    }
    let public = conversations
        .iter()
        .find(|c| c["provider"] == "telegram_personal")
        .map(|c| c["sender_external_public_id"].as_str().unwrap().to_owned());
    if let Some(public) = public {
        let found = ok(
            &harness,
            "GET",
            "conversations",
            json!({"company_id": 1, "search_string": format!("@{}", public.to_uppercase())}),
        )
        .await;
        assert!(!found["conversations"].as_array().unwrap().is_empty());
    }
    let none = ok(
        &harness,
        "GET",
        "conversations",
        json!({"company_id": 1, "search_string": "no such contact anywhere"}),
    )
    .await;
    assert_eq!(none["meta"]["entries_count"], 0);
}

#[tokio::test]
async fn p2_paging_walks_and_clamps() {
    let harness = Harness::start(SandboxConfig {
        conversations: 4,
        messages_per_conversation: 160,
        p2_limit_scale: None,
        ..SandboxConfig::default()
    })
    .await;
    let everything = ok(
        &harness,
        "GET",
        "conversations/1/messages",
        json!({"company_id": 1, "per_page": 500}),
    )
    .await;
    assert_eq!(
        everything["meta"],
        json!({"page": 1, "entries_count": 150, "per_page": 150})
    );
    let default = ok(
        &harness,
        "GET",
        "conversations/1/messages?company_id=1&page=2",
        json!({}),
    )
    .await;
    assert_eq!(
        default["meta"],
        json!({"page": 2, "entries_count": 10, "per_page": 150})
    );
    let beyond = ok(
        &harness,
        "GET",
        "conversations/1/messages",
        json!({"company_id": 1, "page": 3}),
    )
    .await;
    assert_eq!(beyond["messages"], json!([]));
    assert_eq!(beyond["meta"]["entries_count"], 0);
    let zero = ok(
        &harness,
        "GET",
        "conversations/1/messages",
        json!({"company_id": 1, "per_page": 0}),
    )
    .await;
    assert_eq!(zero["meta"]["per_page"], 1);

    // Walk small pages: ascending by (external_created_at, id), no gaps, same as the snapshot.
    let mut walked = Vec::new();
    for page in 1.. {
        let body = ok(
            &harness,
            "GET",
            "conversations/1/messages",
            json!({"company_id": 1, "page": page, "per_page": 7}),
        )
        .await;
        let messages = body["messages"].as_array().unwrap().clone();
        walked.extend(messages.iter().cloned());
        if messages.len() < 7 {
            break;
        }
    }
    let ids: Vec<i64> = walked.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    let stored: Vec<i64> = harness.sandbox.messages(1).iter().map(|m| m.id).collect();
    assert_eq!(ids, stored);
    let times: Vec<&str> = walked
        .iter()
        .map(|m| m["external_created_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "ascending");

    let conversations = ok(
        &harness,
        "GET",
        "conversations",
        json!({"company_id": 1, "per_page": 500}),
    )
    .await;
    assert_eq!(conversations["meta"]["per_page"], 100);
    assert_eq!(conversations["meta"]["entries_count"], 2);
}

#[tokio::test]
async fn p2_messages_have_the_documented_shape_and_match_p1() {
    let harness = unlimited().await;
    for conversation in harness.sandbox.conversations() {
        let (company, id) = (conversation.company_id, conversation.id);
        let p2 = p2_messages(&harness, company, id).await;
        let p1 = harness
            .collect_pages(
                &format!("companies/{company}/conversations/{id}/messages"),
                "messages",
                "per=100",
            )
            .await;
        assert_eq!(p2.len(), p1.len());
        for (p2, p1) in p2.iter().zip(&p1) {
            assert_eq!(keys(p2), set(MESSAGE_KEYS), "{p2}");
            assert_eq!(p2["id"], p1["external_id"]);
            assert_eq!(p2["income"], p1["income"]);
            assert_eq!(p2["conversation_id"], id);
            assert_eq!(p2["company_id"], company);
            assert_eq!(p2["reactions"], json!([]));
            assert_eq!(p2["delivery"], false);
            assert_eq!(p2["deleted"], false);
            assert!(p2["details"].is_null());
            assert!(p2["external_id"].is_string());
            let status = if p2["income"] == true {
                "created"
            } else {
                "read"
            };
            assert_eq!(p2["status"], status);
            if let Some(iso) = p1["created_at"].as_str() {
                assert_eq!(p2["external_created_at"], iso, "same instant as p1");
            } else {
                let epoch = p1["created_at"].as_i64().unwrap();
                let at = chrono::DateTime::parse_from_rfc3339(
                    p2["external_created_at"].as_str().unwrap(),
                )
                .unwrap();
                assert_eq!(at.timestamp(), epoch);
            }
            assert!(
                p2["created_at"].as_str().unwrap() > p2["external_created_at"].as_str().unwrap()
            );
            match p1["message"].as_str() {
                Some(text) if !text.is_empty() => assert_eq!(p2["message"], text),
                _ => assert!(p2["message"].is_null() || p2["message"] == ""),
            }
            let attachments = p2["attachments"].as_array().unwrap();
            for attachment in attachments {
                assert_eq!(attachment["message_id"], p2["id"]);
                assert!(attachment["attachment_url"]
                    .as_str()
                    .unwrap()
                    .starts_with("http://127.0.0.1:"));
                assert!(attachment["push_to_talk"].is_boolean());
                assert!(attachment["data"].is_object());
            }
        }
    }
    let one = ok(
        &harness,
        "GET",
        "conversations/1/messages/100000",
        json!({"company_id": 1}),
    )
    .await;
    assert_eq!(one["message"], p2_messages(&harness, 1, 1).await[0]);
}

#[tokio::test]
async fn p2_sends_are_seen_by_p1_and_p1_sends_by_p2() {
    let harness = Harness::start(SandboxConfig {
        p2_limit_scale: None,
        job_delay: Duration::ZERO,
        ..SandboxConfig::default()
    })
    .await;
    let before = harness.sandbox.conversations()[0].last_message_at;
    let sent = ok(
        &harness,
        "POST",
        "conversations/1/messages",
        json!({"company_id": 1, "text": "Здравствуйте! 👋", "send_to_crm": true}),
    )
    .await;
    let message = &sent["message"];
    assert_eq!(keys(message), set(MESSAGE_KEYS));
    assert_eq!(message["status"], "sent");
    assert!(message["external_id"].is_null());
    assert_eq!(message["income"], false);
    assert_eq!(message["message"], "Здравствуйте! 👋");
    let id = message["id"].as_i64().unwrap();

    let p1 = harness
        .collect_pages(
            "companies/1/conversations/1/messages",
            "messages",
            "per=100",
        )
        .await;
    let last = p1.last().unwrap();
    assert_eq!(last["external_id"], id, "visible through p1 at once");
    assert_eq!(last["message"], "Здравствуйте! 👋");
    assert_eq!(message["external_created_at"], last["created_at"]);
    let recorded = harness.sandbox.sent_messages();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].id, id);
    assert_eq!(harness.sandbox.stats().messages_accepted, 1);
    assert!(harness.sandbox.conversations()[0].last_message_at > before);

    let p1_send = harness
        .post("companies/1/conversations/1/messages")
        .form(&[("message", "from p1")])
        .send()
        .await
        .unwrap();
    assert_eq!(p1_send.status(), 200);
    let p1_id = p1_send.json::<Value>().await.unwrap()["data"]["message_id"]
        .as_i64()
        .unwrap();
    let p2 = p2_messages(&harness, 1, 1).await;
    let last = p2.last().unwrap();
    assert_eq!(last["id"], p1_id);
    assert_eq!(last["message"], "from p1");
    assert_eq!(last["income"], false);
    assert_eq!(harness.sandbox.sent_messages().len(), 2);

    for (body, detail) in [
        (
            json!({"company_id": 1, "text": "  "}),
            "text or attachment_ids is required",
        ),
        (
            json!({"company_id": 1, "text": "x", "replied_to_id": "nope"}),
            "replied_to_id \"nope\" is not a message of this conversation",
        ),
        (
            json!({"company_id": 1, "text": "x", "attachment_ids": [999999]}),
            "Attachment 999999 not found",
        ),
    ] {
        let (status, answer) = call(&harness, "POST", "conversations/1/messages", body).await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(error_of(&answer).2, detail);
    }

    // A reply quotes the external id of a message of the conversation.
    let quoted = p2_messages(&harness, 1, 1).await[3]["external_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = ok(
        &harness,
        "POST",
        "conversations/1/messages",
        json!({"company_id": 1, "text": "re", "replied_to_id": quoted}),
    )
    .await;
    assert_eq!(reply["message"]["replied_to_id"], quoted.as_str());
    let stored = harness.sandbox.messages(1).pop().unwrap();
    assert_eq!(stored.replied_to_id.as_deref(), Some(quoted.as_str()));
}

#[tokio::test]
async fn p2_update_changes_states_and_the_assignee_seen_by_p1() {
    let harness = unlimited().await;
    let updated = ok(
        &harness,
        "PUT",
        "conversations/3",
        json!({"company_id": 1, "operational_state": "archived", "replied_state": "unreplied", "assignee_id": 58}),
    )
    .await;
    let conversation = &updated["conversation"];
    assert_eq!(
        keys(conversation),
        set(CONVERSATION_KEYS),
        "no assignee in p2"
    );
    assert_eq!(conversation["operational_state"], "archived");
    assert_eq!(conversation["replied_state"], "unreplied");
    let p1 = harness.get_json("companies/1/conversations/3").await;
    assert_eq!(p1["data"]["conversation"]["assignee_id"], 58);
    let snapshot = harness.sandbox.conversations()[2].clone();
    assert_eq!(snapshot.assignee_id, Some(58));
    assert_eq!(snapshot.operational_state, "archived");
    assert_eq!(snapshot.replied_state, "unreplied");

    ok(
        &harness,
        "PUT",
        "conversations/3",
        json!({"company_id": 1, "assignee_id": null}),
    )
    .await;
    assert_eq!(harness.sandbox.conversations()[2].assignee_id, None);
    ok(
        &harness,
        "PUT",
        "conversations/3",
        json!({"company_id": 1, "assignee_id": 7}),
    )
    .await;
    let cleared = request(
        &harness,
        reqwest::Method::PUT,
        "conversations/3?company_id=1&assignee_id=",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(cleared.status(), 200);
    assert_eq!(harness.sandbox.conversations()[2].assignee_id, None);

    for body in [
        json!({"company_id": 1, "operational_state": "blocked"}),
        json!({"company_id": 1, "replied_state": "initialized"}),
    ] {
        let (status, answer) = call(&harness, "PUT", "conversations/3", body).await;
        assert_eq!(status, 422, "{answer}");
    }
    let (status, _) = call(
        &harness,
        "PUT",
        "conversations/3",
        json!({"company_id": 1, "assignee_id": "someone"}),
    )
    .await;
    assert_eq!(status, 400);

    // The override lasts until the next message.
    ok(
        &harness,
        "POST",
        "conversations/3/messages",
        json!({"company_id": 1, "text": "ответили"}),
    )
    .await;
    let after = ok(&harness, "GET", "conversations/3", json!({"company_id": 1})).await;
    assert_eq!(after["conversation"]["replied_state"], "replied");
    assert_eq!(after["conversation"]["operational_state"], "archived");
}

#[tokio::test]
async fn p2_delete_marks_messages_where_the_provider_allows_it() {
    let harness = unlimited().await;
    let allowed = conversation_with(&harness, &["whatsapp", "telegram_personal"]);
    let refused = conversation_with(&harness, &["instagram", "avito", "telegram", "viber"]);
    let ids: Vec<i64> = harness
        .sandbox
        .messages(allowed)
        .iter()
        .take(2)
        .map(|m| m.id)
        .collect();
    let count = p2_messages(&harness, 1, allowed).await.len();
    let answer = ok(
        &harness,
        "DELETE",
        &format!("conversations/{allowed}/messages"),
        json!({"company_id": 1, "message_ids": ids}),
    )
    .await;
    assert_eq!(answer["status"], "ok");
    let messages = p2_messages(&harness, 1, allowed).await;
    assert_eq!(messages.len(), count, "deleted messages stay listed");
    assert_eq!(messages[0]["deleted"], true);
    assert_eq!(messages[1]["deleted"], true);
    assert_eq!(messages[2]["deleted"], false);
    assert!(harness.sandbox.messages(allowed)[0].deleted);

    let refused_ids = vec![harness.sandbox.messages(refused)[0].id];
    let (status, body) = call(
        &harness,
        "DELETE",
        &format!("conversations/{refused}/messages"),
        json!({"company_id": 1, "message_ids": refused_ids}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        error_of(&body).2,
        "Deleting messages is not available for this provider"
    );
    let too_many: Vec<i64> = (0..101).collect();
    let (status, _) = call(
        &harness,
        "DELETE",
        &format!("conversations/{allowed}/messages"),
        json!({"company_id": 1, "message_ids": too_many}),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn p2_write_first_creates_then_reuses_the_conversation() {
    let harness = unlimited().await;
    let count = harness.sandbox.conversations().len();
    let first = ok(
        &harness,
        "POST",
        "messages",
        json!({"company_id": 1, "provider": "whatsapp", "phone": "+79990001122", "text": "Добрый день!"}),
    )
    .await;
    let message = &first["message"];
    assert_eq!(keys(message), set(MESSAGE_KEYS));
    assert_eq!(message["status"], "sent");
    let conversation_id = message["conversation_id"].as_i64().unwrap();
    assert_eq!(conversation_id, count as i64 + 1);
    let again = ok(
        &harness,
        "POST",
        "messages",
        json!({"company_id": 1, "provider": "whatsapp", "phone": "79990001122", "text": "Ещё раз"}),
    )
    .await;
    assert_eq!(again["message"]["conversation_id"], conversation_id);
    assert_eq!(harness.sandbox.conversations().len(), count + 1);
    let top = &all_conversations(&harness, 1).await[0];
    assert_eq!(top["id"], conversation_id);
    assert_eq!(top["sender_phone"], "79990001122");
    assert_eq!(top["replied_state"], "replied");
    assert_eq!(p2_messages(&harness, 1, conversation_id).await.len(), 2);
    assert_eq!(harness.sandbox.sent_messages().len(), 2);
    let p1 = harness
        .get_json(&format!("companies/1/conversations/{conversation_id}"))
        .await;
    assert_eq!(p1["data"]["conversation"]["channel_type"], "whatsapp");

    // A provider the company has no channel for yet gets one.
    let vk = ok(
        &harness,
        "POST",
        "messages",
        json!({"company_id": 1, "provider": "vkontakte_direct", "vkontakte_domain": "durov", "text": "Привет"}),
    )
    .await;
    let vk_id = vk["message"]["conversation_id"].as_i64().unwrap();
    let vk_conversation = ok(
        &harness,
        "GET",
        &format!("conversations/{vk_id}"),
        json!({"company_id": 1}),
    )
    .await;
    assert_eq!(
        vk_conversation["conversation"]["provider"],
        "vkontakte_direct"
    );
    assert!(vk_conversation["conversation"]["sender_phone"].is_null());

    let telegram = ok(
        &harness,
        "POST",
        "messages",
        json!({"company_id": 2, "provider": "telegram_personal", "nickname": "@parley_test", "text": "hi"}),
    )
    .await;
    assert_eq!(telegram["message"]["company_id"], 2);

    // whatsapp_business writes a template with its substitutions.
    let templates = ok(
        &harness,
        "GET",
        "waba_templates",
        json!({"company_ids": [1]}),
    )
    .await;
    let with_params = templates["waba_templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["substitutions_count"] == 2)
        .unwrap()
        .clone();
    let waba = ok(
        &harness,
        "POST",
        "messages",
        json!({"company_id": 1, "provider": "whatsapp_business", "phone": "79990003344",
               "waba_id": with_params["waba_id"], "substitutions": ["Анна", "№42"]}),
    )
    .await;
    assert_eq!(
        waba["message"]["message"],
        "Привет, Анна. Ваш заказ №42 передан в доставку."
    );

    for body in [
        json!({"company_id": 1, "provider": "instagram", "phone": "79990001122", "text": "x"}),
        json!({"company_id": 1, "provider": "whatsapp", "text": "x"}),
        json!({"company_id": 1, "provider": "whatsapp", "phone": "79990001122"}),
        json!({"company_id": 1, "provider": "whatsapp_business", "phone": "79990001122"}),
        json!({"company_id": 1, "provider": "whatsapp_business", "phone": "79990001122",
               "waba_id": with_params["waba_id"], "substitutions": ["one"]}),
        json!({"company_id": 1, "provider": "vkontakte_direct", "vkontakte_id": "1", "vkontakte_domain": "x", "text": "x"}),
    ] {
        let (status, answer) = call(&harness, "POST", "messages", body.clone()).await;
        assert_eq!(status, 422, "{body}: {answer}");
    }
    let (status, _) = call(
        &harness,
        "POST",
        "messages",
        json!({"provider": "whatsapp", "phone": "79990001122", "text": "x"}),
    )
    .await;
    assert_eq!(status, 400, "company_id is required");
}

const PNG_2X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00,
];

#[tokio::test]
async fn p2_attachments_upload_by_file_or_url_and_one_per_message() {
    let harness = unlimited().await;
    let form = reqwest::multipart::Form::new()
        .text("company_id", "1")
        .text("metadata[data][width]", "2")
        .part(
            "file",
            reqwest::multipart::Part::bytes(PNG_2X1.to_vec())
                .file_name("фото 1.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let response = request(&harness, reqwest::Method::POST, "attachments/")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let uploaded: Value = response.json().await.unwrap();
    let attachment = &uploaded["attachment"];
    assert_eq!(
        keys(attachment),
        set(&[
            "id",
            "message_id",
            "file_name",
            "mime_type",
            "size",
            "attachment_url",
            "preview_url",
            "aspect_ratio",
            "data",
            "push_to_talk"
        ])
    );
    assert!(attachment["message_id"].is_null());
    assert_eq!(attachment["file_name"], "фото 1.png");
    assert_eq!(attachment["size"], PNG_2X1.len());
    assert_eq!(attachment["aspect_ratio"], 2.0);
    assert_eq!(attachment["data"], json!({"width": 2, "height": 1}));
    let file = harness
        .http
        .get(attachment["attachment_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(file.bytes().await.unwrap().as_ref(), PNG_2X1);
    let file_id = attachment["id"].as_i64().unwrap();

    // The token may come in the multipart body too, and the path without the trailing slash.
    let form = reqwest::multipart::Form::new()
        .text("private_api_token", harness.sandbox.token())
        .text("company_id", "1")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("notes.txt"),
        );
    let response = harness
        .http
        .post(p2_url(&harness, "attachments"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text: Value = response.json().await.unwrap();
    assert_eq!(text["attachment"]["mime_type"], "text/plain");
    assert!(text["attachment"].get("preview_url").is_none());

    let files = FileServer::start(vec![(
        "/files/report.pdf",
        Served::file(None, b"%PDF-1.4 report"),
    )])
    .await;
    let by_url = ok(
        &harness,
        "POST",
        "attachments/",
        json!({"company_id": 1, "file_url": files.url("/files/report.pdf")}),
    )
    .await;
    assert_eq!(by_url["attachment"]["file_name"], "report.pdf");
    assert_eq!(by_url["attachment"]["mime_type"], "application/pdf");
    assert_eq!(by_url["attachment"]["size"], 15);
    let url_id = by_url["attachment"]["id"].as_i64().unwrap();
    for body in [
        json!({"company_id": 1, "file_url": "ftp://example.com/a.pdf"}),
        json!({"company_id": 1}),
    ] {
        let (status, _) = call(&harness, "POST", "attachments/", body).await;
        assert_eq!(status, 422);
    }
    let both = reqwest::multipart::Form::new()
        .text("company_id", "1")
        .text("file_url", "https://example.com/a.png")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.txt"),
        );
    let response = request(&harness, reqwest::Method::POST, "attachments/")
        .multipart(both)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);

    let (status, body) = call(
        &harness,
        "POST",
        "conversations/1/messages",
        json!({"company_id": 1, "attachment_ids": [file_id, url_id]}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        error_of(&body).2,
        "One message can contain only one attachment"
    );
    let sent = ok(
        &harness,
        "POST",
        "conversations/1/messages",
        json!({"company_id": 1, "attachment_ids": [file_id.to_string()]}),
    )
    .await;
    let message = &sent["message"];
    assert!(message["message"].is_null());
    assert_eq!(message["attachments"][0]["id"], file_id);
    assert_eq!(message["attachments"][0]["message_id"], message["id"]);
    let p1 = harness
        .collect_pages(
            "companies/1/conversations/1/messages",
            "messages",
            "per=100",
        )
        .await;
    assert_eq!(p1.last().unwrap()["attachments"][0]["external_id"], file_id);
}

#[tokio::test]
async fn p2_status_moves_from_sent_to_delivered_to_read_with_time() {
    // Scale 1000: "delivered" after 200 s / 1000 = 0.2 s, "read" after 0.5 s.
    let harness = Harness::start(SandboxConfig {
        p2_limit_scale: Some(1000.0),
        p2_status_delivered_after: Duration::from_secs(200),
        p2_status_read_after: Duration::from_secs(500),
        ..SandboxConfig::default()
    })
    .await;
    let sent = ok(
        &harness,
        "POST",
        "conversations/1/messages",
        json!({"company_id": 1, "text": "статус?"}),
    )
    .await;
    assert_eq!(sent["message"]["status"], "sent");
    assert!(sent["message"]["external_id"].is_null());
    let id = sent["message"]["id"].as_i64().unwrap();
    let path = format!("conversations/1/messages/{id}");
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let body = ok(&harness, "GET", &path, json!({"company_id": 1})).await;
        let status = body["message"]["status"].as_str().unwrap().to_owned();
        assert_eq!(
            body["message"]["external_id"].is_null(),
            status == "sent",
            "external id once delivered: {body}"
        );
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "read" {
            break;
        }
        assert!(Instant::now() < deadline, "{seen:?}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(seen, ["sent", "delivered", "read"]);
    let external = harness.sandbox.messages(1).pop().unwrap().external_id;
    assert!(external.is_some());

    harness.sandbox.set_fail_deliveries(true);
    let failing = ok(
        &harness,
        "POST",
        "conversations/1/messages",
        json!({"company_id": 1, "text": "не дойдёт"}),
    )
    .await;
    assert_eq!(failing["message"]["status"], "sent");
    let id = failing["message"]["id"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    let body = ok(
        &harness,
        "GET",
        &format!("conversations/1/messages/{id}"),
        json!({"company_id": 1}),
    )
    .await;
    assert_eq!(body["message"]["status"], "error");
    assert_eq!(
        body["message"]["details"],
        json!({"reason": "Contact is not present in the messenger"})
    );
    assert!(body["message"]["external_id"].is_null());
    assert_eq!(harness.sandbox.messages(1).pop().unwrap().status, "error");
}

#[tokio::test]
async fn p2_waba_templates_list_per_company() {
    let harness = unlimited().await;
    let one = ok(&harness, "GET", "waba_templates?company_ids[]=1", json!({})).await;
    let templates = one["waba_templates"].as_array().unwrap();
    assert!((2..=3).contains(&templates.len()));
    for template in templates {
        assert_eq!(
            keys(template),
            set(&[
                "id",
                "name",
                "body",
                "waba_id",
                "substitutions_count",
                "header_content_type",
                "company_id",
                "header",
                "namespace",
                "created_at",
                "position"
            ])
        );
        assert_eq!(template["company_id"], 1);
    }
    let created: Vec<&str> = templates
        .iter()
        .map(|t| t["created_at"].as_str().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert!(templates
        .iter()
        .any(|t| t["substitutions_count"] == 2 && t["body"].as_str().unwrap().contains("{{2}}")));

    let both = ok(&harness, "GET", "waba_templates?company_ids=1,2", json!({})).await;
    let repeated = ok(
        &harness,
        "GET",
        "waba_templates?company_ids[]=1&company_ids[]=2",
        json!({}),
    )
    .await;
    let all = ok(&harness, "GET", "waba_templates", json!({})).await;
    assert_eq!(both, repeated);
    assert_eq!(both, all);
    assert_eq!(
        all["meta"]["entries_count"].as_u64().unwrap(),
        all["waba_templates"].as_array().unwrap().len() as u64
    );
    let by_position = ok(
        &harness,
        "GET",
        "waba_templates",
        json!({"company_ids": [1], "sort": {"position": "asc"}, "per_page": 1}),
    )
    .await;
    assert_eq!(by_position["waba_templates"][0]["position"], 1);
    assert_eq!(
        by_position["meta"],
        json!({"page": 1, "entries_count": 1, "per_page": 1})
    );
}

#[tokio::test]
async fn p2_faults_answer_in_p2_shapes() {
    let harness = unlimited().await;
    let only = |kind| {
        Some(FaultConfig {
            rate: 1.0,
            kinds: vec![kind],
        })
    };
    harness.sandbox.set_faults(only(FaultKind::Status500));
    let (status, body) = call(&harness, "GET", "conversations", json!({"company_id": 1})).await;
    assert_eq!(status, 500);
    assert_eq!(error_of(&body).0, 500);
    harness.sandbox.set_faults(only(FaultKind::InvalidJson));
    let response = request(&harness, reqwest::Method::GET, "conversations?company_id=1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(serde_json::from_str::<Value>(&response.text().await.unwrap()).is_err());
    harness.sandbox.set_faults(only(FaultKind::Html502));
    let response = request(&harness, reqwest::Method::GET, "conversations?company_id=1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    harness
        .sandbox
        .set_faults(only(FaultKind::ResetAfterProcessing));
    let error = request(&harness, reqwest::Method::POST, "conversations/1/messages")
        .json(&json!({"company_id": 1, "text": "carried out"}))
        .send()
        .await;
    assert!(error.is_err());
    assert_eq!(harness.sandbox.sent_messages().len(), 1);
    harness.sandbox.set_faults(None);
    assert_eq!(
        harness.sandbox.messages(1).pop().unwrap().text.as_deref(),
        Some("carried out")
    );
    assert_eq!(harness.sandbox.stats().faults_injected, 4);
}

/// Checks that no bucket's accepted starts exceed `max` in any `window`.
fn assert_windows_hold(log: &[(String, Instant)], bucket: &str, max: usize, window: Duration) {
    let starts: Vec<Instant> = log
        .iter()
        .filter(|(b, _)| b == bucket)
        .map(|(_, at)| *at)
        .collect();
    for pair in starts.windows(max + 1) {
        assert!(
            pair[max].duration_since(pair[0]) >= window,
            "more than {max} {bucket} starts within {window:?}"
        );
    }
}

#[tokio::test]
async fn p2_rate_limit_answers_the_documented_429_without_retry_after() {
    let harness = Harness::default().await; // real time
    for _ in 0..10 {
        ok(&harness, "GET", "conversations", json!({"company_id": 1})).await;
    }
    let limited = request(&harness, reqwest::Method::GET, "conversations?company_id=1")
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("retry-after").is_none());
    let body: Value = limited.json().await.unwrap();
    let detail = body["errors"][0]["detail"].as_str().unwrap().to_owned();
    let seconds: u64 = detail
        .strip_prefix("Please wait for ")
        .and_then(|rest| rest.strip_suffix(" seconds"))
        .unwrap()
        .parse()
        .unwrap();
    assert!((59..=60).contains(&seconds), "{detail}");
    assert_eq!(
        body,
        json!({"errors":[{"status":429,"code":"too_many_requests","title":"Too many requests error","detail":detail}]})
    );
    // Other endpoints have windows of their own.
    ok(&harness, "GET", "conversations/1", json!({"company_id": 1})).await;
    ok(&harness, "PUT", "conversations/1", json!({"company_id": 1})).await;
    // Send: 5 per second.
    for _ in 0..5 {
        ok(
            &harness,
            "POST",
            "conversations/1/messages",
            json!({"company_id": 1, "text": "burst"}),
        )
        .await;
    }
    let (status, body) = call(
        &harness,
        "POST",
        "conversations/1/messages",
        json!({"company_id": 1, "text": "one too many"}),
    )
    .await;
    assert_eq!(status, 429);
    assert_eq!(error_of(&body).2, "Please wait for 1 seconds");
    assert_eq!(
        harness.sandbox.sent_messages().len(),
        5,
        "refused sends do nothing"
    );
    let stats = harness.sandbox.stats();
    assert_eq!(stats.p2_rate_limited, 2);
    assert_eq!(stats.rate_limited, 0, "the p1 counter is separate");

    harness.sandbox.set_p2_limit_scale(None);
    for _ in 0..15 {
        ok(&harness, "GET", "conversations", json!({"company_id": 1})).await;
    }
    let admin = harness
        .http
        .post(harness.admin_url("/_sandbox/p2_limits"))
        .json(&json!({"scale": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    for _ in 0..10 {
        ok(&harness, "GET", "conversations", json!({"company_id": 1})).await;
    }
    let (status, _) = call(&harness, "GET", "conversations", json!({"company_id": 1})).await;
    assert_eq!(status, 429, "limits back on, windows restarted");
}

#[tokio::test]
async fn p2_refused_requests_do_not_count_and_the_log_shows_no_window_exceeded() {
    // Scale 60: a minute lasts one second.
    let harness = Harness::start(SandboxConfig {
        p2_limit_scale: Some(60.0),
        ..SandboxConfig::default()
    })
    .await;
    let started = Instant::now();
    let mut accepted = 0;
    let mut refused = 0;
    // Hammer for 0.9 s: 10 get through, the rest are refused.
    while started.elapsed() < Duration::from_millis(900) {
        let (status, body) = call(&harness, "GET", "conversations", json!({"company_id": 1})).await;
        match status {
            200 => accepted += 1,
            429 => {
                refused += 1;
                assert_eq!(error_of(&body).2, "Please wait for 1 seconds");
            }
            other => panic!("{other}: {body}"),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(accepted, 10);
    assert!(refused > 10);
    // Once the first start's window has passed, there is room again: the refusals did not count.
    let log = harness.sandbox.p2_request_log();
    let first = log[0].1;
    let wait = (first + Duration::from_millis(1_020)).saturating_duration_since(Instant::now());
    tokio::time::sleep(wait).await;
    ok(&harness, "GET", "conversations", json!({"company_id": 1})).await;
    let log = harness.sandbox.p2_request_log();
    assert_eq!(log.len(), 11);
    assert!(log.iter().all(|(bucket, _)| bucket == "list_conversations"));
    assert_windows_hold(&log, "list_conversations", 10, Duration::from_secs(1));
    assert_eq!(harness.sandbox.stats().p2_rate_limited, refused);
}

#[tokio::test]
async fn p2_counts_requests_and_429s_per_client_by_user_agent() {
    let harness = Harness::default().await; // real time: 10 listings a minute per token
    let listing = |agent: Option<&'static str>| {
        let mut builder = request(&harness, reqwest::Method::GET, "conversations?company_id=1");
        if let Some(agent) = agent {
            builder = builder.header("User-Agent", agent);
        }
        builder.send()
    };
    for _ in 0..6 {
        assert_eq!(
            listing(Some("parley/0.1.0 (process a)"))
                .await
                .unwrap()
                .status(),
            200
        );
    }
    for _ in 0..4 {
        assert_eq!(
            listing(Some("parley/0.1.0 (process b)"))
                .await
                .unwrap()
                .status(),
            200
        );
    }
    // The token's window is full: both clients are refused, each counted on its own.
    assert_eq!(
        listing(Some("parley/0.1.0 (process b)"))
            .await
            .unwrap()
            .status(),
        429
    );
    assert_eq!(
        listing(Some("parley/0.1.0 (process a)"))
            .await
            .unwrap()
            .status(),
        429
    );
    assert_eq!(
        listing(Some("parley/0.1.0 (process a)"))
            .await
            .unwrap()
            .status(),
        429
    );
    let stats = harness.sandbox.stats();
    let a = stats.p2_clients["parley/0.1.0 (process a)"];
    let b = stats.p2_clients["parley/0.1.0 (process b)"];
    assert_eq!((a.requests, a.rate_limited), (8, 2));
    assert_eq!((b.requests, b.rate_limited), (5, 1));
    assert_eq!(stats.p2_rate_limited, 3);
    // Over the admin API too.
    let served: Value = harness
        .http
        .get(harness.admin_url("/_sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        served["p2_clients"]["parley/0.1.0 (process b)"],
        json!({"requests": 5, "rate_limited": 1})
    );
}
