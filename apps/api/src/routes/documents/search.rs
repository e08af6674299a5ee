//! `POST /search`: the retrieval tester. Runs exactly the retrieval the assistant uses (hybrid, fused, the
//! tenant's `rag` settings) and returns the scored chunks, so a tenant can see why an answer cited what it did.

use actix_web::{HttpResponse, web};
use garde::Validate;
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::tenants;
use meta_chat_rag::retrieval::{self, Query};
use meta_chat_shared::api_keys::ApiScope;

use super::dto::{SearchHit, SearchRequest, SearchResponse};
use super::{connection, internal};
use crate::caller::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::state::AppState;

/// Search the knowledge base: query → scored chunks, best first.
#[utoipa::path(
    post,
    path = "/search",
    tag = "documents",
    request_body = SearchRequest,
    security(("bearerAuth" = []), ("apiKey" = [])),
    responses(
        (status = 200, description = "The relevant chunks (empty when nothing relevant was found)", body = SearchResponse),
        (status = 400, description = "`VALIDATION_ERROR`", body = ErrorEnvelope),
        (status = 502, description = "`EXTERNAL_SERVICE_ERROR`: the embedding provider failed", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn search(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<SearchRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::DocumentsRead)?;
    let body = body.into_inner();
    body.validate()?;
    let tenant = caller.tenant_id();
    let mut conn = connection(&state).await?;
    let details = in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(tenants::find_details(conn, tenant)))
        .await
        .map_err(internal)?
        .ok_or(ApiError::NotFound)?;
    let mut settings = details.settings().rag;
    if let Some(min_score) = body.min_score {
        settings.min_score = min_score;
    }
    let query = Query { text: body.query.trim(), settings: &settings, top_k: body.top_k };
    let hits = retrieval::search(&mut conn, tenant, &state.embedders, &state.config.knowledge, query).await.map_err(
        |err| match err {
            retrieval::RetrievalError::Embedding(cause) => {
                ApiError::ExternalService { service: "embedding provider", cause: cause.kind().to_owned() }
            }
            other => internal(other),
        },
    )?;
    let data = hits
        .into_iter()
        .map(|hit| SearchHit {
            chunk_id: hit.candidate.chunk_id,
            document_id: hit.candidate.document_id,
            filename: hit.candidate.filename,
            content: hit.candidate.content,
            score: hit.score,
            vector_score: hit.candidate.similarity,
            keyword_score: hit.candidate.coverage,
            metadata: hit.candidate.metadata,
        })
        .collect();
    Ok(HttpResponse::Ok().json(SearchResponse { data }))
}
