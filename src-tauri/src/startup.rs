//! Where the start goes: `start-up:` lines in the log, each with the milliseconds since `main` began
//! and since the previous line (read by `tests/benches/lighter.rs`). Cheap enough to stay on.

use std::sync::Mutex;
use std::time::Instant;

/// When `main` began and when the last step was logged.
static CLOCK: Mutex<Option<(Instant, Instant)>> = Mutex::new(None);

/// Starts the clock (first thing in `main`).
pub fn begin() {
    let now = Instant::now();
    *CLOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((now, now));
}

/// Logs that `step` is done: `start-up: STEP at N ms (+M ms)`.
pub fn done(step: &str) {
    let mut clock = CLOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let Some((began, last)) = clock.as_mut() else {
        return;
    };
    let now = Instant::now();
    let total = now.duration_since(*began).as_secs_f64() * 1000.0;
    let step_ms = now.duration_since(*last).as_secs_f64() * 1000.0;
    *last = now;
    tracing::info!("start-up: {step} at {total:.0} ms (+{step_ms:.0} ms)");
}
