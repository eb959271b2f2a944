//! The request budget's records: request starts per token fingerprint and rate-limit bucket, the
//! pauses servers asked for, and the share of the limits inferred when other clients use the same
//! token, in the database every process of the data folder shares.

use std::time::Duration;

use parley_http::budget::wait_under_limits;
use parley_http::{Limit, LimitShare, ShareTuning};
use sqlx::{Sqlite, Transaction};

use super::Store;
use crate::error::Result;

/// One look at a bucket's records: how long until a start fits, and whether the bucket is in full
/// use (the start after this one would have to wait).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetTurn {
    /// Zero when the start fits now (and was recorded, if asked).
    pub wait: Duration,
    /// True when every slot of some limit is taken (counting the start just recorded).
    pub full: bool,
}

/// A token's inferred share with its history, as stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredShare {
    /// The share and the state of its rule.
    pub share: LimitShare,
    /// 429s that told of other clients, all time.
    pub refusals: i64,
    /// When the newest of them came (ms, this computer's clock).
    pub last_refusal_at: Option<i64>,
}

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
    ) -> Result<BudgetTurn> {
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
    ) -> Result<BudgetTurn> {
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
        let mut starts: Vec<i64> = sqlx::query_scalar(
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
            starts.push(now_ms);
        }
        tx.commit().await?;
        let full = !wait.is_zero() || !wait_under_limits(&starts, limits, now_ms).is_zero();
        Ok(BudgetTurn { wait, full })
    }

    /// How many starts of the bucket this data folder recorded after `since_ms`.
    pub async fn budget_starts_since(
        &self,
        token_key: &str,
        bucket: &str,
        since_ms: i64,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM request_budget WHERE token_key = ? AND bucket = ? AND started_at > ?",
        )
        .bind(token_key)
        .bind(bucket)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The token's inferred share; `None` when it has none (the full limits).
    pub async fn budget_share(&self, token_key: &str) -> Result<Option<StoredShare>> {
        let row: Option<ShareRow> = sqlx::query_as(
            "SELECT share, step, changed_at, raised, refusals, last_refusal
             FROM request_share WHERE token_key = ?",
        )
        .bind(token_key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(ShareRow::stored))
    }

    /// The inferred share of the token an account last used, for diagnostics.
    pub async fn account_budget_share(&self, account_id: i64) -> Result<Option<StoredShare>> {
        let row: Option<ShareRow> = sqlx::query_as(
            "SELECT share, step, changed_at, raised, refusals, last_refusal
             FROM request_share WHERE account_id = ? ORDER BY changed_at DESC LIMIT 1",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(ShareRow::stored))
    }

    /// Cuts the token's share after a 429 its budget did not expect (see
    /// [`LimitShare::after_refusal`]) and counts the refusal; returns the new share.
    pub async fn budget_cut_share(
        &self,
        token_key: &str,
        account_id: Option<i64>,
        own_use: Option<f64>,
        window: Duration,
        now_ms: i64,
        tuning: ShareTuning,
    ) -> Result<LimitShare> {
        let (store, token_key) = (self.clone(), token_key.to_string());
        super::detached(move || {
            let (store, token_key) = (store.clone(), token_key.clone());
            async move {
                let mut tx = store.pool.begin().await?;
                let old = current_share(&mut tx, &token_key).await?;
                let new = old.after_refusal(own_use, window, now_ms, &tuning);
                write_share(&mut tx, &token_key, account_id, &new, Some(now_ms)).await?;
                tx.commit().await?;
                Ok(new)
            }
        })
        .await
    }

    /// Raises the token's share when its rule says a raise is due (see
    /// [`LimitShare::raised_if_due`]); returns the share as it now is.
    pub async fn budget_raise_share(
        &self,
        token_key: &str,
        account_id: Option<i64>,
        now_ms: i64,
        tuning: ShareTuning,
    ) -> Result<LimitShare> {
        let (store, token_key) = (self.clone(), token_key.to_string());
        super::detached(move || {
            let (store, token_key) = (store.clone(), token_key.clone());
            async move {
                let mut tx = store.pool.begin().await?;
                let old = current_share(&mut tx, &token_key).await?;
                let Some(new) = old.raised_if_due(now_ms, &tuning) else {
                    tx.commit().await?;
                    return Ok(old);
                };
                write_share(&mut tx, &token_key, account_id, &new, None).await?;
                tx.commit().await?;
                Ok(new)
            }
        })
        .await
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

/// A `request_share` row.
#[derive(sqlx::FromRow)]
struct ShareRow {
    share: f64,
    step: f64,
    changed_at: i64,
    raised: bool,
    refusals: i64,
    last_refusal: Option<i64>,
}

impl ShareRow {
    fn stored(self) -> StoredShare {
        StoredShare {
            share: LimitShare {
                share: self.share,
                step: self.step,
                changed_at_ms: self.changed_at,
                raised: self.raised,
            },
            refusals: self.refusals,
            last_refusal_at: self.last_refusal,
        }
    }
}

/// The share inside a write transaction (the full limits when none is stored). The write first,
/// so the transaction holds the write lock from its start and two processes never both cut.
async fn current_share(tx: &mut Transaction<'_, Sqlite>, token_key: &str) -> Result<LimitShare> {
    sqlx::query("UPDATE request_share SET share = share WHERE token_key = ?")
        .bind(token_key)
        .execute(&mut **tx)
        .await?;
    let row: Option<ShareRow> = sqlx::query_as(
        "SELECT share, step, changed_at, raised, refusals, last_refusal
         FROM request_share WHERE token_key = ?",
    )
    .bind(token_key)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map_or(LimitShare::FULL, |row| row.stored().share))
}

/// Stores the share; `refusal_at` counts a 429 too.
async fn write_share(
    tx: &mut Transaction<'_, Sqlite>,
    token_key: &str,
    account_id: Option<i64>,
    share: &LimitShare,
    refusal_at: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO request_share
             (token_key, share, step, changed_at, raised, refusals, last_refusal, account_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6 IS NOT NULL, ?6, ?7)
         ON CONFLICT (token_key) DO UPDATE SET
             share = excluded.share, step = excluded.step, changed_at = excluded.changed_at,
             raised = excluded.raised,
             refusals = refusals + (?6 IS NOT NULL),
             last_refusal = COALESCE(?6, last_refusal),
             account_id = COALESCE(?7, account_id)",
    )
    .bind(token_key)
    .bind(share.share)
    .bind(share.step)
    .bind(share.changed_at_ms)
    .bind(share.raised)
    .bind(refusal_at)
    .bind(account_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
