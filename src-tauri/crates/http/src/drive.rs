//! The loop around one logical call: take a turn from the request budget, attempt, and on failure
//! either wait and go again (as the [`RetryPolicy`] allows for the request's [`Idempotency`]) or
//! hand the error back. A 429 pauses the whole bucket in the budget, so every other task of the
//! account waits too instead of running into the same limit.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::budget::{Bucket, RequestBudget};
use crate::retry::{Classify, FailureKind, Idempotency, RetryPolicy};

/// Runs `attempt` until it succeeds or the policy says stop, taking a turn from `budget` before
/// every attempt. Returns the last error when giving up.
pub async fn send_with_retries<T, E, F, Fut>(
    policy: &RetryPolicy,
    budget: &dyn RequestBudget,
    bucket: &Bucket,
    idempotency: Idempotency,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Classify + fmt::Display,
{
    let mut retries_done = 0;
    loop {
        budget.acquire(bucket).await;
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let kind = error.failure_kind();
        let delay = policy.delay_before_retry(kind, idempotency, retries_done);
        if let FailureKind::RateLimited { wait } = kind {
            // Everyone using the bucket waits, whether or not this call goes again.
            let pause = wait.unwrap_or_else(|| policy.backoff(retries_done));
            budget.hold_off(bucket, pause).await;
        }
        let Some(delay) = delay else {
            return Err(error);
        };
        retries_done += 1;
        tracing::debug!(
            bucket = %bucket.name,
            retry = retries_done,
            wait_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            error = %error,
            "request failed; retrying"
        );
        if !matches!(kind, FailureKind::RateLimited { .. }) {
            tokio::time::sleep(delay).await;
        }
    }
}

/// The wait assumed for a 429 that names none, before the policy's backoff takes over.
pub const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::budget::{Limit, LocalBudget};

    #[derive(Debug)]
    struct Failure(FailureKind);

    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }

    impl Classify for Failure {
        fn failure_kind(&self) -> FailureKind {
            self.0
        }
    }

    const LIMITS: [Limit; 1] = [Limit::per_minute(100)];

    async fn run(kinds: &[FailureKind], idempotency: Idempotency) -> (Result<u32, String>, u32) {
        let budget = LocalBudget::new();
        let bucket = Bucket::fixed("drive", &LIMITS);
        let calls = AtomicU32::new(0);
        let result = send_with_retries(
            &RetryPolicy::default(),
            &budget,
            &bucket,
            idempotency,
            || async {
                let call = calls.fetch_add(1, Ordering::SeqCst) as usize;
                match kinds.get(call) {
                    Some(kind) => Err(Failure(*kind)),
                    None => Ok(call as u32),
                }
            },
        )
        .await
        .map_err(|error| error.to_string());
        (result, calls.load(Ordering::SeqCst))
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_of_a_read_are_repeated() {
        let kinds = [
            FailureKind::Interrupted,
            FailureKind::ServerFailed { status: 502 },
        ];
        let (result, calls) = run(&kinds, Idempotency::Idempotent).await;
        assert_eq!(result, Ok(2));
        assert_eq!(calls, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_send_that_may_have_arrived_is_not_repeated() {
        let (result, calls) = run(&[FailureKind::Interrupted], Idempotency::NonIdempotent).await;
        assert!(result.is_err());
        assert_eq!(calls, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_the_bucket_for_the_servers_wait() {
        let budget = LocalBudget::new();
        let bucket = Bucket::fixed("drive", &LIMITS);
        let begin = tokio::time::Instant::now();
        let calls = AtomicU32::new(0);
        let result: Result<(), Failure> = send_with_retries(
            &RetryPolicy::default(),
            &budget,
            &bucket,
            Idempotency::NonIdempotent,
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err(Failure(FailureKind::RateLimited {
                        wait: Some(Duration::from_secs(50)),
                    }))
                } else {
                    Ok(())
                }
            },
        )
        .await;
        assert!(result.is_ok());
        assert!(begin.elapsed() >= Duration::from_secs(50));
        assert_eq!(budget.refusals(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_run_out() {
        let kinds = [FailureKind::Unreachable; 10];
        let (result, calls) = run(&kinds, Idempotency::Idempotent).await;
        assert!(result.is_err());
        assert_eq!(calls, 4);
    }
}
