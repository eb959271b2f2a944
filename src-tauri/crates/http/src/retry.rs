//! Retry policy: which failures are repeated for which requests, how long to wait in between, and
//! the server's own word on waiting (`Retry-After`, or a text such as "Please wait for 50 seconds").

use std::time::{Duration, SystemTime};

use rand::Rng;

/// Whether a request may be sent again without risk of doing its work twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Reads, and writes that set a state (PUT, an unassign): repeating is harmless.
    Idempotent,
    /// Writes that create something (a send, an upload): repeat only when the server certainly did
    /// not act on the request.
    NonIdempotent,
}

/// What the retry policy needs to know about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// 429: the server refused without acting, optionally saying how long to wait.
    RateLimited {
        /// The server's wait, when it gave one.
        wait: Option<Duration>,
    },
    /// The connection was never made (refused, DNS, connect timeout): the request did not go out.
    Unreachable,
    /// The connection broke or timed out after the request may have gone out.
    Interrupted,
    /// The server answered 5xx: it may have acted before failing.
    ServerFailed {
        /// The HTTP status.
        status: u16,
    },
    /// Anything repeating cannot fix (4xx, an unreadable answer, bad configuration).
    Final,
}

impl FailureKind {
    /// A transport failure's kind: [`Unreachable`](Self::Unreachable) when the request certainly did
    /// not go out (`maybe_sent` false), else [`Interrupted`](Self::Interrupted). For a client error
    /// that keeps only `maybe_sent` of a [`TransportFailure`](crate::TransportFailure).
    pub const fn transport(maybe_sent: bool) -> Self {
        if maybe_sent {
            Self::Interrupted
        } else {
            Self::Unreachable
        }
    }
}

/// Client errors tell the policy what kind of failure they are.
pub trait Classify {
    /// This failure's kind.
    fn failure_kind(&self) -> FailureKind;
}

/// How many times, and how patiently, failed requests are repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff delay.
    pub base_delay: Duration,
    /// The longest backoff delay.
    pub max_backoff: Duration,
    /// The longest server-requested wait sat out inside the client; a longer one is returned to the
    /// caller as the error, so a background job can reschedule instead of blocking.
    pub max_server_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_server_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The default policy with `max_retries` retries.
    pub fn with_max_retries(max_retries: u32) -> Self {
        Self {
            max_retries,
            ..Self::default()
        }
    }

    /// The wait before the next attempt, or `None` when the failure must be returned as it is.
    /// `retries_done` counts the retries already made.
    pub fn delay_before_retry(
        &self,
        failure: FailureKind,
        idempotency: Idempotency,
        retries_done: u32,
    ) -> Option<Duration> {
        if retries_done >= self.max_retries || !may_repeat(failure, idempotency) {
            return None;
        }
        match failure {
            FailureKind::RateLimited { wait: Some(wait) } => {
                (wait <= self.max_server_wait).then_some(wait)
            }
            _ => Some(self.backoff(retries_done)),
        }
    }

    /// The [`backoff`] from `base_delay` up to `max_backoff`.
    pub fn backoff(&self, retries_done: u32) -> Duration {
        backoff(self.base_delay, self.max_backoff, retries_done)
    }
}

/// Exponential backoff (`first`, 2×`first`, 4×`first`, ... up to `max`) with "equal jitter": half
/// of the delay fixed, half random, so clients that failed together spread out. The one backoff of
/// the clients' retries, live reconnects and the outbox's resends.
pub fn backoff(first: Duration, max: Duration, retries_done: u32) -> Duration {
    let ceiling = first
        .saturating_mul(2u32.saturating_pow(retries_done.min(16)))
        .min(max);
    let half = ceiling / 2;
    let half_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(rand::thread_rng().gen_range(0..=half_ms))
}

/// Idempotent requests repeat on any transient failure; others only when the server cannot have
/// acted (429, or the connection was never made).
fn may_repeat(failure: FailureKind, idempotency: Idempotency) -> bool {
    match failure {
        FailureKind::RateLimited { .. } | FailureKind::Unreachable => true,
        FailureKind::Interrupted => idempotency == Idempotency::Idempotent,
        FailureKind::ServerFailed { status } => {
            idempotency == Idempotency::Idempotent && is_transient_status(status)
        }
        FailureKind::Final => false,
    }
}

/// 5xx statuses that say "try again" (not 501 Not Implemented or 505 Version Not Supported).
pub fn is_transient_status(status: u16) -> bool {
    (500..=599).contains(&status) && !matches!(status, 501 | 505)
}

/// Longest wait any server text or header is believed for (a day).
const MAX_BELIEVED_WAIT: Duration = Duration::from_secs(86_400);

/// Parses a `Retry-After` header: delta seconds (whole or fractional), or an HTTP date in any of
/// the three forms RFC 9110 makes clients accept (IMF-fixdate, RFC 850, asctime).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return believed_wait(seconds);
    }
    let target = httpdate::parse_http_date(value).ok()?;
    Some(
        target
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .min(MAX_BELIEVED_WAIT),
    )
}

/// Reads a wait out of a server's words, such as Pact's "Please wait for 50 seconds" (also
/// "retry in 2 minutes", "wait 1.5 s"): the first number after "wait" or "in", with its unit
/// (seconds when none is given). `None` when the text names no wait.
pub fn wait_in_text(text: &str) -> Option<Duration> {
    let lower = text.to_lowercase();
    let after = ["wait", "retry in", "try again in"]
        .iter()
        .filter_map(|marker| lower.find(marker).map(|at| at + marker.len()))
        .min()?;
    let rest = &lower[after..];
    let start = rest.find(|c: char| c.is_ascii_digit())?;
    // Only words like "for" may stand between the marker and the number.
    if rest[..start].split_whitespace().any(|w| w != "for") {
        return None;
    }
    let number: String = rest[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let amount: f64 = number.trim_end_matches('.').parse().ok()?;
    let unit = rest[start + number.len()..].trim_start();
    let seconds = if unit.starts_with("min") {
        amount * 60.0
    } else if unit.starts_with("ms") || unit.starts_with("milli") {
        amount / 1000.0
    } else if unit.starts_with('h') {
        amount * 3600.0
    } else {
        amount
    };
    believed_wait(seconds)
}

/// `seconds` as a wait of at most [`MAX_BELIEVED_WAIT`]; `None` when negative or not finite. The
/// cap comes before the conversion: `Duration::from_secs_f64` panics on a number too large for a
/// `Duration` (such as `1e300`).
fn believed_wait(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && seconds >= 0.0)
        .then(|| Duration::from_secs_f64(seconds.min(MAX_BELIEVED_WAIT.as_secs_f64())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POST: Idempotency = Idempotency::NonIdempotent;
    const GET: Idempotency = Idempotency::Idempotent;

    #[test]
    fn posts_repeat_only_when_the_server_cannot_have_acted() {
        let policy = RetryPolicy::default();
        assert!(policy
            .delay_before_retry(FailureKind::Unreachable, POST, 0)
            .is_some());
        assert!(policy
            .delay_before_retry(FailureKind::Interrupted, POST, 0)
            .is_none());
        assert!(policy
            .delay_before_retry(FailureKind::ServerFailed { status: 503 }, POST, 0)
            .is_none());
        assert_eq!(
            policy.delay_before_retry(
                FailureKind::RateLimited {
                    wait: Some(Duration::from_secs(2))
                },
                POST,
                0
            ),
            Some(Duration::from_secs(2))
        );
        assert!(policy
            .delay_before_retry(FailureKind::Final, GET, 0)
            .is_none());
    }

    #[test]
    fn transport_failures_are_unreachable_only_when_never_sent() {
        assert_eq!(FailureKind::transport(false), FailureKind::Unreachable);
        assert_eq!(FailureKind::transport(true), FailureKind::Interrupted);
    }

    #[test]
    fn gets_repeat_transient_failures_up_to_the_limit() {
        let policy = RetryPolicy::with_max_retries(2);
        let failed = FailureKind::ServerFailed { status: 502 };
        assert!(policy.delay_before_retry(failed, GET, 1).is_some());
        assert!(policy.delay_before_retry(failed, GET, 2).is_none());
        assert!(policy
            .delay_before_retry(FailureKind::ServerFailed { status: 501 }, GET, 0)
            .is_none());
        assert!(policy
            .delay_before_retry(FailureKind::Interrupted, GET, 0)
            .is_some());
    }

    #[test]
    fn long_server_waits_go_back_to_the_caller() {
        let policy = RetryPolicy::default();
        let long = FailureKind::RateLimited {
            wait: Some(Duration::from_secs(61)),
        };
        assert!(policy.delay_before_retry(long, GET, 0).is_none());
    }

    #[test]
    fn backoff_is_equal_jitter_and_capped() {
        let policy = RetryPolicy::default();
        for retries in 0..10 {
            let ceiling = policy
                .base_delay
                .saturating_mul(2u32.pow(retries))
                .min(policy.max_backoff);
            let delay = policy.backoff(retries);
            assert!(delay >= ceiling / 2 && delay <= ceiling, "{delay:?}");
        }
        assert!(policy.backoff(u32::MAX) <= policy.max_backoff);
    }

    #[test]
    fn retry_after_header_forms() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-3"), None);
        assert_eq!(parse_retry_after("soon"), None);
    }

    /// The three HTTP-date forms of RFC 9110 section 5.6.7, for the same instant.
    fn http_date_forms(at: chrono::DateTime<chrono::Utc>) -> [String; 3] {
        [
            at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            at.format("%A, %d-%b-%y %H:%M:%S GMT").to_string(),
            at.format("%a %b %e %H:%M:%S %Y").to_string(),
        ]
    }

    #[test]
    fn retry_after_dates_in_all_three_forms_are_honoured() {
        // A past date in each form means "now"; one that cannot be read means no wait was given.
        for past in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse_retry_after(past), Some(Duration::ZERO), "{past}");
        }
        // A date an hour ahead, whole seconds: the wait is that hour less the time since `ahead`.
        let ahead = chrono::Utc::now() + chrono::Duration::seconds(3_601);
        for form in http_date_forms(ahead) {
            let wait = parse_retry_after(&form).unwrap_or_else(|| panic!("not read: {form}"));
            assert!(
                wait > Duration::from_secs(3_500) && wait <= Duration::from_secs(3_601),
                "{form}: {wait:?}"
            );
        }
    }

    #[test]
    fn waits_read_from_text() {
        assert_eq!(
            wait_in_text("Please wait for 50 seconds"),
            Some(Duration::from_secs(50))
        );
        assert_eq!(
            wait_in_text("please WAIT FOR 1 second."),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            wait_in_text("Rate limit exceeded, retry in 2 minutes"),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            wait_in_text("wait 1.5 s"),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(wait_in_text("Too many requests"), None);
        assert_eq!(wait_in_text("wait until tomorrow, then 5 more"), None);
        assert_eq!(
            wait_in_text("Please wait for 99999999999 seconds"),
            Some(MAX_BELIEVED_WAIT)
        );
    }
}
