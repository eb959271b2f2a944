//! The request budget's records: request starts per token fingerprint and rate-limit bucket, and the
//! pauses servers asked for, in the database every process of the data folder shares.

use std::time::Duration;

use parley_http::budget::wait_under_limits;
use parley_http::Limit;

use super::Store;
use crate::error::Result;

impl Store {
    /// Forgets starts older than `longest_window`, then says how long until one more start of the
    /// bucket keeps every limit and every pause; when that is now and `record` is set, records the
    /// start. All in one write transaction, so two processes never both take the last slot.
    pub async fn budget_try_start(
        &self,
        token_key: &str,
        bucket: &str,
        limits: &[Limit],
        now_ms: i64,
        record: bool,
    ) -> Result<Duration> {
        let (store, token_key, bucket, limits) = (
            self.clone(),
            token_key.to_string(),
            bucket.to_string(),
            limits.to_vec(),
        );
        super::detached(move || {
            let (store, token_key, bucket, limits) = (
                store.clone(),
                token_key.clone(),
                bucket.clone(),
                limits.clone(),
            );
            async move {
                store
                    .budget_try_start_now(&token_key, &bucket, &limits, now_ms, record)
                    .await
            }
        })
        .await
    }

    async fn budget_try_start_now(
        &self,
        token_key: &str,
        bucket: &str,
        limits: &[Limit],
        now_ms: i64,
        record: bool,
    ) -> Result<Duration> {
        let longest = limits
            .iter()
            .map(|limit| limit.guarded_window())
            .max()
            .unwrap_or_default();
        // Rounded up, so a start stays as long as any (guarded) window still counts it.
        let horizon = now_ms - i64::try_from(longest.as_millis()).unwrap_or(i64::MAX) - 1;
        let mut tx = self.pool.begin().await?;
        // A write first, so the transaction holds the write lock from its start.
        sqlx::query(
            "DELETE FROM request_budget WHERE token_key = ? AND bucket = ? AND started_at <= ?",
        )
        .bind(token_key)
        .bind(bucket)
        .bind(horizon)
        .execute(&mut *tx)
        .await?;
        let starts: Vec<i64> = sqlx::query_scalar(
            "SELECT started_at FROM request_budget WHERE token_key = ? AND bucket = ?",
        )
        .bind(token_key)
        .bind(bucket)
        .fetch_all(&mut *tx)
        .await?;
        let held_until: Option<i64> = sqlx::query_scalar(
            "SELECT until FROM request_holds WHERE token_key = ? AND bucket = ?",
        )
        .bind(token_key)
        .bind(bucket)
        .fetch_optional(&mut *tx)
        .await?;
        let held = Duration::from_millis(
            u64::try_from(held_until.unwrap_or(0).saturating_sub(now_ms)).unwrap_or(0),
        );
        let wait = held.max(wait_under_limits(&starts, limits, now_ms));
        if wait.is_zero() && record {
            sqlx::query(
                "INSERT INTO request_budget (token_key, bucket, started_at) VALUES (?, ?, ?)",
            )
            .bind(token_key)
            .bind(bucket)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(wait)
    }

    /// Records that no request of the bucket may start before `until_ms` (a server's 429).
    pub async fn budget_hold(&self, token_key: &str, bucket: &str, until_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO request_holds (token_key, bucket, until) VALUES (?, ?, ?)
             ON CONFLICT (token_key, bucket) DO UPDATE SET until = MAX(until, excluded.until)",
        )
        .bind(token_key)
        .bind(bucket)
        .bind(until_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
