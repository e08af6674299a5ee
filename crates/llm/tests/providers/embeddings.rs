//! The OpenAI-compatible embedder against a fake `/v1/embeddings`, and the built-in one.

use std::sync::Arc;

use meta_chat_llm::{Embedder, LlmError};
use meta_chat_shared::Secret;
use meta_chat_shared::config::{EmbeddingProvider, EmbeddingSettings, LlmConfig};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{BODY_SECRET, bodies, config, providers, request_count};

/// Answers each request with one vector per input, `[index, 0, 0, ...]` of `dimensions` length, listed
/// in reverse order (the embedder must sort by index).
struct Vectors {
    dimensions: usize,
}

impl Respond for Vectors {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let inputs = body["input"].as_array().unwrap();
        let data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .rev()
            .map(|(index, input)| {
                let mut vector = vec![0.0_f32; self.dimensions];
                vector[0] = f32::from(u8::try_from(input.as_str().unwrap().len()).unwrap());
                json!({ "object": "embedding", "index": index, "embedding": vector })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "model": "text-embedding-3-small", "data": data,
            "usage": { "prompt_tokens": 3, "total_tokens": 3 },
        }))
    }
}

fn embedder(server: &MockServer, config: &LlmConfig, dimensions: usize) -> Arc<dyn Embedder> {
    let settings = EmbeddingSettings {
        provider: EmbeddingProvider::OpenaiCompatible,
        base_url: format!("{}/v1", server.uri()),
        api_key: Secret::new("sk-embed"),
        model: "text-embedding-3-small".into(),
        dimensions,
        batch_size: 2,
        concurrency: 2,
    };
    providers(config).0.embedder(&settings)
}

fn texts() -> Vec<String> {
    ["a", "bb", "ccc"].map(str::to_owned).to_vec()
}

#[tokio::test]
async fn texts_are_sent_in_batches_and_vectors_come_back_in_order() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .respond_with(Vectors { dimensions: 4 })
        .mount(&server)
        .await;
    let embedder = embedder(&server, &config(), 4);

    let vectors = embedder.embed(&texts()).await.unwrap();

    assert_eq!(vectors.iter().map(|v| v[0]).collect::<Vec<_>>(), [1.0, 2.0, 3.0]);
    assert!(vectors.iter().all(|v| v.len() == 4));
    assert_eq!((embedder.model(), embedder.dimensions()), ("text-embedding-3-small", 4));
    let mut bodies = bodies(&server).await;
    bodies.sort_by_key(|body| body["input"].as_array().unwrap().len());
    assert_eq!(bodies[0]["input"], json!(["ccc"]));
    assert_eq!(bodies[1]["input"], json!(["a", "bb"]));
    assert_eq!(bodies[1]["model"], "text-embedding-3-small");
    assert_eq!(bodies[1]["dimensions"], 4);
    assert_eq!(bodies[1]["encoding_format"], "float");
    let received = server.received_requests().await.unwrap();
    assert_eq!(received[0].headers.get("authorization").unwrap(), "Bearer sk-embed");
}

#[tokio::test]
async fn vectors_of_another_length_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(Vectors { dimensions: 3 }).mount(&server).await;
    let embedder = embedder(&server, &config(), 4);

    let error = embedder.embed(&texts()).await.unwrap_err();

    assert_eq!(error.kind(), "invalid_response");
    assert!(matches!(error, LlmError::InvalidResponse(_)));
}

#[tokio::test]
async fn a_server_error_fails_after_the_configured_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string(BODY_SECRET))
        .mount(&server)
        .await;
    let embedder = embedder(&server, &config(), 4);

    let error = embedder.embed(&texts()[..1]).await.unwrap_err();

    assert_eq!(error, LlmError::Unavailable { status: Some(500) });
    assert!(!error.to_string().contains(BODY_SECRET));
    assert_eq!(request_count(&server).await, 3);
}

#[tokio::test]
async fn the_default_embedder_is_the_local_one() {
    let (providers, _) = providers(&config());
    let embedder = providers.embedder(&EmbeddingSettings::default());
    assert_eq!((embedder.model(), embedder.dimensions()), ("local-hash-384", 384));
    let vectors = embedder.embed(&texts()).await.unwrap();
    assert_eq!(vectors.len(), 3);
    assert!(vectors.iter().all(|v| v.len() == 384));
}
