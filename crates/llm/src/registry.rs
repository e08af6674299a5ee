//! [`Providers`]: builds a tenant's provider from its settings and key, sharing one HTTP client, the
//! circuit breakers and the price table across every call of the process.

use std::sync::Arc;
use std::time::Duration;

use meta_chat_shared::config::{EmbeddingProvider, EmbeddingSettings, LlmConfig};
use meta_chat_shared::ids::TenantId;
use meta_chat_shared::secrets::Keyring;
use meta_chat_shared::settings::{LlmProvider, LlmSettings, llm_api_key_associated_data};

use crate::anthropic::AnthropicProvider;
use crate::cost::PriceTable;
use crate::embed::{LOCAL_EMBEDDING_DIMENSIONS, LOCAL_EMBEDDING_MODEL, LocalEmbedder, OpenAiEmbedder};
use crate::openai::transport::http_client;
use crate::openai::{Endpoint, OpenAiProvider};
use crate::resilience::{BreakerKey, Breakers, Guard, RetryHook};
use crate::{Embedder, LlmError, LocalProvider, Provider};

/// OpenAI's API base URL.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Anthropic's API base URL.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// Every provider of the process. Cheap to clone; clones share breakers.
#[derive(Clone)]
pub struct Providers {
    config: Arc<LlmConfig>,
    http: reqwest::Client,
    breakers: Arc<Breakers>,
    prices: PriceTable,
    hook: Option<RetryHook>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Providers").finish_non_exhaustive()
    }
}

impl Providers {
    /// The registry for `config` (validated here too, so a bad `llm` section fails at start-up).
    pub fn new(config: &LlmConfig) -> Result<Self, LlmError> {
        config.validate().map_err(|_| LlmError::NotConfigured("the llm configuration section is invalid"))?;
        let http = http_client(
            Duration::from_millis(config.connect_timeout_ms),
            Duration::from_millis(config.request_timeout_ms),
        )?;
        let breaker = config.circuit_breaker;
        Ok(Self {
            config: Arc::new(config.clone()),
            http,
            breakers: Arc::new(Breakers::new(breaker.failure_threshold, Duration::from_millis(breaker.cool_down_ms))),
            prices: PriceTable::new(&config.prices),
            hook: None,
        })
    }

    /// Calls `hook` before every retry (metrics; tests use it to see the delays chosen).
    #[must_use]
    pub fn with_retry_hook(mut self, hook: RetryHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// The price table from `llm.prices`.
    pub fn prices(&self) -> &PriceTable {
        &self.prices
    }

    fn guard(&self, provider: &str, tenant: Option<TenantId>) -> Guard {
        let breaker = self.breakers.get(BreakerKey { provider: provider.to_owned(), tenant });
        Guard::new(provider, &self.config, breaker, self.hook.clone())
    }

    /// The tenant's provider. `api_key` is the tenant's opened key; remote providers need one
    /// ([`LlmError::NotConfigured`] without), except `openai_compatible`, for servers without keys.
    pub fn for_tenant(
        &self,
        tenant: TenantId,
        settings: &LlmSettings,
        api_key: Option<&str>,
    ) -> Result<Arc<dyn Provider>, LlmError> {
        let key = api_key.map(str::trim).filter(|k| !k.is_empty());
        let model = settings.model.as_str();
        let provider = settings.provider;
        let guard = || self.guard(provider.as_str(), Some(tenant));
        let base = |default: &str| settings.base_url.clone().unwrap_or_else(|| default.to_owned());
        Ok(match provider {
            LlmProvider::Local => Arc::new(LocalProvider),
            LlmProvider::Openai => {
                let key = key.ok_or(LlmError::NotConfigured("no API key for provider openai"))?;
                let endpoint = Endpoint::new(self.http.clone(), &base(OPENAI_BASE_URL), key);
                Arc::new(OpenAiProvider::new("openai", model, endpoint, guard(), self.prices.clone()))
            }
            LlmProvider::OpenaiCompatible => {
                let url = settings
                    .base_url
                    .as_deref()
                    .ok_or(LlmError::NotConfigured("no base URL for provider openai_compatible"))?;
                let endpoint = Endpoint::new(self.http.clone(), url, key.unwrap_or_default());
                Arc::new(OpenAiProvider::new("openai_compatible", model, endpoint, guard(), self.prices.clone()))
            }
            LlmProvider::Anthropic => {
                let key = key.ok_or(LlmError::NotConfigured("no API key for provider anthropic"))?;
                let http = self.http.clone();
                Arc::new(AnthropicProvider::new(
                    model,
                    &base(ANTHROPIC_BASE_URL),
                    key,
                    http,
                    guard(),
                    self.prices.clone(),
                ))
            }
        })
    }

    /// [`Providers::for_tenant`] with the key as stored: sealed with the keyring under
    /// [`llm_api_key_associated_data`]. A key that cannot be opened is [`LlmError::NotConfigured`].
    pub fn for_tenant_sealed(
        &self,
        tenant: TenantId,
        settings: &LlmSettings,
        sealed_key: Option<&str>,
        keyring: &Keyring,
    ) -> Result<Arc<dyn Provider>, LlmError> {
        let key = match sealed_key.filter(|k| !k.is_empty()) {
            Some(envelope) => {
                Some(keyring.open(envelope, llm_api_key_associated_data(tenant).as_bytes()).map_err(|_| {
                    tracing::warn!(%tenant, "tenant LLM API key could not be opened");
                    LlmError::NotConfigured("the tenant's API key could not be opened")
                })?)
            }
            None => None,
        };
        self.for_tenant(tenant, settings, key.as_deref())
    }

    /// The embedder for `settings`. `local` is always `local-hash-384` with 384 dimensions, whatever the
    /// settings' model and dimensions say.
    pub fn embedder(&self, settings: &EmbeddingSettings) -> Arc<dyn Embedder> {
        match settings.provider {
            EmbeddingProvider::Local => {
                if settings.model != LOCAL_EMBEDDING_MODEL || settings.dimensions != LOCAL_EMBEDDING_DIMENSIONS {
                    tracing::warn!(model = %settings.model, "the local embedder is always local-hash-384 (384 dimensions)");
                }
                Arc::new(LocalEmbedder)
            }
            EmbeddingProvider::OpenaiCompatible => {
                let endpoint = Endpoint::new(self.http.clone(), &settings.base_url, settings.api_key.expose());
                let guard = self.guard(&format!("embedding:{}", settings.base_url), None);
                Arc::new(OpenAiEmbedder::new(
                    &settings.model,
                    settings.dimensions,
                    settings.batch_size,
                    settings.concurrency,
                    endpoint,
                    guard,
                ))
            }
        }
    }
}
