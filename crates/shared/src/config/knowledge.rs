//! The `knowledge` section: document upload limits, chunking, ingestion and retrieval tuning. Per-tenant
//! choices (top K, minimum score, arm weights) are tenant settings ([`crate::settings::RagSettings`]);
//! the plan limits the number of documents and stored bytes. Every key has a default.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Documents, ingestion and retrieval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KnowledgeConfig {
    /// Largest document accepted, in bytes (measured from the bytes received; 413 beyond).
    pub max_document_bytes: u64,
    /// Tokens per chunk at most.
    pub chunk_tokens: u32,
    /// Tokens repeated from the end of one chunk at the start of the next.
    pub chunk_overlap_tokens: u32,
    /// Chunks per document at most (a document that would need more fails with that reason).
    pub max_chunks: u32,
    /// Texts per embedding request.
    pub embed_batch_size: usize,
    /// Embedding requests in flight per document.
    pub embed_concurrency: usize,
    /// Chunks re-embedded per tenant per run of the model-switch job.
    pub reembed_batch: u32,
    /// Milliseconds between runs of the model-switch job (worker).
    pub reembed_interval_ms: u64,
    /// Candidates each retrieval arm (vector, keyword) contributes before fusion.
    pub candidates: u32,
    /// Below this many searchable chunks a tenant is searched exactly instead of through the HNSW index.
    pub exact_search_below: u32,
    /// The `k` of reciprocal rank fusion (`1 / (k + rank)`).
    pub rrf_k: u32,
    /// Recent messages used to rewrite a follow-up question into a standalone query.
    pub rewrite_history: u32,
}

impl Default for KnowledgeConfig {
    fn default() -> Self {
        Self {
            max_document_bytes: 20 * 1024 * 1024,
            chunk_tokens: 400,
            chunk_overlap_tokens: 60,
            max_chunks: 20_000,
            embed_batch_size: 64,
            embed_concurrency: 2,
            reembed_batch: 500,
            reembed_interval_ms: 5000,
            candidates: 40,
            exact_search_below: 20_000,
            rrf_k: 60,
            rewrite_history: 4,
        }
    }
}

impl KnowledgeConfig {
    /// Checks the ranges; the error names the first bad key.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let checks = [
            (
                (1..=1024 * 1024 * 1024).contains(&self.max_document_bytes),
                "max_document_bytes",
                "must be 1 byte to 1 GiB",
            ),
            ((50..=8000).contains(&self.chunk_tokens), "chunk_tokens", "must be 50-8000"),
            (
                self.chunk_overlap_tokens < self.chunk_tokens / 2,
                "chunk_overlap_tokens",
                "must be under half of chunk_tokens",
            ),
            ((1..=1_000_000).contains(&self.max_chunks), "max_chunks", "must be 1-1000000"),
            ((1..=2048).contains(&self.embed_batch_size), "embed_batch_size", "must be 1-2048"),
            ((1..=64).contains(&self.embed_concurrency), "embed_concurrency", "must be 1-64"),
            ((1..=100_000).contains(&self.reembed_batch), "reembed_batch", "must be 1-100000"),
            ((100..=3_600_000).contains(&self.reembed_interval_ms), "reembed_interval_ms", "must be 100-3600000"),
            ((1..=1000).contains(&self.candidates), "candidates", "must be 1-1000"),
            ((1..=10_000).contains(&self.rrf_k), "rrf_k", "must be 1-10000"),
            (self.rewrite_history <= 20, "rewrite_history", "must be 0-20"),
        ];
        match checks.into_iter().find(|(ok, _, _)| !ok) {
            Some((_, key, message)) => Err(ConfigError::invalid(&format!("knowledge.{key}"), message)),
            None => Ok(()),
        }
    }
}
