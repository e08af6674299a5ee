//! Retrieval at scale on a real PostgreSQL + pgvector: a synthetic corpus of `tenants` × `chunks` chunks
//! (local embedder vectors, skewed synthetic vocabulary) is stored through the database layer, then random
//! queries (words drawn from a random chunk of a random tenant) run:
//! - hybrid search as the assistant runs it (`retrieval::search`, default configuration), p50/p95;
//! - the vector arm through the HNSW index (iterative scan) against exact search: p50/p95 of each and
//!   recall@10 of the index against the exact top 10.
//!
//! Needs `TEST_DATABASE_URL` (`source .local/env`). Run in release mode:
//! `cargo run --release -p meta-chat-rag --example retrieval_bench -- [tenants] [chunks_per_tenant] [queries]`
//! (defaults 1000 100 500: 100k chunks).
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark fails loudly")]
#![expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    reason = "statistics and small synthetic counts"
)]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use meta_chat_database::documents::chunks::{Completed, ModelVectors, NewChunk};
use meta_chat_database::documents::search::{self, ArmQuery};
use meta_chat_database::documents::{self, Inserted, NewContent, NewDocument};
use meta_chat_database::embedding_models;
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::testkit::TestDb;
use meta_chat_database::testkit::seed;
use meta_chat_database::{AsyncPgConnection, DbError};
use meta_chat_llm::{Embedder, LocalEmbedder};
use meta_chat_rag::Embedders;
use meta_chat_rag::retrieval::{self, Query};
use meta_chat_shared::config::KnowledgeConfig;
use meta_chat_shared::ids::{DocumentId, TenantId};
use meta_chat_shared::settings::RagSettings;

const SYLLABLES: [&str; 16] =
    ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "so", "pe", "du", "ge", "fi", "an", "or", "ex", "ul"];
const VOCABULARY: usize = 6000;
const WORDS_PER_CHUNK: usize = 45;

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n.max(1)
    }
}

fn word(mut index: usize) -> String {
    let mut word = String::new();
    for _ in 0..3 {
        word.push_str(SYLLABLES[index % SYLLABLES.len()]);
        index /= SYLLABLES.len();
    }
    if index > 0 {
        word.push_str(SYLLABLES[index % SYLLABLES.len()]);
    }
    word
}

/// A chunk of skewed (Zipf-like) synthetic words.
fn chunk_text(rng: &mut Rng, vocabulary: &[String]) -> String {
    (0..WORDS_PER_CHUNK)
        .map(|_| vocabulary[(rng.unit().powi(3) * vocabulary.len() as f64) as usize % vocabulary.len()].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let index = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
    samples[index].as_secs_f64() * 1000.0
}

async fn store(conn: &mut AsyncPgConnection, tenant: TenantId, texts: Vec<String>, vectors: Vec<Vec<f32>>) {
    in_tenant_tx(conn, tenant, |conn| {
        Box::pin(async move {
            let body = texts.join("\n\n");
            let checksum = meta_chat_rag::upload::checksum(body.as_bytes());
            let content = NewContent { mime_type: "text/plain", bytes: body.as_bytes(), checksum };
            let new =
                NewDocument { filename: "corpus.txt", content, metadata: serde_json::json!({}), uploaded_by: None };
            let Inserted::Created(document) = documents::insert(conn, tenant, &new).await? else {
                return Ok(());
            };
            let chunks = texts
                .into_iter()
                .enumerate()
                .map(|(i, content)| NewChunk {
                    position: i as i32,
                    content,
                    token_count: WORDS_PER_CHUNK as i32,
                    metadata: serde_json::json!({}),
                })
                .collect();
            let model = ModelVectors { model: LocalEmbedder.model().to_owned(), vectors };
            let completed = Completed { version: 1, language: None, chunks, embeddings: vec![model] };
            documents::chunks::complete(conn, tenant, DocumentId::from_uuid(document.id), &completed).await?;
            Ok::<_, DbError>(())
        })
    })
    .await
    .expect("store a tenant's corpus");
}

/// The vector arm's top 10, exact (`exact_below` = max) or through the index (0), and its latency.
async fn vector_arm(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    vector: &[f32],
    exact_below: i64,
) -> (Duration, Vec<uuid::Uuid>) {
    let vector = vector.to_vec();
    let started = Instant::now();
    let ids = in_tenant_tx(conn, tenant, |conn| {
        Box::pin(async move {
            let model = embedding_models::for_tenant(conn, tenant).await?.active;
            let q = ArmQuery { model: &model, vector: &vector, terms: &[], limit: 10, exact_below };
            Ok::<_, DbError>(search::vector_arm(conn, tenant, &q).await?.into_iter().map(|c| c.chunk_id).collect())
        })
    })
    .await
    .unwrap();
    (started.elapsed(), ids)
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let tenants_wanted = args.first().copied().unwrap_or(1000);
    let per_tenant = args.get(1).copied().unwrap_or(100);
    let queries = args.get(2).copied().unwrap_or(500);
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let pool = db.app_pool();
    let mut conn = pool.get().await.unwrap();
    let vocabulary: Vec<String> = (0..VOCABULARY).map(word).collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let embedder = LocalEmbedder;

    let mut tenants = Vec::with_capacity(tenants_wanted);
    let mut corpus: Vec<Vec<String>> = Vec::with_capacity(tenants_wanted);
    let (mut embedding, mut storing) = (Duration::ZERO, Duration::ZERO);
    for i in 0..tenants_wanted {
        let tenant =
            TenantId::from_uuid(seed::tenant_with_conversation(&mut owner, &format!("bench-{i}")).await.tenant);
        let texts: Vec<String> = (0..per_tenant).map(|_| chunk_text(&mut rng, &vocabulary)).collect();
        let started = Instant::now();
        let vectors = embedder.embed(&texts).await.unwrap();
        embedding += started.elapsed();
        let started = Instant::now();
        store(&mut conn, tenant, texts.clone(), vectors).await;
        storing += started.elapsed();
        tenants.push(tenant);
        corpus.push(texts);
    }
    let total = tenants_wanted * per_tenant;
    println!("corpus: {tenants_wanted} tenants x {per_tenant} chunks = {total} chunks");
    println!(
        "  embedding (local): {:.1} s ({:.0} chunks/s); storing with HNSW maintenance: {:.1} s ({:.0} chunks/s)",
        embedding.as_secs_f64(),
        total as f64 / embedding.as_secs_f64(),
        storing.as_secs_f64(),
        total as f64 / storing.as_secs_f64()
    );

    let settings = RagSettings { top_k: 10, min_score: 0.0, ..RagSettings::default() };
    let config = KnowledgeConfig::default();
    let embedders = Embedders::new([std::sync::Arc::new(LocalEmbedder) as std::sync::Arc<dyn Embedder>]);
    let (mut hybrid, mut approximate, mut exact) = (Vec::new(), Vec::new(), Vec::new());
    let (mut found, mut expected) = (0usize, 0usize);
    for _ in 0..queries {
        let t = rng.below(tenants.len());
        let source = &corpus[t][rng.below(per_tenant)];
        let words: Vec<&str> = source.split(' ').collect();
        let text = (0..6).map(|_| words[rng.below(words.len())]).collect::<Vec<_>>().join(" ");
        let tenant = tenants[t];
        let started = Instant::now();
        let query = Query { text: &text, settings: &settings, top_k: None };
        retrieval::search(&mut conn, tenant, &embedders, &config, query).await.unwrap();
        hybrid.push(started.elapsed());

        let vector = embedder.embed(std::slice::from_ref(&text)).await.unwrap().remove(0);
        let (took, exact_ids) = vector_arm(&mut conn, tenant, &vector, i64::MAX).await;
        exact.push(took);
        let (took, approximate_ids) = vector_arm(&mut conn, tenant, &vector, 0).await;
        approximate.push(took);
        let truth: HashSet<_> = exact_ids.iter().collect();
        expected += truth.len();
        found += approximate_ids.iter().filter(|id| truth.contains(id)).count();
    }
    println!("queries: {queries} (6 words of a random chunk of a random tenant)");
    println!("| search | p50 ms | p95 ms |");
    println!("|---|---|---|");
    println!(
        "| hybrid (default: exact below {} chunks per tenant) | {:.2} | {:.2} |",
        config.exact_search_below,
        percentile(&mut hybrid, 0.5),
        percentile(&mut hybrid, 0.95)
    );
    println!("| vector arm, exact | {:.2} | {:.2} |", percentile(&mut exact, 0.5), percentile(&mut exact, 0.95));
    println!(
        "| vector arm, HNSW iterative scan | {:.2} | {:.2} |",
        percentile(&mut approximate, 0.5),
        percentile(&mut approximate, 0.95)
    );
    println!(
        "recall@10 of the HNSW arm against exact: {:.4} ({found}/{expected})",
        found as f64 / expected.max(1) as f64
    );
}
