//! Chunks of a document's current version with their embeddings, one row per (chunk, model).
//! [`complete`] replaces a document's chunks in one transaction, so processing the same version twice
//! (a redelivered event, a reprocess) leaves exactly one set of chunks.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::{DocumentId, TenantId};
use pgvector::Vector;
use uuid::Uuid;

use super::Document;
use crate::error::{DbError, DbResult};
use crate::schema::{chunk_embeddings, chunks, documents};

/// Rows per INSERT statement (PostgreSQL allows 65,535 bind parameters per statement).
const BATCH: usize = 500;

/// A chunk to store.
#[derive(Debug, Clone)]
pub struct NewChunk {
    /// 0-based position in the document.
    pub position: i32,
    /// The text.
    pub content: String,
    /// Tokens in `content`.
    pub token_count: i32,
    /// Page, heading path, character offsets.
    pub metadata: serde_json::Value,
}

/// The vectors of one model for every chunk, in chunk order.
#[derive(Debug, Clone)]
pub struct ModelVectors {
    /// Registered model name.
    pub model: String,
    /// One vector per chunk.
    pub vectors: Vec<Vec<f32>>,
}

/// The result of processing one version of a document.
#[derive(Debug, Clone)]
pub struct Completed {
    /// The version processed.
    pub version: i32,
    /// Detected language.
    pub language: Option<String>,
    /// The chunks, in order.
    pub chunks: Vec<NewChunk>,
    /// Embeddings: the tenant's active model first, then the model being switched to, if any.
    pub embeddings: Vec<ModelVectors>,
}

/// A stored chunk.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = chunks, check_for_backend(diesel::pg::Pg))]
pub struct Chunk {
    /// Id.
    pub id: Uuid,
    /// Its document.
    pub document_id: Uuid,
    /// Position in the document.
    pub position: i32,
    /// The text.
    pub content: String,
    /// Tokens.
    pub token_count: i32,
    /// Page, heading path, character offsets.
    pub metadata: serde_json::Value,
}

/// Stores the chunks and embeddings of `completed.version` in place of any earlier ones and marks the
/// document `ready`. `None` (and nothing written) when the document is gone or a newer version exists.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: DocumentId,
    completed: &Completed,
) -> DbResult<Option<Document>> {
    let Some(document) = super::lock(conn, tenant, id).await? else { return Ok(None) };
    if document.version != completed.version {
        return Ok(None);
    }
    if completed.embeddings.iter().any(|model| model.vectors.len() != completed.chunks.len()) {
        return Err(DbError::InvalidInput("one embedding per chunk is required".into()));
    }
    let tenant_id = tenant.as_uuid();
    diesel::delete(chunks::table.filter(chunks::tenant_id.eq(tenant_id).and(chunks::document_id.eq(document.id))))
        .execute(conn)
        .await?;
    let ids: Vec<Uuid> = completed.chunks.iter().map(|_| Uuid::now_v7()).collect();
    for (batch, batch_ids) in completed.chunks.chunks(BATCH).zip(ids.chunks(BATCH)) {
        let rows: Vec<_> = batch
            .iter()
            .zip(batch_ids)
            .map(|(chunk, id)| {
                (
                    chunks::tenant_id.eq(tenant_id),
                    chunks::id.eq(*id),
                    chunks::document_id.eq(document.id),
                    chunks::document_version.eq(completed.version),
                    chunks::position.eq(chunk.position),
                    chunks::content.eq(&chunk.content),
                    chunks::token_count.eq(chunk.token_count),
                    chunks::metadata.eq(&chunk.metadata),
                )
            })
            .collect();
        diesel::insert_into(chunks::table).values(rows).execute(conn).await?;
    }
    for model in &completed.embeddings {
        let pairs: Vec<(Uuid, &Vec<f32>)> = ids.iter().copied().zip(&model.vectors).collect();
        insert_vectors(conn, tenant, &model.model, &pairs).await?;
    }
    let chunk_count =
        i32::try_from(completed.chunks.len()).map_err(|_| DbError::InvalidInput("too many chunks".into()))?;
    let active = <[ModelVectors]>::first(&completed.embeddings).map(|model| model.model.as_str());
    Ok(Some(
        diesel::update(documents::table)
            .filter(documents::tenant_id.eq(tenant_id).and(documents::id.eq(document.id)))
            .set((
                documents::status.eq("ready"),
                documents::status_reason.eq(None::<String>),
                documents::language.eq(completed.language.as_deref()),
                documents::chunk_count.eq(chunk_count),
                documents::embedding_model.eq(active),
                documents::processed_at.eq(diesel::dsl::now),
            ))
            .returning(Document::as_returning())
            .get_result(conn)
            .await?,
    ))
}

/// Stores vectors of `model` for existing chunks; chunks that no longer exist and vectors already stored
/// are skipped. Returns how many were stored.
pub async fn insert_vectors(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    model: &str,
    vectors: &[(Uuid, &Vec<f32>)],
) -> DbResult<usize> {
    let mut stored = 0;
    for batch in vectors.chunks(BATCH) {
        let ids: Vec<Uuid> = batch.iter().map(|(id, _)| *id).collect();
        let existing: Vec<Uuid> = chunks::table
            .filter(chunks::tenant_id.eq(tenant.as_uuid()).and(chunks::id.eq_any(&ids)))
            .select(chunks::id)
            .for_key_share()
            .load(conn)
            .await?;
        let rows: Vec<_> = batch
            .iter()
            .filter(|(id, _)| existing.contains(id))
            .map(|(id, vector)| {
                (
                    chunk_embeddings::tenant_id.eq(tenant.as_uuid()),
                    chunk_embeddings::chunk_id.eq(*id),
                    chunk_embeddings::model.eq(model),
                    chunk_embeddings::embedding.eq(Vector::from((*vector).clone())),
                )
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        stored +=
            diesel::insert_into(chunk_embeddings::table).values(rows).on_conflict_do_nothing().execute(conn).await?;
    }
    Ok(stored)
}

/// A page of a document's chunks in position order, starting after `after` (a position).
pub async fn list(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: DocumentId,
    limit: u32,
    after: Option<i32>,
) -> DbResult<(Vec<Chunk>, Option<i32>)> {
    let limit = i64::from(limit.clamp(1, 100));
    let mut rows: Vec<Chunk> = chunks::table
        .filter(chunks::tenant_id.eq(tenant.as_uuid()).and(chunks::document_id.eq(id.as_uuid())))
        .filter(chunks::position.gt(after.unwrap_or(-1)))
        .order(chunks::position.asc())
        .limit(limit + 1)
        .select(Chunk::as_select())
        .load(conn)
        .await?;
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    if more {
        rows.pop();
    }
    let next = if more { rows.last().map(|chunk| chunk.position) } else { None };
    Ok((rows, next))
}

/// Chunks of searchable documents that have no vector of `model` yet (for a model switch), oldest first.
pub async fn missing_vectors(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    model: &str,
    limit: i64,
) -> DbResult<Vec<(Uuid, String)>> {
    let has_vector = chunk_embeddings::table
        .filter(chunk_embeddings::chunk_id.eq(chunks::id).and(chunk_embeddings::model.eq(model.to_owned())));
    Ok(chunks::table
        .inner_join(
            documents::table.on(documents::tenant_id.eq(chunks::tenant_id).and(documents::id.eq(chunks::document_id))),
        )
        .filter(chunks::tenant_id.eq(tenant.as_uuid()))
        .filter(documents::status.eq_any(super::SEARCHABLE))
        .filter(chunks::document_version.eq(documents::version))
        .filter(diesel::dsl::not(diesel::dsl::exists(has_vector)))
        .order(chunks::id.asc())
        .limit(limit)
        .select((chunks::id, chunks::content))
        .load(conn)
        .await?)
}
