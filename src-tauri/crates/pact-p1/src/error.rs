//! The client's error type, and the reading of every error body shape Pact and proxies send.

use std::time::Duration;

use parley_http::exchange::sanitize;
use parley_http::retry::wait_in_text;
use parley_http::{Classify, ExchangeError, FailureKind, TransportFailure};
use serde_json::Value;

/// Everything a call can fail with. Messages never contain the API token.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401: the token is wrong or revoked.
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// The server's words.
        message: String,
    },
    /// 402: the company's paywall is on.
    #[error("payment required: {message}")]
    PaymentRequired {
        /// The server's words.
        message: String,
    },
    /// 403: the endpoint is not available for this token.
    #[error("forbidden: {message}")]
    Forbidden {
        /// The server's words.
        message: String,
    },
    /// 404: no such company, conversation or job.
    #[error("not found: {message}")]
    NotFound {
        /// The server's words.
        message: String,
    },
    /// 400 or 422: the server rejected the input.
    #[error("rejected by server (HTTP {status}): {message}")]
    Validation {
        /// HTTP status (400 or 422).
        status: u16,
        /// The server's words.
        message: String,
    },
    /// 429: too many requests.
    #[error("rate limited: {message}")]
    RateLimited {
        /// How long the server asked to wait, if it said.
        retry_after: Option<Duration>,
        /// The server's words.
        message: String,
    },
    /// 5xx: the server or a proxy failed.
    #[error("server error (HTTP {status}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's words, or a summary such as `HTTP 502 (HTML error page)`.
        message: String,
    },
    /// Any other non-success status.
    #[error("unexpected HTTP status {status}: {message}")]
    UnexpectedStatus {
        /// HTTP status.
        status: u16,
        /// The server's words.
        message: String,
    },
    /// The connection failed or broke.
    #[error("network error: {message}")]
    Network {
        /// What went wrong.
        message: String,
        /// `false` only when the connection was never established (the request was certainly not sent).
        maybe_sent: bool,
    },
    /// The request or connection timed out.
    #[error("request timed out")]
    Timeout {
        /// `false` only when connecting timed out (the request was certainly not sent).
        maybe_sent: bool,
    },
    /// A success status with a body that is not the expected JSON.
    #[error("invalid response: {message}")]
    InvalidResponse {
        /// What was wrong with it.
        message: String,
    },
    /// The server handed back a page token it had already given (a bad token yields the first page again).
    #[error("the server repeated a page token; stopping to avoid a loop")]
    RepeatedPageToken,
    /// The client was configured wrongly (bad base URL, empty token, ...).
    #[error("invalid configuration: {message}")]
    InvalidConfig {
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// True for failures that may go away on their own: 429, 5xx, network errors and timeouts.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Network { .. }
                | Self::Timeout { .. }
        )
    }

    /// How long the server asked to wait before retrying (429 only).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { .. } => Some(401),
            Self::PaymentRequired { .. } => Some(402),
            Self::Forbidden { .. } => Some(403),
            Self::NotFound { .. } => Some(404),
            Self::RateLimited { .. } => Some(429),
            Self::Validation { status, .. }
            | Self::Server { status, .. }
            | Self::UnexpectedStatus { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when a non-idempotent request (a send) may have been processed despite the error:
    /// the request may have gone out before a network failure or timeout, or the server failed (5xx)
    /// after possibly acting. Such a send must be reconciled, not blindly repeated.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::Network { maybe_sent, .. } | Self::Timeout { maybe_sent } => *maybe_sent,
            Self::Server { .. } => true,
            _ => false,
        }
    }

    /// Builds the error for a non-success HTTP status from the (possibly empty) body.
    pub(crate) fn from_status(
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
        retry_after_header: Option<Duration>,
    ) -> Self {
        let message = server_message_from_body(status, content_type, body);
        match status {
            400 | 422 => Self::Validation { status, message },
            401 => Self::Unauthorized { message },
            402 => Self::PaymentRequired { message },
            403 => Self::Forbidden { message },
            404 => Self::NotFound { message },
            429 => Self::RateLimited {
                retry_after: retry_after_header.or_else(|| wait_in_text(&message)),
                message,
            },
            500..=599 => Self::Server { status, message },
            _ => Self::UnexpectedStatus { status, message },
        }
    }

    /// Replaces every occurrence of `secret` in the error's text (servers may echo a bad token).
    pub(crate) fn redacted(self, secret: &str) -> Self {
        if secret.is_empty() {
            return self;
        }
        let scrub = |text: String| text.replace(secret, "<redacted>");
        match self {
            Self::Unauthorized { message } => Self::Unauthorized {
                message: scrub(message),
            },
            Self::PaymentRequired { message } => Self::PaymentRequired {
                message: scrub(message),
            },
            Self::Forbidden { message } => Self::Forbidden {
                message: scrub(message),
            },
            Self::NotFound { message } => Self::NotFound {
                message: scrub(message),
            },
            Self::Validation { status, message } => Self::Validation {
                status,
                message: scrub(message),
            },
            Self::RateLimited {
                retry_after,
                message,
            } => Self::RateLimited {
                retry_after,
                message: scrub(message),
            },
            Self::Server { status, message } => Self::Server {
                status,
                message: scrub(message),
            },
            Self::UnexpectedStatus { status, message } => Self::UnexpectedStatus {
                status,
                message: scrub(message),
            },
            Self::Network {
                message,
                maybe_sent,
            } => Self::Network {
                message: scrub(message),
                maybe_sent,
            },
            Self::InvalidResponse { message } => Self::InvalidResponse {
                message: scrub(message),
            },
            Self::InvalidConfig { message } => Self::InvalidConfig {
                message: scrub(message),
            },
            other @ (Self::Timeout { .. } | Self::RepeatedPageToken) => other,
        }
    }

    /// Maps what went wrong in one exchange: a transport failure, a non-success status (with
    /// Pact's "Please wait for N seconds" read when a 429 has no `Retry-After`), or a body too large.
    pub(crate) fn from_exchange(error: ExchangeError) -> Self {
        match error {
            ExchangeError::Transport(failure) => Self::from_transport(failure),
            ExchangeError::Status(reply) => Self::from_status(
                reply.status,
                reply.content_type.as_deref(),
                &reply.body,
                reply.retry_after,
            ),
            ExchangeError::BodyTooLarge => Self::invalid_response("response body is too large"),
        }
    }

    fn from_transport(failure: TransportFailure) -> Self {
        let TransportFailure {
            message,
            timed_out,
            maybe_sent,
        } = failure;
        if timed_out {
            Self::Timeout { maybe_sent }
        } else {
            Self::Network {
                message,
                maybe_sent,
            }
        }
    }

    /// An [`Error::InvalidResponse`] with a sanitised message.
    pub(crate) fn invalid_response(message: impl AsRef<str>) -> Self {
        Self::InvalidResponse {
            message: sanitize(message.as_ref()),
        }
    }
}

/// What the shared retry policy needs to know: 429 with its wait, never sent, maybe sent, a 5xx, or
/// final.
impl Classify for Error {
    fn failure_kind(&self) -> FailureKind {
        match self {
            Self::RateLimited { retry_after, .. } => {
                FailureKind::RateLimited { wait: *retry_after }
            }
            Self::Network { maybe_sent, .. } | Self::Timeout { maybe_sent } => {
                FailureKind::transport(*maybe_sent)
            }
            Self::Server { status, .. } => FailureKind::ServerFailed { status: *status },
            _ => FailureKind::Final,
        }
    }
}

/// Extracts a short, safe, human-readable message from an error body of any known shape:
/// `{"errors":[{"detail":..,"title":..}]}`, `{"errors":{"field":["msg"]}}`, `{"status":"error","message":..}`,
/// `{"error":".."}` / `{"error":{"message":..}}`, plain text, or an HTML page (summarised, never dumped).
pub(crate) fn server_message_from_body(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return status_summary(status);
    }
    if let Ok(json) = serde_json::from_str::<Value>(trimmed) {
        return message_from_json(&json)
            .map(|m| sanitize(&m))
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| status_summary(status));
    }
    if looks_like_html(content_type, trimmed) {
        return format!("HTTP {status} (HTML error page)");
    }
    let first_line = trimmed.lines().next().unwrap_or_default();
    let message = sanitize(first_line);
    if message.is_empty() {
        status_summary(status)
    } else {
        message
    }
}

fn message_from_json(json: &Value) -> Option<String> {
    match json {
        Value::String(text) => Some(text.clone()),
        Value::Object(object) => ["errors", "error", "message", "detail", "title", "data"]
            .iter()
            .filter_map(|key| object.get(*key))
            .find_map(message_from_field),
        Value::Array(items) => join_messages(items.iter().filter_map(message_from_field)),
        _ => None,
    }
}

fn message_from_field(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
        Value::Array(items) => join_messages(items.iter().filter_map(message_from_field)),
        Value::Object(object) => message_from_error_object(object),
        _ => None,
    }
}

/// One error object: JSON:API style (`detail`/`title`), `message`, or Rails field errors (`{"phone":["is invalid"]}`).
fn message_from_error_object(object: &serde_json::Map<String, Value>) -> Option<String> {
    let direct = ["detail", "message", "title", "error", "reason", "code"]
        .iter()
        .filter_map(|key| object.get(*key))
        .find_map(message_from_field);
    direct.or_else(|| {
        join_messages(object.iter().filter_map(|(field, value)| {
            message_from_field(value).map(|message| format!("{field} {message}"))
        }))
    })
}

fn join_messages(messages: impl Iterator<Item = String>) -> Option<String> {
    let joined: Vec<String> = messages.collect();
    (!joined.is_empty()).then(|| joined.join("; "))
}

fn looks_like_html(content_type: Option<&str>, body: &str) -> bool {
    let declared = content_type.is_some_and(|ct| ct.to_ascii_lowercase().contains("html"));
    let head: String = body
        .chars()
        .take(256)
        .collect::<String>()
        .to_ascii_lowercase();
    declared || head.starts_with('<') || head.contains("<html") || head.contains("<!doctype")
}

fn status_summary(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("error");
    format!("HTTP {status} {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_http::{Idempotency, RetryPolicy};

    /// The cap of [`sanitize`].
    const MAX_MESSAGE_CHARS: usize = 300;

    fn message(status: u16, body: &str) -> String {
        server_message_from_body(status, None, body.as_bytes())
    }

    #[test]
    fn json_api_errors() {
        let body = r#"{"errors":[{"status":429,"code":"too_many_requests","title":"Too many requests error","detail":"Please wait for 50 seconds"}]}"#;
        assert_eq!(message(429, body), "Please wait for 50 seconds");
        let error = Error::from_status(429, Some("application/json"), body.as_bytes(), None);
        assert_eq!(error.retry_after(), Some(Duration::from_secs(50)));
    }

    #[test]
    fn retry_after_header_wins_over_body() {
        let body = br#"{"errors":[{"detail":"Please wait for 50 seconds"}]}"#;
        let error = Error::from_status(429, None, body, Some(Duration::from_secs(3)));
        assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn other_json_shapes() {
        assert_eq!(
            message(400, r#"{"status":"error","message":"Phone is invalid"}"#),
            "Phone is invalid"
        );
        assert_eq!(
            message(404, r#"{"error":"Conversation not found"}"#),
            "Conversation not found"
        );
        assert_eq!(message(422, r#"{"error":{"message":"bad"}}"#), "bad");
        assert_eq!(
            message(422, r#"{"errors":{"phone":["is invalid","is too short"]}}"#),
            "phone is invalid; is too short"
        );
        assert_eq!(message(422, r#"{"errors":["a","b"]}"#), "a; b");
        assert_eq!(
            message(500, r#"{"status":"error"}"#),
            "HTTP 500 Internal Server Error"
        );
        assert_eq!(message(401, r#""Unauthorized""#), "Unauthorized");
    }

    #[test]
    fn html_is_summarised_not_dumped() {
        let page = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
        assert_eq!(message(502, page), "HTTP 502 (HTML error page)");
        assert_eq!(
            server_message_from_body(503, Some("text/html; charset=utf-8"), b"Service down"),
            "HTTP 503 (HTML error page)"
        );
    }

    #[test]
    fn plain_text_and_empty_bodies() {
        assert_eq!(message(500, ""), "HTTP 500 Internal Server Error");
        assert_eq!(
            message(418, "short and stout\nsecond line"),
            "short and stout"
        );
        assert_eq!(message(400, "a\u{0007}b"), "a b");
        assert!(message(400, &"x".repeat(5000)).chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn status_mapping() {
        assert!(matches!(
            Error::from_status(401, None, b"", None),
            Error::Unauthorized { .. }
        ));
        assert!(matches!(
            Error::from_status(402, None, b"", None),
            Error::PaymentRequired { .. }
        ));
        assert!(matches!(
            Error::from_status(403, None, b"", None),
            Error::Forbidden { .. }
        ));
        assert!(matches!(
            Error::from_status(404, None, b"", None),
            Error::NotFound { .. }
        ));
        assert!(matches!(
            Error::from_status(422, None, b"", None),
            Error::Validation { status: 422, .. }
        ));
        assert!(matches!(
            Error::from_status(503, None, b"", None),
            Error::Server { status: 503, .. }
        ));
        assert!(matches!(
            Error::from_status(410, None, b"", None),
            Error::UnexpectedStatus { status: 410, .. }
        ));
        let server = Error::from_status(500, None, b"", None);
        assert!(server.is_retryable() && server.outcome_unknown());
        assert_eq!(server.status(), Some(500));
        let limited = Error::from_status(429, None, b"", None);
        assert!(limited.is_retryable() && !limited.outcome_unknown());
        assert!(!Error::Network {
            message: "x".into(),
            maybe_sent: false
        }
        .outcome_unknown());
        assert!(Error::Timeout { maybe_sent: true }.outcome_unknown());
    }

    #[test]
    fn pacts_wait_text_is_the_retry_after_of_a_429() {
        let wait = |text: &str| Error::from_status(429, None, text.as_bytes(), None).retry_after();
        assert_eq!(
            wait("Please wait for 50 seconds"),
            Some(Duration::from_secs(50))
        );
        assert_eq!(
            wait("please WAIT FOR 1.5 second"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(wait("slow down"), None);
    }

    /// The shared policy's answer for `error`: the wait before a retry, or `None`.
    fn retry_delay(error: &Error, idempotency: Idempotency, retries_done: u32) -> Option<Duration> {
        RetryPolicy::default().delay_before_retry(error.failure_kind(), idempotency, retries_done)
    }

    fn limited(seconds: Option<u64>) -> Error {
        Error::RateLimited {
            retry_after: seconds.map(Duration::from_secs),
            message: "slow down".into(),
        }
    }

    #[test]
    fn errors_classify_for_the_retry_policy() {
        assert_eq!(
            limited(Some(2)).failure_kind(),
            FailureKind::RateLimited {
                wait: Some(Duration::from_secs(2))
            }
        );
        let refused = Error::Network {
            message: String::new(),
            maybe_sent: false,
        };
        assert_eq!(refused.failure_kind(), FailureKind::Unreachable);
        assert_eq!(
            Error::Timeout { maybe_sent: false }.failure_kind(),
            FailureKind::Unreachable
        );
        assert_eq!(
            Error::Timeout { maybe_sent: true }.failure_kind(),
            FailureKind::Interrupted
        );
        assert_eq!(
            Error::from_status(502, None, b"", None).failure_kind(),
            FailureKind::ServerFailed { status: 502 }
        );
        for last in [
            Error::from_status(401, None, b"", None),
            Error::from_status(404, None, b"", None),
            Error::from_status(422, None, b"", None),
            Error::RepeatedPageToken,
            Error::invalid_response("x"),
        ] {
            assert_eq!(last.failure_kind(), FailureKind::Final, "{last:?}");
        }
    }

    #[test]
    fn posts_repeat_only_when_safe() {
        let post = Idempotency::NonIdempotent;
        let server = Error::Server {
            status: 500,
            message: String::new(),
        };
        assert!(retry_delay(&server, post, 0).is_none());
        assert!(retry_delay(&server, Idempotency::Idempotent, 0).is_some());
        let refused = Error::Network {
            message: String::new(),
            maybe_sent: false,
        };
        assert!(retry_delay(&refused, post, 0).is_some());
        let broken = Error::Network {
            message: String::new(),
            maybe_sent: true,
        };
        assert!(retry_delay(&broken, post, 0).is_none());
        assert!(retry_delay(&Error::Timeout { maybe_sent: true }, post, 0).is_none());
        assert_eq!(
            retry_delay(&limited(Some(2)), post, 0),
            Some(Duration::from_secs(2))
        );
        let not_found = Error::NotFound {
            message: String::new(),
        };
        assert!(retry_delay(&not_found, Idempotency::Idempotent, 0).is_none());
    }

    #[test]
    fn long_waits_and_exhausted_budgets_return_the_error() {
        let idempotent = Idempotency::Idempotent;
        assert!(retry_delay(&limited(Some(61)), idempotent, 0).is_none());
        assert_eq!(
            retry_delay(&limited(Some(60)), idempotent, 0),
            Some(Duration::from_secs(60))
        );
        assert!(retry_delay(&limited(None), idempotent, 3).is_none());
        let no_retries = RetryPolicy::with_max_retries(0);
        assert!(no_retries
            .delay_before_retry(limited(None).failure_kind(), idempotent, 0)
            .is_none());
    }

    #[test]
    fn echoed_token_is_scrubbed() {
        let error = Error::from_status(
            401,
            None,
            br#"{"error":"token tok-SECRET is invalid"}"#,
            None,
        )
        .redacted("tok-SECRET");
        assert!(!format!("{error:?} {error}").contains("tok-SECRET"));
    }
}
