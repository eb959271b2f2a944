//! The request budget of an account's token, kept in the data folder's database so the app and
//! `parley-cli` (and every task inside each) stay inside the provider's documented limits together.
//!
//! Records are keyed by a fingerprint of the token (a SHA-256 prefix, never the token) and the
//! bucket's name. Times are the computer's wall clock, which both processes share; a clock that
//! steps back only makes waits longer (see [`parley_http::budget::wait_under_limits`]). If the
//! database fails, the budget carries on in memory for this process and says so in the log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use parley_http::{Bucket, Limit, LocalBudget, RequestBudget};
use sha2::{Digest, Sha256};

use crate::model::now_millis;
use crate::secrets::Secret;
use crate::store::Store;

/// The longest single sleep while waiting for a slot: the records are read again after it, so a
/// slot another process gave back (or a clock change) is noticed.
const LONGEST_NAP: Duration = Duration::from_secs(5);

/// A budget shared through the database.
pub struct SharedBudget {
    store: Store,
    token_key: String,
    scale: f64,
    refusals: AtomicU64,
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
            scale,
            refusals: AtomicU64::new(0),
            fallback: LocalBudget::with_scale(scale),
        }
    }

    fn limits(&self, bucket: &Bucket) -> Vec<Limit> {
        bucket
            .limits
            .iter()
            .map(|limit| limit.scaled(self.scale))
            .collect()
    }

    async fn try_start(&self, bucket: &Bucket, record: bool) -> crate::Result<Duration> {
        self.store
            .budget_try_start(
                &self.token_key,
                &bucket.name,
                &self.limits(bucket),
                now_millis(),
                record,
            )
            .await
    }
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
                Ok(wait) if wait.is_zero() => return,
                Ok(wait) => tokio::time::sleep(wait.min(LONGEST_NAP)).await,
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
            Ok(wait) => wait,
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
    }

    fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }
}
