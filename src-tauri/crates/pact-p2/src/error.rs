//! The client's error type, and the reading of every error body shape Pact (and the proxies in
//! front of it) send: the documented `{"errors":[{status,code,title,detail}]}`, `{"error":..}`,
//! `{"message":..}`, Rails field errors, plain text and HTML pages (summarised, never dumped).
//! Every text is scrubbed of the API token (a server may echo it) and cut to one short line.

use std::time::Duration;

use parley_http::exchange::sanitize;
use parley_http::retry::{is_transient_status, wait_in_text};
use parley_http::{Classify, ErrorReply, ExchangeError, FailureKind};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::lenient;

/// What replaces the token wherever a server echoed it.
const REDACTED: &str = "<redacted>";

/// One entry of the documented `{"errors":[...]}` list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ErrorItem {
    /// HTTP status the server put in the entry (`429` or `"429"`).
    #[serde(default, deserialize_with = "lenient::opt_u16")]
    pub status: Option<u16>,
    /// Machine-readable code, e.g. `too_many_requests`, `unauthorized`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub code: Option<String>,
    /// Short summary, e.g. `Too many requests error`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub title: Option<String>,
    /// Human-readable detail, e.g. `Please wait for 50 seconds`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub detail: Option<String>,
}

/// Everything a call can fail with. No message contains the API token.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401: the token is missing, wrong or revoked.
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// The server's words.
        message: String,
        /// The server's error list (may be empty).
        errors: Vec<ErrorItem>,
    },
    /// 402: the company's paywall is on.
    #[error("payment required: {message}")]
    PaymentRequired {
        /// The server's words.
        message: String,
        /// The server's error list (may be empty).
        errors: Vec<ErrorItem>,
    },
    /// 403: the endpoint is not available for this token.
    #[error("forbidden: {message}")]
    Forbidden {
        /// The server's words.
        message: String,
        /// The server's error list (may be empty).
        errors: Vec<ErrorItem>,
    },
    /// 404: no such company, conversation or message.
    #[error("not found: {message}")]
    NotFound {
        /// The server's words.
        message: String,
        /// The server's error list (may be empty).
        errors: Vec<ErrorItem>,
    },
    /// 400 or 422: the server rejected the input.
    #[error("rejected by server (HTTP {status}): {message}")]
    Validation {
        /// HTTP status (400 or 422).
        status: u16,
        /// The server's words.
        message: String,
        /// The server's error list (may be empty).
        errors: Vec<ErrorItem>,
    },
    /// 429: over a rate limit.
    #[error("rate limited: {message}")]
    RateLimited {
        /// The wait the server asked for: `Retry-After`, else "Please wait for N seconds".
        retry_after: Option<Duration>,
        /// The server's words.
        message: String,
    },
    /// 5xx: the server or a proxy failed (it may have acted first).
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
        /// What went wrong (never the URL).
        message: String,
        /// `false` only when the connection was never made (the request certainly did not go out).
        maybe_sent: bool,
    },
    /// The request or the connection attempt timed out.
    #[error("request timed out")]
    Timeout {
        /// `false` only when connecting timed out (the request certainly did not go out).
        maybe_sent: bool,
    },
    /// A success status with a body that is not what the endpoint documents.
    #[error("invalid response: {message}")]
    InvalidResponse {
        /// What was wrong with it.
        message: String,
    },
    /// The client was configured wrongly (bad base URL, empty token, ...), or a call's argument
    /// was refused before sending (an attachment URL that is not http(s)).
    #[error("invalid configuration: {message}")]
    InvalidConfig {
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// True for failures that may go away on their own: 429, 5xx, network errors and timeouts.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Server { status, .. } => is_transient_status(*status),
            Self::RateLimited { .. } | Self::Network { .. } | Self::Timeout { .. } => true,
            _ => false,
        }
    }

    /// How long the server asked to wait (429 only).
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

    /// True when a write (a send) may have been carried out despite the error: the request may
    /// have gone out before the connection broke or timed out, or the server failed (5xx) after
    /// possibly acting. Such a send must be reconciled, not blindly repeated.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::Network { maybe_sent, .. } | Self::Timeout { maybe_sent } => *maybe_sent,
            Self::Server { .. } => true,
            _ => false,
        }
    }

    /// The server's error list (empty for errors without one).
    pub fn errors(&self) -> &[ErrorItem] {
        match self {
            Self::Unauthorized { errors, .. }
            | Self::PaymentRequired { errors, .. }
            | Self::Forbidden { errors, .. }
            | Self::NotFound { errors, .. }
            | Self::Validation { errors, .. } => errors,
            _ => &[],
        }
    }

    /// The error for a non-success answer. `secret` is scrubbed from the body before it is read.
    pub(crate) fn from_reply(reply: &ErrorReply, secret: &str) -> Self {
        let text = scrub(&String::from_utf8_lossy(&reply.body), secret);
        let (message, errors) = read_body(reply.status, reply.content_type.as_deref(), &text);
        Self::from_parts(reply.status, message, errors, reply.retry_after)
    }

    /// The error for a success status whose JSON body is an `{"errors":[...]}` list: the entries'
    /// own status when it is an error status, else 422 (the server refused the input).
    pub(crate) fn from_error_envelope(json: &Value, secret: &str) -> Option<Self> {
        let errors_field = json.as_object()?.get("errors")?;
        let empty = match errors_field {
            Value::Array(items) => items.is_empty(),
            Value::Object(map) => map.is_empty(),
            Value::Null => true,
            _ => false,
        };
        if empty {
            return None;
        }
        let text = scrub(&json.to_string(), secret);
        let json: Value = serde_json::from_str(&text).ok()?;
        let errors = error_items(&json);
        let status = errors
            .iter()
            .filter_map(|item| item.status)
            .find(|status| (400..=599).contains(status))
            .unwrap_or(422);
        let message = message_from_json(&json)
            .map(|message| sanitize(&message))
            .filter(|message| !message.is_empty())
            .unwrap_or_else(|| status_summary(status));
        Some(Self::from_parts(status, message, errors, None))
    }

    fn from_parts(
        status: u16,
        message: String,
        errors: Vec<ErrorItem>,
        retry_after_header: Option<Duration>,
    ) -> Self {
        match status {
            400 | 422 => Self::Validation {
                status,
                message,
                errors,
            },
            401 => Self::Unauthorized { message, errors },
            402 => Self::PaymentRequired { message, errors },
            403 => Self::Forbidden { message, errors },
            404 => Self::NotFound { message, errors },
            429 => {
                let retry_after = retry_after_header.or_else(|| {
                    errors
                        .iter()
                        .filter_map(|item| item.detail.as_deref().or(item.title.as_deref()))
                        .chain(std::iter::once(message.as_str()))
                        .find_map(wait_in_text)
                });
                Self::RateLimited {
                    retry_after,
                    message,
                }
            }
            500..=599 => Self::Server { status, message },
            _ => Self::UnexpectedStatus { status, message },
        }
    }

    /// Maps what the exchange reported (the token scrubbed out of every text).
    pub(crate) fn from_exchange(error: ExchangeError, secret: &str) -> Self {
        match error {
            ExchangeError::Transport(failure) if failure.timed_out => Self::Timeout {
                maybe_sent: failure.maybe_sent,
            },
            ExchangeError::Transport(failure) => Self::Network {
                message: sanitize(&scrub(&failure.message, secret)),
                maybe_sent: failure.maybe_sent,
            },
            ExchangeError::Status(reply) => Self::from_reply(&reply, secret),
            ExchangeError::BodyTooLarge => Self::InvalidResponse {
                message: "the response body is larger than allowed".into(),
            },
        }
    }

    /// An [`Error::InvalidResponse`] with a scrubbed, one-line message.
    pub(crate) fn invalid_response(message: impl AsRef<str>, secret: &str) -> Self {
        Self::InvalidResponse {
            message: sanitize(&scrub(message.as_ref(), secret)),
        }
    }

    /// An [`Error::InvalidConfig`].
    pub(crate) fn invalid_config(message: &str) -> Self {
        Self::InvalidConfig {
            message: message.to_string(),
        }
    }

    /// Replaces every occurrence of `secret` in every text of the error (a last line of defence:
    /// the texts were built from scrubbed input already).
    pub(crate) fn redacted(self, secret: &str) -> Self {
        if secret.is_empty() {
            return self;
        }
        let s = |text: String| scrub(&text, secret);
        let items = |errors: Vec<ErrorItem>| {
            errors
                .into_iter()
                .map(|item| ErrorItem {
                    status: item.status,
                    code: item.code.map(s),
                    title: item.title.map(s),
                    detail: item.detail.map(s),
                })
                .collect::<Vec<_>>()
        };
        match self {
            Self::Unauthorized { message, errors } => Self::Unauthorized {
                message: s(message),
                errors: items(errors),
            },
            Self::PaymentRequired { message, errors } => Self::PaymentRequired {
                message: s(message),
                errors: items(errors),
            },
            Self::Forbidden { message, errors } => Self::Forbidden {
                message: s(message),
                errors: items(errors),
            },
            Self::NotFound { message, errors } => Self::NotFound {
                message: s(message),
                errors: items(errors),
            },
            Self::Validation {
                status,
                message,
                errors,
            } => Self::Validation {
                status,
                message: s(message),
                errors: items(errors),
            },
            Self::RateLimited {
                retry_after,
                message,
            } => Self::RateLimited {
                retry_after,
                message: s(message),
            },
            Self::Server { status, message } => Self::Server {
                status,
                message: s(message),
            },
            Self::UnexpectedStatus { status, message } => Self::UnexpectedStatus {
                status,
                message: s(message),
            },
            Self::Network {
                message,
                maybe_sent,
            } => Self::Network {
                message: s(message),
                maybe_sent,
            },
            Self::InvalidResponse { message } => Self::InvalidResponse {
                message: s(message),
            },
            Self::InvalidConfig { message } => Self::InvalidConfig {
                message: s(message),
            },
            timeout @ Self::Timeout { .. } => timeout,
        }
    }
}

impl Classify for Error {
    fn failure_kind(&self) -> FailureKind {
        match self {
            Self::RateLimited { retry_after, .. } => {
                FailureKind::RateLimited { wait: *retry_after }
            }
            Self::Network { maybe_sent, .. } | Self::Timeout { maybe_sent } => {
                if *maybe_sent {
                    FailureKind::Interrupted
                } else {
                    FailureKind::Unreachable
                }
            }
            Self::Server { status, .. } => FailureKind::ServerFailed { status: *status },
            _ => FailureKind::Final,
        }
    }
}

fn scrub(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_string()
    } else {
        text.replace(secret, REDACTED)
    }
}

/// The message and the error list of an error body of any shape.
fn read_body(status: u16, content_type: Option<&str>, text: &str) -> (String, Vec<ErrorItem>) {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return (status_summary(status), Vec::new());
    }
    if let Ok(json) = serde_json::from_str::<Value>(trimmed) {
        let message = message_from_json(&json)
            .map(|message| sanitize(&message))
            .filter(|message| !message.is_empty())
            .unwrap_or_else(|| status_summary(status));
        return (message, error_items(&json));
    }
    if looks_like_html(content_type, trimmed) {
        return (format!("HTTP {status} (HTML error page)"), Vec::new());
    }
    let first_line = sanitize(trimmed.lines().next().unwrap_or_default());
    if first_line.is_empty() {
        (status_summary(status), Vec::new())
    } else {
        (first_line, Vec::new())
    }
}

/// The documented error list; entries that are not objects are skipped.
fn error_items(json: &Value) -> Vec<ErrorItem> {
    let Some(Value::Array(items)) = json.get("errors") else {
        return Vec::new();
    };
    items
        .iter()
        .filter(|item| item.is_object())
        .filter_map(|item| serde_json::from_value::<ErrorItem>(item.clone()).ok())
        .map(|item| ErrorItem {
            status: item.status,
            code: item.code.map(|text| sanitize(&text)),
            title: item.title.map(|text| sanitize(&text)),
            detail: item.detail.map(|text| sanitize(&text)),
        })
        .collect()
}

fn message_from_json(json: &Value) -> Option<String> {
    match json {
        Value::String(text) => Some(text.clone()),
        Value::Object(object) => ["errors", "error", "message", "detail", "title"]
            .iter()
            .filter_map(|key| object.get(*key))
            .find_map(message_from_field),
        Value::Array(items) => join(items.iter().filter_map(message_from_field)),
        _ => None,
    }
}

fn message_from_field(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
        Value::Array(items) => join(items.iter().filter_map(message_from_field)),
        Value::Object(object) => message_from_object(object),
        _ => None,
    }
}

/// One error object: `detail`, else `title` (the documented entry), else `message`/`error`/...,
/// else Rails field errors (`{"phone":["is invalid"]}` → `phone is invalid`).
fn message_from_object(object: &Map<String, Value>) -> Option<String> {
    let direct = [
        "detail",
        "title",
        "message",
        "error",
        "reason",
        "description",
    ]
    .iter()
    .filter_map(|key| object.get(*key))
    .find_map(message_from_field);
    direct.or_else(|| {
        let fields = object
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "status" | "code"))
            .filter_map(|(field, value)| {
                message_from_field(value).map(|message| format!("{field} {message}"))
            });
        join(fields)
    })
}

fn join(messages: impl Iterator<Item = String>) -> Option<String> {
    let all: Vec<String> = messages.collect();
    (!all.is_empty()).then(|| all.join("; "))
}

fn looks_like_html(content_type: Option<&str>, body: &str) -> bool {
    let declared = content_type.is_some_and(|ct| ct.to_ascii_lowercase().contains("html"));
    let head = body
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

    const SECRET: &str = "tok-SECRET-9";

    fn reply(status: u16, content_type: Option<&str>, body: &str) -> Error {
        Error::from_reply(
            &ErrorReply {
                status,
                retry_after: None,
                content_type: content_type.map(str::to_string),
                body: body.as_bytes().to_vec(),
            },
            SECRET,
        )
    }

    fn message(status: u16, body: &str) -> String {
        match reply(status, None, body) {
            Error::Unauthorized { message, .. }
            | Error::PaymentRequired { message, .. }
            | Error::Forbidden { message, .. }
            | Error::NotFound { message, .. }
            | Error::Validation { message, .. }
            | Error::RateLimited { message, .. }
            | Error::Server { message, .. }
            | Error::UnexpectedStatus { message, .. } => message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn documented_error_lists() {
        let body = r#"{"errors":[{"status":401,"code":"unauthorized","title":"Unauthorized","detail":"No token provided"}]}"#;
        let error = reply(401, Some("application/json"), body);
        assert_eq!(error.to_string(), "unauthorized: No token provided");
        assert_eq!(
            error.errors(),
            [ErrorItem {
                status: Some(401),
                code: Some("unauthorized".into()),
                title: Some("Unauthorized".into()),
                detail: Some("No token provided".into()),
            }]
        );
        let two = r#"{"errors":[{"detail":"phone is invalid"},{"title":"Text is too long"},{"code":"x"}]}"#;
        assert_eq!(message(422, two), "phone is invalid; Text is too long");
        assert_eq!(reply(422, None, two).errors().len(), 3);
    }

    #[test]
    fn rate_limit_waits_from_header_or_text() {
        let body = r#"{"errors":[{"status":429,"code":"too_many_requests","title":"Too many requests error","detail":"Please wait for 50 seconds"}]}"#;
        let error = reply(429, None, body);
        assert_eq!(error.retry_after(), Some(Duration::from_secs(50)));
        assert_eq!(
            error.failure_kind(),
            FailureKind::RateLimited {
                wait: Some(Duration::from_secs(50))
            }
        );
        let header = Error::from_reply(
            &ErrorReply {
                status: 429,
                retry_after: Some(Duration::from_secs(3)),
                content_type: None,
                body: body.as_bytes().to_vec(),
            },
            SECRET,
        );
        assert_eq!(header.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(reply(429, None, "slow down").retry_after(), None);
    }

    #[test]
    fn other_body_shapes() {
        assert_eq!(
            message(404, r#"{"error":"Conversation not found"}"#),
            "Conversation not found"
        );
        assert_eq!(
            message(400, r#"{"message":"company_id is required"}"#),
            "company_id is required"
        );
        assert_eq!(message(422, r#"{"error":{"message":"bad"}}"#), "bad");
        assert_eq!(
            message(422, r#"{"errors":{"phone":["is invalid","is too short"]}}"#),
            "phone is invalid; is too short"
        );
        assert_eq!(
            message(500, r#"{"status":"error"}"#),
            "HTTP 500 Internal Server Error"
        );
        assert_eq!(message(500, ""), "HTTP 500 Internal Server Error");
        assert_eq!(
            message(418, "short and stout\nsecond line"),
            "short and stout"
        );
        assert!(message(400, &"x".repeat(5000)).chars().count() <= 300);
    }

    #[test]
    fn html_pages_are_summarised() {
        let page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
        assert_eq!(message(502, page), "HTTP 502 (HTML error page)");
        assert!(matches!(
            reply(503, Some("text/html"), "down for maintenance"),
            Error::Server { status: 503, message } if message == "HTTP 503 (HTML error page)"
        ));
    }

    #[test]
    fn an_echoed_token_is_scrubbed_even_where_cut() {
        let body = format!(r#"{{"errors":[{{"detail":"token {SECRET} is invalid"}}]}}"#);
        let error = reply(401, None, &body);
        let all = format!("{error} {error:?}");
        assert!(!all.contains(SECRET), "{all}");
        assert!(all.contains("<redacted>"));
        let long = format!("{}{SECRET}", "x".repeat(295));
        let error = reply(400, None, &long);
        assert!(!format!("{error:?}").contains("tok-SE"), "{error:?}");
    }

    #[test]
    fn errors_in_a_success_body() {
        let limited: Value = serde_json::from_str(
            r#"{"errors":[{"status":"429","detail":"Please wait for 2 seconds"}]}"#,
        )
        .unwrap();
        let error = Error::from_error_envelope(&limited, SECRET).unwrap();
        assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));
        let plain: Value = serde_json::from_str(r#"{"errors":[{"detail":"nope"}]}"#).unwrap();
        assert!(matches!(
            Error::from_error_envelope(&plain, SECRET),
            Some(Error::Validation { status: 422, .. })
        ));
        let none: Value = serde_json::from_str(r#"{"errors":[],"message":{"id":1}}"#).unwrap();
        assert!(Error::from_error_envelope(&none, SECRET).is_none());
    }

    #[test]
    fn classification() {
        let server = reply(500, None, "");
        assert!(server.is_retryable() && server.outcome_unknown());
        assert_eq!(
            server.failure_kind(),
            FailureKind::ServerFailed { status: 500 }
        );
        assert!(!reply(501, None, "").is_retryable());
        let unsent = Error::Network {
            message: "refused".into(),
            maybe_sent: false,
        };
        assert_eq!(unsent.failure_kind(), FailureKind::Unreachable);
        assert!(!unsent.outcome_unknown() && unsent.is_retryable());
        let timeout = Error::Timeout { maybe_sent: true };
        assert_eq!(timeout.failure_kind(), FailureKind::Interrupted);
        assert!(timeout.outcome_unknown());
        assert_eq!(reply(404, None, "").failure_kind(), FailureKind::Final);
        assert_eq!(reply(410, None, "").status(), Some(410));
        assert!(matches!(
            reply(402, None, ""),
            Error::PaymentRequired { .. }
        ));
        assert!(matches!(reply(403, None, ""), Error::Forbidden { .. }));
        assert!(matches!(
            reply(400, None, ""),
            Error::Validation { status: 400, .. }
        ));
    }
}
