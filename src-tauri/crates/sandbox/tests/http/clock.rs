//! A server clock that disagrees with the computer's: every time the sandbox writes for something
//! new (p1 messages, conversations and jobs, p2 messages, VoIPbin messages, conversations and login
//! tokens) is "now + offset", set in the config or at run time, and the seeded history follows a
//! config offset.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration as ChronoDuration, NaiveDateTime, Utc};
use parley_sandbox::SandboxConfig;
use serde_json::{json, Value};

use crate::harness::Harness;

fn year() -> ChronoDuration {
    ChronoDuration::days(365)
}

/// A p1 time: an ISO string or epoch seconds.
fn p1_time(value: &Value) -> DateTime<Utc> {
    match value {
        Value::Number(seconds) => DateTime::from_timestamp(seconds.as_i64().unwrap(), 0).unwrap(),
        Value::String(text) => DateTime::parse_from_rfc3339(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .with_timezone(&Utc),
        other => panic!("not a time: {other}"),
    }
}

/// A VoIPbin time in either shape (`2022-06-17 06:06:14.446158` or RFC 3339).
fn voipbin_time(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"));
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").map(|at| at.and_utc())
        })
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// Reads the server's clock around a write, so what it wrote can be checked against both ends.
struct Around {
    before: DateTime<Utc>,
    after: DateTime<Utc>,
}

impl Around {
    fn start(harness: &Harness) -> Around {
        let now = harness.sandbox.server_now();
        Around {
            before: now,
            after: now,
        }
    }

    fn end(mut self, harness: &Harness) -> Around {
        self.after = harness.sandbox.server_now();
        self
    }

    /// `at` was written between the two readings (a second of slack for whole-second epochs).
    fn check(&self, what: &str, at: DateTime<Utc>) {
        let slack = ChronoDuration::seconds(1);
        assert!(
            at >= self.before - slack && at <= self.after + slack,
            "{what} is {at}, the server's clock read {} .. {}",
            self.before,
            self.after
        );
    }
}

fn voipbin_url(harness: &Harness, path: &str) -> String {
    format!(
        "{}/v1.0/{path}?accesskey={}",
        harness.sandbox.voipbin_base_url(),
        harness.sandbox.voipbin_access_key()
    )
}

/// Sends a p1 message into `conversation` (company 1) and answers the job and the message as p1
/// lists them.
async fn p1_send(harness: &Harness, conversation: i64, text: &str) -> (Value, Value) {
    let path = format!("companies/1/conversations/{conversation}/messages");
    let response = harness
        .post(&path)
        .form(&[("message", text)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let job = response.json::<Value>().await.unwrap()["data"].clone();
    let job_path = format!(
        "companies/1/channels/{}/jobs/{}",
        job["channel"]["id"], job["id"]
    );
    let job = harness.get_json(&job_path).await["data"].clone();
    let newest = harness
        .get_json(&format!("{path}?per=1&sort_direction=desc"))
        .await["data"]["messages"][0]
        .clone();
    assert_eq!(newest["message"], text, "the send is the thread's newest");
    (job, newest)
}

/// Sends a p2 message into `conversation` (company 1) and answers it.
async fn p2_send(harness: &Harness, conversation: i64, text: &str) -> Value {
    let url = format!(
        "{}conversations/{conversation}/messages",
        harness.sandbox.pact_p2_base_url()
    );
    let response = harness
        .http
        .post(url)
        .header("X-Private-Api-Token", harness.sandbox.token())
        .json(&json!({ "company_id": 1, "text": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json::<Value>().await.unwrap()["message"].clone()
}

/// Sends a VoIPbin message and answers it.
async fn voipbin_send(harness: &Harness, conversation: &str, text: &str) -> Value {
    let url = voipbin_url(harness, &format!("conversations/{conversation}/messages"));
    let response = harness
        .http
        .post(url)
        .json(&json!({ "text": text }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Every kind of new time, written under the harness's clock, checked against it.
async fn check_new_times(harness: &Harness) {
    let around = Around::start(harness);
    let (job, p1_message) = p1_send(harness, 1, "sent through p1").await;
    let around = around.end(harness);
    around.check("the p1 job's created_at", p1_time(&job["created_at"]));
    around.check(
        "the p1 message's created_at",
        p1_time(&p1_message["created_at"]),
    );
    around.check(
        "the p1 message's created_at_timestamp",
        p1_time(&p1_message["created_at_timestamp"]),
    );

    let around = Around::start(harness);
    let created = harness
        .post("companies/1/conversations")
        .form(&[("provider", "whatsapp"), ("phone", "79250000042")])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["data"]["conversation"]
        .clone();
    let around = around.end(harness);
    around.check(
        "a new p1 conversation's created_at",
        p1_time(&created["created_at"]),
    );

    let around = Around::start(harness);
    let p2_message = p2_send(harness, 3, "sent through p2").await;
    let around = around.end(harness);
    around.check(
        "the p2 message's created_at",
        p1_time(&p2_message["created_at"]),
    );
    around.check(
        "the p2 message's external_created_at",
        p1_time(&p2_message["external_created_at"]),
    );

    let around = Around::start(harness);
    let incoming = harness
        .sandbox
        .push_incoming_message(5, "from the customer");
    let around = around.end(harness);
    let stored = harness
        .sandbox
        .messages(5)
        .into_iter()
        .find(|m| m.id == incoming)
        .unwrap();
    around.check("an incoming Pact message", stored.created_at);

    let conversation = harness.sandbox.voipbin_conversations()[0].id.clone();
    let around = Around::start(harness);
    let sent = voipbin_send(harness, &conversation, "sent through VoIPbin").await;
    let around = around.end(harness);
    around.check(
        "the VoIPbin message's tm_create",
        voipbin_time(&sent["tm_create"]),
    );
    let shown: Value = harness
        .http
        .get(voipbin_url(
            harness,
            &format!("conversations/{conversation}"),
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    around.check(
        "the VoIPbin conversation's tm_update",
        voipbin_time(&shown["tm_update"]),
    );

    let around = Around::start(harness);
    let (username, password) = harness.sandbox.voipbin_login();
    let login: Value = harness
        .http
        .post(format!("{}/auth/login", harness.sandbox.voipbin_base_url()))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let around = around.end(harness);
    let token = login["token"].as_str().unwrap().to_owned();
    let payload = URL_SAFE_NO_PAD
        .decode(token.split('.').nth(1).unwrap())
        .unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    around.check("the login token's iat", p1_time(&claims["iat"]));
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 7 * 24 * 3600, "the token's lifetime");
    // Whatever the clock says, the token is good for its lifetime.
    let with_token = harness
        .http
        .get(format!(
            "{}/v1.0/conversations",
            harness.sandbox.voipbin_base_url()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 200);
}

#[tokio::test]
async fn a_server_a_year_behind_writes_every_new_time_a_year_back() {
    let harness = Harness::start(SandboxConfig {
        server_clock_offset: -year(),
        job_delay: Duration::ZERO,
        p2_limit_scale: None,
        ..SandboxConfig::default()
    })
    .await;
    assert_eq!(harness.sandbox.server_clock_offset(), -year());
    let server = harness.sandbox.server_now();
    let behind = Utc::now() - server;
    assert!(
        behind >= year() && behind < year() + ChronoDuration::seconds(5),
        "the server's clock is {behind} behind"
    );
    // The seeded history is the server's past, a year back as well.
    let anchor_behind = Utc::now() - harness.sandbox.seed_anchor();
    assert!(
        anchor_behind >= year() && anchor_behind < year() + ChronoDuration::seconds(5),
        "the seed anchor is {anchor_behind} behind"
    );
    let newest_seeded = harness
        .sandbox
        .conversations()
        .iter()
        .filter_map(|c| c.last_message_at)
        .max()
        .unwrap();
    assert!(newest_seeded < harness.sandbox.server_now());

    check_new_times(&harness).await;
}

#[tokio::test]
async fn the_clock_moves_at_run_time_and_threads_stay_in_order() {
    let harness = Harness::start(SandboxConfig {
        job_delay: Duration::ZERO,
        p2_limit_scale: None,
        ..SandboxConfig::default()
    })
    .await;
    assert_eq!(
        harness.sandbox.server_clock_offset(),
        ChronoDuration::zero()
    );
    harness.sandbox.set_server_clock_offset(year());
    let ahead = harness.sandbox.server_now() - Utc::now();
    assert!(ahead > year() - ChronoDuration::seconds(5), "{ahead}");
    check_new_times(&harness).await;

    // Back in agreement through the admin endpoint: a thread untouched meanwhile gets now, a
    // thread that got a message a year ahead gets the next one just after it, not before.
    let response = harness
        .http
        .post(harness.admin_url("/_sandbox/clock"))
        .json(&json!({ "offset_seconds": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        harness.sandbox.server_clock_offset(),
        ChronoDuration::zero()
    );
    let around = Around::start(&harness);
    let fresh = p2_send(&harness, 7, "in agreement again").await;
    let around = around.end(&harness);
    around.check(
        "a send after the clock came back",
        p1_time(&fresh["created_at"]),
    );

    let year_ahead = harness.sandbox.messages(3).pop().unwrap();
    let (_, next) = p1_send(&harness, 3, "after the year-ahead one").await;
    let next = p1_time(&next["created_at"]);
    assert!(
        next > year_ahead.created_at && next - year_ahead.created_at < ChronoDuration::seconds(1),
        "{next} does not follow {}",
        year_ahead.created_at
    );
}

#[tokio::test]
async fn team_messages_join_the_thread_but_not_the_sent_list() {
    let harness = Harness::start(SandboxConfig {
        server_clock_offset: year(),
        ..SandboxConfig::default()
    })
    .await;
    let around = Around::start(&harness);
    let id = harness
        .sandbox
        .push_team_message(1, "written in the web app");
    let around = around.end(&harness);
    let stored = harness.sandbox.messages(1).pop().unwrap();
    assert_eq!(stored.id, id);
    assert!(!stored.income);
    assert_eq!(stored.text.as_deref(), Some("written in the web app"));
    around.check("the team's Pact message", stored.created_at);
    assert!(harness.sandbox.sent_messages().is_empty());
    assert_eq!(harness.sandbox.push_team_message(999_999, "nowhere"), 0);

    let conversation = harness.sandbox.voipbin_conversations()[1].id.clone();
    let around = Around::start(&harness);
    let id = harness
        .sandbox
        .push_voipbin_team_message(&conversation, "written in the console");
    let around = around.end(&harness);
    let stored = harness
        .sandbox
        .voipbin_messages(&conversation)
        .pop()
        .unwrap();
    assert_eq!(stored.id, id);
    assert!(!stored.incoming);
    assert_eq!(stored.text, "written in the console");
    around.check("the team's VoIPbin message", stored.created_at);
    assert!(harness.sandbox.voipbin_sent_messages().is_empty());
    assert!(harness
        .sandbox
        .push_voipbin_team_message("no-such-conversation", "nowhere")
        .is_empty());
}
