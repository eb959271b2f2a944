//! Retry policy: which failures are repeated for which calls, and how long to wait in between.

use std::time::{Duration, SystemTime};

use rand::Rng;

use crate::Error;

/// First backoff delay.
const BASE_DELAY: Duration = Duration::from_millis(250);
/// Longest backoff delay.
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Longest `Retry-After` the client sits out itself; longer waits go back to the caller.
pub(crate) const MAX_SERVER_WAIT: Duration = Duration::from_secs(60);

/// Whether a call may be sent again without risk of doing its work twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// GET, PUT, and calls that set a state (unassign): repeating is harmless.
    Idempotent,
    /// POSTs that create something (send a message): repeat only if it certainly did not arrive.
    NonIdempotent,
}

/// The wait before the next attempt, or `None` when `error` must be returned as is.
/// `retries_done` counts the retries already made.
pub(crate) fn delay_before_retry(
    error: &Error,
    idempotency: Idempotency,
    retries_done: u32,
    max_retries: u32,
) -> Option<Duration> {
    if retries_done >= max_retries || !is_retryable(error, idempotency) {
        return None;
    }
    match error {
        Error::RateLimited {
            retry_after: Some(wait),
        } => (*wait <= MAX_SERVER_WAIT).then_some(*wait),
        _ => Some(backoff(retries_done)),
    }
}

fn is_retryable(error: &Error, idempotency: Idempotency) -> bool {
    match error {
        // Both mean the server did not act on the request.
        Error::RateLimited { .. } => true,
        Error::Network {
            maybe_sent: false, ..
        }
        | Error::Timeout { maybe_sent: false } => true,
        Error::Network { .. } | Error::Timeout { .. } => idempotency == Idempotency::Idempotent,
        Error::Server { status, .. } => {
            idempotency == Idempotency::Idempotent && matches!(status, 500 | 502 | 503 | 504)
        }
        _ => false,
    }
}

/// Exponential backoff with full jitter.
fn backoff(retries_done: u32) -> Duration {
    let ceiling = BASE_DELAY
        .saturating_mul(2u32.saturating_pow(retries_done.min(10)))
        .min(MAX_BACKOFF);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::thread_rng().gen_range(millis / 2..=millis))
}

/// Reads `Retry-After`: delta seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let target = SystemTime::from(date);
    Some(
        target
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(maybe_sent: bool) -> Error {
        Error::Network {
            message: "reset".into(),
            maybe_sent,
        }
    }

    #[test]
    fn posts_retry_only_when_not_sent_or_rate_limited() {
        let post = Idempotency::NonIdempotent;
        assert!(delay_before_retry(&network(false), post, 0, 3).is_some());
        assert!(delay_before_retry(&network(true), post, 0, 3).is_none());
        assert!(delay_before_retry(&Error::Timeout { maybe_sent: true }, post, 0, 3).is_none());
        let server = Error::from_status(503, b"", None);
        assert!(delay_before_retry(&server, post, 0, 3).is_none());
        let limited = Error::RateLimited { retry_after: None };
        assert!(delay_before_retry(&limited, post, 0, 3).is_some());
    }

    #[test]
    fn gets_retry_transient_failures_up_to_the_limit() {
        let get = Idempotency::Idempotent;
        let server = Error::from_status(502, b"", None);
        assert!(delay_before_retry(&server, get, 0, 2).is_some());
        assert!(delay_before_retry(&server, get, 2, 2).is_none());
        assert!(delay_before_retry(&network(true), get, 0, 2).is_some());
        let not_found = Error::from_status(404, b"", None);
        assert!(delay_before_retry(&not_found, get, 0, 2).is_none());
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let get = Idempotency::Idempotent;
        let short = Error::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(
            delay_before_retry(&short, get, 0, 3),
            Some(Duration::from_secs(2))
        );
        let long = Error::RateLimited {
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(delay_before_retry(&long, get, 0, 3), None);
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0) <= BASE_DELAY);
        assert!(backoff(20) <= MAX_BACKOFF);
    }
}
