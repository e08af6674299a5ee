//! Timeouts, retries and circuit breaking around every remote call. This is the only retry layer: the
//! `async-openai` client is built without its own retry middleware (see `openai/transport.rs`).
//!
//! A call is tried up to `retry.max_attempts` times. Retried: rate limits (429), server errors (5xx),
//! timeouts and connection failures; never a refused request (4xx) or a bad key. The wait before retry `n`
//! is the provider's `Retry-After` when it sent one, else `base_delay_ms * 2^(n-1)` with equal jitter
//! (half fixed, half random), at most `max_delay_ms`. A `Retry-After` longer than `max_delay_ms` is not
//! waited for: the call fails at once with [`LlmError::RateLimited`] and the caller decides. Each attempt
//! asks the (provider, tenant) circuit breaker first.

mod breaker;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use meta_chat_shared::config::LlmConfig;

pub(crate) use breaker::{Breaker, BreakerKey, Breakers};

use crate::LlmError;

/// What a retry looked like, for metrics and tests ([`crate::Providers::with_retry_hook`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryNotice {
    /// The provider's name.
    pub provider: String,
    /// The attempt that failed (1 for the first).
    pub attempt: u32,
    /// [`LlmError::kind`] of its failure.
    pub error_kind: &'static str,
    /// The provider's `Retry-After`, if it sent one.
    pub retry_after: Option<Duration>,
    /// How long the next attempt waits.
    pub delay: Duration,
}

/// Called before each retry.
pub type RetryHook = Arc<dyn Fn(&RetryNotice) + Send + Sync>;

/// The retry, timeout and breaker settings a remote provider or embedder runs its calls under.
#[derive(Clone)]
pub(crate) struct Guard {
    pub provider: String,
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub request_timeout: Duration,
    pub breaker: Arc<Breaker>,
    pub hook: Option<RetryHook>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").field("provider", &self.provider).finish_non_exhaustive()
    }
}

impl Guard {
    pub(crate) fn new(provider: &str, config: &LlmConfig, breaker: Arc<Breaker>, hook: Option<RetryHook>) -> Self {
        Self {
            provider: provider.to_owned(),
            max_attempts: config.retry.max_attempts.max(1),
            base_delay: Duration::from_millis(config.retry.base_delay_ms),
            max_delay: Duration::from_millis(config.retry.max_delay_ms),
            request_timeout: Duration::from_millis(config.request_timeout_ms),
            breaker,
            hook,
        }
    }

    /// Runs `attempt` under the breaker, the request timeout and the retry policy.
    pub(crate) async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, LlmError>>,
    {
        let mut number = 1;
        loop {
            let permit = self.breaker.admit()?;
            let result = tokio::time::timeout(self.request_timeout, attempt()).await.unwrap_or(Err(LlmError::Timeout));
            let error = match result {
                Ok(value) => {
                    permit.success();
                    return Ok(value);
                }
                Err(error) if error.is_outage() => {
                    permit.failure();
                    error
                }
                Err(error) => {
                    permit.success();
                    return Err(error);
                }
            };
            let retry_after = match &error {
                LlmError::RateLimited { retry_after } => *retry_after,
                _ => None,
            };
            let retryable =
                matches!(error, LlmError::RateLimited { .. } | LlmError::Timeout | LlmError::Unavailable { .. });
            if !retryable || number >= self.max_attempts || retry_after.is_some_and(|wait| wait > self.max_delay) {
                tracing::warn!(provider = %self.provider, attempt = number, error = error.kind(), "llm call failed");
                return Err(error);
            }
            let delay = retry_after.unwrap_or_else(|| self.backoff(number));
            let notice = RetryNotice {
                provider: self.provider.clone(),
                attempt: number,
                error_kind: error.kind(),
                retry_after,
                delay,
            };
            tracing::info!(
                provider = %notice.provider,
                attempt = number,
                error = notice.error_kind,
                delay_ms = delay.as_millis(),
                "llm call failed; retrying"
            );
            if let Some(hook) = &self.hook {
                hook(&notice);
            }
            tokio::time::sleep(delay).await;
            number += 1;
        }
    }

    /// Exponential backoff with equal jitter before retry `number` (1-based).
    fn backoff(&self, number: u32) -> Duration {
        let exponential = self.base_delay.saturating_mul(2_u32.saturating_pow(number.saturating_sub(1)));
        let capped = exponential.min(self.max_delay);
        let half = capped / 2;
        let mut bytes = [0_u8; 8];
        let random = meta_chat_shared::random::fill(&mut bytes).map_or(0, |()| u64::from_le_bytes(bytes));
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(if jitter_ms == 0 { 0 } else { random % (jitter_ms + 1) })
    }
}

/// The `Retry-After` header: seconds, or an HTTP date (a date in the past means now).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?, Utc::now())
}

fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((date - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2026-05-01T10:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("0.5", now), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("Fri, 01 May 2026 10:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Fri, 01 May 2026 09:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        let config = LlmConfig::default();
        let mut guard = Guard::new("test", &config, Arc::new(Breaker::new(5, Duration::from_secs(1))), None);
        guard.base_delay = Duration::from_millis(100);
        guard.max_delay = Duration::from_secs(1);
        for _ in 0..20 {
            let first = guard.backoff(1);
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first), "{first:?}");
            let third = guard.backoff(3);
            assert!((Duration::from_millis(200)..=Duration::from_millis(400)).contains(&third), "{third:?}");
            assert!(guard.backoff(10) <= Duration::from_secs(1));
        }
    }
}
