//! Retry policy: which failures are repeated for which methods, and how long to wait in between.

use std::time::{Duration, SystemTime};

use rand::Rng;

use crate::Error;

/// First backoff delay.
const BASE_DELAY: Duration = Duration::from_millis(250);
/// Longest backoff delay.
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Longest server-requested wait the client sits out itself; longer waits are returned to the caller.
pub(crate) const MAX_SERVER_WAIT: Duration = Duration::from_secs(60);

/// Whether a request may be sent again without risk of doing its work twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// GET and the PUTs of p1: repeating is harmless.
    Idempotent,
    /// POSTs (send, create, upload): repeat only if the request certainly did not take effect.
    NonIdempotent,
}

/// The wait before the next attempt, or `None` when `error` must be returned as is.
/// `attempt` counts the retries already made (0 before the first retry).
pub(crate) fn delay_before_retry(
    error: &Error,
    idempotency: Idempotency,
    attempt: u32,
    max_retries: u32,
) -> Option<Duration> {
    if attempt >= max_retries || !may_repeat(error, idempotency) {
        return None;
    }
    match error.retry_after() {
        Some(wait) if wait > MAX_SERVER_WAIT => None,
        Some(wait) => Some(wait),
        None => Some(backoff_with_jitter(attempt)),
    }
}

/// Idempotent requests repeat on any transient failure; others only when the server cannot have acted
/// (429, or the connection was never made).
fn may_repeat(error: &Error, idempotency: Idempotency) -> bool {
    error.is_retryable() && (idempotency == Idempotency::Idempotent || !error.outcome_unknown())
}

/// Exponential backoff (250 ms, 500 ms, 1 s, ... capped at 8 s) with "equal jitter":
/// half the delay fixed, half random, so concurrent clients spread out.
pub(crate) fn backoff_with_jitter(attempt: u32) -> Duration {
    let ceiling = exponential_delay(attempt);
    let half = ceiling / 2;
    let jitter_ms = rand::thread_rng().gen_range(0..=half.as_millis() as u64);
    half + Duration::from_millis(jitter_ms)
}

fn exponential_delay(attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.min(16));
    BASE_DELAY.saturating_mul(factor).min(MAX_BACKOFF)
}

/// Parses a `Retry-After` header: delta seconds, or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let target = SystemTime::from(date.with_timezone(&chrono::Utc));
    Some(
        target
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(seconds: Option<u64>) -> Error {
        Error::RateLimited {
            retry_after: seconds.map(Duration::from_secs),
            message: "slow down".into(),
        }
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(exponential_delay(0), Duration::from_millis(250));
        assert_eq!(exponential_delay(2), Duration::from_secs(1));
        assert_eq!(exponential_delay(10), MAX_BACKOFF);
        assert_eq!(exponential_delay(u32::MAX), MAX_BACKOFF);
        for attempt in 0..8 {
            let delay = backoff_with_jitter(attempt);
            let ceiling = exponential_delay(attempt);
            assert!(delay >= ceiling / 2 && delay <= ceiling);
        }
    }

    #[test]
    fn posts_repeat_only_when_safe() {
        let post = Idempotency::NonIdempotent;
        let server = Error::Server {
            status: 500,
            message: String::new(),
        };
        assert!(delay_before_retry(&server, post, 0, 3).is_none());
        assert!(delay_before_retry(&server, Idempotency::Idempotent, 0, 3).is_some());
        let refused = Error::Network {
            message: String::new(),
            maybe_sent: false,
        };
        assert!(delay_before_retry(&refused, post, 0, 3).is_some());
        let broken = Error::Network {
            message: String::new(),
            maybe_sent: true,
        };
        assert!(delay_before_retry(&broken, post, 0, 3).is_none());
        assert!(delay_before_retry(&Error::Timeout { maybe_sent: true }, post, 0, 3).is_none());
        assert_eq!(
            delay_before_retry(&limited(Some(2)), post, 0, 3),
            Some(Duration::from_secs(2))
        );
        let not_found = Error::NotFound {
            message: String::new(),
        };
        assert!(delay_before_retry(&not_found, Idempotency::Idempotent, 0, 3).is_none());
    }

    #[test]
    fn long_waits_and_exhausted_budgets_return_the_error() {
        let idempotent = Idempotency::Idempotent;
        assert!(delay_before_retry(&limited(Some(61)), idempotent, 0, 3).is_none());
        assert_eq!(
            delay_before_retry(&limited(Some(60)), idempotent, 0, 3),
            Some(MAX_SERVER_WAIT)
        );
        assert!(delay_before_retry(&limited(None), idempotent, 3, 3).is_none());
        assert!(delay_before_retry(&limited(None), idempotent, 0, 0).is_none());
    }

    #[test]
    fn retry_after_header_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 1.5 "),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
