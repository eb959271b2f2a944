//! The HTTP-failure core the three clients' error enums are built on: the variants every client
//! shares ([`api_error!`](crate::api_error)), the class of a status, the reading of an error body,
//! the redaction of secrets a server echoed, and the class core maps to its error codes.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::exchange::sanitize;
use crate::retry::is_transient_status;
use crate::{Classify, FailureKind};

/// What replaces a secret wherever a server echoed it.
pub const REDACTED: &str = "<redacted>";

/// `text` with every non-empty secret of `secrets` replaced by [`REDACTED`].
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|secret| !secret.is_empty())
        .fold(text.to_string(), |text, secret| {
            if text.contains(secret) {
                text.replace(secret, REDACTED)
            } else {
                text
            }
        })
}

/// What a non-success status means, before a client picks its own variant for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// 400 or 422: the server refused the input.
    Validation,
    /// 401.
    Unauthorized,
    /// 402.
    PaymentRequired,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 429.
    RateLimited,
    /// 5xx.
    Server,
    /// Any other status.
    Other,
}

impl StatusClass {
    /// The class of `status`.
    pub fn of(status: u16) -> Self {
        match status {
            400 | 422 => Self::Validation,
            401 => Self::Unauthorized,
            402 => Self::PaymentRequired,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            429 => Self::RateLimited,
            500..=599 => Self::Server,
            _ => Self::Other,
        }
    }
}

/// The class of a client failure that core maps to its error codes (`ErrorCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCode {
    /// The server could not be reached, or the exchange broke or timed out.
    Offline,
    /// The credentials were refused.
    Unauthorized,
    /// The provider wants payment first.
    PaymentRequired,
    /// The credentials may not do this.
    Forbidden,
    /// No such thing.
    NotFound,
    /// The input was refused (by the server, or by the client before sending).
    InvalidInput,
    /// The thing already exists.
    Conflict,
    /// Over a rate limit.
    RateLimited,
    /// The server failed.
    ServerError,
    /// An answer that cannot be understood.
    InvalidResponse,
    /// The server does not offer the call.
    Unsupported,
}

/// What core needs of any client error: its code, the server's wait, and whether a write may
/// have been carried out despite it. [`api_error!`](crate::api_error) implements it.
pub trait ApiError: std::error::Error + Classify + Send + Sync + 'static {
    /// The class core maps to its error code.
    fn code(&self) -> FailureCode;

    /// How long the server asked to wait (a 429 only).
    fn retry_after(&self) -> Option<Duration> {
        match self.failure_kind() {
            FailureKind::RateLimited { wait } => wait,
            _ => None,
        }
    }

    /// True when a write may have been carried out despite the error: the request may have gone
    /// out before the connection broke or timed out, or the server failed (5xx) after possibly
    /// acting. Such a send must be reconciled, not blindly repeated.
    fn outcome_unknown(&self) -> bool {
        matches!(
            self.failure_kind(),
            FailureKind::Interrupted | FailureKind::ServerFailed { .. }
        )
    }

    /// True for failures that may go away on their own: 429, a transient 5xx, network errors and
    /// timeouts.
    fn is_retryable(&self) -> bool {
        match self.failure_kind() {
            FailureKind::RateLimited { .. }
            | FailureKind::Unreachable
            | FailureKind::Interrupted => true,
            FailureKind::ServerFailed { status } => is_transient_status(status),
            FailureKind::Final => false,
        }
    }
}

/// Declares a client's error enum: the variants written inside, then the four every client
/// shares (`Network`, `Timeout`, `InvalidResponse`, `InvalidConfig`), derived `Debug` and
/// `thiserror::Error` (the crate must depend on `thiserror`), the [`Classify`] and [`ApiError`]
/// impls and these inherent methods: `is_retryable`, `retry_after`, `outcome_unknown`,
/// `from_transport`, `from_exchange`, `invalid_response`, `invalid_config` and `redacted`.
///
/// The enum must have `RateLimited { retry_after: Option<Duration>, .. }` and
/// `Server { status: u16, .. }` variants, and the crate writes three inherent functions for its own
/// variants: `fn from_reply(reply: &ErrorReply, secrets: &[&str]) -> Self` (a non-success answer,
/// the secrets scrubbed out of the body before it is read), `fn own_code(&self) -> FailureCode`,
/// and `fn for_each_own_text(&mut self, f: &mut dyn FnMut(&mut String))`.
#[macro_export]
macro_rules! api_error {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($variants:tt)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, thiserror::Error)]
        $vis enum $name {
            $($variants)*
            /// The connection failed or broke.
            #[error("network error: {message}")]
            Network {
                /// What went wrong (never the URL).
                message: String,
                /// `false` only when the connection was never made (the request certainly did
                /// not go out).
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
            /// The client was configured wrongly (bad base URL, empty credentials, ...), or a
            /// call's argument was refused before sending.
            #[error("invalid configuration: {message}")]
            InvalidConfig {
                /// What is wrong.
                message: String,
            },
        }

        impl $name {
            /// True for failures that may go away on their own: 429, a transient 5xx, network
            /// errors and timeouts.
            pub fn is_retryable(&self) -> bool {
                $crate::failure::ApiError::is_retryable(self)
            }

            /// How long the server asked to wait (429 only).
            pub fn retry_after(&self) -> Option<std::time::Duration> {
                $crate::failure::ApiError::retry_after(self)
            }

            /// True when a write (a send) may have been carried out despite the error: the
            /// request may have gone out before the connection broke or timed out, or the server
            /// failed (5xx) after possibly acting. Such a send must be reconciled, not blindly
            /// repeated.
            pub fn outcome_unknown(&self) -> bool {
                $crate::failure::ApiError::outcome_unknown(self)
            }

            /// A transport failure: a timeout, else a network error (its text scrubbed).
            #[allow(dead_code)]
            pub(crate) fn from_transport(
                failure: $crate::TransportFailure,
                secrets: &[&str],
            ) -> Self {
                if failure.timed_out {
                    Self::Timeout {
                        maybe_sent: failure.maybe_sent,
                    }
                } else {
                    Self::Network {
                        message: $crate::exchange::sanitize(&$crate::failure::scrub(
                            &failure.message,
                            secrets,
                        )),
                        maybe_sent: failure.maybe_sent,
                    }
                }
            }

            /// Maps what went wrong in one exchange: a transport failure, a non-success answer,
            /// or a body too large; `secrets` are scrubbed out of every text.
            #[allow(dead_code)]
            pub(crate) fn from_exchange(error: $crate::ExchangeError, secrets: &[&str]) -> Self {
                match error {
                    $crate::ExchangeError::Transport(failure) => {
                        Self::from_transport(failure, secrets)
                    }
                    $crate::ExchangeError::Status(reply) => Self::from_reply(&reply, secrets),
                    $crate::ExchangeError::BodyTooLarge => {
                        Self::invalid_response("the response body is larger than allowed")
                    }
                }
            }

            /// An `InvalidResponse` with a one-line, shortened message.
            #[allow(dead_code)]
            pub(crate) fn invalid_response(message: impl AsRef<str>) -> Self {
                Self::InvalidResponse {
                    message: $crate::exchange::sanitize(message.as_ref()),
                }
            }

            /// An `InvalidConfig`.
            #[allow(dead_code)]
            pub(crate) fn invalid_config(message: impl Into<String>) -> Self {
                Self::InvalidConfig {
                    message: message.into(),
                }
            }

            /// Replaces every occurrence of each secret in every text of the error (servers may
            /// echo a bad token).
            #[allow(dead_code)]
            pub(crate) fn redacted(mut self, secrets: &[&str]) -> Self {
                let mut scrub = |text: &mut String| {
                    if secrets.iter().any(|s| !s.is_empty() && text.contains(s)) {
                        *text = $crate::failure::scrub(text, secrets);
                    }
                };
                match &mut self {
                    Self::Network { message, .. }
                    | Self::InvalidResponse { message }
                    | Self::InvalidConfig { message } => scrub(message),
                    Self::Timeout { .. } => {}
                    own => own.for_each_own_text(&mut scrub),
                }
                self
            }
        }

        /// What the shared retry policy needs to know: 429 with its wait, never sent, maybe
        /// sent, a 5xx, or final.
        impl $crate::Classify for $name {
            fn failure_kind(&self) -> $crate::FailureKind {
                match self {
                    Self::RateLimited { retry_after, .. } => $crate::FailureKind::RateLimited {
                        wait: *retry_after,
                    },
                    Self::Network { maybe_sent, .. } | Self::Timeout { maybe_sent } => {
                        $crate::FailureKind::transport(*maybe_sent)
                    }
                    Self::Server { status, .. } => {
                        $crate::FailureKind::ServerFailed { status: *status }
                    }
                    _ => $crate::FailureKind::Final,
                }
            }
        }

        impl $crate::failure::ApiError for $name {
            fn code(&self) -> $crate::failure::FailureCode {
                use $crate::failure::FailureCode;
                match self {
                    Self::Network { .. } | Self::Timeout { .. } => FailureCode::Offline,
                    Self::InvalidResponse { .. } => FailureCode::InvalidResponse,
                    Self::InvalidConfig { .. } => FailureCode::InvalidInput,
                    Self::RateLimited { .. } => FailureCode::RateLimited,
                    Self::Server { .. } => FailureCode::ServerError,
                    own => own.own_code(),
                }
            }
        }
    };
}

/// A short, safe, one-line message from an error body of any known shape: the documented
/// `{"errors":[{status,code,title,detail}]}`, `{"errors":{"field":["msg"]}}`, `{"error":..}`,
/// `{"message":..}`, `{"data":..}`, plain text (its first line), or an HTML page (summarised,
/// never dumped). An empty or wordless body gives the status's summary.
pub fn server_message(status: u16, content_type: Option<&str>, text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return status_summary(status);
    }
    if let Ok(json) = serde_json::from_str::<Value>(trimmed) {
        return json_message(&json, status);
    }
    if looks_like_html(content_type, trimmed) {
        return format!("HTTP {status} (HTML error page)");
    }
    let first_line = sanitize(trimmed.lines().next().unwrap_or_default());
    if first_line.is_empty() {
        status_summary(status)
    } else {
        first_line
    }
}

/// The message of a JSON error body (see [`server_message`]), else the status's summary.
pub fn json_message(json: &Value, status: u16) -> String {
    message_from_json(json)
        .map(|message| sanitize(&message))
        .filter(|message| !message.is_empty())
        .unwrap_or_else(|| status_summary(status))
}

fn message_from_json(json: &Value) -> Option<String> {
    match json {
        Value::String(text) => Some(text.clone()),
        Value::Object(object) => ["errors", "error", "message", "detail", "title", "data"]
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

/// `HTTP 502 Bad Gateway`: the status and its reason phrase.
pub fn status_summary(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("error");
    format!("HTTP {status} {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(status: u16, body: &str) -> String {
        server_message(status, None, body)
    }

    #[test]
    fn statuses_have_classes() {
        assert_eq!(StatusClass::of(400), StatusClass::Validation);
        assert_eq!(StatusClass::of(422), StatusClass::Validation);
        assert_eq!(StatusClass::of(401), StatusClass::Unauthorized);
        assert_eq!(StatusClass::of(402), StatusClass::PaymentRequired);
        assert_eq!(StatusClass::of(403), StatusClass::Forbidden);
        assert_eq!(StatusClass::of(404), StatusClass::NotFound);
        assert_eq!(StatusClass::of(429), StatusClass::RateLimited);
        assert_eq!(StatusClass::of(503), StatusClass::Server);
        assert_eq!(StatusClass::of(409), StatusClass::Other);
    }

    #[test]
    fn secrets_are_scrubbed() {
        assert_eq!(scrub("a tok b tok", &["tok"]), "a <redacted> b <redacted>");
        assert_eq!(scrub("a b", &["", "x"]), "a b");
        assert_eq!(scrub("k1 k2", &["k1", "k2"]), "<redacted> <redacted>");
    }

    #[test]
    fn body_shapes() {
        assert_eq!(
            message(
                429,
                r#"{"errors":[{"status":429,"code":"too_many_requests","title":"Too many requests error","detail":"Please wait for 50 seconds"}]}"#
            ),
            "Please wait for 50 seconds"
        );
        assert_eq!(
            message(
                422,
                r#"{"errors":[{"detail":"phone is invalid"},{"title":"Text is too long"},{"code":"x"}]}"#
            ),
            "phone is invalid; Text is too long"
        );
        assert_eq!(
            message(400, r#"{"status":"error","message":"Phone is invalid"}"#),
            "Phone is invalid"
        );
        assert_eq!(message(404, r#"{"error":"gone"}"#), "gone");
        assert_eq!(message(422, r#"{"error":{"message":"bad"}}"#), "bad");
        assert_eq!(
            message(422, r#"{"errors":{"phone":["is invalid","is too short"]}}"#),
            "phone is invalid; is too short"
        );
        assert_eq!(message(422, r#"{"errors":["a","b"]}"#), "a; b");
        assert_eq!(message(401, r#""Unauthorized""#), "Unauthorized");
        assert_eq!(
            message(500, r#"{"status":"error"}"#),
            "HTTP 500 Internal Server Error"
        );
        assert_eq!(message(500, ""), "HTTP 500 Internal Server Error");
        assert_eq!(message(418, "short and stout\nsecond"), "short and stout");
        assert_eq!(message(400, "a\u{0007}b"), "a b");
        assert!(message(400, &"x".repeat(5000)).chars().count() <= 301);
    }

    #[test]
    fn html_is_summarised() {
        let page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
        assert_eq!(message(502, page), "HTTP 502 (HTML error page)");
        assert_eq!(
            server_message(503, Some("text/html; charset=utf-8"), "down"),
            "HTTP 503 (HTML error page)"
        );
    }
}
