//! The server's clock: the computer's time plus an offset (zero unless a test or the admin endpoint
//! sets one), so the sandbox can play a server whose clock is wrong. Every time the sandbox writes
//! for something new (messages, conversations, jobs, VoIPbin stamps, login tokens) reads it; the
//! intervals it measures (rate-limit windows, p2 status delays) stay on the computer's monotonic
//! clock, as a real server's would.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};

/// The server's "now": the computer's time shifted by an offset that can change at run time.
/// Clones share one offset.
#[derive(Debug, Clone, Default)]
pub struct ServerClock {
    /// Offset in microseconds (a year is about 3.2e13, far inside `i64`).
    offset_micros: Arc<AtomicI64>,
}

impl ServerClock {
    /// A clock `offset` away from the computer's (negative: the server is behind).
    pub fn new(offset: ChronoDuration) -> ServerClock {
        let clock = ServerClock::default();
        clock.set_offset(offset);
        clock
    }

    /// How far the server's clock is from the computer's.
    pub fn offset(&self) -> ChronoDuration {
        ChronoDuration::microseconds(self.offset_micros.load(Ordering::Relaxed))
    }

    /// Moves the server's clock to `offset` from the computer's (saturating at about ±292,000
    /// years, which no test needs).
    pub fn set_offset(&self, offset: ChronoDuration) {
        let micros = offset
            .num_microseconds()
            .unwrap_or(if offset < ChronoDuration::zero() {
                i64::MIN
            } else {
                i64::MAX
            });
        self.offset_micros.store(micros, Ordering::Relaxed);
    }

    /// The server's time now.
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        now.checked_add_signed(self.offset()).unwrap_or(now)
    }

    /// The server's time now, whole seconds (rounded down), as seeded times are laid out.
    pub fn now_whole_seconds(&self) -> DateTime<Utc> {
        let now = self.now();
        Utc.timestamp_opt(now.timestamp(), 0)
            .single()
            .unwrap_or(now)
    }

    /// The server's time now as a [`SystemTime`] (for the epoch claims of a login token).
    pub fn system_now(&self) -> SystemTime {
        let now = SystemTime::now();
        let offset = self.offset();
        let shifted = match offset.to_std() {
            Ok(ahead) => now.checked_add(ahead),
            Err(_) => (-offset)
                .to_std()
                .ok()
                .and_then(|behind: Duration| now.checked_sub(behind)),
        };
        shifted.unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_shifts_now_and_changes_for_every_clone() {
        let clock = ServerClock::new(ChronoDuration::days(-365));
        let server = clock.now();
        let behind = Utc::now() - server;
        assert!(behind >= ChronoDuration::days(365));
        assert!(behind < ChronoDuration::days(365) + ChronoDuration::seconds(5));

        let shared = clock.clone();
        shared.set_offset(ChronoDuration::days(365));
        let ahead = clock.now() - Utc::now();
        assert!(ahead > ChronoDuration::days(365) - ChronoDuration::seconds(5));
        let system_ahead = clock
            .system_now()
            .duration_since(SystemTime::now())
            .expect("a year ahead");
        assert!(system_ahead > Duration::from_secs(364 * 24 * 3600));
        assert_eq!(clock.offset(), ChronoDuration::days(365));
    }
}
