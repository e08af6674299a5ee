//! API keys: `GET/POST /api-keys`, `POST /api-keys/{id}/rotate`, `DELETE /api-keys/{id}` (revoke). Owners and
//! admins only, signed in as users: an API key cannot manage keys. The plain key is in the creation and
//! rotation responses only; the database keeps its lookup prefix and SHA-256. Creation, rotation and
//! revocation are audited (name, prefix, scopes; never the key).

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use garde::Validate;
use meta_chat_database::api_keys::{self, ApiKey, NewApiKey, PREFIX_UNIQUE};
use meta_chat_database::audit::{self, NewAuditEntry, RequestOrigin};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{DbError, PooledConnection};
use meta_chat_shared::UserRole;
use meta_chat_shared::api_keys::{ApiScope, GeneratedApiKey};
use meta_chat_shared::ids::{ApiKeyId, TenantId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::caller::Caller;
use crate::error::{ApiError, ErrorEnvelope, FieldError};
use crate::extract::ClientOrigin;
use crate::routes::conversations::{PageQuery, page};
use crate::state::AppState;

/// Fresh key material is drawn this many times when its lookup prefix collides with an existing key's.
const PREFIX_ATTEMPTS: usize = 3;

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api-keys").route(web::get().to(list_api_keys)).route(web::post().to(create_api_key)))
        .service(web::resource("/api-keys/{id}").route(web::delete().to(revoke_api_key)))
        .service(web::resource("/api-keys/{id}/rotate").route(web::post().to(rotate_api_key)));
}

// ---- DTOs ----

/// An API key scope on the wire (documentation of [`ApiScope`]'s spellings).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum ApiScopeDto {
    /// `POST /chat`.
    #[serde(rename = "chat")]
    Chat,
    /// Read documents, run retrieval tests.
    #[serde(rename = "documents:read")]
    DocumentsRead,
    /// Upload, change and delete documents.
    #[serde(rename = "documents:write")]
    DocumentsWrite,
    /// Read conversations and messages.
    #[serde(rename = "conversations:read")]
    ConversationsRead,
    /// Reply to, hand off and update conversations.
    #[serde(rename = "conversations:write")]
    ConversationsWrite,
    /// Read analytics.
    #[serde(rename = "analytics:read")]
    AnalyticsRead,
    /// Everything the tenant can do through the API; implies every other scope.
    #[serde(rename = "admin")]
    Admin,
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "garde's custom validator signature")]
fn not_blank(value: &str, (): &()) -> garde::Result {
    if value.trim().is_empty() { Err(garde::Error::new("must not be blank")) } else { Ok(()) }
}

/// `POST /api-keys`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateApiKeyRequest {
    /// A label, 1–100 characters.
    #[garde(custom(not_blank), length(chars, min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, example = "CRM sync")]
    pub name: String,
    /// What the key may do: at least one scope.
    #[garde(length(min = 1, max = 20), inner(length(max = 64)))]
    #[schema(value_type = Vec<ApiScopeDto>, min_items = 1)]
    pub scopes: Vec<String>,
    /// When the key stops working (RFC 3339, in the future); never when absent.
    #[garde(skip)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// An API key as listed: never the key itself.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyResponse {
    /// Id.
    pub id: Uuid,
    /// Label.
    pub name: String,
    /// The visible start of the key (`mck_` + 8 characters), to tell keys apart.
    pub prefix: String,
    /// What the key may do.
    #[schema(value_type = Vec<ApiScopeDto>)]
    pub scopes: Vec<ApiScope>,
    /// When it stops working; `null` for never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last successful use (up to a minute stale).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked; revoked keys never work again.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The user who created it, while that user exists.
    pub created_by: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<ApiKey> for ApiKeyResponse {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id.as_uuid(),
            name: key.name,
            prefix: key.prefix,
            scopes: key.scopes,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
            created_by: key.created_by.map(|user| user.as_uuid()),
            created_at: key.created_at,
        }
    }
}

/// A key just created or rotated, with the plain key: shown this once, store it now.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedApiKeyResponse {
    /// Id.
    pub id: Uuid,
    /// Label.
    pub name: String,
    /// The visible start of the key.
    pub prefix: String,
    /// What the key may do.
    #[schema(value_type = Vec<ApiScopeDto>)]
    pub scopes: Vec<ApiScope>,
    /// When it stops working; `null` for never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// The key: send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Never shown again.
    #[schema(example = "mck_AbCdEfGh…")]
    pub key: String,
}

impl IssuedApiKeyResponse {
    fn new(key: ApiKey, material: &GeneratedApiKey) -> Self {
        Self {
            id: key.id.as_uuid(),
            name: key.name,
            prefix: key.prefix,
            scopes: key.scopes,
            expires_at: key.expires_at,
            created_at: key.created_at,
            key: material.key().expose().to_owned(),
        }
    }
}

/// A page of API keys.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyList {
    /// The keys, newest first, revoked ones included.
    pub data: Vec<ApiKeyResponse>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

// ---- helpers ----

async fn connection(state: &AppState) -> Result<PooledConnection, ApiError> {
    state.db.get().await.map_err(|err| internal(DbError::from(err)))
}

fn internal(err: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(err.into())
}

fn parse_scopes(texts: &[String]) -> Result<Vec<ApiScope>, ApiError> {
    let mut scopes = Vec::with_capacity(texts.len());
    let mut errors = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        match text.parse::<ApiScope>() {
            Ok(scope) => scopes.push(scope),
            Err(err) => errors.push(FieldError::new(format!("scopes[{i}]"), err.to_string())),
        }
    }
    if errors.is_empty() { Ok(scopes) } else { Err(ApiError::Validation(errors)) }
}

fn key_event<'a>(
    user: UserId,
    action: &'a str,
    key: &ApiKey,
    origin: &'a RequestOrigin,
    details: serde_json::Value,
) -> NewAuditEntry<'a> {
    NewAuditEntry {
        actor: audit::Actor::User(user),
        action,
        target_type: Some("api_key"),
        target_id: Some(key.id.to_string()),
        origin,
        details,
    }
}

fn is_prefix_collision(err: &DbError) -> bool {
    matches!(err, DbError::Conflict(constraint) if constraint == PREFIX_UNIQUE)
}

/// A validated `POST /api-keys`.
#[derive(Debug, Clone)]
struct KeyRequest {
    name: String,
    scopes: Vec<ApiScope>,
    expires_at: Option<DateTime<Utc>>,
}

/// Inserts a key with fresh material (redrawn on a prefix collision) and audits it.
async fn insert_key(
    state: &AppState,
    tenant: TenantId,
    user: UserId,
    request: KeyRequest,
    origin: RequestOrigin,
) -> Result<(ApiKey, Arc<GeneratedApiKey>), ApiError> {
    let mut conn = connection(state).await?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let material = Arc::new(GeneratedApiKey::generate().map_err(internal)?);
        let (request, origin, fresh) = (request.clone(), origin.clone(), Arc::clone(&material));
        let inserted = in_tenant_tx(&mut conn, tenant, move |conn| {
            Box::pin(async move {
                let new = NewApiKey {
                    name: &request.name,
                    scopes: &request.scopes,
                    expires_at: request.expires_at,
                    created_by: Some(user),
                    material: &fresh,
                };
                let key = api_keys::insert(conn, tenant, &new).await?;
                let details = json!({ "name": key.name, "prefix": key.prefix, "scopes": key.scopes
                    .iter().map(|s| s.as_str()).collect::<Vec<_>>(), "expiresAt": key.expires_at });
                audit::insert(conn, tenant, &key_event(user, "api_key.created", &key, &origin, details)).await?;
                Ok::<_, DbError>(key)
            })
        })
        .await;
        match inserted {
            Ok(key) => return Ok((key, material)),
            Err(err) if is_prefix_collision(&err) && attempt < PREFIX_ATTEMPTS => {
                tracing::warn!(attempt, "API key prefix collision; drawing new material");
            }
            Err(err) => return Err(internal(err)),
        }
    }
}

enum Rotation {
    Rotated(ApiKey),
    Revoked,
    NotFound,
}

// ---- handlers ----

/// The tenant's API keys, newest first, revoked ones included. Never shows a key.
#[utoipa::path(
    get,
    path = "/api-keys",
    tag = "api-keys",
    params(PageQuery),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Newest first", body = ApiKeyList),
        (status = 400, description = "`VALIDATION_ERROR` (`limit`, `cursor`) or `INVALID_QUERY`", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys cannot manage keys", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn list_api_keys(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    query.validate()?;
    let page = page(query.limit, query.cursor.as_deref())?;
    let tenant = caller.require_role(UserRole::Admin)?.tenant_id;
    let mut conn = connection(&state).await?;
    let (keys, next_cursor) =
        in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(async move { api_keys::list(conn, tenant, &page).await }))
            .await
            .map_err(internal)?;
    let data = keys.into_iter().map(ApiKeyResponse::from).collect();
    Ok(HttpResponse::Ok().json(ApiKeyList { data, next_cursor }))
}

/// Create a key. The response is the only time the key is shown.
#[utoipa::path(
    post,
    path = "/api-keys",
    tag = "api-keys",
    request_body = CreateApiKeyRequest,
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "Created; `key` is shown this once", body = IssuedApiKeyResponse),
        (status = 400, description = "`VALIDATION_ERROR` (`name`, `scopes[i]`, `expiresAt`)", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys cannot manage keys", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn create_api_key(
    caller: Caller,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    body: web::Json<CreateApiKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let scopes = parse_scopes(&body.scopes)?;
    if body.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(ApiError::Validation(vec![FieldError::new("expiresAt", "must be in the future")]));
    }
    let ctx = *caller.require_role(UserRole::Admin)?;
    let request = KeyRequest { name: body.name.trim().to_owned(), scopes, expires_at: body.expires_at };
    let (key, material) = insert_key(&state, ctx.tenant_id, ctx.user_id, request, origin.0).await?;
    tracing::info!(api_key.id = %key.id, "API key created");
    Ok(HttpResponse::Created().json(IssuedApiKeyResponse::new(key, &material)))
}

/// Replace a key's secret: the old key stops working at once; id, name, scopes and expiry stay. The
/// response is the only time the new key is shown.
#[utoipa::path(
    post,
    path = "/api-keys/{id}/rotate",
    tag = "api-keys",
    params(("id" = Uuid, Path, description = "API key id")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Rotated; `key` is the new key, shown this once", body = IssuedApiKeyResponse),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys cannot manage keys", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT`: the key is revoked", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn rotate_api_key(
    caller: Caller,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = ApiKeyId::from_uuid(path.into_inner());
    let ctx = *caller.require_role(UserRole::Admin)?;
    let (tenant, user) = (ctx.tenant_id, ctx.user_id);
    let mut conn = connection(&state).await?;
    let mut attempt = 0;
    let (outcome, material) = loop {
        attempt += 1;
        let material = Arc::new(GeneratedApiKey::generate().map_err(internal)?);
        let (origin, fresh) = (origin.0.clone(), Arc::clone(&material));
        let rotated = in_tenant_tx(&mut conn, tenant, move |conn| {
            Box::pin(async move {
                let Some(current) = api_keys::find(conn, tenant, id).await? else { return Ok(Rotation::NotFound) };
                if current.revoked_at.is_some() {
                    return Ok(Rotation::Revoked);
                }
                // `None` here: revoked since the read above
                let Some(key) = api_keys::rotate(conn, tenant, id, &fresh).await? else { return Ok(Rotation::Revoked) };
                let details = json!({ "oldPrefix": current.prefix, "prefix": key.prefix });
                audit::insert(conn, tenant, &key_event(user, "api_key.rotated", &key, &origin, details)).await?;
                Ok::<_, DbError>(Rotation::Rotated(key))
            })
        })
        .await;
        match rotated {
            Ok(outcome) => break (outcome, material),
            Err(err) if is_prefix_collision(&err) && attempt < PREFIX_ATTEMPTS => {
                tracing::warn!(attempt, "API key prefix collision; drawing new material");
            }
            Err(err) => return Err(internal(err)),
        }
    };
    match outcome {
        Rotation::Rotated(key) => {
            tracing::info!(api_key.id = %key.id, "API key rotated");
            Ok(HttpResponse::Ok().json(IssuedApiKeyResponse::new(key, &material)))
        }
        Rotation::Revoked => {
            Err(ApiError::Conflict { field: "id", message: "This API key is revoked; create a new one instead." })
        }
        Rotation::NotFound => Err(ApiError::NotFound),
    }
}

/// Revoke a key: it stops working at once, for good. Revoking a revoked key changes nothing.
#[utoipa::path(
    delete,
    path = "/api-keys/{id}",
    tag = "api-keys",
    params(("id" = Uuid, Path, description = "API key id")),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys cannot manage keys", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn revoke_api_key(
    caller: Caller,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = ApiKeyId::from_uuid(path.into_inner());
    let ctx = *caller.require_role(UserRole::Admin)?;
    let (tenant, user) = (ctx.tenant_id, ctx.user_id);
    let origin = origin.0;
    let mut conn = connection(&state).await?;
    let found = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let Some(current) = api_keys::find(conn, tenant, id).await? else { return Ok(false) };
            if current.revoked_at.is_none()
                && let Some(key) = api_keys::revoke(conn, tenant, id).await?
            {
                let details = json!({ "prefix": key.prefix });
                audit::insert(conn, tenant, &key_event(user, "api_key.revoked", &key, &origin, details)).await?;
            }
            Ok::<_, DbError>(true)
        })
    })
    .await
    .map_err(internal)?;
    if !found {
        return Err(ApiError::NotFound);
    }
    tracing::info!(api_key.id = %id, "API key revoked");
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_scopes_are_exactly_the_real_ones() {
        let documented = [
            ApiScopeDto::Chat,
            ApiScopeDto::DocumentsRead,
            ApiScopeDto::DocumentsWrite,
            ApiScopeDto::ConversationsRead,
            ApiScopeDto::ConversationsWrite,
            ApiScopeDto::AnalyticsRead,
            ApiScopeDto::Admin,
        ];
        let documented: Vec<_> = documented.iter().map(|d| serde_json::to_value(d).unwrap()).collect();
        let real: Vec<_> = ApiScope::ALL.iter().map(|s| serde_json::to_value(s).unwrap()).collect();
        assert_eq!(documented, real);
    }

    #[test]
    fn unknown_scopes_are_named_by_position() {
        let Err(ApiError::Validation(fields)) = parse_scopes(&["chat".into(), "root".into()]) else {
            panic!("expected a validation error");
        };
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].path, "scopes[1]");
    }
}
