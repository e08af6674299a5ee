//! Tenant webhooks: `GET/POST /webhooks`, `GET/PATCH/DELETE /webhooks/{id}`, `GET /webhooks/{id}/deliveries`,
//! `POST /webhooks/{id}/test`. Owners and admins, or API keys with the `admin` scope (agents get 403).
//!
//! The signing secret is generated here, shown once in the creation response and stored sealed (AES-256-GCM,
//! bound to tenant and webhook). A URL must be http(s), at most 2048 characters, without credentials, and
//! pass the SSRF guard (not resolving to a private, loopback, link-local, ... address unless the operator
//! allowlisted it): checked at creation and at every change, and again by every delivery. Creation,
//! changes and deletion are audited with field names and the host only (a URL may carry a token).

use actix_web::{HttpResponse, web};
use garde::Validate;
use meta_chat_database::audit::{self, Actor, NewAuditEntry, RequestOrigin};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::webhooks::{self as store, NewWebhook, WebhookChangeset};
use meta_chat_database::{DbError, PooledConnection};
use meta_chat_events::EventType;
use meta_chat_events::webhooks::{self, Url, WebhookSettings, check_destination, parse_url};
use meta_chat_shared::api_keys::ApiScope;
use meta_chat_shared::ids::{TenantId, WebhookId};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::caller::Caller;
use crate::error::{ApiError, ErrorEnvelope, FieldError};
use crate::extract::ClientOrigin;
use crate::routes::conversations::{PageQuery, page};
use crate::state::AppState;

mod dto;

pub use dto::{
    CreateWebhookRequest, CreatedWebhookResponse, DeliveryList, DeliveryResponse, DeliveryStatusDto, EventTypeDto,
    TestDeliveryResponse, UpdateWebhookRequest, WebhookList, WebhookResponse,
};

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/webhooks").route(web::get().to(list_webhooks)).route(web::post().to(create_webhook)))
        .service(
            web::resource("/webhooks/{id}")
                .route(web::get().to(get_webhook))
                .route(web::patch().to(update_webhook))
                .route(web::delete().to(delete_webhook)),
        )
        .service(web::resource("/webhooks/{id}/deliveries").route(web::get().to(list_deliveries)))
        .service(web::resource("/webhooks/{id}/test").route(web::post().to(test_webhook)));
}

// ---- helpers ----

async fn connection(state: &AppState) -> Result<PooledConnection, ApiError> {
    state.db.get().await.map_err(|err| internal(DbError::from(err)))
}

fn internal(err: impl Into<anyhow::Error>) -> ApiError {
    ApiError::Internal(err.into())
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> ApiError {
    ApiError::Validation(vec![FieldError::new(path, message)])
}

/// The event names, checked against the public event types, deduplicated in their first order.
fn parse_events(texts: &[String]) -> Result<Vec<String>, ApiError> {
    let mut events: Vec<String> = Vec::with_capacity(texts.len());
    let mut errors = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        match text.parse::<EventType>() {
            Ok(event) if !event.is_public() => {
                errors
                    .push(FieldError::new(format!("events[{i}]"), format!("`{event}` is internal: not for webhooks")));
            }
            Ok(event) if !events.iter().any(|e| e == event.as_str()) => events.push(event.as_str().to_owned()),
            Ok(_) => {}
            Err(err) => errors.push(FieldError::new(format!("events[{i}]"), err.to_string())),
        }
    }
    if errors.is_empty() { Ok(events) } else { Err(ApiError::Validation(errors)) }
}

/// The URL's syntax (no I/O): http(s), ≤ 2048 characters, a host, no credentials.
fn parse_webhook_url(text: &str) -> Result<Url, ApiError> {
    parse_url(text).map_err(|err| invalid("url", err.to_string()))
}

/// The SSRF guard, run after authorization (it resolves the host).
async fn check_url(state: &AppState, url: &Url) -> Result<(), ApiError> {
    let settings = WebhookSettings::from_config(&state.config.webhooks);
    check_destination(url, &settings.allowlist).await.map(drop).map_err(|err| invalid("url", err.to_string()))
}

fn webhook_event<'a>(
    actor: Actor,
    action: &'a str,
    webhook: WebhookId,
    origin: &'a RequestOrigin,
    details: Value,
) -> NewAuditEntry<'a> {
    NewAuditEntry { actor, action, target_type: Some("webhook"), target_id: Some(webhook.to_string()), origin, details }
}

fn webhook_id(path: web::Path<Uuid>) -> WebhookId {
    WebhookId::from_uuid(path.into_inner())
}

// ---- handlers ----

/// The tenant's webhooks, newest first. Never shows a signing secret.
#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "webhooks",
    params(PageQuery),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 200, description = "Newest first", body = WebhookList),
        (status = 400, description = "`VALIDATION_ERROR` (`limit`, `cursor`) or `INVALID_QUERY`", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys without `admin`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn list_webhooks(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    query.validate()?;
    let page = page(query.limit, query.cursor.as_deref())?;
    caller.require_scope(ApiScope::Admin)?;
    let tenant = caller.tenant_id();
    let mut conn = connection(&state).await?;
    let (rows, next_cursor) =
        in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(async move { store::list(conn, tenant, &page).await }))
            .await
            .map_err(internal)?;
    let data = rows.into_iter().map(WebhookResponse::from).collect();
    Ok(HttpResponse::Ok().json(WebhookList { data, next_cursor }))
}

/// Subscribe a URL to events. The response is the only time the signing secret is shown.
#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "webhooks",
    request_body = CreateWebhookRequest,
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 201, description = "Created; `secret` is shown this once", body = CreatedWebhookResponse),
        (status = 400, description = "`VALIDATION_ERROR` (`url`, `events[i]`, `description`)", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys without `admin`", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn create_webhook(
    caller: Caller,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    body: web::Json<CreateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    body.validate()?;
    let events = parse_events(&body.events)?;
    let url = parse_webhook_url(&body.url)?;
    caller.require_scope(ApiScope::Admin)?;
    check_url(&state, &url).await?;
    let (tenant, actor, origin) = (caller.tenant_id(), caller.actor(), origin.0);
    let id = WebhookId::new();
    let secret = webhooks::generate_secret().map_err(internal)?;
    let sealed = webhooks::seal_secret(&state.keyring, tenant, id, &secret).map_err(internal)?;
    let description = body.description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
    let host = url.host_str().map(str::to_owned);
    let mut conn = connection(&state).await?;
    let hook = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let new = NewWebhook {
                id,
                url: url.as_str(),
                description: description.as_deref(),
                events: &events,
                secret_enc: &sealed,
                enabled: body.enabled.unwrap_or(true),
            };
            let hook = store::insert(conn, tenant, &new).await?;
            let details = json!({ "host": host, "events": hook.events, "enabled": hook.enabled });
            audit::insert(conn, tenant, &webhook_event(actor, "webhook.created", id, &origin, details)).await?;
            Ok::<_, DbError>(hook)
        })
    })
    .await
    .map_err(internal)?;
    tracing::info!(webhook.id = %hook.id, "webhook created");
    Ok(HttpResponse::Created().json(CreatedWebhookResponse {
        id: hook.id.as_uuid(),
        url: hook.url,
        events: hook.events,
        enabled: hook.enabled,
        description: hook.description,
        secret: secret.expose().to_owned(),
        created_at: hook.created_at,
    }))
}

/// One webhook. Never shows the signing secret.
#[utoipa::path(
    get,
    path = "/webhooks/{id}",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 200, description = "The webhook", body = WebhookResponse),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys without `admin`", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn get_webhook(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(path);
    caller.require_scope(ApiScope::Admin)?;
    let tenant = caller.tenant_id();
    let mut conn = connection(&state).await?;
    let hook = in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(store::find(conn, tenant, id)))
        .await
        .map_err(internal)?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(WebhookResponse::from(hook)))
}

/// Change a webhook's URL, events, note or enabled flag. Enabling a webhook the platform disabled clears
/// its failure count and `disabledReason`.
#[utoipa::path(
    patch,
    path = "/webhooks/{id}",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    request_body = UpdateWebhookRequest,
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 200, description = "The updated webhook", body = WebhookResponse),
        (status = 400, description = "`VALIDATION_ERROR` naming the field", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys without `admin`", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn update_webhook(
    caller: Caller,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    body: web::Json<UpdateWebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(path);
    let body = body.into_inner();
    body.validate()?;
    let events = body.events.as_deref().map(parse_events).transpose()?;
    let url = body.url.as_deref().map(parse_webhook_url).transpose()?;
    caller.require_scope(ApiScope::Admin)?;
    if let Some(url) = &url {
        check_url(&state, url).await?;
    }
    let mut fields: Vec<&str> = Vec::new();
    for (field, present) in [
        ("url", url.is_some()),
        ("events", events.is_some()),
        ("description", body.description.is_some()),
        ("enabled", body.enabled.is_some()),
    ] {
        if present {
            fields.push(field);
        }
    }
    let details = json!({ "fields": fields, "host": url.as_ref().and_then(|u| u.host_str()), "enabled": body.enabled });
    let changes = WebhookChangeset {
        url: url.map(String::from),
        events,
        description: body.description.map(|d| d.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty())),
        enabled: body.enabled,
    };
    let (tenant, actor, origin) = (caller.tenant_id(), caller.actor(), origin.0);
    let mut conn = connection(&state).await?;
    let hook = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let Some(hook) = store::update(conn, tenant, id, &changes).await? else { return Ok(None) };
            audit::insert(conn, tenant, &webhook_event(actor, "webhook.updated", id, &origin, details)).await?;
            Ok::<_, DbError>(Some(hook))
        })
    })
    .await
    .map_err(internal)?
    .ok_or(ApiError::NotFound)?;
    tracing::info!(webhook.id = %hook.id, "webhook updated");
    Ok(HttpResponse::Ok().json(WebhookResponse::from(hook)))
}

/// Delete a webhook and its delivery log. Pending deliveries are not sent.
#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys without `admin`", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn delete_webhook(
    caller: Caller,
    origin: ClientOrigin,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(path);
    caller.require_scope(ApiScope::Admin)?;
    let (tenant, actor, origin) = (caller.tenant_id(), caller.actor(), origin.0);
    let mut conn = connection(&state).await?;
    let deleted = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            if !store::delete(conn, tenant, id).await? {
                return Ok(false);
            }
            audit::insert(conn, tenant, &webhook_event(actor, "webhook.deleted", id, &origin, json!({}))).await?;
            Ok::<_, DbError>(true)
        })
    })
    .await
    .map_err(internal)?;
    if !deleted {
        return Err(ApiError::NotFound);
    }
    tracing::info!(webhook.id = %id, "webhook deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// A webhook's deliveries, newest first: status, attempts, the last answer.
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"), PageQuery),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 200, description = "Newest first", body = DeliveryList),
        (status = 400, description = "`VALIDATION_ERROR` (`limit`, `cursor`) or `INVALID_QUERY`", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys without `admin`", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn list_deliveries(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(path);
    let query = query.into_inner();
    query.validate()?;
    let page = page(query.limit, query.cursor.as_deref())?;
    caller.require_scope(ApiScope::Admin)?;
    let tenant = caller.tenant_id();
    let mut conn = connection(&state).await?;
    let listed = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            if store::find(conn, tenant, id).await?.is_none() {
                return Ok(None);
            }
            store::list_deliveries(conn, tenant, id, &page).await.map(Some)
        })
    })
    .await
    .map_err(internal)?;
    let (rows, next_cursor) = listed.ok_or(ApiError::NotFound)?;
    let data = rows.into_iter().map(DeliveryResponse::from).collect();
    Ok(HttpResponse::Ok().json(DeliveryList { data, next_cursor }))
}

/// Send a test event now (the webhook's first event type, `data: {"test": true}`) and report the answer.
/// Recorded as a delivery; never retried and never counted towards disabling the webhook.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/test",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 200, description = "Sent or refused: see `delivered`", body = TestDeliveryResponse),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys without `admin`", body = ErrorEnvelope),
        (status = 404, description = "Unknown id (or another tenant's)", body = ErrorEnvelope)
    )
)]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn test_webhook(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = webhook_id(path);
    caller.require_scope(ApiScope::Admin)?;
    let tenant: TenantId = caller.tenant_id();
    let settings = WebhookSettings::from_config(&state.config.webhooks);
    let sent = webhooks::send_test(&state.db, &state.keyring, &settings, tenant, id)
        .await
        .map_err(internal)?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(TestDeliveryResponse::from(sent)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_checked_by_position_and_deduplicated() {
        let texts = ["message.received", "document.ready", "message.received"].map(String::from);
        assert_eq!(parse_events(&texts).unwrap(), ["message.received", "document.ready"]);
        let texts = ["message.received", "message.exploded", "message.queued"].map(String::from);
        let Err(ApiError::Validation(fields)) = parse_events(&texts) else {
            panic!("expected a validation error");
        };
        let paths: Vec<&str> = fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["events[1]", "events[2]"], "unknown and internal types are refused");
    }
}
