//! The client's error type: p1's own variants on the shared HTTP-failure core
//! ([`parley_http::api_error!`]), whose reader understands every error body shape Pact and
//! proxies send.

use std::time::Duration;

use parley_http::failure::{server_message, FailureCode};
use parley_http::retry::wait_in_text;
use parley_http::{ErrorReply, StatusClass};

parley_http::api_error! {
    /// Everything a call can fail with. Messages never contain the API token.
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
        /// The server handed back a page token it had already given (a bad token yields the first
        /// page again).
        #[error("the server repeated a page token; stopping to avoid a loop")]
        RepeatedPageToken,
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

    /// Builds the error for a non-success HTTP status from the (possibly empty) body, with
    /// Pact's "Please wait for N seconds" read when a 429 has no `Retry-After`.
    pub(crate) fn from_status(
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
        retry_after_header: Option<Duration>,
    ) -> Self {
        let message = server_message(status, content_type, &String::from_utf8_lossy(body));
        match StatusClass::of(status) {
            StatusClass::Validation => Self::Validation { status, message },
            StatusClass::Unauthorized => Self::Unauthorized { message },
            StatusClass::PaymentRequired => Self::PaymentRequired { message },
            StatusClass::Forbidden => Self::Forbidden { message },
            StatusClass::NotFound => Self::NotFound { message },
            StatusClass::RateLimited => Self::RateLimited {
                retry_after: retry_after_header.or_else(|| wait_in_text(&message)),
                message,
            },
            StatusClass::Server => Self::Server { status, message },
            StatusClass::Other => Self::UnexpectedStatus { status, message },
        }
    }

    /// The error for a non-success answer; `secrets` are scrubbed from the body before it is read.
    fn from_reply(reply: &ErrorReply, secrets: &[&str]) -> Self {
        let text = parley_http::failure::scrub(&String::from_utf8_lossy(&reply.body), secrets);
        Self::from_status(
            reply.status,
            reply.content_type.as_deref(),
            text.as_bytes(),
            reply.retry_after,
        )
    }

    /// The code core maps p1's own variants to.
    fn own_code(&self) -> FailureCode {
        match self {
            Self::Unauthorized { .. } => FailureCode::Unauthorized,
            Self::PaymentRequired { .. } => FailureCode::PaymentRequired,
            Self::Forbidden { .. } => FailureCode::Forbidden,
            Self::NotFound { .. } => FailureCode::NotFound,
            Self::Validation { .. } => FailureCode::InvalidInput,
            Self::RepeatedPageToken => FailureCode::InvalidResponse,
            _ => FailureCode::ServerError,
        }
    }

    /// Every text p1's own variants carry.
    fn for_each_own_text(&mut self, f: &mut dyn FnMut(&mut String)) {
        match self {
            Self::Unauthorized { message }
            | Self::PaymentRequired { message }
            | Self::Forbidden { message }
            | Self::NotFound { message }
            | Self::Validation { message, .. }
            | Self::RateLimited { message, .. }
            | Self::Server { message, .. }
            | Self::UnexpectedStatus { message, .. } => f(message),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_http::{Classify, FailureKind, Idempotency, RetryPolicy};

    #[test]
    fn json_api_errors() {
        let body = r#"{"errors":[{"status":429,"code":"too_many_requests","title":"Too many requests error","detail":"Please wait for 50 seconds"}]}"#;
        let error = Error::from_status(429, Some("application/json"), body.as_bytes(), None);
        assert_eq!(error.retry_after(), Some(Duration::from_secs(50)));
        assert_eq!(
            error.to_string(),
            "rate limited: Please wait for 50 seconds"
        );
    }

    #[test]
    fn retry_after_header_wins_over_body() {
        let body = br#"{"errors":[{"detail":"Please wait for 50 seconds"}]}"#;
        let error = Error::from_status(429, None, body, Some(Duration::from_secs(3)));
        assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
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
        .redacted(&["tok-SECRET"]);
        assert!(!format!("{error:?} {error}").contains("tok-SECRET"));
    }
}
