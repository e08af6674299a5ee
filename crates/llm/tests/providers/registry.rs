//! `Providers`: choosing the tenant's provider and opening its sealed key.

use meta_chat_llm::{CompletionRequest, LlmError, Providers};
use meta_chat_shared::Config;
use meta_chat_shared::ids::TenantId;
use meta_chat_shared::secrets::Keyring;
use meta_chat_shared::settings::{LlmProvider, LlmSettings, llm_api_key_associated_data};
use serde_json::json;
use wiremock::matchers::header;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::config;

fn settings(provider: LlmProvider, base_url: Option<String>) -> LlmSettings {
    LlmSettings { provider, model: "test-model".into(), base_url }
}

#[tokio::test]
async fn local_needs_no_key_and_remote_providers_without_one_are_not_configured() {
    let providers = Providers::new(&config()).unwrap();
    let tenant = TenantId::new();

    let local = providers.for_tenant(tenant, &LlmSettings::default(), None).unwrap();
    assert_eq!((local.name(), local.model()), ("local", "local"));
    let request = CompletionRequest { message: "hello".into(), ..CompletionRequest::default() };
    assert!(local.complete(&request).await.unwrap().text.starts_with("Hi"));

    for provider in [LlmProvider::Openai, LlmProvider::Anthropic] {
        let error = providers.for_tenant(tenant, &settings(provider, None), Some("  ")).err().unwrap();
        assert_eq!(error.kind(), "not_configured", "{provider}");
    }
    let error = providers.for_tenant(tenant, &settings(LlmProvider::OpenaiCompatible, None), None).err().unwrap();
    assert!(matches!(error, LlmError::NotConfigured(_)));
    let ollama = settings(LlmProvider::OpenaiCompatible, Some("http://localhost:11434/v1".into()));
    assert_eq!(providers.for_tenant(tenant, &ollama, None).unwrap().name(), "openai_compatible");
    let openai = providers.for_tenant(tenant, &settings(LlmProvider::Openai, None), Some("sk")).unwrap();
    assert_eq!((openai.name(), openai.model()), ("openai", "test-model"));
}

#[tokio::test]
async fn a_sealed_key_is_opened_for_its_tenant_only() {
    let keyring = Keyring::from_config(&Config::for_tests().secrets).unwrap();
    let tenant = TenantId::new();
    let sealed = keyring.seal("sk-ant-sealed", llm_api_key_associated_data(tenant).as_bytes()).unwrap();
    let server = MockServer::start().await;
    Mock::given(header("x-api-key", "sk-ant-sealed"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "content": [{ "type": "text", "text": "hi" }], "model": "test-model", "stop_reason": "end_turn",
            "usage": { "input_tokens": 1, "output_tokens": 1 },
        })))
        .mount(&server)
        .await;
    let providers = Providers::new(&config()).unwrap();
    let anthropic = settings(LlmProvider::Anthropic, Some(server.uri()));

    let provider = providers.for_tenant_sealed(tenant, &anthropic, Some(&sealed), &keyring).unwrap();
    let request = CompletionRequest { message: "hello".into(), ..CompletionRequest::default() };
    assert_eq!(provider.complete(&request).await.unwrap().text, "hi");

    let other = providers.for_tenant_sealed(TenantId::new(), &anthropic, Some(&sealed), &keyring).err().unwrap();
    assert_eq!(other, LlmError::NotConfigured("the tenant's API key could not be opened"));
    assert!(providers.for_tenant_sealed(tenant, &anthropic, None, &keyring).is_err());
}

#[test]
fn an_invalid_configuration_is_refused() {
    let mut config = config();
    config.retry.max_attempts = 0;
    assert!(matches!(Providers::new(&config), Err(LlmError::NotConfigured(_))));
}
