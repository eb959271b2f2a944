//! The client's error type (VoIPbin's own variants on the shared HTTP-failure core,
//! [`parley_http::api_error!`]), built from VoIPbin's `{"error": {status, reason, message, request_id}}`
//! envelope, bare status codes, and transport failures. No variant ever carries a credential.

use std::time::Duration;

use parley_http::exchange::sanitize;
use parley_http::failure::{scrub, FailureCode};
use parley_http::{ErrorReply, StatusClass};
use serde::Deserialize;

/// Explanation given for `403` on conversation endpoints.
pub const CONVERSATION_ROLE_HINT: &str =
    "agents need an admin or manager role to use conversations";

/// What the server said in its error envelope (all fields optional: some endpoints send an empty body).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerMessage {
    /// Canonical status such as `PERMISSION_DENIED`.
    pub status: Option<String>,
    /// Specific reason code such as `CONVERSATION_NOT_FOUND`.
    pub reason: Option<String>,
    /// The server's human-readable words (sanitised and shortened).
    pub message: String,
    /// Correlation id for support tickets.
    pub request_id: Option<String>,
}

impl std::fmt::Display for ServerMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.reason, self.message.is_empty()) {
            (Some(reason), false) => write!(f, "{reason}: {}", self.message),
            (Some(reason), true) => f.write_str(reason),
            (None, false) => f.write_str(&self.message),
            (None, true) => f.write_str("no details from the server"),
        }
    }
}

parley_http::api_error! {
    /// Everything a call can fail with. No variant ever carries a credential.
    pub enum Error {
        /// 401 (or a rejected login): the access key, password or token is wrong or expired.
        #[error("unauthorized: {0}")]
        Unauthorized(ServerMessage),
        /// 403: authenticated but not allowed.
        #[error("permission denied ({CONVERSATION_ROLE_HINT}): {0}")]
        PermissionDenied(ServerMessage),
        /// 404: no such conversation (or it belongs to another customer).
        #[error("not found: {0}")]
        NotFound(ServerMessage),
        /// 400 or 422: the server rejected the input.
        #[error("rejected by the server (HTTP {status}): {server}")]
        Validation {
            /// HTTP status.
            status: u16,
            /// The server's words.
            server: ServerMessage,
        },
        /// Another 4xx status (402 payment required, 409 conflict, ...).
        #[error("refused by the server (HTTP {status}): {server}")]
        Refused {
            /// HTTP status.
            status: u16,
            /// The server's words.
            server: ServerMessage,
        },
        /// 429: too many requests.
        #[error("rate limited{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
        RateLimited {
            /// How long the server asked to wait (`Retry-After`), if it said.
            retry_after: Option<Duration>,
        },
        /// 5xx: the server or a proxy failed.
        #[error("server error (HTTP {status}): {server}")]
        Server {
            /// HTTP status.
            status: u16,
            /// The server's words.
            server: ServerMessage,
        },
        /// The server does not offer this call (for example the legacy `POST /conversations/setup`).
        #[error("not supported by this server: {message}")]
        Unsupported {
            /// Which feature is missing.
            message: String,
        },
    }
}

impl Error {
    /// The HTTP status behind this error, if it came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized(_) => Some(401),
            Self::PermissionDenied(_) => Some(403),
            Self::NotFound(_) => Some(404),
            Self::RateLimited { .. } => Some(429),
            Self::Validation { status, .. }
            | Self::Refused { status, .. }
            | Self::Server { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Builds the error for a non-success response.
    pub(crate) fn from_status(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let server = server_message(body);
        match StatusClass::of(status) {
            StatusClass::Unauthorized => Self::Unauthorized(server),
            StatusClass::Forbidden => Self::PermissionDenied(server),
            StatusClass::NotFound => Self::NotFound(server),
            StatusClass::RateLimited => Self::RateLimited { retry_after },
            StatusClass::Validation => Self::Validation { status, server },
            StatusClass::Server => Self::Server { status, server },
            StatusClass::PaymentRequired | StatusClass::Other => Self::Refused { status, server },
        }
    }

    /// The error for a non-success answer; `secrets` are scrubbed from the body before it is read.
    fn from_reply(reply: &ErrorReply, secrets: &[&str]) -> Self {
        let text = scrub(&String::from_utf8_lossy(&reply.body), secrets);
        Self::from_status(reply.status, text.as_bytes(), reply.retry_after)
    }

    /// The code core maps VoIPbin's own variants to.
    fn own_code(&self) -> FailureCode {
        match self {
            Self::Unauthorized(_) => FailureCode::Unauthorized,
            Self::PermissionDenied(_) => FailureCode::Forbidden,
            Self::NotFound(_) => FailureCode::NotFound,
            Self::Refused { status: 402, .. } => FailureCode::PaymentRequired,
            Self::Refused { status: 409, .. } => FailureCode::Conflict,
            Self::Unsupported { .. } => FailureCode::Unsupported,
            _ => FailureCode::InvalidInput,
        }
    }

    /// Every text VoIPbin's own variants carry.
    fn for_each_own_text(&mut self, f: &mut dyn FnMut(&mut String)) {
        match self {
            Self::Unauthorized(server)
            | Self::PermissionDenied(server)
            | Self::NotFound(server) => f(&mut server.message),
            Self::Validation { server, .. }
            | Self::Refused { server, .. }
            | Self::Server { server, .. } => f(&mut server.message),
            Self::Unsupported { message } => f(message),
            _ => {}
        }
    }
}

#[derive(Deserialize)]
struct Envelope {
    error: Option<EnvelopeBody>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct EnvelopeBody {
    status: Option<String>,
    reason: Option<String>,
    message: Option<String>,
    request_id: Option<String>,
}

/// Reads the error envelope; an empty, HTML or odd body gives an empty message. Server text is
/// untrusted: every field is made one printable line of at most 300 characters.
pub(crate) fn server_message(body: &[u8]) -> ServerMessage {
    let Ok(envelope) = serde_json::from_slice::<Envelope>(body) else {
        return ServerMessage::default();
    };
    match envelope.error {
        Some(error) => ServerMessage {
            status: error.status.map(|s| sanitize(&s)),
            reason: error.reason.map(|s| sanitize(&s)),
            message: error.message.map(|s| sanitize(&s)).unwrap_or_default(),
            request_id: error.request_id.map(|s| sanitize(&s)),
        },
        None => ServerMessage {
            message: envelope.message.map(|s| sanitize(&s)).unwrap_or_default(),
            ..ServerMessage::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_http::{Classify, FailureKind, Idempotency, RetryPolicy};

    const DOC_ENVELOPE: &[u8] = br#"{
       "error": {
         "status": "PERMISSION_DENIED",
         "reason": "BILLING_ACCESS_DENIED",
         "message": "You do not have permission to access this billing account.",
         "request_id": "req_01HXYZ..."
       }
     }"#;

    #[test]
    fn envelope_is_read() {
        let server = server_message(DOC_ENVELOPE);
        assert_eq!(server.status.as_deref(), Some("PERMISSION_DENIED"));
        assert_eq!(server.reason.as_deref(), Some("BILLING_ACCESS_DENIED"));
        assert_eq!(server.request_id.as_deref(), Some("req_01HXYZ..."));
        let error = Error::from_status(403, DOC_ENVELOPE, None);
        let text = error.to_string();
        assert!(text.contains("admin or manager"), "{text}");
        assert!(text.contains("billing account"), "{text}");
    }

    #[test]
    fn statuses_map_to_variants() {
        assert!(matches!(
            Error::from_status(401, b"", None),
            Error::Unauthorized(_)
        ));
        assert!(matches!(
            Error::from_status(404, b"", None),
            Error::NotFound(_)
        ));
        assert!(matches!(
            Error::from_status(400, b"", None),
            Error::Validation { status: 400, .. }
        ));
        assert!(matches!(
            Error::from_status(402, b"", None),
            Error::Refused { status: 402, .. }
        ));
        assert!(matches!(
            Error::from_status(503, b"<html>", None),
            Error::Server { status: 503, .. }
        ));
        let limited = Error::from_status(429, b"", Some(Duration::from_secs(3)));
        assert!(matches!(
            limited,
            Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(3)
        ));
        assert_eq!(limited.status(), Some(429));
    }

    fn network(maybe_sent: bool) -> Error {
        Error::Network {
            message: "reset".into(),
            maybe_sent,
        }
    }

    /// The shared policy's answer for `error` with `max_retries`: the wait before a retry, or `None`.
    fn retry_delay(
        error: &Error,
        idempotency: Idempotency,
        retries_done: u32,
        max_retries: u32,
    ) -> Option<Duration> {
        RetryPolicy::with_max_retries(max_retries).delay_before_retry(
            error.failure_kind(),
            idempotency,
            retries_done,
        )
    }

    #[test]
    fn errors_classify_for_the_retry_policy() {
        assert_eq!(network(false).failure_kind(), FailureKind::Unreachable);
        assert_eq!(network(true).failure_kind(), FailureKind::Interrupted);
        assert_eq!(
            Error::Timeout { maybe_sent: false }.failure_kind(),
            FailureKind::Unreachable
        );
        assert_eq!(
            Error::from_status(429, b"", Some(Duration::from_secs(3))).failure_kind(),
            FailureKind::RateLimited {
                wait: Some(Duration::from_secs(3))
            }
        );
        assert_eq!(
            Error::from_status(503, b"", None).failure_kind(),
            FailureKind::ServerFailed { status: 503 }
        );
        for last in [401, 403, 404, 400, 409] {
            assert_eq!(
                Error::from_status(last, b"", None).failure_kind(),
                FailureKind::Final,
                "{last}"
            );
        }
        assert_eq!(
            Error::invalid_response("x").failure_kind(),
            FailureKind::Final
        );
    }

    #[test]
    fn posts_retry_only_when_not_sent_or_rate_limited() {
        let post = Idempotency::NonIdempotent;
        assert!(retry_delay(&network(false), post, 0, 3).is_some());
        assert!(retry_delay(&network(true), post, 0, 3).is_none());
        assert!(retry_delay(&Error::Timeout { maybe_sent: true }, post, 0, 3).is_none());
        let server = Error::from_status(503, b"", None);
        assert!(retry_delay(&server, post, 0, 3).is_none());
        let limited = Error::RateLimited { retry_after: None };
        assert!(retry_delay(&limited, post, 0, 3).is_some());
    }

    #[test]
    fn gets_retry_transient_failures_up_to_the_limit() {
        let get = Idempotency::Idempotent;
        let server = Error::from_status(502, b"", None);
        assert!(retry_delay(&server, get, 0, 2).is_some());
        assert!(retry_delay(&server, get, 2, 2).is_none());
        assert!(retry_delay(&network(true), get, 0, 2).is_some());
        let not_found = Error::from_status(404, b"", None);
        assert!(retry_delay(&not_found, get, 0, 2).is_none());
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let get = Idempotency::Idempotent;
        let short = Error::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(retry_delay(&short, get, 0, 3), Some(Duration::from_secs(2)));
        let long = Error::RateLimited {
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(retry_delay(&long, get, 0, 3), None);
    }

    #[test]
    fn hostile_text_is_cleaned_and_secrets_scrubbed() {
        let long = "x".repeat(1000);
        let body = format!(r#"{{"error":{{"message":"bad\u0007key vb_secret {long}"}}}}"#);
        let error = Error::from_status(400, body.as_bytes(), None).redacted(&["vb_secret"]);
        let text = error.to_string();
        assert!(!text.contains('\u{7}'));
        assert!(!text.contains("vb_secret"));
        assert!(text.chars().count() < 400);
    }
}
