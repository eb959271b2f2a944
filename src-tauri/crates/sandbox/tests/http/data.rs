//! Seed data: determinism, variety of content and shapes, paging, generation speed.

use std::collections::HashSet;
use std::time::Instant;

use parley_sandbox::{seed_reference_instant, Sandbox, SandboxConfig};
use serde_json::Value;

use crate::harness::{ids, Harness};

#[tokio::test]
async fn same_seed_gives_the_same_data_and_another_seed_does_not() {
    let first = Harness::default().await;
    let second = Harness::default().await;
    assert_eq!(first.sandbox.companies(), second.sandbox.companies());
    assert_eq!(
        first.sandbox.conversations(),
        second.sandbox.conversations()
    );
    for conversation in first.sandbox.conversations() {
        assert_eq!(
            first.sandbox.messages(conversation.id),
            second.sandbox.messages(conversation.id)
        );
    }
    let page = "companies/2/conversations?per=100";
    assert_eq!(first.get_json(page).await, second.get_json(page).await);

    let other = Sandbox::start(SandboxConfig {
        seed: 7,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    assert_ne!(first.sandbox.messages(1), other.messages(1));
}

#[tokio::test]
async fn seed_respects_the_counts_and_the_time_window() {
    let config = SandboxConfig {
        companies: 3,
        conversations: 10,
        messages_per_conversation: 12,
        ..SandboxConfig::default()
    };
    let harness = Harness::start(config).await;
    assert_eq!(harness.sandbox.companies().len(), 3);
    let conversations = harness.sandbox.conversations();
    assert_eq!(conversations.len(), 10);
    let reference = seed_reference_instant();
    let earliest = reference - chrono::Duration::days(91);
    for conversation in &conversations {
        let messages = harness.sandbox.messages(conversation.id);
        assert_eq!(messages.len(), 12);
        assert!(messages.iter().any(|m| m.income));
        for pair in messages.windows(2) {
            assert!(pair[0].created_at < pair[1].created_at);
        }
        assert!(messages
            .iter()
            .all(|m| m.created_at < reference && m.created_at > earliest));
        assert_eq!(
            conversation.last_message_at,
            messages.last().map(|m| m.created_at)
        );
    }
}

/// Every message of every conversation of the default sandbox, as JSON.
async fn all_message_json(harness: &Harness) -> Vec<Value> {
    let mut all = Vec::new();
    for conversation in harness.sandbox.conversations() {
        let path = format!(
            "companies/{}/conversations/{}/messages",
            conversation.company_id, conversation.id
        );
        all.extend(harness.collect_pages(&path, "messages", "per=100").await);
    }
    all
}

#[tokio::test]
async fn default_seed_shows_every_documented_shape_and_hostile_content() {
    let harness = Harness::default().await;
    let messages = all_message_json(&harness).await;
    let texts: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["message"].as_str())
        .collect();
    let any_text = |wanted: &dyn Fn(&str) -> bool| texts.iter().any(|t| wanted(t));
    assert!(
        any_text(&|t| t.chars().count() == 5_000),
        "a 5,000-character message"
    );
    assert!(any_text(&|t| t.contains('<')), "a hostile string");
    assert!(
        any_text(&|t| t.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))),
        "Cyrillic"
    );
    assert!(
        any_text(&|t| t.chars().any(|c| ('\u{0590}'..='\u{06FF}').contains(&c))),
        "RTL"
    );
    assert!(
        any_text(&|t| t.chars().any(|c| c as u32 >= 0x1F300)),
        "emoji"
    );
    assert!(messages.iter().any(|m| m["income"] == true));
    assert!(messages.iter().any(|m| m["income"] == false));
    assert!(
        messages.iter().any(|m| m["created_at"].is_i64()),
        "epoch created_at"
    );
    assert!(
        messages.iter().any(|m| m["created_at"].is_string()),
        "ISO created_at"
    );
    assert!(messages
        .iter()
        .any(|m| m.get("created_at_timestamp").is_none()));
    let same_second_pair = harness.sandbox.conversations().iter().any(|conversation| {
        harness
            .sandbox
            .messages(conversation.id)
            .windows(2)
            .any(|pair| pair[0].created_at.timestamp() == pair[1].created_at.timestamp())
    });
    assert!(same_second_pair, "two messages of a thread in one second");
    let attachment_only = messages.iter().find(|m| {
        m["message"].as_str().is_none_or(|t| t.is_empty())
            && m["attachments"].as_array().is_some_and(|a| !a.is_empty())
    });
    let attachment = &attachment_only.expect("an attachment-only message")["attachments"][0];
    let url = attachment["attachment_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("http://{}/files/", harness.sandbox.addr())));
    for attachment in messages
        .iter()
        .flat_map(|m| m["attachments"].as_array().into_iter().flatten())
    {
        let url = attachment["attachment_url"].as_str().unwrap();
        let response = harness.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let mime = attachment["mime_type"].as_str().unwrap();
        assert_eq!(response.headers()["content-type"], mime);
        let bytes = response.bytes().await.unwrap();
        assert_eq!(
            bytes.len() as u64,
            attachment["size"].as_u64().unwrap(),
            "{url}"
        );
    }
    let names: HashSet<&str> = messages
        .iter()
        .flat_map(|m| m["attachments"].as_array().into_iter().flatten())
        .filter_map(|a| a["file_name"].as_str())
        .collect();
    assert!(names.iter().any(|n| n.ends_with(".png")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(".pdf")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(".txt")), "{names:?}");

    let conversations = harness
        .collect_pages("companies/1/conversations", "conversations", "")
        .await;
    let conversations: Vec<Value> = conversations
        .into_iter()
        .chain(
            harness
                .collect_pages("companies/2/conversations", "conversations", "")
                .await,
        )
        .collect();
    assert!(
        conversations.iter().any(|c| c["name"].is_null()),
        "null name"
    );
    assert!(
        conversations.iter().any(|c| c["channel_id"].is_null()),
        "null channel_id"
    );
    assert!(
        conversations.iter().any(|c| c["created_at"].is_i64()),
        "epoch created_at"
    );
    let channel_types: HashSet<&str> = conversations
        .iter()
        .filter_map(|c| c["channel_type"].as_str())
        .collect();
    assert!(channel_types.len() >= 3, "{channel_types:?}");
    for conversation in &conversations {
        assert!(conversation["last_message_at"].is_i64());
        assert!(conversation["last_income_message_at"].is_i64());
        assert!(conversation["bitrix_block_openlines"].is_boolean());
    }
}

#[tokio::test]
async fn paging_walks_to_the_end_in_both_directions_without_gaps() {
    let harness = Harness::start(SandboxConfig {
        conversations: 45,
        messages_per_conversation: 53,
        ..SandboxConfig::default()
    })
    .await;
    let expected: Vec<i64> = harness
        .sandbox
        .conversations()
        .iter()
        .filter(|c| c.company_id == 1)
        .map(|c| c.id)
        .collect();
    let path = "companies/1/conversations";
    let ascending = ids(&harness.collect_pages(path, "conversations", "per=7").await);
    assert_eq!(ascending, expected);
    let descending = ids(&harness
        .collect_pages(path, "conversations", "per=7&sort_direction=desc")
        .await);
    assert_eq!(
        descending,
        expected.iter().rev().copied().collect::<Vec<_>>()
    );

    let expected: Vec<i64> = harness.sandbox.messages(3).iter().map(|m| m.id).collect();
    let path = "companies/1/conversations/3/messages";
    for per in ["per=1", "per=10", "per=53", "per=100", ""] {
        let ascending = ids(&harness.collect_pages(path, "messages", per).await);
        assert_eq!(ascending, expected, "{per}");
        let query = format!("{per}&sort_direction=desc");
        let descending = ids(&harness.collect_pages(path, "messages", &query).await);
        assert_eq!(
            descending,
            expected.iter().rev().copied().collect::<Vec<_>>()
        );
    }
    let default_page = harness.get_json(path).await;
    assert_eq!(
        default_page["data"]["messages"].as_array().unwrap().len(),
        50
    );
}

#[tokio::test]
async fn paging_rejects_bad_per_and_restarts_on_unknown_tokens() {
    let harness = Harness::default().await;
    let path = "companies/1/conversations/1/messages";
    for bad in ["per=0", "per=101", "per=abc", "sort_direction=sideways"] {
        let response = harness.get(&format!("{path}?{bad}")).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert!(body["errors"][0]["detail"].as_str().unwrap().len() > 5);
    }
    let first = harness.get_json(&format!("{path}?per=5")).await;
    let unknown = harness
        .get_json(&format!("{path}?per=5&from=not-a-token"))
        .await;
    assert_eq!(first, unknown);
    let conversation_token = harness.get_json("companies/1/conversations?per=2").await["data"]
        ["next_page"]
        .as_str()
        .unwrap()
        .to_owned();
    let foreign = harness
        .get_json(&format!("{path}?per=5&from={conversation_token}"))
        .await;
    assert_eq!(first, foreign, "a token of another list is unknown here");
}

#[tokio::test]
async fn generating_two_thousand_conversations_of_a_hundred_messages_is_fast() {
    let config = SandboxConfig {
        conversations: 2_000,
        messages_per_conversation: 100,
        ..SandboxConfig::default()
    };
    let started = Instant::now();
    let sandbox = Sandbox::start(config).await.unwrap();
    let elapsed = started.elapsed();
    println!("generated 2,000 conversations x 100 messages in {elapsed:?}");
    assert_eq!(sandbox.conversations().len(), 2_000);
    assert_eq!(sandbox.messages(2_000).len(), 100);
    sandbox.shutdown().await;
}
