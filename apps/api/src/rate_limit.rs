//! In-process token-bucket rate limits: per client IP on the sign-in routes, per tenant and per API key on
//! the authenticated API. A bucket holds up to one minute's allowance and refills continuously, so a
//! client may burst up to its per-minute limit and then proceeds at the sustained rate. Over the limit the
//! API answers 429 `RATE_LIMITED` with `Retry-After`.
//!
//! Each API process keeps its own buckets; with N replicas a client can reach N times the limit. That is
//! acceptable for abuse protection; quotas that must be exact (plan limits) are counted in the database.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use meta_chat_shared::auth::LoginBackoff;
use meta_chat_shared::config::Config;

/// Buckets idle for this long are full again and can be forgotten.
const IDLE: Duration = Duration::from_secs(120);
/// Sweep idle buckets when the map grows past this many entries.
const SWEEP_AT: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// One family of buckets with the same allowance.
#[derive(Debug)]
pub struct Limiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    /// A limiter allowing `per_minute` requests per key and minute.
    pub fn new(per_minute: u32) -> Self {
        Self { per_minute: f64::from(per_minute.max(1)), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `key`: `Ok(())`, or `Err(seconds)` until the next token is available.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        let refill_per_sec = self.per_minute / 60.0;
        // a poisoned lock only means another request panicked mid-update; the map is still usable
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= SWEEP_AT {
            buckets.retain(|_, b| now.duration_since(b.updated) < IDLE);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket { tokens: self.per_minute, updated: now });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * refill_per_sec).min(self.per_minute);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / refill_per_sec;
            // whole seconds, at least one: Retry-After has no fractions
            Err(Duration::from_secs_f64(wait).as_secs().max(1) + u64::from(wait.fract() > 0.0 && wait >= 1.0))
        }
    }
}

/// Failed sign-ins forget after this long without a new failure.
const FAILURE_MEMORY: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Progressive back-off after failed sign-ins, in memory, for keys the database cannot hold: a client IP
/// (every attempt from it, whatever the account) and an email address that has no account. The latter makes
/// an unknown address lock exactly like a real account does, so a 429 tells nobody which addresses exist.
#[derive(Debug)]
pub struct FailureTracker {
    backoff: LoginBackoff,
    entries: Mutex<HashMap<String, Failures>>,
}

impl FailureTracker {
    /// A tracker locking after `backoff.threshold` failures, for `backoff`'s growing durations.
    pub fn new(backoff: LoginBackoff) -> Self {
        Self { backoff, entries: Mutex::new(HashMap::new()) }
    }

    /// Seconds until `key` may try again, if it is locked now.
    pub fn locked(&self, key: &str) -> Option<u64> {
        let now = Instant::now();
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let until = entries.get(key)?.locked_until.filter(|until| *until > now)?;
        Some(until.duration_since(now).as_secs().max(1))
    }

    /// Counts one failure for `key` and locks it once the threshold is passed.
    pub fn record_failure(&self, key: &str) {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= SWEEP_AT {
            entries.retain(|_, f| now.duration_since(f.last) < FAILURE_MEMORY);
        }
        let entry = entries.entry(key.to_owned()).or_insert(Failures { count: 0, last: now, locked_until: None });
        if now.duration_since(entry.last) >= FAILURE_MEMORY {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        entry.locked_until = self.backoff.lock_for(entry.count).map(|lock| now + lock);
    }

    /// Forgets `key`'s failures (after a successful sign-in).
    pub fn reset(&self, key: &str) {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key);
    }
}

/// Every limiter of the API.
#[derive(Debug)]
pub struct RateLimits {
    /// Sign-in routes, keyed by client IP.
    pub auth_per_ip: Limiter,
    /// Authenticated API, keyed by tenant.
    pub per_tenant: Limiter,
    /// Authenticated API, keyed by API key.
    pub per_key: Limiter,
    /// Meta webhook deliveries, keyed by channel (per-channel routes) or provider account (platform routes).
    pub per_channel: Limiter,
    /// Failed sign-ins per email address without an account (same back-off as accounts).
    pub unknown_account_failures: FailureTracker,
    /// Failed sign-ins per client IP (four times the account threshold, same growth).
    pub ip_failures: FailureTracker,
}

impl RateLimits {
    /// Limiters with the configured allowances (`rate_limit.*`, and `auth.login_lockout_*` for sign-ins).
    pub fn from_config(config: &Config) -> Self {
        let limits = &config.rate_limit;
        let backoff = LoginBackoff::from_config(&config.auth);
        let per_ip = LoginBackoff { threshold: backoff.threshold.saturating_mul(4), ..backoff };
        Self {
            auth_per_ip: Limiter::new(limits.auth_per_ip_per_minute),
            per_tenant: Limiter::new(limits.api_per_tenant_per_minute),
            per_key: Limiter::new(limits.api_per_key_per_minute),
            per_channel: Limiter::new(limits.webhook_per_channel_per_minute),
            unknown_account_failures: FailureTracker::new(backoff),
            ip_failures: FailureTracker::new(per_ip),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_refuses_with_a_wait() {
        let limiter = Limiter::new(3);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check_at("ip", start), Ok(()));
        }
        let wait = limiter.check_at("ip", start).unwrap_err();
        assert!((1..=20).contains(&wait), "3/min refills one token in 20 s: {wait}");
        assert_eq!(limiter.check_at("other", start), Ok(()), "keys are independent");
        assert_eq!(limiter.check_at("ip", start + Duration::from_secs(21)), Ok(()), "refilled");
    }

    #[test]
    fn idle_buckets_refill_to_the_full_allowance_only() {
        let limiter = Limiter::new(2);
        let start = Instant::now();
        let later = start + Duration::from_secs(3600);
        assert!(limiter.check_at("k", start).is_ok());
        assert!(limiter.check_at("k", later).is_ok());
        assert!(limiter.check_at("k", later).is_ok());
        assert!(limiter.check_at("k", later).is_err(), "the bucket never holds more than a minute's allowance");
    }
}
