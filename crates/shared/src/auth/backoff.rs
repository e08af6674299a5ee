//! The per-account login back-off: after `threshold` consecutive failures an account is locked for
//! `base`, and every further failure doubles the lock, up to `max`. A successful login resets the count.

use std::time::Duration;

use crate::config::AuthConfig;

/// When and for how long repeated failed logins lock an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginBackoff {
    /// Consecutive failures that lock the account.
    pub threshold: u32,
    /// The first lock.
    pub base: Duration,
    /// The longest lock.
    pub max: Duration,
}

impl LoginBackoff {
    /// The policy configured in `auth.login_lockout_*`.
    pub fn from_config(config: &AuthConfig) -> Self {
        Self {
            threshold: config.login_lockout_threshold,
            base: Duration::from_secs(config.login_lockout_base_secs),
            max: Duration::from_secs(config.login_lockout_max_secs),
        }
    }

    /// How long to lock an account that has just failed its `failures`-th consecutive login; `None` while
    /// it is below the threshold.
    pub fn lock_for(&self, failures: u32) -> Option<Duration> {
        let past = failures.checked_sub(self.threshold)?;
        let factor = 2_u32.checked_pow(past).unwrap_or(u32::MAX);
        Some(self.base.checked_mul(factor).map_or(self.max, |lock| lock.min(self.max)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_from_the_threshold_and_doubles_up_to_the_max() {
        let policy = LoginBackoff { threshold: 3, base: Duration::from_secs(30), max: Duration::from_secs(300) };
        let secs = |n| policy.lock_for(n).map(|d| d.as_secs());
        assert_eq!(secs(0), None);
        assert_eq!(secs(2), None);
        assert_eq!(secs(3), Some(30));
        assert_eq!(secs(4), Some(60));
        assert_eq!(secs(5), Some(120));
        assert_eq!(secs(7), Some(300));
        assert_eq!(secs(200), Some(300), "no overflow");
        assert_eq!(secs(u32::MAX), Some(300));
    }
}
