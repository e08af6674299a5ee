//! Benchmark (on demand, never in CI): what `POST /chat` adds beyond the model provider's own latency.
//!
//! A tenant on an OpenAI-compatible model served in-process by wiremock with a fixed delay, a knowledge base of
//! one document (chunks and local-embedder vectors stored through the database layer, so every question
//! retrieves), and `BENCH_CHATS` (default 200) sequential `POST /chat` calls, each starting a conversation. For each call the overhead is the
//! request's wall time minus the provider latency the assistant measured (stored in `message_replies`): tenant
//! and conversation lookups, the follow-up rewrite decision, query embedding, hybrid retrieval, prompt building,
//! the decision transaction and JSON.
//!
//! ```text
//! bash scripts/services.sh up && source .local/env
//! cargo bench -p meta-chat-api --bench chat        # BENCH_CHATS=200 BENCH_PROVIDER_MS=100
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a benchmark binary: fails loudly, prints its table, turns counts into rates"
)]

use std::time::{Duration, Instant};

use meta_chat_api::startup::Application;
use meta_chat_database::DbError;
use meta_chat_database::documents::chunks::{Completed, ModelVectors, NewChunk};
use meta_chat_database::documents::{self, Inserted, NewContent, NewDocument};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::testkit::TestDb;
use meta_chat_database::testkit::seed::{self, connect};
use meta_chat_llm::{Embedder, LocalEmbedder};
use meta_chat_shared::UserRole;
use meta_chat_shared::auth::{JwtKeys, Subject};
use meta_chat_shared::config::{Config, Secret};
use meta_chat_shared::ids::{DocumentId, TenantId, UserId};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FACTS: [&str; 6] = [
    "The premium plan includes free international shipping to 40 countries.",
    "Refunds are paid to the original card within five working days.",
    "Our support line answers calls on weekdays between nine and five.",
    "The XR-200 router ships with a wall mount and four gigabit ports.",
    "Orders placed before noon leave the warehouse the same day.",
    "Gift cards are valid for three years and cannot be exchanged for cash.",
];
const QUESTIONS: [&str; 4] = [
    "Does the premium plan ship internationally?",
    "How long do refunds take?",
    "When can I call support?",
    "What comes with the XR-200?",
];

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let index = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
    samples[index]
}

async fn store_facts(app_url: &str, tenant: TenantId) {
    let vectors = LocalEmbedder.embed(&FACTS.map(str::to_owned)).await.unwrap();
    let mut conn = connect(app_url).await;
    in_tenant_tx(&mut conn, tenant, |conn| {
        Box::pin(async move {
            let body = FACTS.join("\n\n");
            let checksum = meta_chat_rag::upload::checksum(body.as_bytes());
            let content = NewContent { mime_type: "text/plain", bytes: body.as_bytes(), checksum };
            let new = NewDocument { filename: "facts.txt", content, metadata: json!({}), uploaded_by: None };
            let Inserted::Created(document) = documents::insert(conn, tenant, &new).await? else { return Ok(()) };
            let chunks = FACTS
                .iter()
                .enumerate()
                .map(|(i, fact)| NewChunk {
                    position: i32::try_from(i).unwrap(),
                    content: (*fact).to_owned(),
                    token_count: 16,
                    metadata: json!({}),
                })
                .collect();
            let embeddings = vec![ModelVectors { model: "local-hash-384".into(), vectors }];
            let completed = Completed { version: 1, language: Some("en".into()), chunks, embeddings };
            documents::chunks::complete(conn, tenant, DocumentId::from_uuid(document.id), &completed).await?;
            Ok::<_, DbError>(())
        })
    })
    .await
    .unwrap();
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; a test runner listing every target (nextest --all-targets) does not, and
    // gets an empty test list instead of the benchmark
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let chats: usize = env_or("BENCH_CHATS", 200);
    let provider_ms: u64 = env_or("BENCH_PROVIDER_MS", 100);
    let model = MockServer::start().await;
    let answer = json!({
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "bench-model",
        "choices": [{ "index": 0, "finish_reason": "stop",
            "message": { "role": "assistant", "content": "According to our documents, yes [1]." } }],
        "usage": { "prompt_tokens": 200, "completion_tokens": 10, "total_tokens": 210 }
    });
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer).set_delay(Duration::from_millis(provider_ms)))
        .mount(&model)
        .await;

    let db = TestDb::new();
    let mut config = Config::for_tests();
    config.http.workers = 2;
    config.database.url = Secret::new(db.app_url());
    config.database.admin_url = Secret::new(db.owner_url());
    if let Ok(url) = std::env::var("METACHAT_AMQP__URL") {
        config.amqp.url = Secret::new(url);
    }
    config.amqp.prefix = format!("bench-{}", uuid::Uuid::now_v7().simple());
    config.amqp.queue_expires_ms = 600_000;
    config.billing.plans.free.limits.ai_replies = None;
    config.billing.plans.free.limits.api_calls = None;
    let app = Application::build(config.clone()).expect("build the API");
    let base = format!("http://127.0.0.1:{}/api/v1", app.port());
    tokio::spawn(app.run_until_stopped());

    let mut owner = connect(&db.owner_url()).await;
    let seeded = seed::tenant_with_conversation(&mut owner, "bench").await;
    let tenant = TenantId::from_uuid(seeded.tenant);
    let keys = JwtKeys::from_config(&config.auth).unwrap();
    let subject = Subject::TenantUser { user: UserId::from_uuid(seeded.user), tenant, role: UserRole::Owner };
    let token = keys.issue(&subject, Duration::from_secs(3600)).unwrap().token;
    let http = reqwest::Client::new();
    let llm = json!({ "llm": { "provider": "openai_compatible", "model": "bench-model",
        "baseUrl": format!("{}/v1", model.uri()), "apiKey": "sk-bench" } });
    let res = http.patch(format!("{base}/tenant")).bearer_auth(&token).json(&llm).send().await.unwrap();
    assert_eq!(res.status(), 200);
    store_facts(&db.app_url(), tenant).await;

    let probe: Value = http
        .post(format!("{base}/search"))
        .bearer_auth(&token)
        .json(&json!({ "query": QUESTIONS[0] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(probe["data"].as_array().is_some_and(|d| !d.is_empty()), "the knowledge base answers /search: {probe}");
    let mut walls = Vec::with_capacity(chats);
    for i in 0..chats {
        // a new conversation each time: a follow-up would add the model's query rewrite, a second provider call
        let body = json!({ "message": QUESTIONS[i % QUESTIONS.len()] });
        let started = Instant::now();
        let res = http.post(format!("{base}/chat")).bearer_auth(&token).json(&body).send().await.unwrap();
        let reply: Value = res.json().await.unwrap();
        walls.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(reply["citations"].as_array().is_some_and(|c| !c.is_empty()), "{reply}");
    }
    let latencies =
        seed::texts(&mut owner, "SELECT latency_ms::text AS value FROM message_replies ORDER BY created_at").await;
    let provider: Vec<f64> = latencies.iter().map(|ms| ms.parse::<f64>().unwrap()).collect();
    assert_eq!(provider.len(), chats, "one decision per chat");
    let mut overhead: Vec<f64> = walls.iter().zip(&provider).map(|(wall, model)| wall - model).collect();
    let mut provider = provider;
    println!("POST /chat x {chats}, provider delay {provider_ms} ms (wiremock), one 6-chunk document, local embedder");
    println!("| measure | p50 ms | p95 ms |");
    println!("|---|---|---|");
    println!("| wall time per request | {:.1} | {:.1} |", percentile(&mut walls, 0.5), percentile(&mut walls, 0.95));
    println!(
        "| provider latency (measured by the assistant) | {:.1} | {:.1} |",
        percentile(&mut provider, 0.5),
        percentile(&mut provider, 0.95)
    );
    println!(
        "| added by POST /chat | {:.1} | {:.1} |",
        percentile(&mut overhead, 0.5),
        percentile(&mut overhead, 0.95)
    );
}
