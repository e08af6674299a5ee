//! `GET /conversations/{id}/messages/{messageId}/media`: the file of an inbound media message, as the
//! platform kept it (WhatsApp media URLs expire). Every tenant role may read it; API keys need
//! `conversations:read`. The file is always served as an attachment with `nosniff`, so a file an end user
//! sent can never run as a page of the API's origin.

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{conversations, media, pipeline};
use meta_chat_shared::api_keys::ApiScope;
use meta_chat_shared::ids::ConversationId;
use uuid::Uuid;

use crate::accounts::{connection, internal};
use crate::caller::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::state::AppState;

/// Registers the route (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/conversations/{id}/messages/{messageId}/media").route(web::get().to(get_message_media)),
    );
}

/// The file of an inbound media message.
#[utoipa::path(
    get,
    path = "/conversations/{id}/messages/{messageId}/media",
    tag = "inbox",
    params(("id" = Uuid, Path, description = "Conversation id"), ("messageId" = Uuid, Path, description = "Message id")),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 200, description = "The file, as an attachment, with its content type", content_type = "application/octet-stream"),
        (status = 403, description = "An API key without `conversations:read`", body = ErrorEnvelope),
        (status = 404, description = "Unknown conversation or message (or another tenant's), or no file kept", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn get_message_media(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::ConversationsRead)?;
    let (conversation, message) = path.into_inner();
    let tenant = caller.tenant_id();
    let mut conn = connection(&state).await?;
    let file = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let Some(found) = pipeline::find_message(conn, tenant, message).await? else { return Ok(None) };
            if found.conversation_id != conversation
                || conversations::find(conn, tenant, ConversationId::from_uuid(conversation)).await?.is_none()
            {
                return Ok(None);
            }
            media::for_message(conn, tenant, message).await
        })
    })
    .await
    .map_err(internal)?
    .ok_or(ApiError::NotFound)?;
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(format!("{}", file.id))],
    };
    Ok(HttpResponse::Ok()
        .content_type(file.mime_type.as_str())
        .insert_header(disposition)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(file.data))
}
