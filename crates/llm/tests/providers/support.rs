//! Shared set-up: a fast configuration, providers pointed at a fake server, recorded retries.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use meta_chat_llm::{Passage, Providers, RetryNotice};
use meta_chat_shared::config::{LlmConfig, LlmRetryConfig, ModelPrice};
use meta_chat_shared::ids::ChunkId;
use serde_json::Value;
use wiremock::MockServer;

/// Text a fake provider puts in error bodies; no error message may contain it.
pub const BODY_SECRET: &str = "ECHOED-PROMPT-AND-sk-live-KEY";

/// Short delays and timeouts, a breaker that opens after 3 failures and cools down in 50 ms, test prices.
pub fn config() -> LlmConfig {
    let mut config = LlmConfig {
        request_timeout_ms: 5_000,
        connect_timeout_ms: 1_000,
        retry: LlmRetryConfig { max_attempts: 3, base_delay_ms: 10, max_delay_ms: 2_000 },
        prices: BTreeMap::from([(
            "test-model".to_owned(),
            ModelPrice { prompt_per_million_usd: 1.0, completion_per_million_usd: 2.0 },
        )]),
        ..LlmConfig::default()
    };
    config.circuit_breaker.failure_threshold = 3;
    config.circuit_breaker.cool_down_ms = 50;
    config
}

/// The retries a provider reported.
pub type Notices = Arc<Mutex<Vec<RetryNotice>>>;

/// Providers for `config` that record every retry.
pub fn providers(config: &LlmConfig) -> (Providers, Notices) {
    let notices = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&notices);
    let providers = Providers::new(config)
        .unwrap()
        .with_retry_hook(Arc::new(move |notice: &RetryNotice| seen.lock().unwrap().push(notice.clone())));
    (providers, notices)
}

/// Two passages: `[1]` about returns, `[2]` about shipping.
pub fn passages() -> Vec<Passage> {
    vec![
        Passage { id: ChunkId::new(), source: "faq.md".into(), text: "Returns are accepted within 30 days.".into() },
        Passage { id: ChunkId::new(), source: "terms.pdf".into(), text: "Shipping is free over 50 EUR.".into() },
    ]
}

/// The JSON bodies the server received, in order.
pub async fn bodies(server: &MockServer) -> Vec<Value> {
    let requests = server.received_requests().await.unwrap();
    requests.iter().map(|request| serde_json::from_slice(&request.body).unwrap()).collect()
}

/// How many requests the server received.
pub async fn request_count(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}
