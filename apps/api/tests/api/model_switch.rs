//! Changing a tenant's embedding model while queries run: the worker builds the new model's vectors beside
//! the old ones a few chunks at a time; every query during the switch still finds chunks (through the old
//! model until the new one is complete); afterwards only the new model's vectors remain.

use std::sync::Arc;
use std::time::Duration;

use meta_chat_database::embedding_models;
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::testkit::seed;
use meta_chat_llm::LocalProvider;
use meta_chat_shared::config::EmbeddingProvider;
use meta_chat_shared::ids::TenantId;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::api_keys::seeded_tenant;
use crate::documents::settled;
use crate::helpers::spawn_app_with;
use crate::pipeline::Worker;
use crate::tenant::rows;

/// A deterministic 8-dimension vector per text (its byte sum spread over the axes).
fn fake_embeddings(request: &Request) -> ResponseTemplate {
    let body: Value = request.body_json().unwrap();
    let inputs: Vec<String> = match &body["input"] {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().map(|i| i.as_str().unwrap_or_default().to_owned()).collect(),
        _ => Vec::new(),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let sum: u32 = text.bytes().map(u32::from).sum();
            let vector: Vec<f64> = (0..8u32).map(|axis| f64::from((sum >> axis) % 7) + 1.0).collect();
            json!({ "object": "embedding", "index": index, "embedding": vector })
        })
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({
        "object": "list", "data": data, "model": "fake-embed-8", "usage": { "prompt_tokens": 1, "total_tokens": 1 }
    }))
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_never_come_back_empty_while_the_embedding_model_changes() {
    let embeddings = MockServer::start().await;
    Mock::given(method("POST")).and(path("/embeddings")).respond_with(fake_embeddings).mount(&embeddings).await;
    let uri = embeddings.uri();
    let app = spawn_app_with(move |config, _| {
        config.amqp.sweep_interval_ms = 200;
        config.amqp.sweep_after_ms = 300;
        config.llm.embedding.provider = EmbeddingProvider::OpenaiCompatible;
        config.llm.embedding.base_url = uri;
        config.llm.embedding.model = "fake-embed-8".into();
        config.llm.embedding.dimensions = 8;
        config.knowledge.chunk_tokens = 50;
        config.knowledge.chunk_overlap_tokens = 5;
        config.knowledge.reembed_batch = 4;
        config.knowledge.reembed_interval_ms = 150;
    })
    .await;
    let (seeded, owner) = seeded_tenant(&app, "acme").await;
    let tenant = TenantId::from_uuid(seeded.tenant);
    let worker = Worker::start(&app.config, Arc::new(LocalProvider));
    let content: String = (0..30)
        .map(|i| {
            format!("Paragraph {i} explains part {i} of the return and shipping policy in some detail for customers.")
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    let res = app
        .post("/api/v1/documents")
        .bearer_auth(&owner)
        .json(&json!({ "filename": "policy.txt", "content": content }))
        .send()
        .await
        .unwrap();
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(settled(&app, &owner, &id).await["status"], "ready");
    let chunks: usize = rows(&app, "SELECT count(*)::text AS value FROM chunks").await[0].parse().unwrap();
    assert!(chunks > 8, "several re-embedding rounds: {chunks} chunks");

    let mut conn = seed::connect(&app.db.owner_url()).await;
    embedding_models::register(&mut conn, "fake-embed-8", "openai_compatible", 8).await.unwrap();
    in_tenant_tx(&mut conn, tenant, |conn| Box::pin(embedding_models::begin_switch(conn, tenant, "fake-embed-8")))
        .await
        .unwrap();
    // a query no keyword matches: whatever comes back came through the vector arm of the active model
    let query = json!({ "query": "zzqxv wwkjh", "minScore": 0.0 });
    let mut during = 0;
    for _ in 0..400 {
        let res = app.post("/api/v1/search").bearer_auth(&owner).json(&query).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let hits = res.json::<Value>().await.unwrap()["data"].as_array().unwrap().len();
        assert!(hits > 0, "a query came back empty during the switch");
        let active = rows(&app, "SELECT coalesce(embedding_model, '') AS value FROM tenants").await;
        if active == ["fake-embed-8"] {
            break;
        }
        during += 1;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(during > 0, "queries ran while the switch was under way");
    assert_eq!(
        rows(&app, "SELECT embedding_model AS value FROM tenants").await,
        ["fake-embed-8"],
        "the switch completed"
    );
    assert_eq!(rows(&app, "SELECT DISTINCT model AS value FROM chunk_embeddings").await, ["fake-embed-8"]);
    let vectors: usize = rows(&app, "SELECT count(*)::text AS value FROM chunk_embeddings").await[0].parse().unwrap();
    assert_eq!(vectors, chunks);
    assert_eq!(rows(&app, "SELECT status AS value FROM documents").await, ["ready"]);
    let after = app.post("/api/v1/search").bearer_auth(&owner).json(&query).send().await.unwrap();
    assert!(!after.json::<Value>().await.unwrap()["data"].as_array().unwrap().is_empty());
    worker.stop().await;
}
