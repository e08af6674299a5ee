//! Hybrid retrieval: the query is embedded with the tenant's active model, both arms run over the tenant's
//! searchable chunks (`meta_chat_database::documents::search`), and [`fusion`] merges them. Only ready (or,
//! during a model switch, stale) documents of the caller's tenant are ever searched: every query runs in the
//! tenant's transaction under row-level security and filters on the tenant as well.
//!
//! A failure is an error, never an empty result: callers must tell "nothing relevant" from "could not
//! search". Each failure is counted in `rag_retrieval_failures_total{kind}`.

pub mod fusion;
pub mod rewrite;
pub mod terms;

use std::collections::HashMap;
use std::sync::Arc;

use meta_chat_database::documents::search::{self, ArmQuery};
use meta_chat_database::embedding_models::{self, EmbeddingModel};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{AsyncPgConnection, DbError};
use meta_chat_llm::{Embedder, LlmError, LocalEmbedder, Providers};
use meta_chat_shared::config::{EmbeddingSettings, KnowledgeConfig};
use meta_chat_shared::ids::TenantId;
use meta_chat_shared::settings::RagSettings;

pub use fusion::{Fusion, Hit};

/// Why retrieval failed.
#[derive(Debug, thiserror::Error)]
pub enum RetrievalError {
    /// The database failed.
    #[error("knowledge base query failed")]
    Database(#[from] DbError),
    /// The embedding provider failed.
    #[error("query embedding failed")]
    Embedding(#[from] LlmError),
    /// The tenant's active model has no embedder in this process (configuration changed under it).
    #[error("no embedder is configured for the tenant's embedding model")]
    NoEmbedder,
}

impl RetrievalError {
    /// A short label for logs and metrics.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Database(_) => "database",
            Self::Embedding(_) => "embedding",
            Self::NoEmbedder => "no_embedder",
        }
    }
}

/// The embedders this process can use, by model name.
#[derive(Clone, Default)]
pub struct Embedders {
    by_model: HashMap<String, Arc<dyn Embedder>>,
}

impl std::fmt::Debug for Embedders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedders").field("models", &self.by_model.keys().collect::<Vec<_>>()).finish()
    }
}

impl Embedders {
    /// A set of embedders; a later one with the same model name replaces an earlier one.
    pub fn new(embedders: impl IntoIterator<Item = Arc<dyn Embedder>>) -> Self {
        Self { by_model: embedders.into_iter().map(|e| (e.model().to_owned(), e)).collect() }
    }

    /// The built-in local embedder and the one `settings` configure (the same when it is local).
    pub fn from_config(providers: &Providers, settings: &EmbeddingSettings) -> Self {
        Self::new([Arc::new(LocalEmbedder) as Arc<dyn Embedder>, providers.embedder(settings)])
    }

    /// The embedder of `model`.
    pub fn get(&self, model: &str) -> Option<&Arc<dyn Embedder>> {
        self.by_model.get(model)
    }

    /// Registers every model in the database registry (creating its vector index). Run at start-up.
    pub async fn register_all(&self, conn: &mut AsyncPgConnection) -> Result<(), DbError> {
        for embedder in self.by_model.values() {
            let provider = if embedder.model().starts_with("local-") { "local" } else { "openai_compatible" };
            let dimensions = i32::try_from(embedder.dimensions())
                .map_err(|_| DbError::InvalidInput("embedding dimensions out of range".into()))?;
            embedding_models::register(conn, embedder.model(), provider, dimensions).await?;
        }
        Ok(())
    }
}

/// What to search for.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// The standalone question.
    pub text: &'a str,
    /// The tenant's retrieval settings.
    pub settings: &'a RagSettings,
    /// Overrides `settings.top_k` (the retrieval tester).
    pub top_k: Option<u32>,
}

/// The relevant chunks for `query`, best first; empty when nothing relevant was found.
pub async fn search(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    embedders: &Embedders,
    config: &KnowledgeConfig,
    query: Query<'_>,
) -> Result<Vec<Hit>, RetrievalError> {
    let result = run(conn, tenant, embedders, config, query).await;
    if let Err(err) = &result {
        metrics::counter!("rag_retrieval_failures_total", "kind" => err.kind()).increment(1);
        tracing::error!(tenant.id = %tenant, error.kind = err.kind(), error = %err, "retrieval failed");
    }
    result
}

async fn run(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    embedders: &Embedders,
    config: &KnowledgeConfig,
    query: Query<'_>,
) -> Result<Vec<Hit>, RetrievalError> {
    let model: EmbeddingModel = in_tenant_tx(conn, tenant, |conn| {
        Box::pin(async move { Ok::<_, DbError>(embedding_models::for_tenant(conn, tenant).await?.active) })
    })
    .await?;
    let embedder = embedders.get(&model.name).ok_or(RetrievalError::NoEmbedder)?;
    let vector = embedder
        .embed(&[query.text.to_owned()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| RetrievalError::Embedding(LlmError::InvalidResponse("no vector for the query")))?;
    let terms = terms::terms(query.text);
    let limit = i64::from(config.candidates.max(query.top_k.unwrap_or(query.settings.top_k)));
    let exact_below = i64::from(config.exact_search_below);
    let (vector_hits, keyword_hits) = in_tenant_tx(conn, tenant, |conn| {
        Box::pin(async move {
            let arm = ArmQuery { model: &model, vector: &vector, terms: &terms, limit, exact_below };
            let vector_hits = search::vector_arm(conn, tenant, &arm).await?;
            let keyword_hits = search::keyword_arm(conn, tenant, &arm).await?;
            Ok::<_, DbError>((vector_hits, keyword_hits))
        })
    })
    .await?;
    let fusion = Fusion {
        k: f64::from(config.rrf_k),
        vector_weight: query.settings.vector_weight,
        keyword_weight: query.settings.keyword_weight,
        min_score: query.settings.min_score,
        top_k: usize::try_from(query.top_k.unwrap_or(query.settings.top_k)).unwrap_or(5),
    };
    Ok(fusion::fuse(vector_hits, keyword_hits, &fusion))
}
