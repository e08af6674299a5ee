//! Knowledge-base documents: the row, its original bytes (kept so a failed document can be reprocessed),
//! and the status machine `pending → processing → ready | failed`, plus `stale` while the tenant's
//! embedding model is being changed. Status is only ever set here, by the processing steps — never from a
//! client's input. Every function runs in the tenant's transaction ([`crate::tenant::in_tenant_tx`]).
//!
//! Chunks and their embeddings are in [`chunks`]; retrieval queries in [`search`].

pub mod chunks;
pub mod search;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::{DocumentId, TenantId, UserId};
use uuid::Uuid;

use crate::error::{DbError, DbResult};
use crate::keyset::{Keyset, PageRequest};
use crate::schema::{document_contents, documents};

/// The statuses a document can be in.
pub const STATUSES: [&str; 5] = ["pending", "processing", "ready", "failed", "stale"];
/// The statuses whose chunks are searched (`stale` keeps serving with the old model during a switch).
pub const SEARCHABLE: [&str; 2] = ["ready", "stale"];

/// A document row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = documents, check_for_backend(diesel::pg::Pg))]
pub struct Document {
    /// Id.
    pub id: Uuid,
    /// The name the client gave it.
    pub filename: String,
    /// The detected type.
    pub mime_type: String,
    /// Size of the original bytes.
    pub size_bytes: i64,
    /// SHA-256 of the original bytes.
    pub checksum: Vec<u8>,
    /// `pending`, `processing`, `ready`, `failed` or `stale`.
    pub status: String,
    /// Why processing failed.
    pub status_reason: Option<String>,
    /// Bumped by every content replacement.
    pub version: i32,
    /// Detected language (ISO 639-1).
    pub language: Option<String>,
    /// Chunks of the current version.
    pub chunk_count: i32,
    /// The model the chunks were last embedded with.
    pub embedding_model: Option<String>,
    /// The client's metadata object.
    pub metadata: serde_json::Value,
    /// The user who uploaded it (API-key uploads have none).
    pub uploaded_by: Option<Uuid>,
    /// When the current version became ready.
    pub processed_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A new document's content.
#[derive(Debug, Clone)]
pub struct NewContent<'a> {
    /// The detected type.
    pub mime_type: &'a str,
    /// The original bytes.
    pub bytes: &'a [u8],
    /// SHA-256 of `bytes`.
    pub checksum: [u8; 32],
}

/// A document to create.
#[derive(Debug, Clone)]
pub struct NewDocument<'a> {
    /// Its name.
    pub filename: &'a str,
    /// Its content.
    pub content: NewContent<'a>,
    /// The client's metadata object.
    pub metadata: serde_json::Value,
    /// The uploading user.
    pub uploaded_by: Option<UserId>,
}

/// What [`insert`] did.
#[derive(Debug, Clone)]
pub enum Inserted {
    /// A new document, `pending`.
    Created(Document),
    /// The tenant already has a document with these exact bytes; it is returned unchanged.
    Duplicate(Document),
}

fn size_of(bytes: &[u8]) -> DbResult<i64> {
    i64::try_from(bytes.len()).map_err(|_| DbError::InvalidInput("document is too large".into()))
}

/// Stores a document and its bytes, `pending`. Identical bytes for the same tenant are not stored twice.
pub async fn insert(conn: &mut AsyncPgConnection, tenant: TenantId, new: &NewDocument<'_>) -> DbResult<Inserted> {
    let id = Uuid::now_v7();
    let created: Option<Document> = diesel::insert_into(documents::table)
        .values((
            documents::tenant_id.eq(tenant.as_uuid()),
            documents::id.eq(id),
            documents::filename.eq(new.filename),
            documents::mime_type.eq(new.content.mime_type),
            documents::size_bytes.eq(size_of(new.content.bytes)?),
            documents::checksum.eq(new.content.checksum.as_slice()),
            documents::metadata.eq(&new.metadata),
            documents::uploaded_by.eq(new.uploaded_by.map(|user| user.as_uuid())),
        ))
        .on_conflict((documents::tenant_id, documents::checksum))
        .do_nothing()
        .returning(Document::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    let Some(document) = created else {
        let existing = documents::table
            .filter(documents::tenant_id.eq(tenant.as_uuid()))
            .filter(documents::checksum.eq(new.content.checksum.as_slice()))
            .select(Document::as_select())
            .first(conn)
            .await?;
        return Ok(Inserted::Duplicate(existing));
    };
    diesel::insert_into(document_contents::table)
        .values((
            document_contents::tenant_id.eq(tenant.as_uuid()),
            document_contents::document_id.eq(id),
            document_contents::version.eq(1),
            document_contents::bytes.eq(new.content.bytes),
        ))
        .execute(conn)
        .await?;
    Ok(Inserted::Created(document))
}

/// One document; `None` for unknown ids and other tenants' ids.
pub async fn find(conn: &mut AsyncPgConnection, tenant: TenantId, id: DocumentId) -> DbResult<Option<Document>> {
    Ok(documents::table
        .filter(documents::tenant_id.eq(tenant.as_uuid()).and(documents::id.eq(id.as_uuid())))
        .select(Document::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Like [`find`], locking the row for the rest of the transaction.
pub async fn lock(conn: &mut AsyncPgConnection, tenant: TenantId, id: DocumentId) -> DbResult<Option<Document>> {
    Ok(documents::table
        .filter(documents::tenant_id.eq(tenant.as_uuid()).and(documents::id.eq(id.as_uuid())))
        .select(Document::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Newest first, `(created_at, id)` keyset pagination, optionally only one status.
pub async fn list(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    status: Option<&str>,
    page: &PageRequest,
) -> DbResult<(Vec<Document>, Option<String>)> {
    let mut query = documents::table.filter(documents::tenant_id.eq(tenant.as_uuid())).into_boxed();
    if let Some(status) = status {
        query = query.filter(documents::status.eq(status.to_owned()));
    }
    if let Some(after) = page.after {
        query = query.filter(
            documents::created_at.lt(after.at).or(documents::created_at.eq(after.at).and(documents::id.lt(after.id))),
        );
    }
    let rows = query
        .order((documents::created_at.desc(), documents::id.desc()))
        .limit(page.fetch_limit())
        .select(Document::as_select())
        .load(conn)
        .await?;
    Ok(page.finish(rows, |row| Keyset { at: row.created_at, id: row.id }))
}

/// Renames a document or replaces its metadata object (`None`: unchanged).
pub async fn update(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: DocumentId,
    filename: Option<&str>,
    metadata: Option<&serde_json::Value>,
) -> DbResult<Option<Document>> {
    let Some(current) = lock(conn, tenant, id).await? else { return Ok(None) };
    Ok(Some(
        diesel::update(documents::table)
            .filter(documents::tenant_id.eq(tenant.as_uuid()).and(documents::id.eq(current.id)))
            .set((
                documents::filename.eq(filename.unwrap_or(&current.filename)),
                documents::metadata.eq(metadata.unwrap_or(&current.metadata)),
            ))
            .returning(Document::as_returning())
            .get_result(conn)
            .await?,
    ))
}

/// Replaces the content with a new version: the version is bumped, the bytes replaced and the document is
/// `pending` again. The old chunks keep serving until the new version is ready. A checksum that another
/// of the tenant's documents has is a `Conflict` on `documents_tenant_id_checksum_key`.
pub async fn replace_content(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: DocumentId,
    content: &NewContent<'_>,
) -> DbResult<Option<Document>> {
    let Some(current) = lock(conn, tenant, id).await? else { return Ok(None) };
    let document: Document = diesel::update(documents::table)
        .filter(documents::tenant_id.eq(tenant.as_uuid()).and(documents::id.eq(current.id)))
        .set((
            documents::mime_type.eq(content.mime_type),
            documents::size_bytes.eq(size_of(content.bytes)?),
            documents::checksum.eq(content.checksum.as_slice()),
            documents::version.eq(current.version + 1),
            documents::status.eq("pending"),
            documents::status_reason.eq(None::<String>),
        ))
        .returning(Document::as_returning())
        .get_result(conn)
        .await?;
    diesel::update(document_contents::table)
        .filter(document_contents::tenant_id.eq(tenant.as_uuid()).and(document_contents::document_id.eq(current.id)))
        .set((document_contents::version.eq(document.version), document_contents::bytes.eq(content.bytes)))
        .execute(conn)
        .await?;
    Ok(Some(document))
}

/// Queues the current version for processing again (`pending`, reason cleared).
pub async fn reprocess(conn: &mut AsyncPgConnection, tenant: TenantId, id: DocumentId) -> DbResult<Option<Document>> {
    Ok(diesel::update(documents::table)
        .filter(documents::tenant_id.eq(tenant.as_uuid()).and(documents::id.eq(id.as_uuid())))
        .set((documents::status.eq("pending"), documents::status_reason.eq(None::<String>)))
        .returning(Document::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Deletes a document with its bytes, chunks and embeddings (cascade); `false` when there was none.
pub async fn delete(conn: &mut AsyncPgConnection, tenant: TenantId, id: DocumentId) -> DbResult<bool> {
    let deleted = diesel::delete(documents::table)
        .filter(documents::tenant_id.eq(tenant.as_uuid()).and(documents::id.eq(id.as_uuid())))
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}

/// The stored bytes and their version.
pub async fn content(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: DocumentId,
) -> DbResult<Option<(i32, Vec<u8>)>> {
    Ok(document_contents::table
        .filter(document_contents::tenant_id.eq(tenant.as_uuid()).and(document_contents::document_id.eq(id.as_uuid())))
        .select((document_contents::version, document_contents::bytes))
        .first(conn)
        .await
        .optional()?)
}

/// Marks `version` of the document `processing`, unless it is gone, a newer version exists or that version
/// is already `ready` (a redelivered event): then `None`, and there is nothing to do.
pub async fn start_processing(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: DocumentId,
    version: i32,
) -> DbResult<Option<Document>> {
    Ok(diesel::update(documents::table)
        .filter(documents::tenant_id.eq(tenant.as_uuid()).and(documents::id.eq(id.as_uuid())))
        .filter(documents::version.eq(version))
        .filter(documents::status.eq_any(["pending", "processing", "failed"]))
        .set((documents::status.eq("processing"), documents::status_reason.eq(None::<String>)))
        .returning(Document::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

/// Marks `version` of the document `failed` with a reason shown to the tenant (cut to 1,000 characters).
/// The bytes stay, so [`reprocess`] can succeed later. `None` when a newer version exists.
pub async fn fail(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: DocumentId,
    version: i32,
    reason: &str,
) -> DbResult<Option<Document>> {
    let reason: String = reason.chars().take(1000).collect();
    Ok(diesel::update(documents::table)
        .filter(documents::tenant_id.eq(tenant.as_uuid()).and(documents::id.eq(id.as_uuid())))
        .filter(documents::version.eq(version))
        .set((documents::status.eq("failed"), documents::status_reason.eq(reason)))
        .returning(Document::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}
