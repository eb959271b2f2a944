//! The share of a token's rate limits this client takes when other clients (other computers with
//! the same token) use them too, inferred from the server's 429s alone: no coordination between
//! clients, and no comparison of this computer's clock with the server's.
//!
//! The rule is AIMD, as congestion control does it:
//! - **cut at once.** A 429 for a request our own budget said was free means someone else spent
//!   the token's window. The share falls to what this client used of the window the server found
//!   full (the others had the rest), and never keeps more than [`ShareTuning::cut`] of itself.
//! - **raise slowly.** While this client uses all of its share and no 429 comes for
//!   [`ShareTuning::quiet`], it takes one slot more; each raise that holds for
//!   [`ShareTuning::again`] brings the next, twice as big, so a client left alone is back at the
//!   full limit in a few windows once the first raise held.
//!
//! A share scales each documented limit down ([`shared_limit`]); the strict windows of the budget
//! then keep the clients' starts together inside the server's count, however their clocks differ.

use std::time::Duration;

use crate::budget::Limit;

/// The constants of the rule. [`ShareTuning::default`] is what Parley ships.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShareTuning {
    /// A 429 leaves at most this much of the share before it (the multiplicative decrease).
    pub cut: f64,
    /// The smallest share: one start of a 20-a-window limit.
    pub floor: f64,
    /// The first raise after a cut, as a share (one slot of a 20-a-window limit).
    pub first_step: f64,
    /// The largest single raise.
    pub largest_step: f64,
    /// No 429 for this long while the share is in full use: the first raise.
    pub quiet: Duration,
    /// A raise held this long (no 429, share in use): the next one, twice as big.
    pub again: Duration,
}

impl Default for ShareTuning {
    fn default() -> Self {
        Self {
            cut: 0.75,
            floor: 0.05,
            first_step: 0.05,
            largest_step: 0.4,
            quiet: Duration::from_secs(40 * 60),
            again: Duration::from_secs(60),
        }
    }
}

impl ShareTuning {
    /// The same rule with its times divided by `scale` (a sandbox at scaled time).
    pub fn scaled(self, scale: f64) -> Self {
        if !(scale.is_finite() && scale > 0.0) || scale == 1.0 {
            return self;
        }
        Self {
            quiet: self.quiet.div_f64(scale),
            again: self.again.div_f64(scale),
            ..self
        }
    }
}

/// The inferred share and what the rule needs to move it. Times are milliseconds on the budget's
/// own clock (never the server's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitShare {
    /// The fraction of every limit this client takes, in (0, 1]; 1 is alone.
    pub share: f64,
    /// The next raise.
    pub step: f64,
    /// When the share last changed.
    pub changed_at_ms: i64,
    /// Whether that change was a raise (else a cut, or never changed).
    pub raised: bool,
}

impl LimitShare {
    /// Alone with the token: every limit in full.
    pub const FULL: LimitShare = LimitShare {
        share: 1.0,
        step: 0.05,
        changed_at_ms: 0,
        raised: false,
    };

    /// True when other clients were found to use the token (the share is below the full limit).
    pub fn is_shared(&self) -> bool {
        self.share < 1.0
    }

    /// The share after a 429 that this client's budget did not expect. `own_use` is the fraction of
    /// the refused limit this client had used in its window (`None` or 0: unknown); `window` is that
    /// limit's window. A second 429 within one window of a cut only brings the share down to
    /// `own_use`: both answer the same crowding.
    pub fn after_refusal(
        self,
        own_use: Option<f64>,
        window: Duration,
        now_ms: i64,
        tuning: &ShareTuning,
    ) -> LimitShare {
        let since_change = now_ms.saturating_sub(self.changed_at_ms);
        let same_crowding =
            !self.raised && self.is_shared() && (0..=millis(window)).contains(&since_change);
        let kept = if same_crowding {
            self.share
        } else {
            self.share * tuning.cut
        };
        let used = own_use.filter(|used| used.is_finite() && *used > 0.0);
        let share = used.map_or(kept, |used| kept.min(used));
        LimitShare {
            share: share.clamp(tuning.floor, 1.0),
            step: tuning.first_step,
            changed_at_ms: now_ms,
            raised: false,
        }
    }

    /// The raised share, when a raise is due: the share is below full, this client uses all of it,
    /// and no 429 came for [`ShareTuning::quiet`] (or, after a raise, [`ShareTuning::again`]). A
    /// clock that stepped back raises nothing.
    pub fn raised_if_due(self, now_ms: i64, tuning: &ShareTuning) -> Option<LimitShare> {
        if !self.is_shared() {
            return None;
        }
        let wait = if self.raised {
            tuning.again
        } else {
            tuning.quiet
        };
        if now_ms.saturating_sub(self.changed_at_ms) < millis(wait) {
            return None;
        }
        let share = (self.share + self.step).min(1.0);
        if share >= 1.0 {
            return Some(LimitShare {
                changed_at_ms: now_ms,
                ..LimitShare::FULL
            });
        }
        Some(LimitShare {
            share,
            step: (self.step * 2.0).min(tuning.largest_step),
            changed_at_ms: now_ms,
            raised: true,
        })
    }
}

/// `limit` as a client with `share` of it may use it: the same window, `max` scaled down and
/// rounded down (never below one start), so the shares of clients that add up to at most 1 never
/// add up to more starts than the server allows.
pub fn shared_limit(limit: Limit, share: f64) -> Limit {
    if !(share.is_finite() && share < 1.0) {
        return limit;
    }
    let scaled = (f64::from(limit.max) * share.max(0.0) + 1e-9).floor();
    Limit {
        // In 1..=max: the cast cannot overflow.
        max: (scaled as u32).clamp(1, limit.max.max(1)),
        window: limit.window,
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn tuning() -> ShareTuning {
        ShareTuning::default()
    }

    #[test]
    fn a_429_cuts_to_what_this_client_used_of_the_full_window() {
        let cut = LimitShare::FULL.after_refusal(Some(0.2), MINUTE, 1_000, &tuning());
        assert_eq!(cut.share, 0.2);
        assert!(cut.is_shared() && !cut.raised);
        assert_eq!(cut.changed_at_ms, 1_000);
        // Without knowing its use, the client keeps three quarters.
        let blind = LimitShare::FULL.after_refusal(None, MINUTE, 1_000, &tuning());
        assert_eq!(blind.share, 0.75);
        // Its use never raises the share: a 429 at the share still cuts by a quarter.
        let later = cut.after_refusal(Some(0.2), MINUTE, 1_000_000, &tuning());
        assert!((later.share - 0.15).abs() < 1e-9, "{later:?}");
    }

    #[test]
    fn a_second_429_of_the_same_crowding_does_not_cut_twice() {
        let cut = LimitShare::FULL.after_refusal(Some(0.3), MINUTE, 0, &tuning());
        let again = cut.after_refusal(Some(0.35), MINUTE, 30_000, &tuning());
        assert_eq!(again.share, 0.3);
        let lower = cut.after_refusal(Some(0.25), MINUTE, 30_000, &tuning());
        assert_eq!(lower.share, 0.25);
        // After the window it is news again.
        let news = cut.after_refusal(None, MINUTE, 61_000, &tuning());
        assert!((news.share - 0.225).abs() < 1e-9);
    }

    #[test]
    fn the_share_never_falls_below_the_floor() {
        let mut share = LimitShare::FULL;
        for at in 0..20 {
            share = share.after_refusal(Some(0.01), MINUTE, at * 100_000, &tuning());
        }
        assert_eq!(share.share, tuning().floor);
    }

    #[test]
    fn raises_wait_for_quiet_then_double_until_full() {
        let t = tuning();
        let quiet = millis(t.quiet);
        let again = millis(t.again);
        let cut = LimitShare::FULL.after_refusal(Some(0.2), MINUTE, 0, &t);
        assert_eq!(cut.raised_if_due(quiet - 1, &t), None);
        let first = cut
            .raised_if_due(quiet, &t)
            .expect("due after the quiet time");
        assert!((first.share - 0.25).abs() < 1e-9 && first.raised);
        assert_eq!(first.raised_if_due(quiet + again - 1, &t), None);
        let mut share = first;
        let mut at = quiet;
        let mut raises = 1;
        while share.is_shared() {
            at += again;
            share = share.raised_if_due(at, &t).expect("due after a held raise");
            raises += 1;
        }
        // 0.2 -> 0.25 -> 0.35 -> 0.55 -> 0.95 -> 1.0
        assert_eq!(raises, 5);
        assert_eq!(
            share,
            LimitShare {
                changed_at_ms: at,
                ..LimitShare::FULL
            }
        );
        assert_eq!(share.raised_if_due(at + quiet, &t), None, "full stays full");
    }

    #[test]
    fn a_clock_that_stepped_back_raises_nothing() {
        let t = tuning();
        let cut = LimitShare::FULL.after_refusal(Some(0.5), MINUTE, 10_000_000, &t);
        assert_eq!(cut.raised_if_due(0, &t), None);
        // A 429 "before" the last cut by the clock is still news: it cuts.
        let after = cut.after_refusal(None, MINUTE, 0, &t);
        assert!(after.share < cut.share);
    }

    #[test]
    fn shared_limits_round_down_and_keep_one_start() {
        let twenty = Limit::per_minute(20);
        assert_eq!(shared_limit(twenty, 1.0), twenty);
        assert_eq!(shared_limit(twenty, 0.2).max, 4);
        assert_eq!(shared_limit(twenty, 0.35).max, 7);
        assert_eq!(shared_limit(twenty, 0.34).max, 6);
        assert_eq!(shared_limit(Limit::per_minute(10), 0.35).max, 3);
        assert_eq!(shared_limit(Limit::per_second(5), 0.05).max, 1);
        assert_eq!(shared_limit(twenty, 0.2).window, twenty.window);
        // Shares that add up to 1 never add up to more than the limit.
        let shares = [0.35, 0.35, 0.3];
        let total: u32 = shares.iter().map(|s| shared_limit(twenty, *s).max).sum();
        assert!(total <= 20);
    }

    #[test]
    fn scaled_tuning_shortens_its_times() {
        let scaled = tuning().scaled(60.0);
        assert_eq!(scaled.quiet, Duration::from_secs(40));
        assert_eq!(scaled.again, Duration::from_secs(1));
        assert_eq!(tuning().scaled(0.0), tuning());
    }
}
