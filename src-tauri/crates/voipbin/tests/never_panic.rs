//! Property tests: nothing a VoIPbin server sends makes the client panic or hang. Every reader is
//! fed mutations of the documented examples (`tests/fixtures/`): fields removed, types swapped,
//! huge numbers, deep nesting, invalid UTF-8, truncated bodies, random bytes (see
//! `../../http/tests/mutate/mod.rs`). Each input gives a value or a typed error within the time
//! limit.
//!
//! Covered: list pages of conversations, messages and agents (both shapes), single conversations,
//! messages and the customer, WebSocket frames (wrapped and bare) with the deduplicator, the
//! timestamp reader, login tokens (the JWT `exp`), error envelopes; and, through the public
//! client, every REST call against a scripted local server, the login (mutated login answers
//! with tokens of any expiry), and the live-event socket (refused handshakes with error bodies,
//! and mutated frames as text and binary messages).

#[path = "../../http/tests/mutate/mod.rs"]
mod mutate;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::{SinkExt, StreamExt};
use mutate::{Body, Scripted, Seed, NASTY};
use parley_http::Classify;
use parley_voipbin::events::{parse_frame, Deduplicator, Event};
use parley_voipbin::{
    decode, timestamp, unsigned_token, Agent, Conversation, Credentials, Customer, Error, Message,
    Page, VoipbinClient,
};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as Frame;

/// The access key and password; error texts must never show them.
const KEY: &str = "vb_NEVER-PANIC-KEY";
const PASSWORD: &str = "pw-NEVER-PANIC-99";

/// Cases per reader property (`PROPTEST_CASES` overrides).
const CASES: u32 = 768;

const CONVERSATION_PAGES: &[&str] = &["conversations_list.json", "legacy_conversations_list.json"];
const MESSAGE_PAGES: &[&str] = &["messages_list.json", "legacy_messages_list.json"];
const CONVERSATIONS: &[&str] = &[
    "conversation.json",
    "conversation_struct.json",
    "conversation_assign.json",
    "conversation_unassign.json",
    "legacy_conversation.json",
    "legacy_conversation_struct.json",
];
const MESSAGES: &[&str] = &[
    "message_send.json",
    "message_send_agent_reply.json",
    "message_struct.json",
    "message_api_struct.json",
    "legacy_message_send.json",
    "legacy_message_struct.json",
];
const FRAMES: &[&str] = &[
    "webhook_conversation_created.json",
    "webhook_conversation_updated.json",
    "webhook_conversation_message_created.json",
    "ws_call_created.json",
    "ws_chatmessage_created.json",
    "conversation_struct.json",
    "message_struct.json",
    "legacy_conversation_struct.json",
    "legacy_message_struct.json",
];

fn fixtures(names: &[&str]) -> Vec<Seed> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    mutate::fixture_seeds(&dir, names)
}

/// The agent of the docs (`webhook_struct_webhook.rst`, agent_created), as a list page.
fn agent_page_seeds() -> Vec<Seed> {
    vec![Seed::from_value(json!({
        "result": [{
            "id": "eb1ac5c0-ff63-47e2-bcdb-5da9c336eb4b",
            "username": "test1",
            "name": "test agent 1",
            "detail": "test agent. username test1",
            "ring_method": "ringall",
            "status": "available",
            "permission": 0,
            "tag_ids": ["d7450dda-21e0-4611-b09a-8d771c50a5e6"],
            "addresses": [
                {"type": "tel", "target": "+15559876543", "target_name": "", "name": "", "detail": ""}
            ],
            "tm_create": "2021-11-29 06:09:07.263846",
            "tm_update": "2022-03-29 15:08:00.814900",
            "tm_delete": "9999-01-01 00:00:00.000000"
        }],
        "next_page_token": "2021-11-29 06:09:07.263846"
    }))]
}

/// The customer object as far as the client reads it.
fn customer_seeds() -> Vec<Seed> {
    mutate::inline_seeds(&[
        r#"{"id":"5e4a0680-804e-11ec-8477-2fea5968d85b","name":"test","username":"test@example.com","tm_create":"2022-02-01 00:00:00.000000"}"#,
    ])
}

/// Error bodies: the documented envelope, the bare message, one echoing the access key.
fn error_seeds() -> Vec<Seed> {
    let mut seeds = fixtures(&["error_envelope.json"]);
    seeds.extend(mutate::inline_seeds(&[
        r#"{"message":"conversation not found"}"#,
        r#"{"error":{"status":"UNAUTHENTICATED","message":"vb_NEVER-PANIC-KEY or pw-NEVER-PANIC-99: invalid"}}"#,
    ]));
    seeds
}

/// Login answers with tokens of ordinary, absent, past and unrepresentable expiries.
fn login_seeds() -> Vec<Seed> {
    let mut seeds = fixtures(&["login.json"]);
    for payload in [
        r#"{"agent":{"id":"a"},"exp":1900000000}"#,
        r#"{"exp":"1900000000"}"#,
        r#"{"exp":1.9e9}"#,
        r#"{"exp":0}"#,
        r#"{"exp":18446744073709551615}"#,
        r#"{"exp":18446744073709551615,"iat":1}"#,
        r#"{"exp":1e300,"iat":0}"#,
        r#"{}"#,
    ] {
        seeds.push(Seed::from_value(
            json!({"username": "u", "token": unsigned_token(payload)}),
        ));
    }
    seeds
}

/// What every error must be: without the client's `secret` in its text.
fn check_error(error: &Error, secret: &str) -> Result<(), TestCaseError> {
    let text = error.to_string();
    prop_assert!(!text.contains(secret), "{text}");
    let _ = (error.status(), error.failure_kind());
    Ok(())
}

fn check<T>(
    result: Result<T, Error>,
    secret: &str,
    touch: impl Fn(&T),
) -> Result<(), TestCaseError> {
    match result {
        Ok(value) => {
            touch(&value);
            Ok(())
        }
        Err(error) => check_error(&error, secret),
    }
}

/// Uses what the app uses of each model, so lazily read fields are read too.
fn touch_conversation(conversation: &Conversation) {
    let _ = (
        conversation.title(),
        conversation.channel(),
        conversation.owner(),
    );
    let _ = (conversation.last_activity(), conversation.is_deleted());
    let _ = conversation.peer_address().map(|peer| peer.display_name());
}

fn touch_message(message: &Message) {
    let _ = (message.direction(), message.text(), message.updated_at());
}

fn touch_agent(agent: &Agent) {
    let _ = (agent.display_name(), agent.is_deleted());
}

fn touch_page<T>(page: &Page<T>, touch: impl Fn(&T)) {
    page.items.iter().for_each(touch);
}

/// The body as the client reads it before any model: blank is `null`, else JSON.
fn json_of(bytes: &[u8]) -> Option<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Some(Value::Null);
    }
    serde_json::from_slice(bytes).ok()
}

/// One object as the client reads it: a non-empty string `id`, then the model.
fn object<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let value = json_of(bytes)?;
    value.get("id")?.as_str().filter(|id| !id.is_empty())?;
    serde_json::from_value(value).ok()
}

/// Base64url without padding, of any bytes (also not UTF-8).
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// Login tokens: a header, a mutated payload, a signature; or odd strings.
fn tokens() -> impl Strategy<Value = String> {
    let payloads = mutate::bodies(mutate::inline_seeds(&[
        r#"{"agent":{"id":"a","customer_id":"c"},"exp":1900000000}"#,
        r#"{"exp":"1900000000","iat":1}"#,
    ]));
    prop_oneof![
        6 => payloads.prop_map(|payload| format!("eyJhbGciOiJIUzI1NiJ9.{}.sig", base64url(payload.bytes()))),
        1 => any::<String>(),
        1 => prop::collection::vec(prop::sample::select(vec![".", "=", "A", "-", "_", "+", "/", "!", "eyJ"]), 0..40)
            .prop_map(|parts| parts.concat()),
    ]
}

proptest! {
    #![proptest_config(mutate::config(CASES))]

    #[test]
    fn conversation_pages(body in mutate::bodies(fixtures(CONVERSATION_PAGES))) {
        let result = mutate::bounded("conversations page", &body, |bytes| {
            json_of(&bytes).map(decode::page::<Conversation>)
        });
        if let Some(result) = result {
            check(result, KEY, |page| touch_page(page, touch_conversation))?;
        }
    }

    #[test]
    fn message_pages(body in mutate::bodies(fixtures(MESSAGE_PAGES))) {
        let result = mutate::bounded("messages page", &body, |bytes| {
            json_of(&bytes).map(decode::page::<Message>)
        });
        if let Some(result) = result {
            check(result, KEY, |page| touch_page(page, touch_message))?;
        }
    }

    #[test]
    fn agent_pages(body in mutate::bodies(agent_page_seeds())) {
        let result = mutate::bounded("agents page", &body, |bytes| {
            json_of(&bytes).map(decode::page::<Agent>)
        });
        if let Some(result) = result {
            check(result, KEY, |page| touch_page(page, touch_agent))?;
        }
    }

    #[test]
    fn objects(body in mutate::bodies([fixtures(CONVERSATIONS), fixtures(MESSAGES), customer_seeds()].concat())) {
        let read = mutate::bounded("objects", &body, |bytes| {
            (object::<Conversation>(&bytes), object::<Message>(&bytes), object::<Customer>(&bytes))
        });
        if let Some(conversation) = read.0 {
            touch_conversation(&conversation);
        }
        if let Some(message) = read.1 {
            touch_message(&message);
        }
    }

    #[test]
    fn frames(bodies in prop::collection::vec(mutate::bodies(fixtures(FRAMES)), 1..4)) {
        let mut dedup = Deduplicator::new(2);
        for body in bodies {
            // A text frame is UTF-8 by the protocol; a binary one is read only when it is.
            let event = mutate::bounded("frame", &body, |bytes| {
                String::from_utf8(bytes).ok().map(|text| parse_frame(&text))
            });
            let lossy = mutate::bounded("lossy frame", &body, |bytes| {
                parse_frame(&String::from_utf8_lossy(&bytes))
            });
            for event in event.into_iter().chain([lossy]).flatten() {
                let _ = (event.dedup_key(), dedup.is_new(&event));
                match event {
                    Event::Conversation { conversation, .. } => touch_conversation(&conversation),
                    Event::Message { message, .. } => touch_message(&message),
                    Event::Other { .. } => {}
                }
            }
        }
    }

    #[test]
    fn timestamps(text in prop_oneof![
        4 => (0..NASTY.len()).prop_map(|i| NASTY[i].to_string()),
        2 => (-300_000i64..300_000, 0u32..14, 0u32..33, 0u32..26, 0u32..62, 0u32..62,
              prop::sample::select(vec!["", ".446158", ".4461581234567890123", "Z", "+02:00", ".0Z"]),
              prop::sample::select(vec!["T", " "]))
            .prop_map(|(y, mo, d, h, mi, s, tail, sep)| format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{tail}")),
        1 => any::<String>(),
    ]) {
        let parsed = mutate::bounded("timestamp", &Body(text.into_bytes()), |bytes| {
            timestamp::parse(&String::from_utf8_lossy(&bytes))
        });
        let _ = parsed.at();
    }

    #[test]
    fn login_tokens(token in tokens()) {
        let issued_at = SystemTime::now();
        let expiry = mutate::bounded("token expiry", &Body(token.clone().into_bytes()), move |_| {
            decode::token_expiry(&token, issued_at)
        });
        // The token's own lifetime, or the default one, from when it arrived.
        prop_assert!(expiry >= issued_at);
    }

    #[test]
    fn error_bodies(
        status in prop_oneof![
            2 => Just(429u16),
            4 => prop::sample::select(vec![400u16, 401, 402, 403, 404, 409, 422, 429, 500, 502, 503]),
            1 => any::<u16>(),
        ],
        body in mutate::bodies(error_seeds()),
    ) {
        let (error, server) = mutate::bounded("error body", &body, move |bytes| {
            (decode::error(status, None, &bytes, &[KEY]), decode::server_message(&bytes))
        });
        check_error(&error, KEY)?;
        for field in [server.status, server.reason, server.request_id].into_iter().flatten().chain([server.message]) {
            prop_assert!(field.chars().count() <= 300, "{} chars", field.chars().count());
            prop_assert!(!field.chars().any(char::is_control), "{field:?}");
        }
    }
}

/// The REST calls the end-to-end property drives.
const ENDPOINTS: usize = 13;

fn ok_seeds(endpoint: usize) -> Vec<Seed> {
    match endpoint {
        0 | 1 | 12 => fixtures(CONVERSATION_PAGES),
        2..=5 => fixtures(CONVERSATIONS),
        6 | 7 => fixtures(MESSAGE_PAGES),
        8 => fixtures(MESSAGES),
        9 | 10 => agent_page_seeds(),
        _ => customer_seeds(),
    }
}

/// Takes up to three pages of a page stream.
async fn three_pages<T>(
    pages: impl futures::Stream<Item = Result<Page<T>, Error>>,
) -> Result<(), Error> {
    futures::pin_mut!(pages);
    for _ in 0..3 {
        match pages.next().await {
            Some(page) => drop(page?),
            None => break,
        }
    }
    Ok(())
}

/// Calls endpoint number `endpoint`; the outcome as a value or an error.
async fn call(client: &VoipbinClient, endpoint: usize) -> Result<(), Error> {
    match endpoint {
        0 => client
            .conversations_page(10, Some("2022-06-17 06:06:14.446158"))
            .await
            .map(|p| touch_page(&p, touch_conversation)),
        1 => three_pages(client.conversation_pages(2)).await,
        2 => client
            .conversation("c1")
            .await
            .map(|c| touch_conversation(&c)),
        3 => client.assign_conversation("c1", "a1").await.map(drop),
        4 => client.unassign_conversation("c1").await.map(drop),
        5 => client.setup_conversation("line").await.map(drop),
        6 => client
            .messages_page("c1", 10, None)
            .await
            .map(|p| touch_page(&p, touch_message)),
        7 => three_pages(client.message_pages("c1", 1)).await,
        8 => client
            .send_text("c1", "hi")
            .await
            .map(|m| touch_message(&m)),
        9 => client
            .agents_page(10, None)
            .await
            .map(|p| touch_page(&p, touch_agent)),
        10 => three_pages(client.agent_pages(1)).await,
        11 => client.customer().await.map(drop),
        _ => client.verify().await,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(mutate::STACK_SIZE)
        .enable_all()
        .build()
        .unwrap()
}

fn client(root: &str, credentials: Credentials) -> VoipbinClient {
    VoipbinClient::builder(credentials)
        .root_url(root)
        .max_retries(0)
        .budget(Arc::new(mutate::Unlimited))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Runs `property` over `strategy`, failing the test with proptest's report.
fn run<S: Strategy>(
    cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(mutate::config(cases));
    if let Err(failure) = runner.run(&strategy, property) {
        panic!("{failure}");
    }
}

/// The public client, every REST call, against a local server answering mutated bodies with
/// any status: a value or a typed error within the time limit, never a panic.
#[test]
fn the_client_survives_any_answer() {
    let runtime = runtime();
    let server = runtime.block_on(Scripted::start());
    let client = client(&server.url, Credentials::access_key(KEY));
    let answers = (0..ENDPOINTS).prop_flat_map(|endpoint| {
        (
            Just(endpoint),
            mutate::replies(ok_seeds(endpoint), error_seeds()),
        )
    });
    run(CASES, answers, |(endpoint, reply)| {
        server.answer(reply);
        let result = runtime.block_on(async {
            tokio::time::timeout(mutate::TIME_LIMIT * 3, call(&client, endpoint)).await
        });
        let Ok(result) = result else {
            panic!("endpoint {endpoint} hung");
        };
        check(result, KEY, |_| {})
    });
}

/// A password client logs in through any answer: the login answer (and then the call's) mutated,
/// tokens of any expiry.
#[test]
fn the_login_survives_any_answer() {
    let runtime = runtime();
    let server = runtime.block_on(Scripted::start());
    run(
        CASES / 4,
        mutate::replies(login_seeds(), error_seeds()),
        |reply| {
            server.answer(reply);
            // A fresh client: no session kept from an earlier case.
            let client = client(&server.url, Credentials::password("agent", PASSWORD));
            let result = runtime.block_on(async {
                tokio::time::timeout(mutate::TIME_LIMIT * 3, client.verify()).await
            });
            let Ok(result) = result else {
                panic!("login hung");
            };
            check(result, PASSWORD, |_| {})
        },
    );
}

/// Frames a WebSocket server sends: mutated frames (text when UTF-8, else binary; some valid text
/// as binary), then a close.
#[derive(Debug, Clone)]
struct Script {
    frames: Vec<(Body, bool)>,
}

/// A WebSocket server on 127.0.0.1 that plays the current script to every connection.
async fn websocket_server(script: Arc<Mutex<Script>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let script = script.lock().unwrap().clone();
            tokio::spawn(async move {
                let Ok(mut socket) = tokio_tungstenite::accept_async(socket).await else {
                    return;
                };
                // The subscription.
                let _ = socket.next().await;
                for (body, as_binary) in script.frames {
                    let frame = match String::from_utf8(body.0) {
                        Ok(text) if !as_binary => Frame::text(text),
                        Ok(text) => Frame::binary(text.into_bytes()),
                        Err(error) => Frame::binary(error.into_bytes()),
                    };
                    if socket.send(frame).await.is_err() {
                        return;
                    }
                }
                let _ = socket.close(None).await;
            });
        }
    });
    url
}

/// The live-event socket reads any frames (a value, a skip, or a typed error; then the end), and
/// a refused handshake with any error body is a typed error.
#[test]
fn the_event_socket_survives_any_frames() {
    let runtime = runtime();
    let script = Arc::new(Mutex::new(Script { frames: Vec::new() }));
    let live = client(
        &runtime.block_on(websocket_server(script.clone())),
        Credentials::access_key(KEY),
    );
    let refusing = runtime.block_on(Scripted::start());
    let refused = client(&refusing.url, Credentials::access_key(KEY));
    let topics = vec!["customer_id:c:conversation".to_string()];
    let frames = prop::collection::vec((mutate::bodies(fixtures(FRAMES)), any::<bool>()), 0..6);
    let refusals = mutate::replies(error_seeds(), error_seeds());
    let cases = prop_oneof![
        3 => frames.prop_map(|frames| Err(Script { frames })),
        1 => refusals.prop_map(Ok),
    ];
    run(CASES / 4, cases, |case| {
        let outcome = runtime.block_on(async {
            tokio::time::timeout(mutate::TIME_LIMIT * 3, async {
                match case {
                    Ok(refusal) => {
                        refusing.answer(refusal);
                        refused.connect_events(&topics).await.map(|_| 0)
                    }
                    Err(played) => {
                        let count = played.frames.len();
                        *script.lock().unwrap() = played;
                        let mut socket = live.connect_events(&topics).await?;
                        let mut events = 0;
                        // Every frame gives at most one item; then the close ends the stream.
                        for _ in 0..=count {
                            match socket.next_event().await {
                                Some(Ok(event)) => {
                                    let _ = event.dedup_key();
                                    events += 1;
                                }
                                Some(Err(error)) => return Err(error),
                                None => break,
                            }
                        }
                        Ok(events)
                    }
                }
            })
            .await
        });
        let Ok(result) = outcome else {
            panic!("the event socket hung");
        };
        check(result, KEY, |_| {})
    });
}

/// Every documented example still reads, so the properties above start from valid bodies.
#[test]
fn the_seeds_decode() {
    for seed in fixtures(CONVERSATION_PAGES) {
        let page = decode::page::<Conversation>(seed.value.clone()).unwrap();
        assert!(!page.items.is_empty() && page.skipped == 0, "{}", seed.text);
    }
    for seed in fixtures(MESSAGE_PAGES) {
        let page = decode::page::<Message>(seed.value.clone()).unwrap();
        assert!(!page.items.is_empty() && page.skipped == 0, "{}", seed.text);
    }
    for seed in agent_page_seeds() {
        let page = decode::page::<Agent>(seed.value.clone()).unwrap();
        assert_eq!((page.items.len(), page.skipped), (1, 0));
    }
    for seed in fixtures(CONVERSATIONS) {
        assert!(
            object::<Conversation>(seed.body().bytes()).is_some(),
            "{}",
            seed.text
        );
    }
    for seed in fixtures(MESSAGES) {
        assert!(
            object::<Message>(seed.body().bytes()).is_some(),
            "{}",
            seed.text
        );
    }
    for seed in customer_seeds() {
        assert!(object::<Customer>(seed.body().bytes()).is_some());
    }
    for seed in fixtures(FRAMES) {
        assert!(parse_frame(&seed.text).is_ok(), "{}", seed.text);
    }
    let envelope = decode::server_message(fixtures(&["error_envelope.json"])[0].body().bytes());
    assert_eq!(envelope.status.as_deref(), Some("PERMISSION_DENIED"));
}

/// Found by these tests: a login token whose lifetime lies beyond what `SystemTime` holds (`exp`
/// near `u64::MAX`, or `1e300`, with or without `iat`) panicked ("overflow when adding duration
/// to instant"); such a token now counts as unreadable and lasts the default seven days.
#[test]
fn regression_an_unrepresentable_token_expiry_is_not_a_panic() {
    let now = SystemTime::now();
    for payload in [
        r#"{"exp":18446744073709551615}"#,
        r#"{"exp":18446744073709551615,"iat":1}"#,
        r#"{"exp":1e300,"iat":0}"#,
        r#"{"exp":9.3e18,"iat":1}"#,
    ] {
        let token = unsigned_token(payload);
        let expiry = mutate::bounded(
            "token expiry",
            &Body(token.clone().into_bytes()),
            move |_| decode::token_expiry(&token, now),
        );
        assert_eq!(
            expiry,
            now + Duration::from_secs(7 * 24 * 60 * 60),
            "{payload}"
        );
    }
    let hour = unsigned_token(r#"{"exp":1900003600,"iat":1900000000}"#);
    assert_eq!(
        decode::token_expiry(&hour, now),
        now + Duration::from_secs(3600)
    );
}

/// Deep nesting is refused by the JSON reader's depth limit, not by a stack overflow.
#[test]
fn regression_deep_frames_are_an_error() {
    let deep = format!(
        r#"{{"type":"conversation_updated","data":{}}}"#,
        mutate::raw(2)
    );
    let result = mutate::bounded("deep frame", &Body(deep.into_bytes()), |bytes| {
        parse_frame(&String::from_utf8_lossy(&bytes)).is_err()
    });
    assert!(result);
}
