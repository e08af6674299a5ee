//! Ingestion of one document version, without the database: process the bytes (in a blocking thread), then
//! embed the chunks in batches with bounded concurrency under each model the tenant needs (the active one
//! and, during a switch, the next). The caller stores the result with
//! `meta_chat_database::documents::chunks::complete` and records the event in the same transaction, so a
//! redelivered event repeats harmless work and never duplicates chunks.

use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt, stream};
use meta_chat_database::documents::chunks::{Completed, ModelVectors, NewChunk};
use meta_chat_llm::{Embedder, LlmError};
use meta_chat_shared::config::KnowledgeConfig;

use crate::{Declared, DocumentError, ProcessOptions, process_with};

/// Why ingestion failed. `to_string()` is the reason stored on the document and shown to the tenant.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The content could not be processed.
    #[error("{0}")]
    Document(#[from] DocumentError),
    /// The embedding provider failed (after its retries).
    #[error("the embedding service failed ({}); reprocess the document to try again", .0.kind())]
    Embedding(#[from] LlmError),
    /// No embedder is configured for a model the tenant uses.
    #[error("the embedding model `{0}` is not available")]
    NoEmbedder(String),
    /// The processing thread failed.
    #[error("processing was interrupted; reprocess the document to try again")]
    Interrupted,
}

/// One document version to ingest.
#[derive(Debug, Clone)]
pub struct Source {
    /// The version the bytes belong to.
    pub version: i32,
    /// The original bytes.
    pub bytes: Vec<u8>,
    /// Its filename.
    pub filename: String,
    /// Its detected type.
    pub mime_type: String,
}

/// Processes and embeds `source`; `embedders` are the tenant's models, active first.
pub async fn prepare(
    source: Source,
    embedders: &[Arc<dyn Embedder>],
    config: &KnowledgeConfig,
) -> Result<Completed, IngestError> {
    let options = ProcessOptions {
        max_chunk_tokens: config.chunk_tokens,
        overlap_tokens: config.chunk_overlap_tokens,
        max_chunks: usize::try_from(config.max_chunks).unwrap_or(usize::MAX),
        ..ProcessOptions::default()
    };
    let Source { version, bytes, filename, mime_type } = source;
    let processed = tokio::task::spawn_blocking(move || {
        process_with(&bytes, &Declared::new(Some(&filename), Some(&mime_type)), &options)
    })
    .await
    .map_err(|_| IngestError::Interrupted)??;
    let texts: Vec<String> = processed.chunks.iter().map(|chunk| chunk.content.clone()).collect();
    let mut embeddings = Vec::with_capacity(embedders.len());
    for embedder in embedders {
        embeddings.push(ModelVectors {
            model: embedder.model().to_owned(),
            vectors: embed_all(embedder, &texts, config).await?,
        });
    }
    let chunks = processed
        .chunks
        .into_iter()
        .map(|chunk| NewChunk {
            position: i32::try_from(chunk.position).unwrap_or(i32::MAX),
            token_count: i32::try_from(chunk.token_count).unwrap_or(i32::MAX).max(1),
            metadata: serde_json::to_value(&chunk.metadata).unwrap_or_else(|_| serde_json::json!({})),
            content: chunk.content,
        })
        .collect();
    Ok(Completed { version, language: processed.language.map(str::to_owned), chunks, embeddings })
}

/// Embeds `texts` in batches, `config.embed_concurrency` requests at a time, keeping the order.
pub async fn embed_all(
    embedder: &Arc<dyn Embedder>,
    texts: &[String],
    config: &KnowledgeConfig,
) -> Result<Vec<Vec<f32>>, IngestError> {
    let batches: Vec<Vec<String>> = texts.chunks(config.embed_batch_size.max(1)).map(<[String]>::to_vec).collect();
    let requests = batches.into_iter().map(|batch| {
        let embedder = Arc::clone(embedder);
        async move {
            let vectors = embedder.embed(&batch).await?;
            if vectors.len() == batch.len() {
                Ok(vectors)
            } else {
                Err(IngestError::Embedding(LlmError::InvalidResponse("wrong number of vectors")))
            }
        }
    });
    let batches: Vec<Vec<Vec<f32>>> =
        stream::iter(requests).buffered(config.embed_concurrency.max(1)).try_collect().await?;
    Ok(batches.into_iter().flatten().collect())
}
