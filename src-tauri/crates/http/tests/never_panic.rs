//! Property tests: what a server sends never makes the shared HTTP layer panic or hang. Covered: the
//! `Retry-After` parser, the "Please wait for N seconds" reader, the one-line `sanitize`, and a whole
//! [`exchange`] against a raw TCP server answering with random status lines, headers (odd
//! `Content-Length`, chunked framing, `Retry-After`, non-UTF-8 values) and mutated or random bodies.

mod mutate;

use std::time::{Duration, Instant};

use mutate::{Body, Seed, NASTY};
use parley_http::exchange::sanitize;
use parley_http::retry::{parse_retry_after, wait_in_text};
use parley_http::{exchange, BodyLimits, ExchangeError};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The longest wait any header or text is believed for (a day), as `parley_http::retry` documents.
const MAX_BELIEVED_WAIT: Duration = Duration::from_secs(86_400);

/// Texts a `Retry-After` header or a 429 body might hold, and worse.
fn wait_texts() -> impl Strategy<Value = String> {
    let marker = prop::sample::select(vec![
        "wait",
        "Please wait for ",
        "WAIT FOR",
        "retry in ",
        "Try again in",
        "wait for for ",
        "",
    ]);
    let digits = prop::collection::vec(0..10u8, 1..400)
        .prop_map(|ds| ds.iter().map(|d| char::from(b'0' + d)).collect::<String>());
    let number = prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        any::<i64>().prop_map(|n| n.to_string()),
        digits.clone(),
        (digits.clone(), digits).prop_map(|(a, b)| format!("{a}.{b}")),
        prop::sample::select(vec!["1.", ".5", "1.2.3", "-0", "NaN", "inf", "1e300", "0"])
            .prop_map(str::to_string),
    ];
    let unit = prop::sample::select(vec![
        " seconds",
        " s",
        "s",
        " ms",
        " milliseconds",
        " min",
        " minutes",
        " h",
        " hours",
        "",
        "e19",
        " seconds, or wait 5",
    ]);
    let date = (0..7usize, 0..100_000u32, 0..25u32).prop_map(|(day, year, hour)| {
        let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        format!("{}, 21 Oct {year} {hour:02}:28:00 GMT", days[day])
    });
    prop_oneof![
        4 => (marker, number, unit).prop_map(|(m, n, u)| format!("{m}{n}{u}")),
        1 => date,
        1 => any::<String>(),
        1 => (0..NASTY.len()).prop_map(|i| NASTY[i].to_string()),
    ]
}

proptest! {
    #![proptest_config(mutate::config(2048))]

    /// `Retry-After` values give a wait of at most a day, or none.
    #[test]
    fn retry_after_header_never_panics(text in wait_texts()) {
        let wait = mutate::bounded("parse_retry_after", &Body(text.into_bytes()), |bytes| {
            parse_retry_after(&String::from_utf8_lossy(&bytes))
        });
        prop_assert!(wait.is_none_or(|wait| wait <= MAX_BELIEVED_WAIT), "{wait:?}");
    }

    /// Waits read out of server words are at most a day, or none.
    #[test]
    fn wait_in_text_never_panics(text in wait_texts()) {
        let wait = mutate::bounded("wait_in_text", &Body(text.into_bytes()), |bytes| {
            wait_in_text(&String::from_utf8_lossy(&bytes))
        });
        prop_assert!(wait.is_none_or(|wait| wait <= MAX_BELIEVED_WAIT), "{wait:?}");
    }

    /// `sanitize` gives one printable line of at most 300 characters for any text.
    #[test]
    fn sanitize_gives_one_short_line(text in prop_oneof![
        any::<String>(),
        (0..mutate::LONG_UNITS.len(), 0..5000usize)
            .prop_map(|(unit, n)| mutate::LONG_UNITS[unit].repeat(n)),
    ]) {
        let clean = mutate::bounded("sanitize", &Body(text.into_bytes()), |bytes| {
            sanitize(&String::from_utf8_lossy(&bytes))
        });
        prop_assert!(clean.chars().count() <= 300, "{} chars", clean.chars().count());
        prop_assert!(!clean.chars().any(char::is_control), "{clean:?}");
    }
}

/// One raw HTTP answer: status line, header lines and body, as bytes, plus the body limits.
#[derive(Debug, Clone)]
struct Answer {
    status_line: String,
    headers: Vec<Vec<u8>>,
    body: Body,
    chunked: Option<Vec<usize>>,
    limits: BodyLimits,
}

impl Answer {
    fn bytes(&self) -> Vec<u8> {
        let mut out = self.status_line.clone().into_bytes();
        for header in &self.headers {
            out.extend_from_slice(header);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        match &self.chunked {
            None => out.extend_from_slice(self.body.bytes()),
            Some(lies) => {
                // Chunked framing with a size per piece, sometimes wrong.
                let bytes = self.body.bytes();
                let mut pieces = bytes.chunks(7).peekable();
                let mut lie = lies.iter().cycle();
                while let Some(piece) = pieces.next() {
                    let told = match lie.next() {
                        Some(0) | None => format!("{:x}", piece.len()),
                        Some(1) => format!("{:x}", piece.len() + 3),
                        Some(2) => "ffffffffffffffffffff".to_string(),
                        Some(3) => "zz".to_string(),
                        Some(_) => format!("{:x};ext=1", piece.len()),
                    };
                    out.extend_from_slice(format!("{told}\r\n").as_bytes());
                    out.extend_from_slice(piece);
                    out.extend_from_slice(b"\r\n");
                    if pieces.peek().is_none() {
                        out.extend_from_slice(b"0\r\n\r\n");
                    }
                }
            }
        }
        out
    }
}

fn answers() -> impl Strategy<Value = Answer> {
    let status = prop_oneof![
        4 => prop::sample::select(vec![
            200u16, 201, 204, 206, 301, 304, 400, 401, 403, 404, 422, 429, 500, 502, 503, 504,
        ]),
        1 => 100u16..1000,
    ];
    let status_line = prop_oneof![
        8 => (status, prop::sample::select(vec!["OK", "", "Too Many Requests", "💥"]))
            .prop_map(|(code, reason)| format!("HTTP/1.1 {code} {reason}\r\n")),
        1 => Just("HTTP/1.0 200 OK\r\n".to_string()),
        1 => prop::sample::select(vec![
            "HTTP/1.1 2000 OK\r\n",
            "HTTP/1.1 -1 Bad\r\n",
            "HTTP/9.9 200 OK\r\n",
            "garbage\r\n",
            "HTTP/1.1 200 OK\n",
            "",
        ])
        .prop_map(str::to_string),
    ];
    let header = prop_oneof![
        3 => (0..NASTY.len()).prop_map(|i| format!("Retry-After: {}", NASTY[i]).into_bytes()),
        2 => prop::sample::select(vec![
            "Retry-After: 1e300",
            "Retry-After: 18446744073709551616",
            "Retry-After: -1",
            "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT",
            "Retry-After: Fri, 31 Dec 99999 23:59:59 GMT",
            "Content-Length: 0",
            "Content-Length: 5",
            "Content-Length: 18446744073709551616",
            "Content-Length: -1",
            "Content-Length: 1, 2",
            "Content-Type: application/json",
            "Content-Type: text/html; charset=utf-8",
            "Content-Type: ",
            "Connection: close",
            "Content-Encoding: gzip",
            "X-Odd: \u{7f}",
            ": empty name",
            "no colon",
        ])
        .prop_map(|h| h.as_bytes().to_vec()),
        1 => vec(any::<u8>(), 0..40).prop_map(|mut bytes| {
            bytes.retain(|b| *b != b'\r' && *b != b'\n');
            let mut header = b"Content-Type: ".to_vec();
            header.extend(bytes);
            header
        }),
    ];
    let limit = prop::sample::select(vec![0usize, 1, 16, 1024, 64 * 1024, 32 * 1024 * 1024]);
    (
        status_line,
        vec(header, 0..5),
        mutate::bodies(seeds()),
        prop::option::weighted(0.2, vec(0..6usize, 1..4)),
        limit.clone(),
        limit,
    )
        .prop_map(
            |(status_line, mut headers, body, chunked, success, error)| {
                if chunked.is_some() {
                    headers.push(b"Transfer-Encoding: chunked".to_vec());
                }
                Answer {
                    status_line,
                    headers,
                    body,
                    chunked,
                    limits: BodyLimits { success, error },
                }
            },
        )
}

fn seeds() -> Vec<Seed> {
    mutate::inline_seeds(&[
        r#"{"errors":[{"status":429,"code":"too_many_requests","title":"Too many requests error","detail":"Please wait for 50 seconds"}]}"#,
        r#"{"status":"ok","data":{"companies":[{"external_id":1,"name":"Acme"}],"next_page":"abc"}}"#,
        r#"{"error":{"status":"PERMISSION_DENIED","reason":"X","message":"no","request_id":"r"}}"#,
    ])
}

/// Serves `answer` to one connection on 127.0.0.1 (after reading the request head), then closes.
async fn serve_once(answer: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let mut head = Vec::new();
        let mut buffer = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match tokio::time::timeout(Duration::from_secs(1), socket.read(&mut buffer)).await {
                Ok(Ok(read)) if read > 0 => head.extend_from_slice(&buffer[..read]),
                _ => break,
            }
        }
        // Two writes, so the answer also arrives split.
        let middle = answer.len() / 2;
        let _ = socket.write_all(&answer[..middle]).await;
        let _ = socket.flush().await;
        let _ = socket.write_all(&answer[middle..]).await;
        let _ = socket.shutdown().await;
    });
    format!("http://{address}/")
}

/// Any answer gives a body within the success cap, a status error with a body within the error
/// cap, a too-large refusal or a transport failure: never a panic, never a hang.
#[test]
fn exchange_reads_any_answer_without_panicking() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(mutate::STACK_SIZE)
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .no_proxy()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(mutate::config(256));
    let outcome = runner.run(&answers(), |answer| {
        let started = Instant::now();
        let result = runtime.block_on(async {
            let url = serve_once(answer.bytes()).await;
            tokio::time::timeout(
                Duration::from_secs(5),
                exchange(http.get(&url), answer.limits),
            )
            .await
        });
        let Ok(result) = result else {
            panic!("exchange hung for {:?}", started.elapsed());
        };
        match result {
            Ok(body) => prop_assert!(body.len() <= answer.limits.success),
            Err(ExchangeError::Status(reply)) => {
                prop_assert!(reply.body.len() <= answer.limits.error);
                prop_assert!(!(200..300).contains(&reply.status), "{}", reply.status);
                prop_assert!(reply
                    .retry_after
                    .is_none_or(|wait| wait <= MAX_BELIEVED_WAIT));
            }
            Err(ExchangeError::Transport(failure)) => {
                prop_assert!(failure.message.chars().count() <= 300);
                prop_assert!(
                    !failure.message.contains("127.0.0.1"),
                    "{}",
                    failure.message
                );
            }
            Err(ExchangeError::BodyTooLarge) => {}
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

/// Found by these tests: a wait too long for a `Duration` panicked in `Duration::from_secs_f64`.
#[test]
fn regression_waits_beyond_duration_are_capped_not_a_panic() {
    assert_eq!(parse_retry_after("1e300"), Some(MAX_BELIEVED_WAIT));
    assert_eq!(
        parse_retry_after("18446744073709551616"),
        Some(MAX_BELIEVED_WAIT)
    );
    assert_eq!(
        wait_in_text("Please wait for 99999999999999999999999 seconds"),
        Some(MAX_BELIEVED_WAIT)
    );
    assert_eq!(
        wait_in_text("retry in 307445734561825860 minutes"),
        Some(MAX_BELIEVED_WAIT)
    );
}
