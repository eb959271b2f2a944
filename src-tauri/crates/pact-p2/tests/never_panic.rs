//! Property tests: no response makes the p2 client panic or hang. Every decoder is fed mutations of
//! the documented examples (`tests/fixtures/`): fields removed, types swapped, huge numbers, deep
//! nesting, invalid UTF-8, truncated bodies, random bytes (see `../../http/tests/mutate/mod.rs`).
//! Each input gives a value or a typed [`Error`] within the time limit.
//!
//! Covered: the pages (conversations, messages with attachments, WABA templates, with and without
//! `meta`), the entities (conversation, message, attachment, WABA template), the DELETE
//! acknowledgement, `{"errors":[...]}` bodies sent with a success status, error bodies of any
//! status, the time reader; and, through the public client against a scripted local server,
//! every endpoint.

#[path = "../../http/tests/mutate/mod.rs"]
mod mutate;

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use mutate::{Body, Scripted, Seed, NASTY};
use parley_http::Classify;
use parley_pact_p2::{
    decode, ApiToken, Attachment, AttachmentSource, Conversation, ConversationUpdate, Error,
    FirstMessage, Message, OperationalState, OutgoingMessage, PactP2Client, Page, WabaTemplate,
};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::Value;

/// The token; error texts must never show it.
const SECRET: &str = "tok-NEVER-PANIC-p2";

/// Cases per decoder property (`PROPTEST_CASES` overrides).
const CASES: u32 = 768;

const CONVERSATION_PAGES: &[&str] = &["conversations_list.json"];
const MESSAGE_PAGES: &[&str] = &["messages_list.json"];
const TEMPLATE_PAGES: &[&str] = &["waba_templates_list.json"];
const CONVERSATIONS: &[&str] = &[
    "conversation_get.json",
    "conversation_object.json",
    "conversation_update.json",
];
const MESSAGES: &[&str] = &[
    "message_get.json",
    "message_object.json",
    "message_send.json",
    "write_first.json",
];
const ATTACHMENTS: &[&str] = &["attachment_upload.json", "attachment_object.json"];
const TEMPLATES: &[&str] = &["waba_template_object.json"];
const ERRORS: &[&str] = &["error_unauthorized.json", "error_rate_limited.json"];

fn fixtures(names: &[&str]) -> Vec<Seed> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    mutate::fixture_seeds(&dir, names)
}

/// A list fixture, plus the documented pagination example with its list renamed to `key` (the
/// example lists companies, which this client does not read).
fn page_seeds(names: &[&str], key: &str) -> Vec<Seed> {
    let mut seeds = fixtures(names);
    let mut example = fixtures(&["pagination_example.json"]).remove(0).value;
    if let Some(object) = example.as_object_mut() {
        if let Some(list) = object.remove("companies") {
            object.insert(key.to_string(), list);
        }
    }
    seeds.push(Seed::from_value(example));
    seeds
}

/// Error bodies: the documented list, the other shapes the reader knows (`src/error.rs`), and one
/// echoing the token.
fn error_seeds() -> Vec<Seed> {
    let mut seeds = fixtures(ERRORS);
    seeds.extend(mutate::inline_seeds(&[
        r#"{"errors":{"phone":["is invalid","is too short"]}}"#,
        r#"{"error":{"message":"bad","code":7}}"#,
        r#"{"message":"Phone is invalid"}"#,
        r#""Unauthorized""#,
        r#"{"errors":[{"status":"404","detail":"token tok-NEVER-PANIC-p2 is unknown"}]}"#,
    ]));
    seeds
}

/// What every error must be: one line, short, without the token.
fn check_error(error: &Error) -> Result<(), TestCaseError> {
    let text = error.to_string();
    prop_assert!(!text.contains(SECRET), "{text}");
    prop_assert!(!text.chars().any(char::is_control), "{text:?}");
    prop_assert!(
        text.chars().count() <= 400,
        "{} chars",
        text.chars().count()
    );
    prop_assert!(error
        .retry_after()
        .is_none_or(|wait| wait <= Duration::from_secs(86_400)));
    for item in error.errors() {
        for text in [&item.code, &item.title, &item.detail]
            .into_iter()
            .flatten()
        {
            prop_assert!(!text.contains(SECRET), "{text}");
            prop_assert!(text.chars().count() <= 300);
        }
    }
    let _ = (
        error.status(),
        error.is_retryable(),
        error.outcome_unknown(),
    );
    let _ = error.failure_kind();
    Ok(())
}

fn check<T>(result: Result<T, Error>, touch: impl Fn(&T)) -> Result<(), TestCaseError> {
    match result {
        Ok(value) => {
            touch(&value);
            Ok(())
        }
        Err(error) => check_error(&error),
    }
}

/// A page's numbers agree with its items: what `is_last` documents.
fn check_page<T>(page: &Page<T>, asked_per_page: u32) -> Result<(), TestCaseError> {
    prop_assert!(page.per_page <= asked_per_page && page.per_page > 0);
    prop_assert_eq!(
        page.is_last,
        page.items.is_empty() || page.items.len() < page.per_page as usize
    );
    Ok(())
}

fn touch_message(message: &Message) {
    let _ = message.time();
    if let Some(reason) = message.error_reason() {
        assert!(reason.chars().count() <= 300, "{reason}");
        assert!(!reason.contains('\n'), "{reason:?}");
    }
}

proptest! {
    #![proptest_config(mutate::config(CASES))]

    #[test]
    fn conversation_pages(body in mutate::bodies(page_seeds(CONVERSATION_PAGES, "conversations"))) {
        let result = mutate::bounded("conversations page", &body, |bytes| {
            decode::page::<Conversation>(&bytes, "conversations", 2, 25, SECRET)
        });
        match result {
            Ok(page) => check_page(&page, 25)?,
            Err(error) => check_error(&error)?,
        }
    }

    #[test]
    fn message_pages(body in mutate::bodies(page_seeds(MESSAGE_PAGES, "messages"))) {
        let result = mutate::bounded("messages page", &body, |bytes| {
            decode::page::<Message>(&bytes, "messages", 1, 150, SECRET)
        });
        match result {
            Ok(page) => {
                check_page(&page, 150)?;
                page.items.iter().for_each(touch_message);
            }
            Err(error) => check_error(&error)?,
        }
    }

    #[test]
    fn template_pages(body in mutate::bodies(page_seeds(TEMPLATE_PAGES, "waba_templates"))) {
        let result = mutate::bounded("templates page", &body, |bytes| {
            decode::page::<WabaTemplate>(&bytes, "waba_templates", 1, 100, SECRET)
        });
        match result {
            Ok(page) => check_page(&page, 100)?,
            Err(error) => check_error(&error)?,
        }
    }

    #[test]
    fn conversations(body in mutate::bodies(fixtures(CONVERSATIONS))) {
        let result = mutate::bounded("conversation", &body, |bytes| {
            decode::entity::<Conversation>(&bytes, "conversation", SECRET)
        });
        check(result, |_| {})?;
    }

    #[test]
    fn messages(body in mutate::bodies(fixtures(MESSAGES))) {
        let result = mutate::bounded("message", &body, |bytes| {
            decode::entity::<Message>(&bytes, "message", SECRET)
        });
        check(result, touch_message)?;
    }

    #[test]
    fn attachments(body in mutate::bodies(fixtures(ATTACHMENTS))) {
        let result = mutate::bounded("attachment", &body, |bytes| {
            decode::entity::<Attachment>(&bytes, "attachment", SECRET)
        });
        check(result, |_| {})?;
    }

    #[test]
    fn templates(body in mutate::bodies(fixtures(TEMPLATES))) {
        let result = mutate::bounded("template", &body, |bytes| {
            decode::entity::<WabaTemplate>(&bytes, "waba_template", SECRET)
        });
        check(result, |_| {})?;
    }

    /// A success status whose body is an error list, or anything else (DELETE reads no content).
    #[test]
    fn acknowledgements_and_error_lists(body in mutate::bodies([error_seeds(), fixtures(MESSAGES)].concat())) {
        let acknowledged = mutate::bounded("acknowledgement", &body, |bytes| {
            decode::acknowledgement(&bytes, SECRET)
        });
        check(acknowledged, |_| {})?;
        let entity = mutate::bounded("error list as entity", &body, |bytes| {
            decode::entity::<Message>(&bytes, "message", SECRET)
        });
        check(entity, touch_message)?;
    }

    #[test]
    fn error_bodies(
        status in prop_oneof![
            2 => Just(429u16),
            4 => prop::sample::select(vec![400u16, 401, 402, 403, 404, 409, 422, 429, 500, 502, 503]),
            1 => any::<u16>(),
        ],
        content_type in prop::option::of(prop::sample::select(vec![
            "application/json", "text/html", "text/plain; charset=utf-8", "", "HTML",
        ])),
        body in mutate::bodies(error_seeds()),
    ) {
        let error = mutate::bounded("error body", &body, move |bytes| {
            decode::error(status, content_type, None, &bytes, SECRET)
        });
        check_error(&error)?;
    }

    #[test]
    fn times(text in time_texts()) {
        let parsed = mutate::bounded("time", &Body(text.into_bytes()), |bytes| {
            decode::time(&String::from_utf8_lossy(&bytes))
        });
        let _ = parsed.map(|at| at.to_rfc3339());
    }
}

/// Time texts: ISO shapes with out-of-range parts, epochs (seconds and milliseconds), garbage.
fn time_texts() -> impl Strategy<Value = String> {
    let iso = (
        -300_000i64..300_000,
        0u32..14,
        0u32..33,
        0u32..26,
        0u32..62,
        0u32..62,
        prop::sample::select(vec!["", ".995", ".0000000001", ".999999999999"]),
        prop::sample::select(vec!["Z", "+03:00", "+0300", " UTC", " +9999", "", "-24:00"]),
        prop::sample::select(vec!["T", " "]),
    )
        .prop_map(|(y, mo, d, h, mi, s, fraction, zone, sep)| {
            format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{fraction}{zone}")
        });
    prop_oneof![
        4 => iso,
        1 => any::<f64>().prop_map(|f| f.to_string()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<String>(),
        1 => (0..NASTY.len()).prop_map(|i| NASTY[i].to_string()),
    ]
}

/// The p2 calls the end-to-end property drives.
const ENDPOINTS: usize = 11;

fn ok_seeds(endpoint: usize) -> Vec<Seed> {
    match endpoint {
        0 => page_seeds(CONVERSATION_PAGES, "conversations"),
        1 | 2 => fixtures(CONVERSATIONS),
        3 => page_seeds(MESSAGE_PAGES, "messages"),
        4 | 5 | 7 => fixtures(MESSAGES),
        6 => [error_seeds(), fixtures(MESSAGES)].concat(),
        8 | 9 => fixtures(ATTACHMENTS),
        _ => page_seeds(TEMPLATE_PAGES, "waba_templates"),
    }
}

/// Calls endpoint number `endpoint`; the outcome as a value or an error.
async fn call(client: &PactP2Client, endpoint: usize) -> Result<(), Error> {
    match endpoint {
        0 => client.conversations(1, 1, 25, Some("x")).await.map(drop),
        1 => client.conversation(1, 2).await.map(drop),
        2 => {
            let update = ConversationUpdate {
                operational_state: Some(OperationalState::Archived),
                ..ConversationUpdate::default()
            };
            client.update_conversation(1, 2, &update).await.map(drop)
        }
        3 => client
            .messages(1, 2, 1, 150)
            .await
            .map(|page| page.items.iter().for_each(touch_message)),
        4 => client.message(1, 2, 3).await.map(|m| touch_message(&m)),
        5 => {
            let message = OutgoingMessage {
                text: Some("hi".into()),
                ..OutgoingMessage::default()
            };
            client.send_message(1, 2, &message).await.map(drop)
        }
        6 => client.delete_messages(1, 2, &[3, 4]).await,
        7 => {
            let first = FirstMessage {
                provider: "whatsapp".into(),
                phone: Some("79517591813".into()),
                text: Some("hi".into()),
                ..FirstMessage::default()
            };
            client.write_first(1, &first).await.map(drop)
        }
        8 => {
            let url = url::Url::parse("https://example.com/a.png").unwrap();
            client
                .upload_attachment(1, AttachmentSource::Url(url), None)
                .await
                .map(drop)
        }
        9 => {
            let file = AttachmentSource::File {
                file_name: "a.txt".into(),
                mime_type: None,
                bytes: bytes::Bytes::from_static(b"hello"),
            };
            let sent = Arc::new(AtomicU64::new(0));
            client
                .upload_attachment(1, file, Some(sent))
                .await
                .map(drop)
        }
        _ => client.waba_templates(&[1, 2], 1, 25).await.map(drop),
    }
}

/// The public client, every endpoint, against a local server answering mutated bodies with any
/// status: a value or a typed error within the time limit, never a panic.
#[test]
fn the_client_survives_any_answer() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(mutate::STACK_SIZE)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(Scripted::start());
    let client = PactP2Client::builder(ApiToken::new(SECRET))
        .base_url(format!("{}/api/p2", server.url))
        .max_retries(0)
        .budget(Arc::new(mutate::Unlimited))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let answers = (0..ENDPOINTS).prop_flat_map(|endpoint| {
        (
            Just(endpoint),
            mutate::replies(ok_seeds(endpoint), error_seeds()),
        )
    });
    let mut runner = TestRunner::new(mutate::config(CASES));
    let outcome = runner.run(&answers, |(endpoint, reply)| {
        server.answer(reply);
        let result = runtime.block_on(async {
            tokio::time::timeout(mutate::TIME_LIMIT * 3, call(&client, endpoint)).await
        });
        let Ok(result) = result else {
            panic!("endpoint {endpoint} hung");
        };
        check(result, |_| {})
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

/// Every documented example still decodes, so the properties above start from valid bodies.
#[test]
fn the_seeds_decode() {
    let ok = |seeds: Vec<Seed>, decode: &dyn Fn(&[u8]) -> bool| {
        for seed in seeds {
            assert!(decode(seed.body().bytes()), "{}", seed.text);
        }
    };
    ok(page_seeds(CONVERSATION_PAGES, "conversations"), &|b| {
        decode::page::<Conversation>(b, "conversations", 1, 25, SECRET).is_ok()
    });
    ok(page_seeds(MESSAGE_PAGES, "messages"), &|b| {
        decode::page::<Message>(b, "messages", 1, 150, SECRET).is_ok()
    });
    ok(page_seeds(TEMPLATE_PAGES, "waba_templates"), &|b| {
        decode::page::<WabaTemplate>(b, "waba_templates", 1, 100, SECRET).is_ok()
    });
    ok(fixtures(CONVERSATIONS), &|b| {
        decode::entity::<Conversation>(b, "conversation", SECRET).is_ok()
    });
    ok(fixtures(MESSAGES), &|b| {
        decode::entity::<Message>(b, "message", SECRET).is_ok()
    });
    ok(fixtures(ATTACHMENTS), &|b| {
        decode::entity::<Attachment>(b, "attachment", SECRET).is_ok()
    });
    ok(fixtures(TEMPLATES), &|b| {
        decode::entity::<WabaTemplate>(b, "waba_template", SECRET).is_ok()
    });
    for seed in error_seeds() {
        let error = decode::error(429, None, None, seed.body().bytes(), SECRET);
        assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
        assert!(!error.to_string().contains(SECRET));
    }
    assert!(decode::acknowledgement(fixtures(ERRORS)[0].body().bytes(), SECRET).is_err());
}

/// Found by these tests: "Please wait for 10^23 seconds" in a 429 error list panicked while
/// reading the wait (fixed in `parley_http::retry`).
#[test]
fn regression_a_huge_wait_in_a_429_body_is_capped() {
    let body = br#"{"errors":[{"status":429,"detail":"Please wait for 99999999999999999999999 seconds"}]}"#;
    let error = decode::error(429, Some("application/json"), None, body, SECRET);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(86_400)));
    // The same list under a success status.
    let listed = decode::entity::<Message>(body, "message", SECRET).unwrap_err();
    assert_eq!(listed.retry_after(), Some(Duration::from_secs(86_400)));
}

/// Deep nesting is refused by the JSON reader's depth limit, not by a stack overflow.
#[test]
fn regression_deep_nesting_is_an_error() {
    let deep = format!(r#"{{"messages":{}}}"#, mutate::raw(2));
    let result = mutate::bounded("deep page", &Body(deep.into_bytes()), |bytes| {
        decode::page::<Message>(&bytes, "messages", 1, 150, SECRET)
    });
    assert!(matches!(result, Err(Error::InvalidResponse { .. })));
    let value: Result<Value, _> = serde_json::from_str(&mutate::raw(29));
    assert!(value.is_ok(), "127 levels are fine");
}
