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

use meta_chat_shared::config::RateLimitConfig;

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

/// Every limiter of the API.
#[derive(Debug)]
pub struct RateLimits {
    /// Sign-in routes, keyed by client IP.
    pub auth_per_ip: Limiter,
    /// Authenticated API, keyed by tenant.
    pub per_tenant: Limiter,
    /// Authenticated API, keyed by API key.
    pub per_key: Limiter,
}

impl RateLimits {
    /// Limiters with the configured allowances.
    pub fn from_config(config: &RateLimitConfig) -> Self {
        Self {
            auth_per_ip: Limiter::new(config.auth_per_ip_per_minute),
            per_tenant: Limiter::new(config.api_per_tenant_per_minute),
            per_key: Limiter::new(config.api_per_key_per_minute),
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
