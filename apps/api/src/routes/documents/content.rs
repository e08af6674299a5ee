//! `PUT /documents/{id}/content` (a new version), `POST /documents/{id}/reprocess`, `GET /documents/{id}/chunks`.

use actix_web::{HttpRequest, HttpResponse, web};
use garde::Validate;
use meta_chat_billing::quota;
use meta_chat_database::DbError;
use meta_chat_database::documents::{self, NewContent};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::usage::Metric;
use meta_chat_shared::api_keys::ApiScope;
use meta_chat_shared::ids::DocumentId;
use uuid::Uuid;

use super::dto::{ChunkList, ChunkListQuery, ChunkResponse, DocumentResponse};
use super::{body, connection, duplicate, internal, queue_ingestion};
use crate::caller::Caller;
use crate::error::{ApiError, ErrorEnvelope, FieldError};
use crate::state::AppState;

/// Replace a document's content: the version is bumped and the new content processed; the old chunks keep
/// answering until the new version is ready.
#[utoipa::path(
    put,
    path = "/documents/{id}/content",
    tag = "documents",
    params(("id" = Uuid, Path, description = "Document id")),
    request_body(content = super::dto::TextDocumentRequest, description = "As `POST /documents`"),
    security(("bearerAuth" = []), ("apiKey" = [])),
    responses(
        (status = 202, description = "The new version is `pending`", body = DocumentResponse),
        (status = 402, description = "`PLAN_LIMIT_EXCEEDED`: storage_bytes", body = ErrorEnvelope),
        (status = 404, description = "`DOCUMENT_NOT_FOUND`", body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT`: another document has this content", body = ErrorEnvelope),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`", body = ErrorEnvelope),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn replace_content(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::DocumentsWrite)?;
    let (tenant, id) = (caller.tenant_id(), DocumentId::from_uuid(path.into_inner()));
    let upload = body::read(&req, payload, state.config.knowledge.max_document_bytes).await?;
    let billing = state.config.billing.clone();
    let mut conn = connection(&state).await?;
    let outcome = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let Some(current) = documents::lock(conn, tenant, id).await? else {
                return Ok(Err(ApiError::DocumentNotFound));
            };
            let size = u64::try_from(upload.bytes.len()).unwrap_or(u64::MAX);
            let growth = size.saturating_sub(u64::try_from(current.size_bytes).unwrap_or(0));
            let mut alerts = match quota::make_room(conn, tenant, Metric::StorageBytes, growth, &billing).await? {
                Ok(alerts) => alerts,
                Err(exceeded) => return Ok(Err(ApiError::from(exceeded))),
            };
            let content =
                NewContent { mime_type: upload.kind.mime_type(), bytes: &upload.bytes, checksum: upload.checksum };
            let document = match documents::replace_content(conn, tenant, id, &content).await {
                Ok(Some(document)) => document,
                Ok(None) => return Ok(Err(ApiError::DocumentNotFound)),
                Err(DbError::Conflict(_)) => return Ok(Err(duplicate())),
                Err(err) => return Err(err),
            };
            alerts.extend(queue_ingestion(conn, tenant, &document).await?);
            Ok::<_, DbError>(Ok((document, alerts)))
        })
    })
    .await
    .map_err(internal)?;
    let (document, events) = outcome?;
    state.relay.publish_committed(tenant, events).await;
    tracing::info!(document.id = %document.id, document.version = document.version, "document content replaced");
    Ok(HttpResponse::Accepted().json(DocumentResponse::from(document)))
}

/// Process the current version again (after a failure, or to pick up a chunking change).
#[utoipa::path(
    post,
    path = "/documents/{id}/reprocess",
    tag = "documents",
    params(("id" = Uuid, Path, description = "Document id")),
    security(("bearerAuth" = []), ("apiKey" = [])),
    responses(
        (status = 202, description = "Queued, `pending`", body = DocumentResponse),
        (status = 404, description = "`DOCUMENT_NOT_FOUND`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn reprocess(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::DocumentsWrite)?;
    let (tenant, id) = (caller.tenant_id(), DocumentId::from_uuid(path.into_inner()));
    let mut conn = connection(&state).await?;
    let queued = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let Some(document) = documents::reprocess(conn, tenant, id).await? else { return Ok(None) };
            let events = queue_ingestion(conn, tenant, &document).await?;
            Ok::<_, DbError>(Some((document, events)))
        })
    })
    .await
    .map_err(internal)?;
    let (document, events) = queued.ok_or(ApiError::DocumentNotFound)?;
    state.relay.publish_committed(tenant, events).await;
    Ok(HttpResponse::Accepted().json(DocumentResponse::from(document)))
}

/// The chunks of a document's current version, in order.
#[utoipa::path(
    get,
    path = "/documents/{id}/chunks",
    tag = "documents",
    params(("id" = Uuid, Path, description = "Document id"), ChunkListQuery),
    security(("bearerAuth" = []), ("apiKey" = [])),
    responses(
        (status = 200, description = "A page of chunks", body = ChunkList),
        (status = 404, description = "`DOCUMENT_NOT_FOUND`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn list_chunks(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<ChunkListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::DocumentsRead)?;
    let query = query.into_inner();
    query.validate()?;
    let after = match query.cursor.as_deref() {
        None => None,
        Some(cursor) => Some(cursor.parse::<i32>().ok().filter(|p| *p >= 0).ok_or_else(|| {
            ApiError::Validation(vec![FieldError::new("cursor", "is not a cursor this API returned")])
        })?),
    };
    let (tenant, id) = (caller.tenant_id(), DocumentId::from_uuid(path.into_inner()));
    let limit = query.limit.unwrap_or(20);
    let mut conn = connection(&state).await?;
    let page = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            if documents::find(conn, tenant, id).await?.is_none() {
                return Ok(None);
            }
            documents::chunks::list(conn, tenant, id, limit, after).await.map(Some)
        })
    })
    .await
    .map_err(internal)?;
    let (chunks, next) = page.ok_or(ApiError::DocumentNotFound)?;
    Ok(HttpResponse::Ok().json(ChunkList {
        data: chunks.into_iter().map(ChunkResponse::from).collect(),
        next_cursor: next.map(|position| position.to_string()),
    }))
}
