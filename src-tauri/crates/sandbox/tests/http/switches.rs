//! Switches: injected faults, rate limiting, latency, live mode and the admin endpoints.

use std::time::{Duration, Instant};

use parley_sandbox::{FaultConfig, FaultKind, SandboxConfig};
use serde_json::{json, Value};

use crate::harness::Harness;

fn only(kind: FaultKind) -> Option<FaultConfig> {
    Some(FaultConfig {
        rate: 1.0,
        kinds: vec![kind],
    })
}

async fn send_hello(harness: &Harness) -> reqwest::Result<reqwest::Response> {
    harness
        .post("companies/1/conversations/1/messages")
        .form(&[("message", "hello")])
        .send()
        .await
}

#[tokio::test]
async fn status_500_and_html_502_answer_without_effect() {
    let harness = Harness::default().await;
    harness.sandbox.set_faults(only(FaultKind::Status500));
    let response = send_hello(&harness).await.unwrap();
    assert_eq!(response.status(), 500);
    assert!(response.json::<Value>().await.is_ok());

    harness.sandbox.set_faults(only(FaultKind::Html502));
    let response = send_hello(&harness).await.unwrap();
    assert_eq!(response.status(), 502);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(response.text().await.unwrap().contains("<html>"));
    assert!(harness.sandbox.sent_messages().is_empty());

    let stats = harness.sandbox.stats();
    assert_eq!(stats.faults_injected, 2);
    assert_eq!(stats.faults_by_kind["status500"], 1);
    assert_eq!(stats.faults_by_kind["html502"], 1);
    let on_sends = &stats.faults_by_route
        ["POST /p1/companies/{company_id}/conversations/{conversation_id}/messages"];
    assert_eq!(on_sends["status500"], 1);
    assert_eq!(on_sends["html502"], 1);
}

#[tokio::test]
async fn invalid_json_is_a_200_that_does_not_parse() {
    let harness = Harness::default().await;
    harness.sandbox.set_faults(only(FaultKind::InvalidJson));
    let response = harness
        .get("companies/1/conversations")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[tokio::test]
async fn connection_reset_aborts_without_a_response_or_an_effect() {
    let harness = Harness::default().await;
    harness.sandbox.set_faults(only(FaultKind::ConnectionReset));
    let error = send_hello(&harness).await.expect_err("no response");
    assert!(!error.is_timeout(), "{error:?}");
    let error = harness
        .get("companies")
        .send()
        .await
        .expect_err("no response");
    assert!(!error.is_status(), "{error:?}");
    assert!(harness.sandbox.sent_messages().is_empty());

    harness.sandbox.set_faults(None);
    assert_eq!(harness.get("companies").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn reset_after_processing_performs_the_send_then_drops_the_response() {
    let harness = Harness::default().await;
    harness
        .sandbox
        .set_faults(only(FaultKind::ResetAfterProcessing));
    send_hello(&harness).await.expect_err("no response");
    assert_eq!(harness.sandbox.sent_messages().len(), 1);
    harness.sandbox.set_faults(None);
    let deadline = Instant::now() + Duration::from_secs(5);
    while harness.sandbox.messages(1).last().map(|m| m.income) != Some(false)
        || harness
            .sandbox
            .messages(1)
            .last()
            .and_then(|m| m.text.clone())
            .as_deref()
            != Some("hello")
    {
        assert!(Instant::now() < deadline, "the send was never delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn partial_fault_rate_is_seeded_and_spares_admin_and_files() {
    let run = || async {
        let harness = Harness::default().await;
        harness.sandbox.set_faults(Some(FaultConfig {
            rate: 0.5,
            kinds: vec![FaultKind::Status500, FaultKind::Html502],
        }));
        let mut statuses = Vec::new();
        for _ in 0..30 {
            statuses.push(
                harness
                    .get("companies")
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        let stats = harness
            .http
            .get(harness.admin_url("/_sandbox/stats"))
            .send()
            .await
            .unwrap();
        assert_eq!(stats.status(), 200);
        statuses
    };
    let first = run().await;
    assert_eq!(first, run().await, "same seed, same faults");
    assert!(
        first.contains(&200) && first.iter().any(|s| *s >= 500),
        "{first:?}"
    );
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let harness = Harness::default().await;
    harness.sandbox.set_rate_limit(Some(3));
    for _ in 0..3 {
        assert_eq!(harness.get("companies").send().await.unwrap().status(), 200);
    }
    let limited = harness.get("companies").send().await.unwrap();
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["detail"],
        format!("Please wait for {retry_after} seconds")
    );
    assert_eq!(harness.sandbox.stats().rate_limited, 1);
    harness.sandbox.set_rate_limit(None);
    assert_eq!(harness.get("companies").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn admin_endpoints_flip_the_switches_without_a_token() {
    let harness = Harness::default().await;
    let post = |path: &str, body: Value| {
        harness
            .http
            .post(harness.admin_url(path))
            .json(&body)
            .send()
    };
    assert_eq!(
        post(
            "/_sandbox/faults",
            json!({"rate": 1.0, "kinds": ["html502"]})
        )
        .await
        .unwrap()
        .status(),
        200
    );
    assert_eq!(harness.get("companies").send().await.unwrap().status(), 502);
    assert_eq!(
        post("/_sandbox/faults", json!({"rate": 1.0, "kinds": ["reset"]}))
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(harness.get("companies").send().await.is_err());
    assert_eq!(
        post("/_sandbox/faults", Value::Null)
            .await
            .unwrap()
            .status(),
        200
    );

    assert_eq!(
        post("/_sandbox/latency", json!({"ms": 120}))
            .await
            .unwrap()
            .status(),
        200
    );
    let started = Instant::now();
    assert_eq!(harness.get("companies").send().await.unwrap().status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(120));
    post("/_sandbox/latency", json!({"ms": 0})).await.unwrap();

    assert_eq!(
        post("/_sandbox/rate_limit", json!({"per_minute": 1}))
            .await
            .unwrap()
            .status(),
        200
    );
    harness.get("companies").send().await.unwrap();
    assert_eq!(harness.get("companies").send().await.unwrap().status(), 429);
    post("/_sandbox/rate_limit", json!({"per_minute": null}))
        .await
        .unwrap();
    assert_eq!(harness.get("companies").send().await.unwrap().status(), 200);

    let incoming = post(
        "/_sandbox/incoming",
        json!({"conversation_id": 1, "text": "hi"}),
    )
    .await
    .unwrap();
    let message_id = incoming.json::<Value>().await.unwrap()["message_id"]
        .as_i64()
        .unwrap();
    assert_eq!(harness.sandbox.messages(1).last().unwrap().id, message_id);
    let unknown = post(
        "/_sandbox/incoming",
        json!({"conversation_id": 0, "text": "hi"}),
    )
    .await
    .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        post("/_sandbox/faults", json!({"rate": "x"}))
            .await
            .unwrap()
            .status(),
        400
    );

    let stats: Value = harness
        .http
        .get(harness.admin_url("/_sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["faults_injected"], 2);
    assert_eq!(stats["rate_limited"], 1);
    assert!(stats["per_route"]["GET /p1/companies"].as_u64().unwrap() >= 6);
}

#[tokio::test]
async fn live_mode_brings_in_messages() {
    let harness = Harness::start(SandboxConfig {
        conversations: 3,
        live_incoming_every: Some(Duration::from_millis(30)),
        ..SandboxConfig::default()
    })
    .await;
    let before: usize = (1..=3).map(|id| harness.sandbox.messages(id).len()).sum();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let after: usize = (1..=3).map(|id| harness.sandbox.messages(id).len()).sum();
    assert!(after > before, "{before} -> {after}");
}
