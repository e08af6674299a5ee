//! The background half of an embedding model switch (started with `meta-chat-worker knowledge switch-model`):
//! for each tenant with a next model, embed a batch of the chunks that lack its vector and store them beside
//! the old ones; when none is left, [`embedding_models::finish_switch`] makes the next model active and drops
//! the old vectors. Queries use the old model throughout, so none comes back empty during the switch.
//!
//! The first run also registers this process's embedders in the model registry (creating their indexes).

use std::sync::atomic::{AtomicBool, Ordering};

use meta_chat_database::documents::chunks;
use meta_chat_database::embedding_models;
use meta_chat_database::platform::in_platform_tx;
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{DbError, DbPool};
use meta_chat_shared::config::KnowledgeConfig;
use meta_chat_shared::ids::TenantId;

use crate::Embedders;
use crate::ingest::{IngestError, embed_all};

/// Why a switch step failed (it is retried at the next run).
#[derive(Debug, thiserror::Error)]
pub enum ReembedError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbError),
    /// Embedding failed.
    #[error("embedding: {0}")]
    Embedding(#[from] IngestError),
}

static REGISTERED: AtomicBool = AtomicBool::new(false);

/// One run over every switching tenant; returns how many tenants switched.
pub async fn run(
    owner: &DbPool,
    app: &DbPool,
    embedders: &Embedders,
    config: &KnowledgeConfig,
) -> Result<usize, ReembedError> {
    let mut conn = owner.get().await.map_err(DbError::from)?;
    if !REGISTERED.load(Ordering::Relaxed) {
        embedders.register_all(&mut conn).await?;
        REGISTERED.store(true, Ordering::Relaxed);
    }
    let tenants = in_platform_tx(&mut conn, |conn| Box::pin(embedding_models::switching_tenants(conn))).await?;
    drop(conn);
    let mut switched = 0;
    for tenant in tenants {
        if step(app, TenantId::from_uuid(tenant), embedders, config).await? {
            switched += 1;
        }
    }
    Ok(switched)
}

/// Re-embeds one batch for `tenant` and switches it when complete; `true` when it switched.
pub async fn step(
    app: &DbPool,
    tenant: TenantId,
    embedders: &Embedders,
    config: &KnowledgeConfig,
) -> Result<bool, ReembedError> {
    let mut conn = app.get().await.map_err(DbError::from)?;
    let batch = i64::from(config.reembed_batch);
    let pending = in_tenant_tx(&mut conn, tenant, |conn| {
        Box::pin(async move {
            let Some(next) = embedding_models::for_tenant(conn, tenant).await?.next else { return Ok(None) };
            let missing = chunks::missing_vectors(conn, tenant, &next.name, batch).await?;
            Ok::<_, DbError>(Some((next.name, missing)))
        })
    })
    .await?;
    let Some((model, missing)) = pending else { return Ok(false) };
    if !missing.is_empty() {
        let embedder = embedders.get(&model).ok_or_else(|| IngestError::NoEmbedder(model.clone()))?;
        let texts: Vec<String> = missing.iter().map(|(_, text)| text.clone()).collect();
        let vectors = embed_all(embedder, &texts, config).await?;
        let model = model.clone();
        in_tenant_tx(&mut conn, tenant, |conn| {
            Box::pin(async move {
                let pairs: Vec<_> = missing.iter().map(|(id, _)| *id).zip(&vectors).collect();
                chunks::insert_vectors(conn, tenant, &model, &pairs).await
            })
        })
        .await?;
    }
    let switched =
        in_tenant_tx(&mut conn, tenant, |conn| Box::pin(embedding_models::finish_switch(conn, tenant))).await?;
    if switched {
        tracing::info!(tenant.id = %tenant, model = %model, "embedding model switched");
    }
    Ok(switched)
}
