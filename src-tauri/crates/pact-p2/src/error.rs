//! The client's error type: p2's own variants on the shared HTTP-failure core
//! ([`parley_http::api_error!`]), whose reader understands every error body shape Pact (and the
//! proxies in front of it) send: the documented `{"errors":[{status,code,title,detail}]}`,
//! `{"error":..}`, `{"message":..}`, Rails field errors, plain text and HTML pages (summarised,
//! never dumped). Every text is scrubbed of the API token (a server may echo it) and cut to one
//! short line.

use std::time::Duration;

use parley_http::exchange::sanitize;
use parley_http::failure::{json_message, scrub, server_message, FailureCode};
use parley_http::retry::wait_in_text;
use parley_http::{ErrorReply, StatusClass};
use serde::Deserialize;
use serde_json::Value;

use parley_http::lenient;

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

parley_http::api_error! {
    /// Everything a call can fail with. No message contains the API token.
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
    }
}

impl Error {
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

    /// The error for a non-success answer. `secrets` are scrubbed from the body before it is read.
    pub(crate) fn from_reply(reply: &ErrorReply, secrets: &[&str]) -> Self {
        let text = scrub(&String::from_utf8_lossy(&reply.body), secrets);
        let message = server_message(reply.status, reply.content_type.as_deref(), &text);
        let errors = serde_json::from_str::<Value>(text.trim())
            .map(|json| error_items(&json))
            .unwrap_or_default();
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
        let text = scrub(&json.to_string(), &[secret]);
        let json: Value = serde_json::from_str(&text).ok()?;
        let errors = error_items(&json);
        let status = errors
            .iter()
            .filter_map(|item| item.status)
            .find(|status| (400..=599).contains(status))
            .unwrap_or(422);
        let message = json_message(&json, status);
        Some(Self::from_parts(status, message, errors, None))
    }

    fn from_parts(
        status: u16,
        message: String,
        errors: Vec<ErrorItem>,
        retry_after_header: Option<Duration>,
    ) -> Self {
        match StatusClass::of(status) {
            StatusClass::Validation => Self::Validation {
                status,
                message,
                errors,
            },
            StatusClass::Unauthorized => Self::Unauthorized { message, errors },
            StatusClass::PaymentRequired => Self::PaymentRequired { message, errors },
            StatusClass::Forbidden => Self::Forbidden { message, errors },
            StatusClass::NotFound => Self::NotFound { message, errors },
            StatusClass::RateLimited => {
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
            StatusClass::Server => Self::Server { status, message },
            StatusClass::Other => Self::UnexpectedStatus { status, message },
        }
    }

    /// An [`Error::InvalidResponse`] with the token scrubbed out before the message is cut to one
    /// short line (so a cut cannot leave part of it).
    pub(crate) fn invalid_response_scrubbed(message: impl AsRef<str>, secret: &str) -> Self {
        Self::invalid_response(scrub(message.as_ref(), &[secret]))
    }

    /// The code core maps p2's own variants to.
    fn own_code(&self) -> FailureCode {
        match self {
            Self::Unauthorized { .. } => FailureCode::Unauthorized,
            Self::PaymentRequired { .. } => FailureCode::PaymentRequired,
            Self::Forbidden { .. } => FailureCode::Forbidden,
            Self::NotFound { .. } => FailureCode::NotFound,
            Self::Validation { .. } => FailureCode::InvalidInput,
            _ => FailureCode::ServerError,
        }
    }

    /// Every text p2's own variants carry, the error list's included.
    fn for_each_own_text(&mut self, f: &mut dyn FnMut(&mut String)) {
        match self {
            Self::Unauthorized { message, errors }
            | Self::PaymentRequired { message, errors }
            | Self::Forbidden { message, errors }
            | Self::NotFound { message, errors }
            | Self::Validation {
                message, errors, ..
            } => {
                f(message);
                for item in errors {
                    for text in [&mut item.code, &mut item.title, &mut item.detail]
                        .into_iter()
                        .flatten()
                    {
                        f(text);
                    }
                }
            }
            Self::RateLimited { message, .. }
            | Self::Server { message, .. }
            | Self::UnexpectedStatus { message, .. } => f(message),
            _ => {}
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use parley_http::{Classify, FailureKind};

    const SECRET: &str = "tok-SECRET-9";

    fn reply(status: u16, content_type: Option<&str>, body: &str) -> Error {
        Error::from_reply(
            &ErrorReply {
                status,
                retry_after: None,
                content_type: content_type.map(str::to_string),
                body: body.as_bytes().to_vec(),
            },
            &[SECRET],
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
            &[SECRET],
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
