//! [`SendRateLimiter`]: a token bucket per sending number or page, so one busy tenant's number cannot push
//! another's over Meta's throughput limits, and a burst is smoothed instead of answered with 130429/613.
//!
//! Each [`SendRateLimiter::acquire`] reserves a token at once and then sleeps until that token exists, so waiters
//! on one key are served in arrival order and never spin. The map is swept of buckets that have refilled
//! completely (forgetting a full bucket changes nothing), keeping memory proportional to recently active keys.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// The map is swept when it reaches this many keys, or twice its size after the last sweep.
const MIN_SWEEP_LEN: usize = 1024;

/// Paces sends per key (a phone number id or page id): `per_second` sustained, up to `burst` at once.
#[derive(Debug)]
pub struct SendRateLimiter {
    per_second: f64,
    burst: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    buckets: HashMap<String, Bucket>,
    sweep_at: usize,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Negative while callers are waiting: each waiter holds a reserved, not yet refilled token.
    tokens: f64,
    updated: Instant,
}

impl SendRateLimiter {
    /// A limiter allowing `per_second` sends per key on average and `burst` in a row; zero is taken as one.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            state: Mutex::new(State { buckets: HashMap::new(), sweep_at: MIN_SWEEP_LEN }),
        }
    }

    /// Waits until `key` may send one message. Keys are independent: an exhausted key never delays another.
    /// Dropping the future while it waits gives up its reserved slot without returning it (the key's later callers
    /// still wait as if it had been used), which errs on the side of sending less.
    pub async fn acquire(&self, key: &str) {
        let now = Instant::now();
        let wait = self.reserve(key, now);
        if !wait.is_zero() {
            tracing::debug!(rate_limit.wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX), "send paced");
            tokio::time::sleep_until(now + wait).await;
        }
    }

    /// Takes one token from `key`'s bucket at `now`; returns how long until that token has refilled.
    fn reserve(&self, key: &str, now: Instant) -> Duration {
        // Never held across an await: `acquire` sleeps after this returns.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.buckets.len() >= state.sweep_at {
            state.buckets.retain(|_, bucket| !self.is_full(bucket, now));
            state.sweep_at = (state.buckets.len() * 2).max(MIN_SWEEP_LEN);
        }
        let burst = self.burst;
        let bucket = state.buckets.entry(key.to_owned()).or_insert(Bucket { tokens: burst, updated: now });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(burst) - 1.0;
        bucket.updated = bucket.updated.max(now);
        if bucket.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-bucket.tokens / self.per_second) }
    }

    fn is_full(&self, bucket: &Bucket, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens + elapsed * self.per_second >= self.burst
    }

    /// How many keys currently have a bucket (for tests and metrics).
    pub fn tracked_keys(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn burst_is_free_then_each_token_waits_its_turn() {
        let limiter = SendRateLimiter::new(2, 3);
        let t0 = Instant::now();
        let waits: Vec<Duration> = (0..6).map(|_| limiter.reserve("pn-1", t0)).collect();
        let half = Duration::from_millis(500);
        assert_eq!(waits, [Duration::ZERO, Duration::ZERO, Duration::ZERO, half, 2 * half, 3 * half]);
    }

    #[test]
    fn an_exhausted_key_does_not_delay_another() {
        let limiter = SendRateLimiter::new(1, 1);
        let t0 = Instant::now();
        assert_eq!(limiter.reserve("a", t0), Duration::ZERO);
        assert_eq!(limiter.reserve("a", t0), SECOND);
        assert_eq!(limiter.reserve("a", t0), 2 * SECOND);
        assert_eq!(limiter.reserve("b", t0), Duration::ZERO);
        assert_eq!(limiter.reserve("b", t0), SECOND);
    }

    #[test]
    fn tokens_refill_with_time_up_to_the_burst() {
        let limiter = SendRateLimiter::new(1, 2);
        let t0 = Instant::now();
        assert_eq!(limiter.reserve("a", t0), Duration::ZERO);
        assert_eq!(limiter.reserve("a", t0), Duration::ZERO);
        // A long idle period refills to the burst, not beyond it.
        let later = t0 + 60 * SECOND;
        assert_eq!(limiter.reserve("a", later), Duration::ZERO);
        assert_eq!(limiter.reserve("a", later), Duration::ZERO);
        assert_eq!(limiter.reserve("a", later), SECOND);
    }

    #[test]
    fn idle_buckets_are_evicted() {
        let limiter = SendRateLimiter::new(10, 1);
        let t0 = Instant::now();
        for _ in 0..20 {
            limiter.reserve("busy", t0);
        }
        for i in 1..MIN_SWEEP_LEN {
            limiter.reserve(&format!("page-{i}"), t0);
        }
        assert_eq!(limiter.tracked_keys(), MIN_SWEEP_LEN);
        // A second later every page-* bucket has refilled and is forgotten; "busy" still owes tokens and stays.
        assert_eq!(limiter.reserve("new", t0 + SECOND), Duration::ZERO);
        assert_eq!(limiter.tracked_keys(), 2);
        assert_eq!(limiter.reserve("busy", t0 + SECOND), SECOND);
    }

    #[tokio::test]
    async fn acquire_returns_at_once_for_a_fresh_key_while_another_is_exhausted() {
        let limiter = SendRateLimiter::new(1, 1);
        let now = Instant::now();
        for _ in 0..10 {
            limiter.reserve("a", now);
        }
        // A zero timeout polls the future once: ready only if no sleep was needed.
        assert!(tokio::time::timeout(Duration::ZERO, limiter.acquire("b")).await.is_ok());
        assert!(tokio::time::timeout(Duration::ZERO, limiter.acquire("a")).await.is_err());
    }
}
