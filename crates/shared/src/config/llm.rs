//! The `llm` section: how the platform talks to model providers (timeouts, retries, circuit breaker), what
//! their tokens cost, and the default embedding model. Which provider and model a tenant uses is a tenant
//! setting ([`crate::settings::LlmSettings`]), not configuration. Every key has a default, so files written
//! before this section existed keep loading.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret};

/// Model providers: timeouts, retries, circuit breaker, prices, embeddings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// Time allowed to one attempt (until the whole answer, or the start of a streamed one), in milliseconds.
    pub request_timeout_ms: u64,
    /// Time allowed to open a connection to a provider, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Retries of failed calls.
    pub retry: LlmRetryConfig,
    /// The per (provider, tenant) circuit breaker.
    pub circuit_breaker: CircuitBreakerConfig,
    /// Prices by model name (exactly as the tenant configures it); a model not listed costs 0.
    pub prices: BTreeMap<String, ModelPrice>,
    /// The embedding model used for documents and queries.
    pub embedding: EmbeddingSettings,
}

/// Retries with jittered exponential backoff (on 429, 5xx, timeouts and connection errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmRetryConfig {
    /// Attempts in all, the first included (1: never retry).
    pub max_attempts: u32,
    /// Backoff before the first retry; doubles for each further one, in milliseconds.
    pub base_delay_ms: u64,
    /// Longest wait before a retry, in milliseconds. A `Retry-After` longer than this is not waited for: the
    /// call fails with a rate-limit error at once and the caller (the queue) retries later.
    pub max_delay_ms: u64,
}

/// Opens after `failure_threshold` consecutive failures; after `cool_down_ms` one trial call goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CircuitBreakerConfig {
    /// Consecutive failed attempts that open the circuit.
    pub failure_threshold: u32,
    /// How long an open circuit rejects calls before letting a trial through, in milliseconds.
    pub cool_down_ms: u64,
}

/// A model's list price in USD per million tokens (the same number is micro-USD per token).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// USD per million prompt (input) tokens.
    pub prompt_per_million_usd: f64,
    /// USD per million completion (output) tokens.
    pub completion_per_million_usd: f64,
}

/// Which embedding implementation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingProvider {
    /// The built-in hashing embedder (`local-hash-384`): offline, deterministic.
    #[default]
    Local,
    /// An OpenAI-compatible `/embeddings` endpoint (OpenAI, Ollama, vLLM, ...).
    OpenaiCompatible,
}

/// The embedding model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbeddingSettings {
    /// Which implementation.
    pub provider: EmbeddingProvider,
    /// API base URL of `openai_compatible` (ending before `/embeddings`).
    pub base_url: String,
    /// API key of `openai_compatible`; empty for servers without one (Ollama).
    pub api_key: Secret,
    /// Model name; for `local` always `local-hash-384`.
    pub model: String,
    /// Vector length; answers of another length are refused. For `local` always 384.
    pub dimensions: usize,
    /// Texts sent in one request.
    pub batch_size: usize,
    /// Requests in flight at once for one `embed` call.
    pub concurrency: usize,
}

impl Default for LlmConfig {
    fn default() -> Self {
        let price =
            |prompt, completion| ModelPrice { prompt_per_million_usd: prompt, completion_per_million_usd: completion };
        Self {
            request_timeout_ms: 60_000,
            connect_timeout_ms: 5_000,
            retry: LlmRetryConfig::default(),
            circuit_breaker: CircuitBreakerConfig::default(),
            // list prices when this was written; deployments override or extend them
            prices: BTreeMap::from([
                ("local".to_owned(), price(0.0, 0.0)),
                ("gpt-4o-mini".to_owned(), price(0.15, 0.60)),
                ("gpt-4o".to_owned(), price(2.50, 10.0)),
                ("gpt-4.1-mini".to_owned(), price(0.40, 1.60)),
                ("claude-haiku-4-5".to_owned(), price(1.0, 5.0)),
                ("claude-sonnet-4-5".to_owned(), price(3.0, 15.0)),
                ("text-embedding-3-small".to_owned(), price(0.02, 0.0)),
            ]),
            embedding: EmbeddingSettings::default(),
        }
    }
}

impl Default for LlmRetryConfig {
    fn default() -> Self {
        Self { max_attempts: 3, base_delay_ms: 250, max_delay_ms: 10_000 }
    }
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        Self { failure_threshold: 5, cool_down_ms: 30_000 }
    }
}

impl Default for EmbeddingSettings {
    fn default() -> Self {
        Self {
            provider: EmbeddingProvider::Local,
            base_url: "https://api.openai.com/v1".to_owned(),
            api_key: Secret::new(""),
            model: "local-hash-384".to_owned(),
            dimensions: 384,
            batch_size: 64,
            concurrency: 2,
        }
    }
}

impl LlmConfig {
    /// Checks the values types cannot; the error names the key (`llm.…`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let check = |ok: bool, key: &str, message: &str| {
            if ok { Ok(()) } else { Err(ConfigError::invalid(&format!("llm.{key}"), message)) }
        };
        check((100..=600_000).contains(&self.request_timeout_ms), "request_timeout_ms", "must be 100 to 600000")?;
        check((10..=60_000).contains(&self.connect_timeout_ms), "connect_timeout_ms", "must be 10 to 60000")?;
        check((1..=10).contains(&self.retry.max_attempts), "retry.max_attempts", "must be 1 to 10")?;
        check(
            self.retry.base_delay_ms <= self.retry.max_delay_ms,
            "retry.base_delay_ms",
            "must not exceed max_delay_ms",
        )?;
        check(self.retry.max_delay_ms <= 300_000, "retry.max_delay_ms", "must be at most 300000")?;
        check(self.circuit_breaker.failure_threshold >= 1, "circuit_breaker.failure_threshold", "must be at least 1")?;
        for (model, price) in &self.prices {
            let ok = [price.prompt_per_million_usd, price.completion_per_million_usd]
                .iter()
                .all(|p| p.is_finite() && (0.0..=1_000_000.0).contains(p));
            check(ok, &format!("prices.{model}"), "prices must be 0 to 1000000 USD per million tokens")?;
        }
        let embedding = &self.embedding;
        check((1..=8_192).contains(&embedding.dimensions), "embedding.dimensions", "must be 1 to 8192")?;
        check((1..=2_048).contains(&embedding.batch_size), "embedding.batch_size", "must be 1 to 2048")?;
        check((1..=64).contains(&embedding.concurrency), "embedding.concurrency", "must be 1 to 64")?;
        check(!embedding.model.trim().is_empty(), "embedding.model", "must not be empty")?;
        if embedding.provider == EmbeddingProvider::OpenaiCompatible {
            let url = embedding.base_url.as_str();
            check(
                url.starts_with("https://") || url.starts_with("http://"),
                "embedding.base_url",
                "must be an http(s) URL",
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_a_bad_value_names_its_key() {
        LlmConfig::default().validate().unwrap();
        let mut config = LlmConfig::default();
        config.retry.max_attempts = 0;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("llm.retry.max_attempts"), "{err}");
    }

    #[test]
    fn missing_keys_take_their_defaults() {
        let config: LlmConfig = serde_json::from_str(r#"{"retry": {"max_attempts": 5}}"#).unwrap();
        assert_eq!(config.retry.max_attempts, 5);
        assert_eq!(config.retry.base_delay_ms, 250);
        assert_eq!(config.embedding.model, "local-hash-384");
    }
}
