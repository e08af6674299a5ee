//! A consecutive-failure circuit breaker, one per (provider, tenant): one tenant's broken key or one
//! self-hosted server's outage never pauses anyone else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use meta_chat_shared::ids::TenantId;
use tokio::time::Instant;

use crate::LlmError;

/// Which calls share a breaker.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct BreakerKey {
    /// Provider name plus anything that tells endpoints apart (`openai_compatible`, `embedding:<url>`).
    pub provider: String,
    /// The tenant, or `None` for platform-wide calls (embeddings).
    pub tenant: Option<TenantId>,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// After the cool-down: one trial call is in flight; others are rejected until it ends.
    HalfOpen,
}

/// One breaker.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cool_down: Duration,
    state: Mutex<State>,
}

/// The right to make one call; dropping it without a verdict (a cancelled call) re-opens a half-open
/// breaker for an immediate new trial, so a lost trial never blocks it for good.
#[derive(Debug)]
pub(crate) struct Permit {
    breaker: Arc<Breaker>,
    trial: bool,
    settled: bool,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cool_down: Duration) -> Self {
        Self { threshold: threshold.max(1), cool_down, state: Mutex::new(State::Closed { failures: 0 }) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A permit, or [`LlmError::CircuitOpen`] while the breaker is open (or its trial is in flight).
    pub(crate) fn admit(self: &Arc<Self>) -> Result<Permit, LlmError> {
        let mut state = self.state();
        let trial = match *state {
            State::Closed { .. } => false,
            State::Open { until } if Instant::now() >= until => {
                *state = State::HalfOpen;
                true
            }
            State::Open { .. } | State::HalfOpen => return Err(LlmError::CircuitOpen),
        };
        Ok(Permit { breaker: Arc::clone(self), trial, settled: false })
    }

    /// Whether calls are currently rejected.
    #[cfg(test)]
    pub(crate) fn is_open(&self) -> bool {
        !matches!(*self.state(), State::Closed { .. })
    }
}

impl Permit {
    /// The call reached a healthy provider: close the breaker.
    pub(crate) fn success(mut self) {
        self.settled = true;
        *self.breaker.state() = State::Closed { failures: 0 };
    }

    /// The call failed in a way that says the provider is unhealthy.
    pub(crate) fn failure(mut self) {
        self.settled = true;
        let breaker = &self.breaker;
        let mut state = breaker.state();
        let failures = match *state {
            State::Closed { failures } if !self.trial => failures.saturating_add(1),
            _ => breaker.threshold,
        };
        *state = if failures >= breaker.threshold {
            tracing::warn!(failures, cool_down_ms = breaker.cool_down.as_millis(), "llm circuit opened");
            State::Open { until: Instant::now() + breaker.cool_down }
        } else {
            State::Closed { failures }
        };
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.trial && !self.settled {
            let mut state = self.breaker.state();
            if matches!(*state, State::HalfOpen) {
                *state = State::Open { until: Instant::now() };
            }
        }
    }
}

/// Every breaker of one [`crate::Providers`], created on first use.
#[derive(Debug)]
pub(crate) struct Breakers {
    threshold: u32,
    cool_down: Duration,
    map: Mutex<HashMap<BreakerKey, Arc<Breaker>>>,
}

impl Breakers {
    pub(crate) fn new(threshold: u32, cool_down: Duration) -> Self {
        Self { threshold, cool_down, map: Mutex::new(HashMap::new()) }
    }

    pub(crate) fn get(&self, key: BreakerKey) -> Arc<Breaker> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(key).or_insert_with(|| Arc::new(Breaker::new(self.threshold, self.cool_down))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_after_the_threshold_half_opens_after_the_cool_down_and_closes_on_success() {
        let breaker = Arc::new(Breaker::new(2, Duration::from_millis(100)));
        breaker.admit().unwrap().failure();
        assert!(!breaker.is_open());
        breaker.admit().unwrap().failure();
        assert_eq!(breaker.admit().unwrap_err(), LlmError::CircuitOpen);

        tokio::time::advance(Duration::from_millis(100)).await;
        let trial = breaker.admit().unwrap();
        assert_eq!(breaker.admit().unwrap_err(), LlmError::CircuitOpen, "one trial at a time");
        trial.success();
        assert!(!breaker.is_open());
        breaker.admit().unwrap().success();
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_trial_reopens_and_a_dropped_one_allows_another() {
        let breaker = Arc::new(Breaker::new(1, Duration::from_millis(100)));
        breaker.admit().unwrap().failure();
        tokio::time::advance(Duration::from_millis(100)).await;
        breaker.admit().unwrap().failure();
        assert_eq!(breaker.admit().unwrap_err(), LlmError::CircuitOpen);

        tokio::time::advance(Duration::from_millis(100)).await;
        drop(breaker.admit().unwrap());
        breaker.admit().unwrap().success();
        assert!(!breaker.is_open());
    }

    #[test]
    fn breakers_are_separate_per_tenant() {
        let breakers = Breakers::new(1, Duration::from_secs(60));
        let key = |tenant| BreakerKey { provider: "openai".into(), tenant: Some(tenant) };
        let (a, b) = (TenantId::new(), TenantId::new());
        breakers.get(key(a)).admit().unwrap().failure();
        assert!(breakers.get(key(a)).admit().is_err());
        assert!(breakers.get(key(b)).admit().is_ok());
    }
}
