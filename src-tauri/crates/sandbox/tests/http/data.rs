//! Seed data: determinism (relative to the anchor), times that look alive, variety of content and
//! shapes, paging, generation speed.

use std::collections::HashSet;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use parley_sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

use crate::harness::{ids, Harness};

/// A fixed anchor, so two sandboxes of one seed serve identical data.
fn fixed_anchor() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-15T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn same_seed_gives_the_same_data_and_another_seed_does_not() {
    let anchored = || SandboxConfig {
        seed_anchor: Some(fixed_anchor()),
        ..SandboxConfig::default()
    };
    let first = Harness::start(anchored()).await;
    let second = Harness::start(anchored()).await;
    assert_eq!(first.sandbox.seed_anchor(), fixed_anchor());
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
        ..anchored()
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
    let reference = harness.sandbox.seed_anchor();
    assert!(reference <= Utc::now() && reference > Utc::now() - Duration::minutes(1));
    assert_eq!(reference.timestamp_subsec_nanos(), 0, "whole seconds");
    let earliest = reference - Duration::days(91);
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

#[tokio::test]
async fn the_same_seed_started_later_is_the_same_data_moved_by_the_anchor() {
    let early = fixed_anchor();
    let late = early + Duration::seconds(3_601);
    let start = |anchor| {
        Sandbox::start(SandboxConfig {
            seed_anchor: Some(anchor),
            ..SandboxConfig::default()
        })
    };
    let (first, second) = (start(early).await.unwrap(), start(late).await.unwrap());
    let moved = late - early;
    for (a, b) in first.conversations().iter().zip(second.conversations()) {
        assert_eq!(a.last_message_at.map(|t| t + moved), b.last_message_at);
        let shifted: Vec<_> = first
            .messages(a.id)
            .into_iter()
            .map(|m| (m.id, m.text, m.created_at + moved))
            .collect();
        let later: Vec<_> = second
            .messages(b.id)
            .into_iter()
            .map(|m| (m.id, m.text, m.created_at))
            .collect();
        assert_eq!(shifted, later);
    }
    for (a, b) in first
        .voipbin_conversations()
        .iter()
        .zip(second.voipbin_conversations())
    {
        assert_eq!((&a.id, a.created_at + moved), (&b.id, b.created_at));
        assert_eq!(a.updated_at + moved, b.updated_at);
    }
    assert_eq!(first.voipbin_agents(), second.voipbin_agents());
}

#[tokio::test]
async fn the_newest_activity_is_minutes_old_and_the_rest_spreads_over_weeks() {
    // The demo's sizes.
    let harness = Harness::start(SandboxConfig {
        conversations: 120,
        messages_per_conversation: 60,
        voipbin_conversations: 30,
        voipbin_messages_per_conversation: 40,
        ..SandboxConfig::default()
    })
    .await;
    let now = Utc::now();
    let anchor = harness.sandbox.seed_anchor();
    let conversations = harness.sandbox.conversations();
    let mut ages: Vec<Duration> = conversations
        .iter()
        .map(|c| now - c.last_message_at.unwrap())
        .collect();
    ages.sort();
    assert!(
        ages[0] >= Duration::minutes(3) && ages[0] <= Duration::minutes(10),
        "newest {:?}",
        ages[0]
    );
    let within_hour = ages.iter().filter(|a| **a < Duration::hours(1)).count();
    assert!((3..=8).contains(&within_hour), "{within_hour} in the hour");
    let within_day = ages.iter().filter(|a| **a < Duration::days(1)).count();
    let within_week = ages.iter().filter(|a| **a < Duration::days(7)).count();
    assert!((10..40).contains(&within_day), "{within_day} in a day");
    assert!(within_week > within_day + 10, "{within_week} in a week");
    assert!(ages.iter().any(|a| *a > Duration::days(30)), "weeks old");
    for conversation in &conversations {
        let messages = harness.sandbox.messages(conversation.id);
        let last = conversation.last_message_at.unwrap();
        assert_eq!(messages.last().unwrap().created_at, last);
        assert!(last < anchor, "never after the anchor");
        for pair in messages.windows(2) {
            assert!(pair[0].created_at < pair[1].created_at);
        }
    }
    // p2 serves the same times: the top of its first page is the newest conversation.
    let p2 = harness
        .http
        .get(format!(
            "{}conversations?company_id=1&per_page=1",
            harness.sandbox.pact_p2_base_url()
        ))
        .header("X-Private-Api-Token", harness.sandbox.token())
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let top = &p2["conversations"][0];
    let newest_of_company = conversations
        .iter()
        .filter(|c| c.company_id == 1)
        .max_by_key(|c| c.last_message_at)
        .unwrap();
    assert_eq!(top["id"], newest_of_company.id);
    let served = DateTime::parse_from_rfc3339(top["last_updated_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        Some(served.with_timezone(&Utc)),
        newest_of_company.last_message_at
    );

    // VoIPbin is laid out before the same anchor, the same way.
    let voipbin = harness.sandbox.voipbin_conversations();
    let mut ages: Vec<Duration> = voipbin.iter().map(|c| now - c.updated_at).collect();
    ages.sort();
    assert!(ages[0] >= Duration::minutes(3) && ages[0] <= Duration::minutes(10));
    assert!(ages.iter().filter(|a| **a < Duration::hours(1)).count() >= 2);
    assert!(ages.iter().any(|a| *a > Duration::days(7)));
    let created: HashSet<_> = voipbin.iter().map(|c| c.created_at).collect();
    assert_eq!(created.len(), voipbin.len(), "creation times differ");
    for conversation in &voipbin {
        let messages = harness.sandbox.voipbin_messages(&conversation.id);
        assert_eq!(messages.last().unwrap().created_at, conversation.updated_at);
        assert!(conversation.created_at < messages[0].created_at);
        assert!(conversation.updated_at < anchor);
        for pair in messages.windows(2) {
            assert!(pair[0].created_at < pair[1].created_at);
        }
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
