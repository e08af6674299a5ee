//! The embedding model registry and each tenant's active model, and the model switch that loses nothing:
//! [`begin_switch`] names a next model (documents become `stale` while they keep serving with the old one),
//! ingestion and the worker's re-embedding job add the next model's vectors beside the old ones, and
//! [`finish_switch`] makes it active only once every searchable chunk has one, then drops the old vectors.

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::TenantId;

use crate::error::{DbError, DbResult};
use crate::schema::{chunk_embeddings, documents, embedding_models, tenants};

/// A registered model.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = embedding_models, check_for_backend(diesel::pg::Pg))]
pub struct EmbeddingModel {
    /// Name (`local-hash-384`, `text-embedding-3-small`, ...).
    pub name: String,
    /// `local`, `openai`, `ollama` or `openai_compatible`.
    pub provider: String,
    /// Vector length.
    pub dimensions: i32,
}

impl EmbeddingModel {
    /// Whether `name` is a valid registry name (the table's CHECK): names are inlined into retrieval SQL as
    /// literals so the partial index applies, and this is what makes that safe.
    pub fn valid_name(name: &str) -> bool {
        let mut chars = name.chars();
        name.len() <= 100
            && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | ':' | '/' | '-'))
    }
}

/// The models a tenant's knowledge base uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantModels {
    /// The model queries use.
    pub active: EmbeddingModel,
    /// The model being built in the background, if a switch is under way.
    pub next: Option<EmbeddingModel>,
}

/// Registers a model and creates its partial HNSW index (idempotent). Registering a known name with other
/// dimensions is a `Check` error.
pub async fn register(conn: &mut AsyncPgConnection, name: &str, provider: &str, dimensions: i32) -> DbResult<()> {
    if !EmbeddingModel::valid_name(name) {
        return Err(DbError::InvalidInput("embedding model name is not valid".into()));
    }
    diesel::sql_query("SELECT app_register_embedding_model($1, $2, $3)")
        .bind::<Text, _>(name)
        .bind::<Text, _>(provider)
        .bind::<Integer, _>(dimensions)
        .execute(conn)
        .await?;
    Ok(())
}

/// A registered model by name.
pub async fn find(conn: &mut AsyncPgConnection, name: &str) -> DbResult<Option<EmbeddingModel>> {
    Ok(embedding_models::table
        .filter(embedding_models::name.eq(name))
        .select(EmbeddingModel::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The tenant's active model (its own, else the platform default) and the next one.
pub async fn for_tenant(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<TenantModels> {
    let (own, next): (Option<String>, Option<String>) = tenants::table
        .filter(tenants::id.eq(tenant.as_uuid()))
        .select((tenants::embedding_model, tenants::embedding_model_next))
        .first(conn)
        .await?;
    let active = match own {
        Some(name) => find(conn, &name).await?,
        None => embedding_models::table
            .filter(embedding_models::is_default)
            .select(EmbeddingModel::as_select())
            .first(conn)
            .await
            .optional()?,
    }
    .ok_or_else(|| DbError::InvalidInput("no default embedding model is registered".into()))?;
    let next = match next {
        Some(name) => find(conn, &name).await?,
        None => None,
    };
    Ok(TenantModels { active, next })
}

/// Starts switching the tenant to `model` (registered): searchable documents become `stale` and keep
/// serving with the active model. Switching to the active model cancels a switch under way.
pub async fn begin_switch(conn: &mut AsyncPgConnection, tenant: TenantId, model: &str) -> DbResult<TenantModels> {
    let current = for_tenant(conn, tenant).await?;
    if find(conn, model).await?.is_none() {
        return Err(DbError::InvalidInput("embedding model is not registered".into()));
    }
    let next = (current.active.name != model).then_some(model);
    diesel::update(tenants::table.filter(tenants::id.eq(tenant.as_uuid())))
        .set((tenants::embedding_model.eq(&current.active.name), tenants::embedding_model_next.eq(next)))
        .execute(conn)
        .await?;
    let (from, to) = if next.is_some() { ("ready", "stale") } else { ("stale", "ready") };
    diesel::update(documents::table.filter(documents::tenant_id.eq(tenant.as_uuid()).and(documents::status.eq(from))))
        .set(documents::status.eq(to))
        .execute(conn)
        .await?;
    if next.is_none() {
        drop_other_vectors(conn, tenant, &current.active.name).await?;
    }
    for_tenant(conn, tenant).await
}

/// Completes a switch when every searchable chunk has a vector of the next model: the next model becomes
/// active, `stale` documents `ready`, and the old model's vectors are deleted. `true` when it switched.
pub async fn finish_switch(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<bool> {
    crate::usage::lock_tenant(conn, tenant).await?;
    let models = for_tenant(conn, tenant).await?;
    let Some(next) = models.next else { return Ok(false) };
    if !super::documents::chunks::missing_vectors(conn, tenant, &next.name, 1).await?.is_empty() {
        return Ok(false);
    }
    let busy: i64 = documents::table
        .filter(documents::tenant_id.eq(tenant.as_uuid()))
        .filter(documents::status.eq_any(["pending", "processing"]))
        .count()
        .get_result(conn)
        .await?;
    if busy > 0 {
        return Ok(false);
    }
    diesel::update(tenants::table.filter(tenants::id.eq(tenant.as_uuid())))
        .set((tenants::embedding_model.eq(&next.name), tenants::embedding_model_next.eq(None::<String>)))
        .execute(conn)
        .await?;
    diesel::update(documents::table.filter(documents::tenant_id.eq(tenant.as_uuid())))
        .filter(documents::status.eq("stale"))
        .set((documents::status.eq("ready"), documents::embedding_model.eq(&next.name)))
        .execute(conn)
        .await?;
    drop_other_vectors(conn, tenant, &next.name).await?;
    Ok(true)
}

async fn drop_other_vectors(conn: &mut AsyncPgConnection, tenant: TenantId, keep: &str) -> DbResult<usize> {
    Ok(diesel::delete(
        chunk_embeddings::table
            .filter(chunk_embeddings::tenant_id.eq(tenant.as_uuid()))
            .filter(chunk_embeddings::model.ne(keep)),
    )
    .execute(conn)
    .await?)
}

/// Tenants with a switch under way (the re-embedding job's work list). Runs as the owner (no tenant set).
pub async fn switching_tenants(conn: &mut AsyncPgConnection) -> DbResult<Vec<uuid::Uuid>> {
    Ok(tenants::table.filter(tenants::embedding_model_next.is_not_null()).select(tenants::id).load(conn).await?)
}
