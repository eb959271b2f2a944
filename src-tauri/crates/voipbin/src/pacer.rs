//! Client-side rate limiter: request starts are spaced so the documented per-customer limit
//! (about 16.7 requests per second) is never exceeded.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// The documented per-customer limit, in requests per second.
pub const MAX_REQUESTS_PER_SECOND: f64 = 16.7;

/// Serialises request starts so that they are at least `interval` apart.
#[derive(Debug)]
pub(crate) struct Pacer {
    interval: Duration,
    last_start: Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer for at most `per_second` requests per second (clamped to the documented limit).
    pub(crate) fn new(per_second: f64) -> Self {
        Self {
            interval: interval_for(per_second),
            last_start: Mutex::new(None),
        }
    }

    /// Waits until the next request may start.
    pub(crate) async fn wait_turn(&self) {
        let mut last_start = self.last_start.lock().await;
        if let Some(previous) = *last_start {
            tokio::time::sleep_until(previous + self.interval).await;
        }
        *last_start = Some(Instant::now());
    }
}

/// The spacing for a rate, never below the spacing of the documented limit.
fn interval_for(per_second: f64) -> Duration {
    let rate = if per_second.is_finite() && per_second > 0.0 {
        per_second.min(MAX_REQUESTS_PER_SECOND)
    } else {
        MAX_REQUESTS_PER_SECOND
    };
    // Round up to whole microseconds so rounding can never push the rate over the limit.
    Duration::from_micros((1_000_000.0 / rate).ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_clamped_to_the_documented_limit() {
        assert_eq!(interval_for(1000.0), interval_for(MAX_REQUESTS_PER_SECOND));
        assert_eq!(interval_for(-1.0), interval_for(MAX_REQUESTS_PER_SECOND));
        assert_eq!(
            interval_for(f64::NAN),
            interval_for(MAX_REQUESTS_PER_SECOND)
        );
        assert!(interval_for(MAX_REQUESTS_PER_SECOND) >= Duration::from_micros(59_880));
        assert_eq!(interval_for(2.0), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn starts_are_spaced() {
        let pacer = Pacer::new(MAX_REQUESTS_PER_SECOND);
        let begin = Instant::now();
        for _ in 0..18 {
            pacer.wait_turn().await;
        }
        // 18 starts need at least 17 intervals: more than one second for 16.7/s.
        assert!(begin.elapsed() >= Duration::from_secs(1));
    }
}
