//! Ingestion end to end for one synthetic 200-page document, as the worker runs it: extraction and chunking,
//! embedding with the built-in local embedder (`meta_chat_rag::ingest::prepare`), then storing the chunks and
//! vectors (with HNSW maintenance) on a real PostgreSQL + pgvector (`chunks::complete`).
//!
//! Needs `TEST_DATABASE_URL` (`source .local/env`). Run in release mode:
//! `cargo run --release -p meta-chat-rag --example ingest_store_bench -- [pages] [runs]` (defaults 200 3).
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark fails loudly")]
#![expect(clippy::cast_precision_loss, reason = "statistics")]

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use meta_chat_database::DbError;
use meta_chat_database::documents::{self, Inserted, NewContent, NewDocument};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::testkit::{TestDb, seed};
use meta_chat_llm::{Embedder, LocalEmbedder};
use meta_chat_rag::ingest::{Source, prepare};
use meta_chat_shared::config::KnowledgeConfig;
use meta_chat_shared::ids::{DocumentId, TenantId};

const TOPICS: [&str; 12] = [
    "shipping",
    "returns",
    "warranty",
    "payment",
    "accounts",
    "invoices",
    "delivery",
    "support",
    "privacy",
    "subscriptions",
    "discounts",
    "security",
];

/// `pages` pages of prose, a heading per page, paragraphs of varied sentences.
fn document(pages: usize, run: usize) -> String {
    let mut text = String::new();
    for page in 0..pages {
        let topic = TOPICS[page % TOPICS.len()];
        let _ = write!(text, "# Section {page}: {topic} (edition {run})\n\n");
        for paragraph in 0..5 {
            for sentence in 0..5 {
                let _ = write!(
                    text,
                    "Customers asking about {topic} in case {page}.{paragraph}.{sentence} are told how the {topic} \
                     policy applies to their order and what happens next. "
                );
            }
            text.push_str("\n\n");
        }
    }
    text
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let pages = args.first().copied().unwrap_or(200);
    let runs = args.get(1).copied().unwrap_or(3);
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let tenant = TenantId::from_uuid(seed::tenant_with_conversation(&mut owner, "bench").await.tenant);
    let pool = db.app_pool();
    let mut conn = pool.get().await.unwrap();
    let config = KnowledgeConfig::default();
    let embedders: Vec<Arc<dyn Embedder>> = vec![Arc::new(LocalEmbedder)];
    println!("| run | bytes | chunks | process + embed s | store s | total chunks/s |");
    println!("|---|---|---|---|---|---|");
    for run in 0..runs {
        let text = document(pages, run);
        let bytes = text.clone().into_bytes();
        let checksum = meta_chat_rag::upload::checksum(&bytes);
        let stored = bytes.clone();
        let document = in_tenant_tx(&mut conn, tenant, |conn| {
            Box::pin(async move {
                let content = NewContent { mime_type: "text/markdown", bytes: &stored, checksum };
                let new = NewDocument {
                    filename: "handbook.md",
                    content,
                    metadata: serde_json::json!({}),
                    uploaded_by: None,
                };
                match documents::insert(conn, tenant, &new).await? {
                    Inserted::Created(document) | Inserted::Duplicate(document) => Ok::<_, DbError>(document),
                }
            })
        })
        .await
        .unwrap();
        let started = Instant::now();
        let source = Source { version: 1, bytes, filename: "handbook.md".into(), mime_type: "text/markdown".into() };
        let completed = prepare(source, &embedders, &config).await.unwrap();
        let prepared = started.elapsed();
        let chunks = completed.chunks.len();
        let id = DocumentId::from_uuid(document.id);
        let started = Instant::now();
        in_tenant_tx(&mut conn, tenant, |conn| {
            Box::pin(async move { documents::chunks::complete(conn, tenant, id, &completed).await })
        })
        .await
        .unwrap();
        let stored = started.elapsed();
        let total = (prepared + stored).as_secs_f64();
        println!(
            "| {run} | {} | {chunks} | {:.2} | {:.2} | {:.0} |",
            text.len(),
            prepared.as_secs_f64(),
            stored.as_secs_f64(),
            chunks as f64 / total
        );
    }
}
