//! The request budget of an account's token, kept in the data folder's database so the app and
//! `parley-cli` (and every task inside each) stay inside the provider's documented limits together.
//!
//! Records are keyed by a fingerprint of the token (a SHA-256 prefix, never the token) and the
//! bucket's name. Times are the computer's wall clock, which both processes share; a clock that
//! steps back only makes waits longer (see [`parley_http::budget::wait_under_limits`]). If the
//! database fails, the budget carries on in memory for this process and says so in the log.
//!
//! Other computers with the same token (a team on one Pact account) cannot see these records. A
//! 429 tells of them: the budget then takes a smaller share of every limit, kept per token in the
//! same database, and takes more again while no 429 comes (the rule is [`parley_http::share`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use parley_http::{
    shared_limit, Bucket, Limit, LimitShare, LocalBudget, RequestBudget, ShareTuning,
};
use sha2::{Digest, Sha256};

use crate::model::now_millis;
use crate::secrets::Secret;
use crate::store::{BudgetTurn, Store};

/// The longest single sleep while waiting for a slot: the records are read again after it, so a
/// slot another process gave back (or a clock change) is noticed.
const LONGEST_NAP: Duration = Duration::from_secs(5);

/// A budget shared through the database.
pub struct SharedBudget {
    store: Store,
    token_key: String,
    account_id: Option<i64>,
    scale: f64,
    tuning: ShareTuning,
    refusals: AtomicU64,
    /// The share as last read from or written to the database.
    share: Mutex<LimitShare>,
    /// The buckets this process used, by name: at a 429, how much of each it used tells how much
    /// of the token the others take.
    used_buckets: Mutex<HashMap<String, Bucket>>,
    fallback: LocalBudget,
}

impl std::fmt::Debug for SharedBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBudget")
            .field("token_key", &self.token_key)
            .field("scale", &self.scale)
            .finish_non_exhaustive()
    }
}

impl SharedBudget {
    /// The budget of `token`'s requests; `scale` divides every window (1.0: the documented limits).
    pub fn new(store: Store, token: &Secret, scale: f64) -> Self {
        Self {
            store,
            token_key: token_fingerprint(token),
            account_id: None,
            scale,
            tuning: ShareTuning::default().scaled(scale),
            refusals: AtomicU64::new(0),
            share: Mutex::new(LimitShare::FULL),
            used_buckets: Mutex::new(HashMap::new()),
            fallback: LocalBudget::with_scale(scale),
        }
    }

    /// Names the account the budget serves, so diagnostics find its share.
    pub fn for_account(mut self, account_id: Option<i64>) -> Self {
        self.account_id = account_id;
        self
    }

    fn cached_share(&self) -> LimitShare {
        *self.share.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cache_share(&self, share: LimitShare) {
        *self.share.lock().unwrap_or_else(|p| p.into_inner()) = share;
    }

    /// The share as stored now (another process of the data folder may have moved it); the last
    /// one known when the database cannot say.
    async fn current_share(&self) -> LimitShare {
        match self.store.budget_share(&self.token_key).await {
            Ok(stored) => {
                let share = stored.map_or(LimitShare::FULL, |stored| stored.share);
                self.cache_share(share);
                share
            }
            Err(_) => self.cached_share(),
        }
    }

    /// The bucket's limits at the budget's time scale, before any share.
    fn scaled_limits(&self, bucket: &Bucket) -> Vec<Limit> {
        bucket
            .limits
            .iter()
            .map(|limit| limit.scaled(self.scale))
            .collect()
    }

    fn limits(&self, bucket: &Bucket, share: &LimitShare) -> Vec<Limit> {
        self.scaled_limits(bucket)
            .into_iter()
            .map(|limit| shared_limit(limit, share.share))
            .collect()
    }

    fn remember_bucket(&self, bucket: &Bucket) {
        let mut used = self.used_buckets.lock().unwrap_or_else(|p| p.into_inner());
        if !used.contains_key(bucket.name.as_ref()) {
            used.insert(bucket.name.to_string(), bucket.clone());
        }
    }

    async fn try_start(&self, bucket: &Bucket, record: bool) -> crate::Result<BudgetTurn> {
        self.remember_bucket(bucket);
        let share = self.current_share().await;
        let turn = self
            .store
            .budget_try_start(
                &self.token_key,
                &bucket.name,
                &self.limits(bucket, &share),
                now_millis(),
                record,
            )
            .await?;
        if turn.full {
            self.raise_if_due(share).await;
        }
        Ok(turn)
    }

    /// The share is in full use: takes more when no 429 came for long enough.
    async fn raise_if_due(&self, share: LimitShare) {
        let now = now_millis();
        if share.raised_if_due(now, &self.tuning).is_none() {
            return;
        }
        match self
            .store
            .budget_raise_share(&self.token_key, self.account_id, now, self.tuning)
            .await
        {
            Ok(raised) => {
                tracing::info!(
                    share = raised.share,
                    "no 429 for a while: taking more of the token's limits"
                );
                self.cache_share(raised);
            }
            Err(error) => {
                tracing::warn!(error = %crate::logging::describe_error(&error), "could not raise the request budget's share");
            }
        }
    }

    /// How much of its limits this process used, at most over the buckets it used, in the windows
    /// the server just found full; `refused` is the bucket of the 429, whose refused start the
    /// server did not count. `None` when it used none.
    async fn own_use(&self, refused: &Bucket) -> Option<f64> {
        let buckets: Vec<Bucket> = self
            .used_buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        let now = now_millis();
        let mut most: Option<f64> = None;
        for bucket in buckets {
            let Some(limit) = self.longest_limit(&bucket) else {
                continue;
            };
            let since = now - millis(limit.guarded_window());
            let Ok(mut starts) = self
                .store
                .budget_starts_since(&self.token_key, &bucket.name, since)
                .await
            else {
                continue;
            };
            if bucket.name == refused.name {
                starts -= 1;
            }
            let used = starts.max(0) as f64 / f64::from(limit.max.max(1));
            most = Some(most.map_or(used, |most: f64| most.max(used)));
        }
        most.filter(|used| *used > 0.0)
    }

    /// The bucket's limit with the longest window, at the budget's time scale.
    fn longest_limit(&self, bucket: &Bucket) -> Option<Limit> {
        self.scaled_limits(bucket)
            .into_iter()
            .max_by_key(|limit| limit.window)
    }

    /// A 429 came although the budget had room: other clients use the token. Cuts the share.
    async fn cut_share(&self, bucket: &Bucket) {
        let Some(limit) = self.longest_limit(bucket) else {
            // No documented limit: nothing to share.
            return;
        };
        let own_use = self.own_use(bucket).await;
        match self
            .store
            .budget_cut_share(
                &self.token_key,
                self.account_id,
                own_use,
                limit.guarded_window(),
                now_millis(),
                self.tuning,
            )
            .await
        {
            Ok(share) => {
                tracing::warn!(bucket = %bucket.name, share = share.share, own_use, "429 although the budget had room: other clients use this token; taking a smaller share of its limits");
                self.cache_share(share);
            }
            Err(error) => {
                tracing::warn!(error = %crate::logging::describe_error(&error), "could not record the request budget's share");
            }
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX / 2)
}

/// A stable, non-reversible name for a token: the first 16 bytes of SHA-256 over it, in hex.
pub fn token_fingerprint(token: &Secret) -> String {
    let digest = Sha256::digest(format!("parley-request-budget\0{}", token.expose()).as_bytes());
    digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[async_trait]
impl RequestBudget for SharedBudget {
    async fn acquire(&self, bucket: &Bucket) {
        if bucket.limits.is_empty() {
            return;
        }
        loop {
            match self.try_start(bucket, true).await {
                Ok(turn) if turn.wait.is_zero() => return,
                Ok(turn) => tokio::time::sleep(turn.wait.min(LONGEST_NAP)).await,
                Err(error) => {
                    tracing::warn!(error = %crate::logging::describe_error(&error), bucket = %bucket.name, "request budget unavailable; pacing in memory");
                    return self.fallback.acquire(bucket).await;
                }
            }
        }
    }

    async fn time_until_free(&self, bucket: &Bucket) -> Duration {
        if bucket.limits.is_empty() {
            return Duration::ZERO;
        }
        match self.try_start(bucket, false).await {
            Ok(turn) => turn.wait,
            Err(_) => self.fallback.time_until_free(bucket).await,
        }
    }

    async fn hold_off(&self, bucket: &Bucket, wait: Duration) {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(bucket = %bucket.name, wait_ms = wait.as_millis() as u64, "server answered 429; pausing");
        let until = now_millis() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
        if let Err(error) = self
            .store
            .budget_hold(&self.token_key, &bucket.name, until)
            .await
        {
            tracing::warn!(error = %crate::logging::describe_error(&error), "could not record a server pause; pausing in memory");
            self.fallback.hold_off(bucket, wait).await;
        }
        // Every start of this process took its turn from the budget, so the server counted
        // someone else's requests too.
        self.cut_share(bucket).await;
    }

    fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    fn limit_share(&self) -> Option<f64> {
        let share = self.cached_share();
        share.is_shared().then_some(share.share)
    }
}
