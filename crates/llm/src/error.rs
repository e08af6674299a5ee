//! [`LlmError`]: why a model or embedding call failed.
//!
//! The messages are written by this crate only: they never contain a provider's response body (which may
//! echo the prompt), the prompt, or a key. The API answers every `LlmError` with 502 and the code
//! `EXTERNAL_SERVICE_ERROR`; the message queue retries the ones [`LlmError::is_retryable`] says may pass.

use std::time::Duration;

/// Why a model or embedding call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The provider is not usable as configured (no API key, no base URL, a key that cannot be opened).
    #[error("model provider not configured: {0}")]
    NotConfigured(&'static str),
    /// The provider rejected the credentials (401/403).
    #[error("the model provider rejected the API key")]
    Auth,
    /// The provider asked us to slow down (429).
    #[error("the model provider is rate limiting{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// How long it asked us to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// No answer within the configured time.
    #[error("the model provider did not answer in time")]
    Timeout,
    /// The provider could not be reached or answered with a server error.
    #[error("the model provider is unavailable{}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Unavailable {
        /// The HTTP status, when there was an answer.
        status: Option<u16>,
    },
    /// Too many recent failures: the call was not attempted.
    #[error("the model provider is failing; calls are paused for a moment")]
    CircuitOpen,
    /// The provider refused the request itself (400, 404, 422: unknown model, too long, ...).
    #[error("the model provider refused the request (HTTP {status})")]
    InvalidRequest {
        /// The HTTP status.
        status: u16,
    },
    /// The answer could not be understood.
    #[error("the model provider's answer could not be understood: {0}")]
    InvalidResponse(&'static str),
}

impl LlmError {
    /// Stable name for logs and metrics.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::NotConfigured(_) => "not_configured",
            Self::Auth => "auth",
            Self::RateLimited { .. } => "rate_limited",
            Self::Timeout => "timeout",
            Self::Unavailable { .. } => "unavailable",
            Self::CircuitOpen => "circuit_open",
            Self::InvalidRequest { .. } => "invalid_request",
            Self::InvalidResponse(_) => "invalid_response",
        }
    }

    /// Whether trying again later may succeed (rate limits, timeouts, outages, an open circuit).
    pub const fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Timeout | Self::Unavailable { .. } | Self::CircuitOpen)
    }

    /// Whether the failure says the provider is unhealthy (counted by the circuit breaker). A refused
    /// request or a bad key is an answer, not an outage.
    pub(crate) const fn is_outage(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Timeout | Self::Unavailable { .. } | Self::InvalidResponse(_))
    }

    /// The error for an unsuccessful HTTP status.
    pub(crate) fn from_status(status: u16, retry_after: Option<Duration>) -> Self {
        match status {
            401 | 403 => Self::Auth,
            408 => Self::Timeout,
            429 => Self::RateLimited { retry_after },
            500..=599 => Self::Unavailable { status: Some(status) },
            _ => Self::InvalidRequest { status },
        }
    }

    /// The error for a transport failure (no HTTP answer).
    pub(crate) fn from_reqwest(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if error.is_decode() {
            Self::InvalidResponse("malformed body")
        } else {
            Self::Unavailable { status: error.status().map(|s| s.as_u16()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_the_caller_can_act_on() {
        assert_eq!(LlmError::from_status(401, None), LlmError::Auth);
        assert_eq!(LlmError::from_status(400, None), LlmError::InvalidRequest { status: 400 });
        assert_eq!(LlmError::from_status(529, None), LlmError::Unavailable { status: Some(529) });
        let limited = LlmError::from_status(429, Some(Duration::from_secs(3)));
        assert_eq!(limited.to_string(), "the model provider is rate limiting (retry after 3s)");
        assert!(limited.is_retryable());
        assert!(!LlmError::Auth.is_retryable());
    }

    #[test]
    fn kinds_are_unique_snake_case() {
        let all = [
            LlmError::NotConfigured("x"),
            LlmError::Auth,
            LlmError::RateLimited { retry_after: None },
            LlmError::Timeout,
            LlmError::Unavailable { status: None },
            LlmError::CircuitOpen,
            LlmError::InvalidRequest { status: 400 },
            LlmError::InvalidResponse("x"),
        ];
        let kinds: std::collections::HashSet<_> = all.iter().map(LlmError::kind).collect();
        assert_eq!(kinds.len(), all.len());
        assert!(kinds.iter().all(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }
}
