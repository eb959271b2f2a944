//! p2's documented rate limits: per token and endpoint, each a strict sliding window (at most N
//! request starts in any window), scaled by the sandbox's time scale.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Accepted request starts kept for [`crate::Sandbox::p2_request_log`] (the oldest are dropped).
const LOG_CAPACITY: usize = 200_000;

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

/// The endpoint bucket of a matched route (`"GET /api/p2/conversations"`), as the rate-limit
/// page names them.
pub fn bucket_of(route: &str) -> &'static str {
    match route.trim_end_matches('/') {
        "GET /api/p2/conversations" => "list_conversations",
        "GET /api/p2/conversations/{conversation_id}" => "get_conversation",
        "PUT /api/p2/conversations/{conversation_id}" => "update_conversation",
        "GET /api/p2/conversations/{conversation_id}/messages" => "list_messages",
        "POST /api/p2/conversations/{conversation_id}/messages" => "send_message",
        "DELETE /api/p2/conversations/{conversation_id}/messages" => "delete_messages",
        "GET /api/p2/conversations/{conversation_id}/messages/{message_id}" => "get_message",
        "POST /api/p2/messages" => "write_first",
        "POST /api/p2/attachments" => "upload_attachment",
        "GET /api/p2/waba_templates" => "waba_templates",
        _ => "other",
    }
}

/// The documented windows of a bucket: `(at most N starts, per window)`; empty for none.
pub fn limits_of(bucket: &str) -> &'static [(usize, Duration)] {
    match bucket {
        "list_conversations" | "get_conversation" => &[(10, MINUTE)],
        "list_messages" | "get_message" | "waba_templates" => &[(20, MINUTE)],
        "send_message" | "write_first" | "upload_attachment" => &[(5, SECOND), (30, MINUTE)],
        _ => &[],
    }
}

/// A valid time scale, or `None` (limits off) for `None`, zero, negative or non-finite values.
pub fn normalise_scale(scale: Option<f64>) -> Option<f64> {
    scale.filter(|s| s.is_finite() && *s > 0.0)
}

/// The windows of every token and bucket, and the log of accepted starts.
#[derive(Debug)]
pub struct P2Limiter {
    scale: Option<f64>,
    windows: HashMap<(String, &'static str), VecDeque<Instant>>,
    log: VecDeque<(&'static str, Instant)>,
}

impl P2Limiter {
    /// A limiter with the given time scale (`None`: limits off).
    pub fn new(scale: Option<f64>) -> P2Limiter {
        P2Limiter {
            scale: normalise_scale(scale),
            windows: HashMap::new(),
            log: VecDeque::new(),
        }
    }

    /// The time scale; `None` while the limits are off.
    pub fn scale(&self) -> Option<f64> {
        self.scale
    }

    /// Changes the time scale and forgets every window.
    pub fn set_scale(&mut self, scale: Option<f64>) {
        self.scale = normalise_scale(scale);
        self.windows.clear();
    }

    /// Counts a request start now, or refuses it with the whole seconds (ceil, at least 1) until
    /// a slot frees. A refused start is not counted.
    pub fn admit(&mut self, token: &str, bucket: &'static str) -> Result<(), u64> {
        let now = Instant::now();
        if let Some(scale) = self.scale {
            let limits = limits_of(bucket);
            if !limits.is_empty() {
                let starts = self.windows.entry((token.to_owned(), bucket)).or_default();
                admit_into(starts, limits, scale, now)?;
            }
        }
        if self.log.len() >= LOG_CAPACITY {
            self.log.pop_front();
        }
        self.log.push_back((bucket, now));
        Ok(())
    }

    /// Accepted request starts, oldest first.
    pub fn log(&self) -> Vec<(String, Instant)> {
        self.log
            .iter()
            .map(|(bucket, at)| ((*bucket).to_owned(), *at))
            .collect()
    }
}

fn scaled(period: Duration, scale: f64) -> Duration {
    Duration::from_secs_f64(period.as_secs_f64() / scale)
}

fn admit_into(
    starts: &mut VecDeque<Instant>,
    limits: &[(usize, Duration)],
    scale: f64,
    now: Instant,
) -> Result<(), u64> {
    let longest = limits
        .iter()
        .map(|(_, period)| scaled(*period, scale))
        .max()
        .unwrap_or_default();
    while starts
        .front()
        .is_some_and(|t| now.duration_since(*t) >= longest)
    {
        starts.pop_front();
    }
    let mut wait: Option<Duration> = None;
    for &(max, period) in limits {
        let period = scaled(period, scale);
        let inside = starts
            .iter()
            .rev()
            .take_while(|t| now.duration_since(**t) < period)
            .count();
        if inside >= max && max > 0 {
            // The start that has to leave the window before another one fits.
            let leaving = starts[starts.len() - max];
            let until = period.saturating_sub(now.duration_since(leaving));
            wait = Some(wait.map_or(until, |w| w.max(until)));
        } else if max == 0 {
            wait = Some(wait.map_or(period, |w| w.max(period)));
        }
    }
    if let Some(wait) = wait {
        return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
    }
    starts.push_back(now);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_window_refuses_and_refusals_do_not_count() {
        let mut limiter = P2Limiter::new(Some(1.0));
        for _ in 0..10 {
            assert!(limiter.admit("t", "list_conversations").is_ok());
        }
        let wait = limiter.admit("t", "list_conversations").unwrap_err();
        assert!((59..=60).contains(&wait), "{wait}");
        assert!(limiter.admit("t", "list_conversations").is_err());
        assert!(limiter.admit("other", "list_conversations").is_ok());
        assert!(limiter.admit("t", "get_conversation").is_ok());
        assert!(limiter.admit("t", "update_conversation").is_ok());
        assert_eq!(limiter.log().len(), 13);
    }

    #[test]
    fn per_second_and_per_minute_windows_both_hold() {
        let mut limiter = P2Limiter::new(Some(60.0));
        // A "second" lasts 1/60 s, a "minute" 1 s.
        for _ in 0..5 {
            assert!(limiter.admit("t", "send_message").is_ok());
        }
        assert_eq!(limiter.admit("t", "send_message"), Err(1));
        limiter.set_scale(None);
        for _ in 0..100 {
            assert!(limiter.admit("t", "send_message").is_ok());
        }
    }
}
