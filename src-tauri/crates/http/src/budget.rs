//! Request budgets: an API's documented rate limits, as strict sliding windows per endpoint, and a
//! place that remembers the request starts so every task of an account (and, through a shared
//! [`RequestBudget`] implementation, every process) stays inside them together.
//!
//! A window is strict: "at most `max` starts in ANY `window`", which a server counting fixed
//! windows, sliding windows or token buckets all accept. A server that still answers 429 is
//! honoured through [`RequestBudget::hold_off`].

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

/// At most `max` request starts in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Starts allowed per window (0 is treated as 1).
    pub max: u32,
    /// The window's length.
    pub window: Duration,
}

impl Limit {
    /// `max` requests per second.
    pub const fn per_second(max: u32) -> Self {
        Self {
            max,
            window: Duration::from_secs(1),
        }
    }

    /// `max` requests per minute.
    pub const fn per_minute(max: u32) -> Self {
        Self {
            max,
            window: Duration::from_secs(60),
        }
    }

    /// Starts at least `interval` apart (one per interval).
    pub const fn spacing(interval: Duration) -> Self {
        Self {
            max: 1,
            window: interval,
        }
    }

    /// The window the budget keeps: the limit's own, plus a margin (1 % and 20 ms) for requests that
    /// reach the server a little later or earlier than they started here, so they still fit the
    /// server's count of the window.
    /// A spacing (one start per window) is our own pace, not a server's count, and keeps no margin.
    pub fn guarded_window(self) -> Duration {
        if self.max <= 1 {
            return self.window;
        }
        self.window + self.window / 100 + GUARD_MARGIN
    }

    /// The same limit with its window divided by `scale` (a sandbox running at scaled time).
    pub fn scaled(self, scale: f64) -> Self {
        if !(scale.is_finite() && scale > 0.0) || scale == 1.0 {
            return self;
        }
        Self {
            max: self.max,
            window: self.window.div_f64(scale),
        }
    }
}

/// The fixed part of the margin every window is kept with (see [`Limit::guarded_window`]).
const GUARD_MARGIN: Duration = Duration::from_millis(20);

/// One endpoint's (or a group of endpoints') limits under a stable name, e.g. `pact-p2 list messages`.
/// Requests of the same bucket share its windows; different buckets never affect each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Stable name: budgets that persist their records key them by it.
    pub name: Cow<'static, str>,
    /// Every limit that applies (an empty list means "no limit").
    pub limits: Cow<'static, [Limit]>,
}

impl Bucket {
    /// A bucket with documented, static limits.
    pub const fn fixed(name: &'static str, limits: &'static [Limit]) -> Self {
        Self {
            name: Cow::Borrowed(name),
            limits: Cow::Borrowed(limits),
        }
    }

    /// A bucket whose limits are decided at run time (a configured pace).
    pub fn dynamic(name: &'static str, limits: Vec<Limit>) -> Self {
        Self {
            name: Cow::Borrowed(name),
            limits: Cow::Owned(limits),
        }
    }

    /// The longest (guarded) window of the bucket: records older than this no longer matter.
    pub fn longest_window(&self) -> Duration {
        self.limits
            .iter()
            .map(|limit| limit.guarded_window())
            .max()
            .unwrap_or(Duration::ZERO)
    }
}

/// Where an account's request starts are remembered. Implementations decide where (memory, a file
/// shared by processes); the rule they apply is [`wait_under_limits`].
#[async_trait]
pub trait RequestBudget: Send + Sync + fmt::Debug {
    /// Waits until a request of `bucket` may start without breaking any of its limits (or a pause the
    /// server asked for), then records the start.
    async fn acquire(&self, bucket: &Bucket);

    /// How long until a request of `bucket` could start (zero: now), recording nothing.
    async fn time_until_free(&self, bucket: &Bucket) -> Duration;

    /// The server refused a request of `bucket` as over its limit and asked to wait `wait`: no request
    /// of the bucket starts before then. Also counts the refusal.
    async fn hold_off(&self, bucket: &Bucket, wait: Duration);

    /// How many refusals (429s) this budget was told about so far, in this process.
    fn refusals(&self) -> u64;

    /// The fraction of every limit this budget lets its requests use, when it has found that other
    /// clients use the same token (see [`crate::share`]); `None` while it takes the full limits.
    fn limit_share(&self) -> Option<f64> {
        None
    }
}

/// How long until one more start keeps every limit, given the earlier starts (milliseconds on any
/// clock, in any order) and `now` on the same clock. Starts "in the future" (a clock that stepped
/// back) count as starting now, so a clock change can only make the wait longer, never skip it.
pub fn wait_under_limits(starts: &[i64], limits: &[Limit], now: i64) -> Duration {
    let mut sorted: Vec<i64> = starts.iter().map(|&start| start.min(now)).collect();
    sorted.sort_unstable();
    limits
        .iter()
        .map(|limit| wait_for_one_limit(&sorted, *limit, now))
        .max()
        .unwrap_or(Duration::ZERO)
}

/// A duration in whole milliseconds, rounded up: a window of 59.88 ms counts as 60 ms, so rounding
/// can only make a wait longer, never let one more start in.
fn ceil_ms(duration: Duration) -> i64 {
    let millis = duration.as_nanos().div_ceil(1_000_000);
    i64::try_from(millis).unwrap_or(i64::MAX)
}

fn wait_for_one_limit(sorted_starts: &[i64], limit: Limit, now: i64) -> Duration {
    let window = ceil_ms(limit.guarded_window());
    let max = limit.max.max(1) as usize;
    let in_window: Vec<i64> = sorted_starts
        .iter()
        .copied()
        .filter(|&start| start > now.saturating_sub(window))
        .collect();
    if in_window.len() < max {
        return Duration::ZERO;
    }
    // The start that has to leave the window before one more fits.
    let blocking = in_window[in_window.len() - max];
    let free_at = blocking.saturating_add(window);
    Duration::from_millis(u64::try_from(free_at.saturating_sub(now)).unwrap_or(0))
}

/// A budget kept in this process's memory: right for one client in one process, and the fallback
/// when a shared store is unavailable.
pub struct LocalBudget {
    scale: f64,
    origin: Instant,
    buckets: Mutex<HashMap<String, BucketRecord>>,
    refusals: AtomicU64,
}

#[derive(Default)]
struct BucketRecord {
    /// Starts within the bucket's longest window, ms since `origin`, oldest first.
    starts: VecDeque<i64>,
    /// No start before this (ms since `origin`).
    held_until: i64,
}

impl fmt::Debug for LocalBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalBudget")
            .field("scale", &self.scale)
            .finish_non_exhaustive()
    }
}

impl Default for LocalBudget {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalBudget {
    /// A budget at real time.
    pub fn new() -> Self {
        Self::with_scale(1.0)
    }

    /// A budget whose windows are divided by `scale` (for a sandbox running at scaled time).
    pub fn with_scale(scale: f64) -> Self {
        Self {
            scale,
            origin: Instant::now(),
            buckets: Mutex::new(HashMap::new()),
            refusals: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.origin.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// Now, rounded up to the next millisecond: what a start or a pause is recorded at, so that the
    /// next start (checked against [`Self::now_ms`], rounded down) is never less than a full window
    /// after the real one.
    fn now_ms_ceil(&self) -> i64 {
        ceil_ms(self.origin.elapsed())
    }

    fn scaled_limits(&self, bucket: &Bucket) -> Vec<Limit> {
        bucket
            .limits
            .iter()
            .map(|limit| limit.scaled(self.scale))
            .collect()
    }

    /// Records the start now if it fits; otherwise says how long to wait.
    fn try_start(&self, bucket: &Bucket, record_start: bool) -> Duration {
        let limits = self.scaled_limits(bucket);
        let longest = limits
            .iter()
            .map(|l| l.guarded_window())
            .max()
            .unwrap_or_default();
        let now = self.now_ms();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let record = buckets.entry(bucket.name.to_string()).or_default();
        let horizon = now.saturating_sub(ceil_ms(longest));
        while record.starts.front().is_some_and(|&start| start <= horizon) {
            record.starts.pop_front();
        }
        let held = Duration::from_millis(u64::try_from(record.held_until - now).unwrap_or(0));
        let starts: Vec<i64> = record.starts.iter().copied().collect();
        let wait = held.max(wait_under_limits(&starts, &limits, now));
        if wait.is_zero() && record_start {
            record.starts.push_back(self.now_ms_ceil());
        }
        wait
    }
}

#[async_trait]
impl RequestBudget for LocalBudget {
    async fn acquire(&self, bucket: &Bucket) {
        loop {
            let wait = self.try_start(bucket, true);
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn time_until_free(&self, bucket: &Bucket) -> Duration {
        self.try_start(bucket, false)
    }

    async fn hold_off(&self, bucket: &Bucket, wait: Duration) {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        let until = self.now_ms_ceil().saturating_add(ceil_ms(wait));
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let record = buckets.entry(bucket.name.to_string()).or_default();
        record.held_until = record.held_until.max(until);
    }

    fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWENTY_A_MINUTE: [Limit; 1] = [Limit::per_minute(20)];
    const SEND: [Limit; 2] = [Limit::per_second(5), Limit::per_minute(30)];

    #[test]
    fn a_full_window_waits_for_its_oldest_start() {
        let starts: Vec<i64> = (0..20).map(|i| i * 100).collect();
        assert_eq!(
            wait_under_limits(&starts, &TWENTY_A_MINUTE, 2_000),
            Duration::from_millis(58_000 + 620)
        );
        assert_eq!(
            wait_under_limits(&starts[1..], &TWENTY_A_MINUTE, 2_000),
            Duration::ZERO
        );
        // Once the oldest start leaves the window (and its margin), one more fits.
        assert_eq!(
            wait_under_limits(&starts, &TWENTY_A_MINUTE, 60_000),
            Duration::from_millis(620)
        );
        assert_eq!(
            wait_under_limits(&starts, &TWENTY_A_MINUTE, 60_620),
            Duration::ZERO
        );
    }

    #[test]
    fn every_limit_of_a_bucket_applies() {
        let burst: Vec<i64> = (0..5).collect();
        assert_eq!(
            wait_under_limits(&burst, &SEND, 10),
            Duration::from_millis(1_020)
        );
        let minute: Vec<i64> = (0..30).map(|i| i * 1_000).collect();
        assert_eq!(
            wait_under_limits(&minute, &SEND, 30_000),
            Duration::from_millis(30_620)
        );
    }

    #[test]
    fn a_clock_that_stepped_back_never_shortens_the_wait() {
        // Starts recorded "in the future" count as now.
        let starts: Vec<i64> = (0..20).map(|i| 1_000_000 + i).collect();
        assert_eq!(
            wait_under_limits(&starts, &TWENTY_A_MINUTE, 0),
            Duration::from_millis(60_620)
        );
    }

    #[test]
    fn scaled_limits_shrink_the_window() {
        let limit = Limit::per_minute(10).scaled(60.0);
        assert_eq!(limit.window, Duration::from_secs(1));
        assert_eq!(Limit::per_minute(10).scaled(0.0), Limit::per_minute(10));
    }

    #[test]
    fn windows_of_a_fraction_of_a_millisecond_round_up() {
        // 16.7 requests per second: 59.881 ms apart, counted as 60 ms (never 59).
        let spacing = [Limit::spacing(Duration::from_micros(59_881))];
        assert_eq!(
            wait_under_limits(&[0], &spacing, 59),
            Duration::from_millis(1)
        );
        assert_eq!(wait_under_limits(&[0], &spacing, 60), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_start_is_recorded_at_the_next_millisecond() {
        let budget = LocalBudget::new();
        const SPACING: [Limit; 1] = [Limit::spacing(Duration::from_millis(20))];
        let bucket = Bucket::fixed("spaced", &SPACING);
        tokio::time::advance(Duration::from_micros(500)).await;
        budget.acquire(&bucket).await;
        // 19.6 ms after the start the clock reads 20 ms in whole milliseconds: still not free.
        tokio::time::advance(Duration::from_micros(19_600)).await;
        assert!(budget.time_until_free(&bucket).await > Duration::ZERO);
        tokio::time::advance(Duration::from_micros(900)).await;
        assert_eq!(budget.time_until_free(&bucket).await, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn local_budget_spreads_a_burst_over_the_window() {
        let budget = LocalBudget::new();
        let bucket = Bucket::fixed("test", &SEND);
        let begin = Instant::now();
        for _ in 0..31 {
            budget.acquire(&bucket).await;
        }
        // 30 fit in the first minute (5 per second), the 31st waits for the minute to pass.
        assert!(begin.elapsed() >= Duration::from_secs(60));
        assert!(begin.elapsed() < Duration::from_secs(62));
    }

    #[tokio::test(start_paused = true)]
    async fn hold_off_pauses_the_bucket_and_counts() {
        let budget = LocalBudget::new();
        let bucket = Bucket::fixed("held", &TWENTY_A_MINUTE);
        let other = Bucket::fixed("other", &TWENTY_A_MINUTE);
        budget.hold_off(&bucket, Duration::from_secs(50)).await;
        assert_eq!(budget.refusals(), 1);
        assert_eq!(budget.time_until_free(&other).await, Duration::ZERO);
        let waited = budget.time_until_free(&bucket).await;
        assert!(waited > Duration::from_secs(49) && waited <= Duration::from_secs(50));
        let begin = Instant::now();
        budget.acquire(&bucket).await;
        assert!(begin.elapsed() >= Duration::from_secs(49));
    }
}
