//! The knowledge base: `GET/POST /documents`, `GET/PATCH/DELETE /documents/{id}`, `PUT /documents/{id}/content`,
//! `POST /documents/{id}/reprocess`, `GET /documents/{id}/chunks` and `POST /search` (in [`search`]).
//! Users of any role, or API keys with `documents:read` / `documents:write`.
//!
//! An upload is checked (size from the bytes, type from the content: see [`body`]), counted against the
//! plan's `documents` and `storage_bytes`, stored with its bytes as `pending`, and `document.uploaded` is
//! recorded in the same transaction; the worker ingests it. Identical content already in the tenant's
//! knowledge base is 409 `CONFLICT` (`details.field: "content"`). Status changes only through processing.

mod body;
pub mod content;
pub mod dto;
pub mod search;

use actix_web::{HttpRequest, HttpResponse, web};
use garde::Validate;
use meta_chat_billing::quota;
use meta_chat_database::documents::{self, Document, Inserted, NewContent, NewDocument};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::usage::Metric;
use meta_chat_database::{DbError, PooledConnection};
use meta_chat_events::{Envelope, EventType};
use meta_chat_orchestrator::documents::document_event;
use meta_chat_shared::api_keys::ApiScope;
use meta_chat_shared::ids::{DocumentId, TenantId};
use uuid::Uuid;

use self::dto::{DocumentList, DocumentListQuery, DocumentResponse, UpdateDocumentRequest};
use crate::caller::Caller;
use crate::error::{ApiError, ErrorEnvelope, FieldError};
use crate::routes::conversations::page;
use crate::state::AppState;

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/documents").route(web::get().to(list_documents)).route(web::post().to(create_document)),
    )
    .service(
        web::resource("/documents/{id}")
            .route(web::get().to(get_document))
            .route(web::patch().to(update_document))
            .route(web::delete().to(delete_document)),
    )
    .service(web::resource("/documents/{id}/content").route(web::put().to(content::replace_content)))
    .service(web::resource("/documents/{id}/reprocess").route(web::post().to(content::reprocess)))
    .service(web::resource("/documents/{id}/chunks").route(web::get().to(content::list_chunks)))
    .service(web::resource("/search").route(web::post().to(search::search)));
}

pub(crate) async fn connection(state: &AppState) -> Result<PooledConnection, ApiError> {
    state.db.get().await.map_err(|err| internal(DbError::from(err)))
}

pub(crate) fn internal(err: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(err.into())
}

/// Records `document.uploaded` for the document's current version (in the caller's transaction).
pub(crate) async fn queue_ingestion(
    conn: &mut meta_chat_database::AsyncPgConnection,
    tenant: TenantId,
    document: &Document,
) -> Result<Vec<Envelope>, DbError> {
    let events = vec![document_event(EventType::DocumentUploaded, tenant, document)];
    meta_chat_events::outbox::record(conn, tenant, &events).await?;
    Ok(events)
}

/// Upload a document: `multipart/form-data` (part `file`, optional `metadata` JSON part) or JSON text.
#[utoipa::path(
    post,
    path = "/documents",
    tag = "documents",
    request_body(content = dto::TextDocumentRequest, description = "JSON text, or multipart/form-data with a `file` part and an optional `metadata` part"),
    security(("bearerAuth" = []), ("apiKey" = [])),
    responses(
        (status = 202, description = "Stored, `pending`: ingestion is queued", body = DocumentResponse),
        (status = 400, description = "`VALIDATION_ERROR` (no file part, empty, bad metadata)", body = ErrorEnvelope),
        (status = 402, description = "`PLAN_LIMIT_EXCEEDED`: documents or storage_bytes", body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT`: the same content is already a document", body = ErrorEnvelope),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`: beyond `knowledge.max_document_bytes`", body = ErrorEnvelope),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: not PDF, DOCX, HTML, Markdown, text or CSV, or not what it claims", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn create_document(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::DocumentsWrite)?;
    let tenant = caller.tenant_id();
    let upload = body::read(&req, payload, state.config.knowledge.max_document_bytes).await?;
    let size = u64::try_from(upload.bytes.len()).unwrap_or(u64::MAX);
    let billing = state.config.billing.clone();
    let uploaded_by = caller.user_id();
    let mut conn = connection(&state).await?;
    let outcome = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let mut alerts = match quota::make_room(conn, tenant, Metric::Documents, 1, &billing).await? {
                Ok(alerts) => alerts,
                Err(exceeded) => return Ok(Err(ApiError::from(exceeded))),
            };
            match quota::make_room(conn, tenant, Metric::StorageBytes, size, &billing).await? {
                Ok(more) => alerts.extend(more),
                Err(exceeded) => return Ok(Err(ApiError::from(exceeded))),
            }
            let content =
                NewContent { mime_type: upload.kind.mime_type(), bytes: &upload.bytes, checksum: upload.checksum };
            let new =
                NewDocument { filename: &upload.filename, content, metadata: upload.metadata.clone(), uploaded_by };
            let document = match documents::insert(conn, tenant, &new).await? {
                Inserted::Created(document) => document,
                Inserted::Duplicate(_) => return Ok(Err(duplicate())),
            };
            alerts.extend(queue_ingestion(conn, tenant, &document).await?);
            Ok::<_, DbError>(Ok((document, alerts)))
        })
    })
    .await
    .map_err(internal)?;
    let (document, events) = outcome?;
    state.relay.publish_committed(tenant, events).await;
    tracing::info!(document.id = %document.id, document.size = document.size_bytes, "document uploaded");
    Ok(HttpResponse::Accepted().json(DocumentResponse::from(document)))
}

pub(crate) fn duplicate() -> ApiError {
    ApiError::Conflict { field: "content", message: "A document with exactly this content already exists." }
}

/// The tenant's documents, newest first.
#[utoipa::path(
    get,
    path = "/documents",
    tag = "documents",
    params(DocumentListQuery),
    security(("bearerAuth" = []), ("apiKey" = [])),
    responses(
        (status = 200, description = "A page of documents", body = DocumentList),
        (status = 400, description = "`VALIDATION_ERROR` / `INVALID_QUERY`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn list_documents(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<DocumentListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::DocumentsRead)?;
    let query = query.into_inner();
    query.validate()?;
    let page = page(query.limit, query.cursor.as_deref())?;
    let tenant = caller.tenant_id();
    let status = query.status.map(dto::DocumentStatusDto::as_str);
    let mut conn = connection(&state).await?;
    let (rows, next_cursor) = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move { documents::list(conn, tenant, status, &page).await })
    })
    .await
    .map_err(internal)?;
    Ok(HttpResponse::Ok()
        .json(DocumentList { data: rows.into_iter().map(DocumentResponse::from).collect(), next_cursor }))
}

/// One document.
#[utoipa::path(
    get,
    path = "/documents/{id}",
    tag = "documents",
    params(("id" = Uuid, Path, description = "Document id")),
    security(("bearerAuth" = []), ("apiKey" = [])),
    responses(
        (status = 200, description = "The document", body = DocumentResponse),
        (status = 404, description = "`DOCUMENT_NOT_FOUND` (another tenant's ids too)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn get_document(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::DocumentsRead)?;
    let (tenant, id) = (caller.tenant_id(), DocumentId::from_uuid(path.into_inner()));
    let mut conn = connection(&state).await?;
    let document = in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(documents::find(conn, tenant, id)))
        .await
        .map_err(internal)?
        .ok_or(ApiError::DocumentNotFound)?;
    Ok(HttpResponse::Ok().json(DocumentResponse::from(document)))
}

/// Rename a document or replace its metadata. `status` is not accepted (400): only processing sets it.
#[utoipa::path(
    patch,
    path = "/documents/{id}",
    tag = "documents",
    params(("id" = Uuid, Path, description = "Document id")),
    request_body = UpdateDocumentRequest,
    security(("bearerAuth" = []), ("apiKey" = [])),
    responses(
        (status = 200, description = "The updated document", body = DocumentResponse),
        (status = 400, description = "`VALIDATION_ERROR` (unknown fields such as `status` included)", body = ErrorEnvelope),
        (status = 404, description = "`DOCUMENT_NOT_FOUND`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn update_document(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: web::Json<UpdateDocumentRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::DocumentsWrite)?;
    let body = body.into_inner();
    body.validate()?;
    if body.filename.as_deref().is_some_and(|name| name.trim().is_empty()) {
        return Err(ApiError::Validation(vec![FieldError::new("filename", "must not be blank")]));
    }
    if body.metadata.as_ref().is_some_and(|m| !m.is_object() || m.to_string().len() > 16 * 1024) {
        return Err(ApiError::Validation(vec![FieldError::new("metadata", "must be a JSON object of at most 16 KB")]));
    }
    let (tenant, id) = (caller.tenant_id(), DocumentId::from_uuid(path.into_inner()));
    let mut conn = connection(&state).await?;
    let document = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(
            async move { documents::update(conn, tenant, id, body.filename.as_deref(), body.metadata.as_ref()).await },
        )
    })
    .await
    .map_err(internal)?
    .ok_or(ApiError::DocumentNotFound)?;
    Ok(HttpResponse::Ok().json(DocumentResponse::from(document)))
}

/// Delete a document with its content, chunks and embeddings.
#[utoipa::path(
    delete,
    path = "/documents/{id}",
    tag = "documents",
    params(("id" = Uuid, Path, description = "Document id")),
    security(("bearerAuth" = []), ("apiKey" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`DOCUMENT_NOT_FOUND`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn delete_document(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::DocumentsWrite)?;
    let (tenant, id) = (caller.tenant_id(), DocumentId::from_uuid(path.into_inner()));
    let mut conn = connection(&state).await?;
    let deleted = in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(documents::delete(conn, tenant, id)))
        .await
        .map_err(internal)?;
    if !deleted {
        return Err(ApiError::DocumentNotFound);
    }
    tracing::info!(document.id = %id, "document deleted");
    Ok(HttpResponse::NoContent().finish())
}
