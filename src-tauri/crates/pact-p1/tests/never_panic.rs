//! Property tests: no response makes the p1 client panic or hang. Every decoder is fed mutations of
//! the documented examples (`tests/fixtures/`): fields removed, types swapped, huge numbers, deep
//! nesting, invalid UTF-8, truncated bodies, random bytes (see `../../http/tests/mutate/mod.rs`).
//! Each input gives a value or a typed [`Error`] within the time limit.
//!
//! Covered: the list pages (companies, conversations, messages with their attachments), the
//! entities (conversation, conversation reference, delivery job, uploaded attachment, company) and
//! the acknowledgement, all through the `{"status","data"}` envelope; error bodies of any status;
//! the timestamp reader; and, through the public client against a scripted local server, every
//! endpoint and a page stream.

#[path = "../../http/tests/mutate/mod.rs"]
mod mutate;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mutate::{Body, Scripted, Seed, NASTY};
use parley_http::Classify;
use parley_pact_p1::{
    decode, timestamp, ApiToken, AttachmentSource, Company, Conversation, ConversationRef,
    DeliveryJob, Error, Message, NewConversation, OutgoingMessage, PactClient, Page, PageRequest,
    SortDirection, UploadedAttachment,
};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};

/// The token; error texts must never show it.
const SECRET: &str = "tok-NEVER-PANIC-p1";

/// Cases per decoder property (`PROPTEST_CASES` overrides).
const CASES: u32 = 768;

const COMPANY_PAGES: &[&str] = &["companies_list.json"];
const CONVERSATION_PAGES: &[&str] = &[
    "conversations_list.json",
    "conversations_list_seed000.json",
    "conversations_list_php_sdk.json",
];
const MESSAGE_PAGES: &[&str] = &[
    "messages_list.json",
    "messages_list_seed003.json",
    "messages_list_php_sdk.json",
];
const CONVERSATIONS: &[&str] = &[
    "conversation.json",
    "conversation_seed000.json",
    "conversation_toggle_bitrix.json",
    "webhook_conversation_new.json",
    "webhook_conversation_update.json",
];
const CONVERSATION_REFS: &[&str] = &[
    "conversation_assign.json",
    "conversation_toggle_bitrix.json",
];
const JOBS: &[&str] = &[
    "message_send.json",
    "job.json",
    "job_write_first_whatsapp.json",
    "service_message_send.json",
    "webhook_job_executed.json",
];
const UPLOADS: &[&str] = &[
    "attachment_upload.json",
    "attachment_upload_conversations_doc.json",
];
const ACKNOWLEDGEMENTS: &[&str] = &[
    "conversation_note.json",
    "companies_update.json",
    "companies_create.json",
];

fn fixtures(names: &[&str]) -> Vec<Seed> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    mutate::fixture_seeds(&dir, names)
}

/// Message pages, plus one made of the webhook message and a message carrying the attachment
/// object (p1 leaves attachments undocumented; p2's shape is what arrives).
fn message_page_seeds() -> Vec<Seed> {
    let mut seeds = fixtures(MESSAGE_PAGES);
    let webhook = fixtures(&["webhook_message_new.json"]).remove(0).value;
    let attachment = fixtures(&["p2_attachment_object.json"]).remove(0).value;
    seeds.push(Seed::from_value(json!({
        "status": "ok",
        "data": {
            "messages": [
                webhook["data"],
                {"external_id": 2, "attachments": [attachment["attachment"], {"external_id": "3"}]}
            ],
            "next_page": "abc"
        }
    })));
    seeds
}

/// Error bodies of every shape the error reader knows (`src/error.rs`), one echoing the token.
fn error_seeds() -> Vec<Seed> {
    mutate::inline_seeds(&[
        r#"{"errors":[{"status":429,"code":"too_many_requests","title":"Too many requests error","detail":"Please wait for 50 seconds"}]}"#,
        r#"{"status":"error","message":"Phone is invalid"}"#,
        r#"{"error":"Conversation not found"}"#,
        r#"{"error":{"message":"bad"}}"#,
        r#"{"errors":{"phone":["is invalid","is too short"]}}"#,
        r#"{"errors":["a","b"]}"#,
        r#"{"status":"failed","data":{"reason":"x"}}"#,
        r#""Unauthorized""#,
        r#"{"error":"token tok-NEVER-PANIC-p1 is invalid"}"#,
    ])
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

/// Uses what the app uses of each model, so lazily read fields are read too.
fn touch_conversation(conversation: &Conversation) {
    let _ = conversation.last_activity_at();
    let _ = serde_json::to_string(conversation);
}

fn touch_message(message: &Message) {
    let _ = (message.created_at(), message.is_incoming());
    let _ = serde_json::to_string(message);
}

fn touch_job(job: &DeliveryJob) {
    let _ = job.outcome();
    let _ = serde_json::to_string(job);
}

fn touch_ref(reference: &ConversationRef) {
    let _ = reference.has_details();
    touch_conversation(&reference.to_conversation());
}

fn touch_page<T>(page: &Page<T>, touch: impl Fn(&T)) {
    page.items.iter().for_each(touch);
}

proptest! {
    #![proptest_config(mutate::config(CASES))]

    #[test]
    fn company_pages(body in mutate::bodies(fixtures(COMPANY_PAGES))) {
        let result = mutate::bounded("companies page", &body, |bytes| {
            decode::page::<Company>(&bytes, "companies")
        });
        check(result, |page| touch_page(page, |c| drop(serde_json::to_string(c))))?;
    }

    #[test]
    fn conversation_pages(body in mutate::bodies(fixtures(CONVERSATION_PAGES))) {
        let result = mutate::bounded("conversations page", &body, |bytes| {
            decode::page::<Conversation>(&bytes, "conversations")
        });
        check(result, |page| touch_page(page, touch_conversation))?;
    }

    #[test]
    fn message_pages(body in mutate::bodies(message_page_seeds())) {
        let result = mutate::bounded("messages page", &body, |bytes| {
            decode::page::<Message>(&bytes, "messages")
        });
        check(result, |page| touch_page(page, touch_message))?;
    }

    #[test]
    fn conversations(body in mutate::bodies(fixtures(CONVERSATIONS))) {
        let result = mutate::bounded("conversation", &body, |bytes| {
            decode::entity::<Conversation>(&bytes, &["conversation"])
        });
        check(result, touch_conversation)?;
    }

    #[test]
    fn conversation_refs(body in mutate::bodies(fixtures(CONVERSATION_REFS))) {
        let result = mutate::bounded("conversation ref", &body, |bytes| {
            decode::entity::<ConversationRef>(&bytes, &["conversation"])
        });
        check(result, touch_ref)?;
    }

    #[test]
    fn delivery_jobs(body in mutate::bodies(fixtures(JOBS))) {
        let result = mutate::bounded("delivery job", &body, |bytes| {
            decode::entity::<DeliveryJob>(&bytes, &["job"])
        });
        check(result, touch_job)?;
    }

    #[test]
    fn uploads_and_companies(body in mutate::bodies(fixtures(&[UPLOADS, ACKNOWLEDGEMENTS].concat()))) {
        let uploaded = mutate::bounded("uploaded attachment", &body, |bytes| {
            decode::entity::<UploadedAttachment>(&bytes, &["attachment", "conversation"])
        });
        check(uploaded, |_| {})?;
        let company = mutate::bounded("company", &body, |bytes| {
            decode::entity::<Company>(&bytes, &[])
        });
        check(company, |_| {})?;
    }

    #[test]
    fn acknowledgements(body in mutate::bodies(fixtures(ACKNOWLEDGEMENTS))) {
        let result = mutate::bounded("acknowledgement", &body, |bytes| {
            decode::acknowledgement(&bytes)
        });
        check(result, |_| {})?;
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
    fn timestamps(text in timestamp_texts()) {
        let parsed = mutate::bounded("timestamp", &Body(text.into_bytes()), |bytes| {
            timestamp::parse_str(&String::from_utf8_lossy(&bytes))
        });
        let _ = parsed.map(|at| at.to_rfc3339());
    }

    #[test]
    fn epoch_numbers(seconds in any::<f64>()) {
        let _ = timestamp::from_epoch_seconds(seconds);
    }
}

/// Timestamp texts: ISO and Ruby shapes with out-of-range parts, epochs, garbage.
fn timestamp_texts() -> impl Strategy<Value = String> {
    let iso = (
        -300_000i64..300_000,
        0u32..14,
        0u32..33,
        0u32..26,
        0u32..62,
        0u32..62,
        prop::sample::select(vec!["", ".076", ".0000000001", ".999999999999"]),
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

/// The p1 calls the end-to-end property drives.
const ENDPOINTS: usize = 12;

fn ok_seeds(endpoint: usize) -> Vec<Seed> {
    match endpoint {
        0 | 11 => fixtures(COMPANY_PAGES),
        1 => fixtures(CONVERSATION_PAGES),
        2 | 3 | 6 => fixtures(CONVERSATIONS),
        4 => fixtures(CONVERSATION_REFS),
        5 => fixtures(ACKNOWLEDGEMENTS),
        7 => message_page_seeds(),
        8 | 10 => fixtures(JOBS),
        _ => fixtures(UPLOADS),
    }
}

/// Calls endpoint number `endpoint`; the outcome as a value or an error.
async fn call(client: &PactClient, endpoint: usize) -> Result<(), Error> {
    use futures::StreamExt;
    let page = PageRequest::default();
    match endpoint {
        0 => client.companies(&page).await.map(drop),
        1 => client
            .conversations(1, &page)
            .await
            .map(|p| touch_page(&p, touch_conversation)),
        2 => client
            .conversation(1, 2)
            .await
            .map(|c| touch_conversation(&c)),
        3 => client
            .create_conversation(
                1,
                &NewConversation::Whatsapp {
                    phone: "79250000001".into(),
                },
            )
            .await
            .map(drop),
        4 => client
            .assign_conversation(1, 2, 3)
            .await
            .map(|r| touch_ref(&r)),
        5 => client.set_note(1, 2, "note").await,
        6 => client.set_bitrix_openlines(1, 2, true).await.map(drop),
        7 => client
            .messages(1, 2, &page)
            .await
            .map(|p| touch_page(&p, touch_message)),
        8 => client
            .send_message(
                1,
                2,
                &OutgoingMessage {
                    text: Some("hi".into()),
                    ..OutgoingMessage::default()
                },
            )
            .await
            .map(|job| touch_job(&job)),
        9 => client
            .upload_attachment(
                1,
                2,
                AttachmentSource::Url("https://example.com/a.png".into()),
            )
            .await
            .map(drop),
        10 => client.job(1, 2, 3).await.map(|job| touch_job(&job)),
        _ => {
            let pages = client.companies_pages(10, SortDirection::Asc, None);
            futures::pin_mut!(pages);
            let mut taken = 0;
            while let Some(page) = pages.next().await {
                page?;
                taken += 1;
                if taken == 3 {
                    break;
                }
            }
            Ok(())
        }
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
    let client = PactClient::builder(ApiToken::new(SECRET))
        .base_url(&format!("{}/p1", server.url))
        .max_retries(0)
        .min_request_interval(Duration::ZERO)
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
    ok(fixtures(COMPANY_PAGES), &|b| {
        decode::page::<Company>(b, "companies").is_ok()
    });
    ok(fixtures(CONVERSATION_PAGES), &|b| {
        decode::page::<Conversation>(b, "conversations").is_ok()
    });
    ok(message_page_seeds(), &|b| {
        decode::page::<Message>(b, "messages").is_ok_and(|page| !page.items.is_empty())
    });
    ok(fixtures(CONVERSATIONS), &|b| {
        decode::entity::<Conversation>(b, &["conversation"]).is_ok()
    });
    ok(fixtures(CONVERSATION_REFS), &|b| {
        decode::entity::<ConversationRef>(b, &["conversation"]).is_ok()
    });
    ok(fixtures(JOBS), &|b| {
        decode::entity::<DeliveryJob>(b, &["job"]).is_ok()
    });
    ok(fixtures(UPLOADS), &|b| {
        decode::entity::<UploadedAttachment>(b, &["attachment", "conversation"]).is_ok()
    });
    ok(fixtures(ACKNOWLEDGEMENTS), &|b| {
        decode::acknowledgement(b).is_ok()
    });
    for seed in error_seeds() {
        let error = decode::error(429, None, None, seed.body().bytes(), SECRET);
        assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
        assert!(!error.to_string().contains(SECRET));
    }
}

/// Found by these tests: "Please wait for 10^23 seconds" in a 429 body panicked while reading
/// the wait (fixed in `parley_http::retry`).
#[test]
fn regression_a_huge_wait_in_a_429_body_is_capped() {
    let body = br#"{"errors":[{"status":429,"detail":"Please wait for 99999999999999999999999 seconds"}]}"#;
    let error = decode::error(429, Some("application/json"), None, body, SECRET);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(86_400)));
}

/// Deep nesting is refused by the JSON reader's depth limit, not by a stack overflow.
#[test]
fn regression_deep_nesting_is_an_error() {
    let deep = format!(
        r#"{{"status":"ok","data":{{"companies":{}}}}}"#,
        mutate::raw(1)
    );
    let result = mutate::bounded("deep page", &Body(deep.into_bytes()), |bytes| {
        decode::page::<Company>(&bytes, "companies")
    });
    assert!(matches!(result, Err(Error::InvalidResponse { .. })));
    let value: Result<Value, _> = serde_json::from_str(&mutate::raw(29));
    assert!(value.is_ok(), "127 levels are fine");
}
