//! End users and GDPR: `GET /contacts/{id}/export` (everything stored about one contact, as JSON) and
//! `DELETE /contacts/{id}` (erase them; audited). Owners and admins only: these are data-protection
//! operations, not inbox work. An API key needs the `admin` scope (which a user holds from the admin role up).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use meta_chat_database::audit::{self, NewAuditEntry};
use meta_chat_database::contacts::{self, Contact};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{DbError, PooledConnection};
use meta_chat_shared::api_keys::ApiScope;
use meta_chat_shared::ids::ContactId;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::caller::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::ClientOrigin;
use crate::routes::conversations::MessageResponse;
use crate::state::AppState;

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/contacts/{id}").route(web::delete().to(erase_contact)))
        .service(web::resource("/contacts/{id}/export").route(web::get().to(export_contact)));
}

/// The contact part of an export.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportedContact {
    /// Id.
    pub id: Uuid,
    /// Channel id.
    pub channel_id: Uuid,
    /// Channel-specific id.
    pub external_id: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Profile name.
    pub display_name: Option<String>,
    /// Metadata stored about them.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// Last activity.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// First contact.
    pub created_at: DateTime<Utc>,
}

impl From<Contact> for ExportedContact {
    fn from(c: Contact) -> Self {
        Self {
            id: c.id,
            channel_id: c.channel_id,
            external_id: c.external_id,
            phone: c.phone,
            display_name: c.display_name,
            metadata: c.metadata,
            last_seen_at: c.last_seen_at,
            created_at: c.created_at,
        }
    }
}

/// One conversation of an export, with all its messages oldest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportedConversation {
    /// Id.
    pub id: Uuid,
    /// Status.
    pub status: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Every message, oldest first.
    pub messages: Vec<MessageResponse>,
}

/// Everything stored about one contact.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactExportResponse {
    /// When the export was made.
    pub exported_at: DateTime<Utc>,
    /// The contact.
    pub contact: ExportedContact,
    /// Their conversations, oldest first.
    pub conversations: Vec<ExportedConversation>,
}

async fn connection(state: &AppState) -> Result<PooledConnection, ApiError> {
    state.db.get().await.map_err(|err| ApiError::Internal(DbError::from(err).into()))
}

/// Export one contact's data (GDPR access request).
#[utoipa::path(
    get,
    path = "/contacts/{id}/export",
    tag = "contacts",
    params(("id" = Uuid, Path, description = "Contact id")),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 200, description = "Everything stored about the contact", body = ContactExportResponse),
        (status = 403, description = "Agents and API keys without `admin` cannot export", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn export_contact(
    caller: Caller,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::Admin)?;
    let id = ContactId::from_uuid(path.into_inner());
    let mut conn = connection(&state).await?;
    let (tenant, actor) = (caller.tenant_id(), caller.actor());
    let origin = origin.0;
    let export = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let Some(export) = contacts::export(conn, tenant, id).await? else { return Ok(None) };
            let entry = NewAuditEntry {
                actor,
                action: "contact.exported",
                target_type: Some("contact"),
                target_id: Some(id.to_string()),
                origin: &origin,
                details: json!({ "conversations": export.conversations.len() }),
            };
            audit::insert(conn, tenant, &entry).await?;
            Ok::<_, DbError>(Some(export))
        })
    })
    .await
    .map_err(|err| ApiError::Internal(err.into()))?
    .ok_or(ApiError::NotFound)?;
    let conversations = export
        .conversations
        .into_iter()
        .map(|(conversation, messages)| ExportedConversation {
            id: conversation.id,
            status: conversation.status,
            created_at: conversation.created_at,
            closed_at: conversation.closed_at,
            messages: messages.into_iter().map(MessageResponse::from).collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(ContactExportResponse {
        exported_at: Utc::now(),
        contact: ExportedContact::from(export.contact),
        conversations,
    }))
}

/// Erase one contact (GDPR erasure): the contact, their conversations and messages. Inbound receipts keep
/// only the provider's message id, so a late retry is recognised as a duplicate. Audited.
#[utoipa::path(
    delete,
    path = "/contacts/{id}",
    tag = "contacts",
    params(("id" = Uuid, Path, description = "Contact id")),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 204, description = "Erased"),
        (status = 403, description = "Agents and API keys without `admin` cannot erase", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn erase_contact(
    caller: Caller,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    caller.require_scope(ApiScope::Admin)?;
    let id = ContactId::from_uuid(path.into_inner());
    let mut conn = connection(&state).await?;
    let (tenant, actor) = (caller.tenant_id(), caller.actor());
    let origin = origin.0;
    let erased = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            if !contacts::erase(conn, tenant, id).await? {
                return Ok(false);
            }
            let entry = NewAuditEntry {
                actor,
                action: "contact.erased",
                target_type: Some("contact"),
                target_id: Some(id.to_string()),
                origin: &origin,
                details: json!({}),
            };
            audit::insert(conn, tenant, &entry).await?;
            Ok::<_, DbError>(true)
        })
    })
    .await
    .map_err(|err| ApiError::Internal(err.into()))?;
    if erased { Ok(HttpResponse::NoContent().finish()) } else { Err(ApiError::NotFound) }
}
