//! Channels: `GET/POST /channels`, `GET/PATCH/DELETE /channels/{id}`. Owners and admins only, signed in as
//! users (agents and API keys get 403). Configuration is validated per type by `meta-chat-channels`; secret
//! fields are write-only: stored sealed (AES-256-GCM, bound to tenant, channel and field), never returned —
//! responses list which are set in `secretsSet`. A WhatsApp number or Messenger page connects once across the
//! platform (409 `CONFLICT` naming `config.phoneNumberId` / `config.pageId`). Creation, changes and deletion
//! are audited with field names only, never values.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use garde::Validate;
use meta_chat_billing::quota;
use meta_chat_channels::{
    ChannelsError, CreateChannel, SecretField, StoredChannel, UpdateChannel, prepare_create, prepare_update,
    secrets_set, validate_create,
};
use meta_chat_database::audit::{self, Actor, NewAuditEntry, RequestOrigin};
use meta_chat_database::channels::{
    self, Channel, ChannelChangeset, EXTERNAL_ID_UNIQUE, NewChannel, WIDGET_KEY_UNIQUE,
};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::usage::Metric;
use meta_chat_database::{DbError, PooledConnection};
use meta_chat_shared::ids::{ChannelId, TenantId, UserId};
use meta_chat_shared::{ChannelType, UserRole};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::caller::Caller;
use crate::error::{ApiError, ErrorEnvelope, FieldError};
use crate::extract::ClientOrigin;
use crate::routes::API_V1;
use crate::routes::conversations::page;
use crate::state::AppState;

/// A new widget key is drawn this many times when it collides with an existing one.
const WIDGET_KEY_ATTEMPTS: usize = 3;

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/channels").route(web::get().to(list_channels)).route(web::post().to(create_channel)))
        .service(
            web::resource("/channels/{id}")
                .route(web::get().to(get_channel))
                .route(web::patch().to(update_channel))
                .route(web::delete().to(delete_channel)),
        );
}

// ---- DTOs (requests have no Debug: they carry secrets) ----

/// A channel type on the wire.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChannelTypeDto {
    /// WhatsApp Cloud API number.
    Whatsapp,
    /// Facebook Messenger page.
    Messenger,
    /// The embeddable web chat widget.
    Webchat,
    /// The chat API's channel (`POST /chat`): made by the platform, never created through this route.
    Api,
}

/// `config` of a WhatsApp channel. Secret fields are write-only.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhatsAppConfigDoc {
    /// The number's id in the Cloud API (1–32 digits); one channel per number across the platform.
    pub phone_number_id: String,
    /// The WhatsApp Business Account id (1–32 digits).
    pub business_account_id: String,
    /// Write-only: Graph API token (1–1024 visible ASCII characters).
    pub access_token: String,
    /// Write-only: Meta app secret (webhook signatures).
    pub app_secret: String,
    /// Write-only: webhook verification token (8–256 characters).
    pub verify_token: String,
    /// Optional: the approved template `{name, language}` sent instead of a free-form message once the
    /// 24-hour customer-service window has closed.
    #[schema(value_type = Option<Object>)]
    pub fallback_template: Option<Value>,
}

/// `config` of a Messenger channel. Secret fields are write-only.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessengerConfigDoc {
    /// The page id (1–32 digits); one channel per page across the platform.
    pub page_id: String,
    /// Write-only: page access token.
    pub page_access_token: String,
    /// Write-only: Meta app secret (webhook signatures).
    pub app_secret: String,
    /// Write-only: webhook verification token (8–256 characters).
    pub verify_token: String,
}

/// `config` of a web chat channel.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebChatConfigDoc {
    /// 1–20 exact origins (`https://shop.example.com`; `http://` for localhost only) that may embed the widget.
    pub allowed_origins: Vec<String>,
    /// Write-only, optional: HMAC key (16–1024 characters) with which the site signs visitor identities.
    pub identity_secret: Option<String>,
}

/// The `config` member: one shape per channel type.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ChannelConfigDoc {
    /// `type: whatsapp`.
    WhatsApp(WhatsAppConfigDoc),
    /// `type: messenger`.
    Messenger(MessengerConfigDoc),
    /// `type: webchat`.
    WebChat(WebChatConfigDoc),
}

/// `POST /channels`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateChannelRequest {
    /// `whatsapp`, `messenger` or `webchat`.
    #[serde(rename = "type")]
    #[schema(value_type = ChannelTypeDto)]
    pub channel_type: String,
    /// Display name, 1–100 characters; defaults to the type's name.
    #[serde(default)]
    pub name: Option<String>,
    /// Whether the channel takes traffic; default `true`.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The type's configuration.
    #[schema(value_type = ChannelConfigDoc)]
    pub config: Value,
}

/// `PATCH /channels/{id}`: every member optional. Inside `config`, a field left out keeps its value (secrets
/// included), a field given replaces it, `null` removes an optional one (`identitySecret`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateChannelRequest {
    /// May be repeated, not changed.
    #[serde(rename = "type", default)]
    #[schema(value_type = Option<ChannelTypeDto>)]
    pub channel_type: Option<String>,
    /// New display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Enable or disable the channel.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Fields of the type's configuration to change.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
}

/// Query of `GET /channels`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListChannelsQuery {
    /// Only channels of this type (`whatsapp`, `messenger`, `webchat`).
    #[serde(rename = "type")]
    #[garde(skip)]
    pub channel_type: Option<String>,
    /// 1–100, default 20.
    #[garde(inner(range(min = 1, max = 100)))]
    pub limit: Option<u32>,
    /// `nextCursor` of the previous page.
    #[garde(inner(length(max = 128)))]
    pub cursor: Option<String>,
}

/// A channel. Secrets are never part of it: `secretsSet` names those that are set.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelResponse {
    /// Id.
    pub id: Uuid,
    /// `whatsapp`, `messenger` or `webchat`.
    #[serde(rename = "type")]
    #[schema(value_type = ChannelTypeDto)]
    pub channel_type: ChannelType,
    /// Display name.
    pub name: String,
    /// Whether the channel takes traffic.
    pub enabled: bool,
    /// The public configuration (secret fields removed).
    #[schema(value_type = Object)]
    pub config: Value,
    /// The secret fields that are set, e.g. `["accessToken", "appSecret", "verifyToken"]`.
    pub secrets_set: Vec<String>,
    /// Where Meta sends this channel's webhooks (the tenant's own Meta app); `null` for web chat.
    pub webhook_url: Option<String>,
    /// The public key that embeds the web chat widget; web chat only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widget_key: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When the provider last rejected the channel's credentials (sending fails until new secrets are set);
    /// `null` when healthy.
    pub flagged_at: Option<DateTime<Utc>>,
    /// The provider's reason for the flag.
    pub flag_reason: Option<String>,
}

impl ChannelResponse {
    fn new(channel: Channel, public_base_url: &str) -> Self {
        let webhook_url = match channel.channel_type {
            ChannelType::WhatsApp | ChannelType::Messenger => Some(format!(
                "{}{API_V1}/integrations/{}/{}",
                public_base_url.trim_end_matches('/'),
                channel.channel_type,
                channel.id
            )),
            ChannelType::WebChat | ChannelType::Api => None,
        };
        let secrets_set =
            secrets_set(channel.channel_type, &channel.secrets).into_iter().map(|f| f.as_str().to_owned()).collect();
        Self {
            id: channel.id.as_uuid(),
            channel_type: channel.channel_type,
            name: channel.name,
            enabled: channel.enabled,
            config: public_config(channel.config),
            secrets_set,
            webhook_url,
            widget_key: channel.widget_key,
            created_at: channel.created_at,
            updated_at: channel.updated_at,
            flagged_at: channel.flagged_at,
            flag_reason: channel.flag_reason,
        }
    }
}

/// `config` without any secret field: the stored config never has one, and a response must not either.
fn public_config(config: Value) -> Value {
    match config {
        Value::Object(mut fields) => {
            fields.retain(|name, _| SecretField::from_name(name).is_none());
            Value::Object(fields)
        }
        _ => Value::Object(serde_json::Map::new()),
    }
}

/// A page of channels.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelList {
    /// The channels, newest first.
    pub data: Vec<ChannelResponse>,
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

fn channels_error(err: ChannelsError) -> ApiError {
    match err {
        ChannelsError::Validation(errors) => {
            ApiError::Validation(errors.into_fields().into_iter().map(|e| FieldError::new(e.path, e.message)).collect())
        }
        other => internal(other),
    }
}

fn parse_type(text: &str) -> Result<ChannelType, ApiError> {
    text.parse().map_err(|err: meta_chat_shared::ParseEnumError| {
        ApiError::Validation(vec![FieldError::new("type", err.to_string())])
    })
}

/// A duplicate connected account, named by the field that identifies it.
fn external_id_conflict(channel_type: ChannelType) -> ApiError {
    let field = match channel_type {
        ChannelType::Messenger => "config.pageId",
        ChannelType::WhatsApp | ChannelType::WebChat | ChannelType::Api => "config.phoneNumberId",
    };
    ApiError::Conflict { field, message: "This account is already connected to a channel." }
}

fn is_conflict(err: &DbError, constraint: &str) -> bool {
    matches!(err, DbError::Conflict(name) if name == constraint)
}

fn channel_event<'a>(
    user: UserId,
    action: &'a str,
    channel: ChannelId,
    origin: &'a RequestOrigin,
    details: Value,
) -> NewAuditEntry<'a> {
    NewAuditEntry {
        actor: Actor::User(user),
        action,
        target_type: Some("channel"),
        target_id: Some(channel.to_string()),
        origin,
        details,
    }
}

/// Seals, inserts and audits a validated channel, drawing a new widget key if it collides.
async fn insert_channel(
    state: &AppState,
    tenant: TenantId,
    user: UserId,
    valid: &meta_chat_channels::ValidatedChannel,
    origin: RequestOrigin,
) -> Result<Channel, ApiError> {
    let mut conn = connection(state).await?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let record = prepare_create(&state.keyring, tenant, ChannelId::new(), valid).map_err(channels_error)?;
        let origin = origin.clone();
        let billing = state.config.billing.clone();
        let inserted = in_tenant_tx(&mut conn, tenant, move |conn| {
            Box::pin(async move {
                let alerts = match quota::make_room(conn, tenant, Metric::Channels, 1, &billing).await? {
                    Ok(alerts) => alerts,
                    Err(exceeded) => return Ok(Err(exceeded)),
                };
                let new = NewChannel {
                    id: record.id,
                    channel_type: record.channel_type,
                    name: &record.name,
                    enabled: record.enabled,
                    config: &record.sealed.config,
                    secrets: &record.sealed.secrets,
                    external_id: record.sealed.external_id.as_deref(),
                    widget_key: record.widget_key.as_deref(),
                };
                let channel = channels::insert(conn, tenant, &new).await?;
                let details = json!({
                    "type": channel.channel_type.as_str(),
                    "name": channel.name,
                    "secretsSet": record.sealed.secrets_set.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                });
                audit::insert(conn, tenant, &channel_event(user, "channel.created", channel.id, &origin, details))
                    .await?;
                Ok::<_, DbError>(Ok((channel, alerts)))
            })
        })
        .await;
        match inserted {
            Ok(Ok((channel, alerts))) => {
                crate::routes::billing::publish(state, tenant, alerts);
                return Ok(channel);
            }
            Ok(Err(exceeded)) => return Err(exceeded.into()),
            Err(err) if is_conflict(&err, EXTERNAL_ID_UNIQUE) => {
                return Err(external_id_conflict(valid.channel_type()));
            }
            Err(err) if is_conflict(&err, WIDGET_KEY_UNIQUE) && attempt < WIDGET_KEY_ATTEMPTS => {
                tracing::warn!(attempt, "widget key collision; drawing a new key");
            }
            Err(err) => return Err(internal(err)),
        }
    }
}

/// Why an update did not happen.
enum Refused {
    NotFound,
    Invalid(ChannelsError),
}

/// The audit names of what a patch changes: top-level members and config field names, never values.
fn changed_fields(patch: &UpdateChannel) -> Vec<String> {
    let mut fields = Vec::new();
    if patch.name.is_some() {
        fields.push("name".to_owned());
    }
    if patch.enabled.is_some() {
        fields.push("enabled".to_owned());
    }
    if let Some(config) = patch.config.as_ref().and_then(Value::as_object) {
        fields.extend(config.keys().map(|key| format!("config.{key}")));
    }
    fields
}

// ---- handlers ----

/// The tenant's channels, newest first.
#[utoipa::path(
    get,
    path = "/channels",
    tag = "channels",
    params(ListChannelsQuery),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "Newest first; secrets never included", body = ChannelList),
        (status = 400, description = "`VALIDATION_ERROR` (`type`, `limit`, `cursor`) or `INVALID_QUERY`", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys cannot manage channels", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn list_channels(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<ListChannelsQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    query.validate()?;
    let channel_type = query.channel_type.as_deref().map(parse_type).transpose()?;
    let page = page(query.limit, query.cursor.as_deref())?;
    let tenant = caller.require_role(UserRole::Admin)?.tenant_id;
    let mut conn = connection(&state).await?;
    let (rows, next_cursor) = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move { channels::list(conn, tenant, channel_type, &page).await })
    })
    .await
    .map_err(internal)?;
    let base = &state.config.http.public_base_url;
    let data = rows.into_iter().map(|row| ChannelResponse::new(row, base)).collect();
    Ok(HttpResponse::Ok().json(ChannelList { data, next_cursor }))
}

/// Connect a channel. Secret fields are stored encrypted and never returned.
#[utoipa::path(
    post,
    path = "/channels",
    tag = "channels",
    request_body = CreateChannelRequest,
    security(("bearerAuth" = [])),
    responses(
        (status = 201, description = "Created", body = ChannelResponse),
        (status = 400, description = "`VALIDATION_ERROR` naming the field, e.g. `config.phoneNumberId`", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys cannot manage channels", body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT`: the number or page is already connected (`details.field`)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn create_channel(
    caller: Caller,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    body: web::Json<CreateChannelRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let input = CreateChannel {
        channel_type: parse_type(&body.channel_type)?,
        name: body.name,
        enabled: body.enabled,
        config: body.config,
    };
    let valid = validate_create(&input).map_err(channels_error)?;
    let ctx = *caller.require_role(UserRole::Admin)?;
    let channel = insert_channel(&state, ctx.tenant_id, ctx.user_id, &valid, origin.0).await?;
    tracing::info!(channel.id = %channel.id, channel.kind = %channel.channel_type, "channel created");
    Ok(HttpResponse::Created().json(ChannelResponse::new(channel, &state.config.http.public_base_url)))
}

/// One channel.
#[utoipa::path(
    get,
    path = "/channels/{id}",
    tag = "channels",
    params(("id" = Uuid, Path, description = "Channel id")),
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The channel; secrets never included", body = ChannelResponse),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys cannot manage channels", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn get_channel(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = ChannelId::from_uuid(path.into_inner());
    let tenant = caller.require_role(UserRole::Admin)?.tenant_id;
    let mut conn = connection(&state).await?;
    let channel = in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(channels::find(conn, tenant, id)))
        .await
        .map_err(internal)?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(ChannelResponse::new(channel, &state.config.http.public_base_url)))
}

/// Change a channel's name, enabled flag or configuration. The configuration patch is merged with the stored
/// one and validated as a whole; secrets left out keep their values.
#[utoipa::path(
    patch,
    path = "/channels/{id}",
    tag = "channels",
    params(("id" = Uuid, Path, description = "Channel id")),
    request_body = UpdateChannelRequest,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "The updated channel", body = ChannelResponse),
        (status = 400, description = "`VALIDATION_ERROR` naming the field", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys cannot manage channels", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope),
        (status = 409, description = "`CONFLICT`: the number or page is already connected (`details.field`)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn update_channel(
    caller: Caller,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: web::Json<UpdateChannelRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let changes = UpdateChannel {
        channel_type: body.channel_type.as_deref().map(parse_type).transpose()?,
        name: body.name,
        enabled: body.enabled,
        config: body.config,
    };
    let id = ChannelId::from_uuid(path.into_inner());
    let ctx = *caller.require_role(UserRole::Admin)?;
    let (tenant, user) = (ctx.tenant_id, ctx.user_id);
    let (keyring, origin) = (Arc::clone(&state.keyring), origin.0);
    let mut conn = connection(&state).await?;
    let outcome = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let Some(stored) = channels::find_for_update(conn, tenant, id).await? else {
                return Ok(Err(Refused::NotFound));
            };
            let current = StoredChannel {
                id: stored.id,
                channel_type: stored.channel_type,
                config: &stored.config,
                secrets: &stored.secrets,
            };
            let update = match prepare_update(&keyring, tenant, &current, &changes) {
                Ok(update) => update,
                Err(err) => return Ok(Err(Refused::Invalid(err))),
            };
            if update.is_empty() {
                return Ok(Ok(stored));
            }
            let columns = ChannelChangeset {
                name: update.name,
                enabled: update.enabled,
                config: update.sealed.as_ref().map(|sealed| sealed.config.clone()),
                secrets: update.sealed.as_ref().map(|sealed| sealed.secrets.clone()),
                external_id: update.sealed.map(|sealed| sealed.external_id),
            };
            let Some(updated) = channels::update(conn, tenant, id, &columns).await? else {
                return Ok(Err(Refused::NotFound));
            };
            let details = json!({ "fields": changed_fields(&changes) });
            audit::insert(conn, tenant, &channel_event(user, "channel.updated", id, &origin, details)).await?;
            Ok::<_, DbError>(Ok(updated))
        })
    })
    .await;
    let channel = match outcome {
        Ok(Ok(channel)) => channel,
        Ok(Err(Refused::NotFound)) => return Err(ApiError::NotFound),
        Ok(Err(Refused::Invalid(err))) => return Err(channels_error(err)),
        Err(err) if is_conflict(&err, EXTERNAL_ID_UNIQUE) => {
            // the type cannot change, so the stored type names the field
            let stored_type = in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(channels::find(conn, tenant, id)))
                .await
                .map_err(internal)?
                .map_or(ChannelType::WhatsApp, |c| c.channel_type);
            return Err(external_id_conflict(stored_type));
        }
        Err(err) => return Err(internal(err)),
    };
    Ok(HttpResponse::Ok().json(ChannelResponse::new(channel, &state.config.http.public_base_url)))
}

/// Delete a channel with its contacts, conversations and messages.
#[utoipa::path(
    delete,
    path = "/channels/{id}",
    tag = "channels",
    params(("id" = Uuid, Path, description = "Channel id")),
    security(("bearerAuth" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys cannot manage channels", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn delete_channel(
    caller: Caller,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = ChannelId::from_uuid(path.into_inner());
    let ctx = *caller.require_role(UserRole::Admin)?;
    let (tenant, user, origin) = (ctx.tenant_id, ctx.user_id, origin.0);
    let mut conn = connection(&state).await?;
    let deleted = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let Some(channel) = channels::find(conn, tenant, id).await? else { return Ok(false) };
            if !channels::delete(conn, tenant, id).await? {
                return Ok(false);
            }
            let details = json!({ "type": channel.channel_type.as_str(), "name": channel.name });
            audit::insert(conn, tenant, &channel_event(user, "channel.deleted", id, &origin, details)).await?;
            Ok::<_, DbError>(true)
        })
    })
    .await
    .map_err(internal)?;
    if !deleted {
        return Err(ApiError::NotFound);
    }
    tracing::info!(channel.id = %id, "channel deleted");
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_never_carry_a_secret_field_even_if_one_was_stored() {
        let config = json!({ "phoneNumberId": "1", "accessToken": "EAAG", "appSecret": "s", "verifyToken": "v" });
        assert_eq!(public_config(config), json!({ "phoneNumberId": "1" }));
        assert_eq!(public_config(json!("junk")), json!({}));
    }

    #[test]
    fn documented_channel_types_are_the_real_ones() {
        let documented =
            [ChannelTypeDto::Whatsapp, ChannelTypeDto::Messenger, ChannelTypeDto::Webchat, ChannelTypeDto::Api];
        let documented: Vec<_> = documented.iter().map(|t| serde_json::to_value(t).unwrap()).collect();
        let real: Vec<_> = ChannelType::ALL.iter().map(|t| serde_json::to_value(t).unwrap()).collect();
        assert_eq!(documented, real);
    }

    #[test]
    fn duplicate_accounts_name_the_identifying_field() {
        let field = |t| match external_id_conflict(t) {
            ApiError::Conflict { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(ChannelType::WhatsApp), "config.phoneNumberId");
        assert_eq!(field(ChannelType::Messenger), "config.pageId");
    }
}
