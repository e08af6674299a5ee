//! Meta webhooks: `GET/POST /integrations/whatsapp/{channelId}` and `/integrations/messenger/{channelId}` for a
//! tenant's own Meta app, and `GET/POST /integrations/whatsapp` and `/integrations/messenger` for the
//! platform's app (`meta.*` configuration), routed by phone number id / page id.
//!
//! `GET` answers Meta's subscription handshake. `POST` authenticates by signature only: the
//! `X-Hub-Signature-256` HMAC of the raw body with the app secret, checked before anything is parsed or
//! stored (401 `INVALID_SIGNATURE`, nothing stored, nothing published). A valid delivery is stored in one
//! transaction per tenant — receipts, contacts, conversations, messages, statuses, outbox events — and
//! answered `200` at once; the worker does the rest. Unknown channels are 404; a body that is not a Meta
//! delivery is 400 after a valid signature; deliveries are rate limited per channel.

use actix_web::{HttpRequest, HttpResponse, web};
use meta_chat_channels::{
    InboundBatch, ParseError, SecretField, open_secret, parse_messenger, parse_whatsapp, verify_meta_signature,
    verify_subscription,
};
use meta_chat_database::channels;
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_orchestrator::{ChannelRoute, Ingested, ingest};
use meta_chat_shared::ChannelType;
use meta_chat_shared::ids::{ChannelId, TenantId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::accounts::{connection, internal};
use crate::error::{ApiError, ErrorEnvelope, FieldError};
use crate::state::AppState;

/// Meta's signature header.
const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/integrations/whatsapp/{channelId}")
            .route(web::get().to(verify_whatsapp_channel))
            .route(web::post().to(receive_whatsapp_channel)),
    )
    .service(
        web::resource("/integrations/messenger/{channelId}")
            .route(web::get().to(verify_messenger_channel))
            .route(web::post().to(receive_messenger_channel)),
    )
    .service(
        web::resource("/integrations/whatsapp")
            .route(web::get().to(verify_whatsapp_platform))
            .route(web::post().to(receive_whatsapp_platform)),
    )
    .service(
        web::resource("/integrations/messenger")
            .route(web::get().to(verify_messenger_platform))
            .route(web::post().to(receive_messenger_platform)),
    );
}

/// Meta's subscription handshake parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct Handshake {
    /// Always `subscribe`.
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    pub mode: Option<String>,
    /// The verification token configured in the Meta app.
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    /// The value to echo.
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// What a delivery changed.
#[derive(Debug, Default, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAccepted {
    /// New messages stored.
    pub received: usize,
    /// Messages delivered before (ignored).
    pub duplicates: usize,
    /// Delivery statuses applied.
    pub statuses: usize,
}

/// A channel id from the URL; anything that is not a UUID cannot name a channel.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ChannelPath {
    /// The channel's id.
    pub channel_id: String,
}

#[utoipa::path(get, path = "/integrations/whatsapp/{channelId}", tag = "integrations",
    params(ChannelPath, Handshake),
    responses((status = 200, description = "The challenge, echoed", body = String),
        (status = 403, description = "Wrong token", body = ErrorEnvelope),
        (status = 404, description = "No such WhatsApp channel", body = ErrorEnvelope)))]
/// Meta's handshake for a tenant's own app (the channel's `verifyToken`).
pub async fn verify_whatsapp_channel(
    state: web::Data<AppState>,
    path: web::Path<ChannelPath>,
    query: web::Query<Handshake>,
) -> Result<HttpResponse, ApiError> {
    verify_channel(&state, &path.channel_id, ChannelType::WhatsApp, &query).await
}

#[utoipa::path(get, path = "/integrations/messenger/{channelId}", tag = "integrations",
    params(ChannelPath, Handshake),
    responses((status = 200, description = "The challenge, echoed", body = String),
        (status = 403, description = "Wrong token", body = ErrorEnvelope),
        (status = 404, description = "No such Messenger channel", body = ErrorEnvelope)))]
/// Meta's handshake for a tenant's own app (the channel's `verifyToken`).
pub async fn verify_messenger_channel(
    state: web::Data<AppState>,
    path: web::Path<ChannelPath>,
    query: web::Query<Handshake>,
) -> Result<HttpResponse, ApiError> {
    verify_channel(&state, &path.channel_id, ChannelType::Messenger, &query).await
}

#[utoipa::path(post, path = "/integrations/whatsapp/{channelId}", tag = "integrations",
    params(ChannelPath, ("X-Hub-Signature-256" = String, Header, description = "sha256=<hex HMAC of the body>")),
    request_body(content = Object, description = "A WhatsApp Cloud API webhook delivery"),
    responses((status = 200, description = "Stored", body = WebhookAccepted),
        (status = 400, description = "Not a WhatsApp delivery", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong signature; nothing stored", body = ErrorEnvelope),
        (status = 404, description = "No such WhatsApp channel", body = ErrorEnvelope),
        (status = 429, description = "Too many deliveries for this channel", body = ErrorEnvelope)))]
/// A delivery for a tenant's own Meta app.
pub async fn receive_whatsapp_channel(
    state: web::Data<AppState>,
    path: web::Path<ChannelPath>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    receive_channel(&state, &path.channel_id, ChannelType::WhatsApp, &req, &body).await
}

#[utoipa::path(post, path = "/integrations/messenger/{channelId}", tag = "integrations",
    params(ChannelPath, ("X-Hub-Signature-256" = String, Header, description = "sha256=<hex HMAC of the body>")),
    request_body(content = Object, description = "A Messenger webhook delivery"),
    responses((status = 200, description = "Stored", body = WebhookAccepted),
        (status = 400, description = "Not a Messenger delivery", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong signature; nothing stored", body = ErrorEnvelope),
        (status = 404, description = "No such Messenger channel", body = ErrorEnvelope),
        (status = 429, description = "Too many deliveries for this channel", body = ErrorEnvelope)))]
/// A delivery for a tenant's own Meta app.
pub async fn receive_messenger_channel(
    state: web::Data<AppState>,
    path: web::Path<ChannelPath>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    receive_channel(&state, &path.channel_id, ChannelType::Messenger, &req, &body).await
}

#[utoipa::path(get, path = "/integrations/whatsapp", tag = "integrations", params(Handshake),
    responses((status = 200, description = "The challenge, echoed", body = String),
        (status = 403, description = "Wrong token", body = ErrorEnvelope),
        (status = 404, description = "No platform Meta app configured", body = ErrorEnvelope)))]
/// Meta's handshake for the platform's app (`meta.verify_token`).
pub async fn verify_whatsapp_platform(
    state: web::Data<AppState>,
    query: web::Query<Handshake>,
) -> Result<HttpResponse, ApiError> {
    verify_platform(&state, &query)
}

#[utoipa::path(get, path = "/integrations/messenger", tag = "integrations", params(Handshake),
    responses((status = 200, description = "The challenge, echoed", body = String),
        (status = 403, description = "Wrong token", body = ErrorEnvelope),
        (status = 404, description = "No platform Meta app configured", body = ErrorEnvelope)))]
/// Meta's handshake for the platform's app (`meta.verify_token`).
pub async fn verify_messenger_platform(
    state: web::Data<AppState>,
    query: web::Query<Handshake>,
) -> Result<HttpResponse, ApiError> {
    verify_platform(&state, &query)
}

#[utoipa::path(post, path = "/integrations/whatsapp", tag = "integrations",
    params(("X-Hub-Signature-256" = String, Header, description = "sha256=<hex HMAC of the body>")),
    request_body(content = Object, description = "A WhatsApp Cloud API webhook delivery"),
    responses((status = 200, description = "Stored (entries for unknown numbers are skipped)", body = WebhookAccepted),
        (status = 400, description = "Not a WhatsApp delivery", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong signature; nothing stored", body = ErrorEnvelope),
        (status = 404, description = "No platform Meta app configured", body = ErrorEnvelope)))]
/// A delivery for the platform's Meta app, routed by `phone_number_id`.
pub async fn receive_whatsapp_platform(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    receive_platform(&state, ChannelType::WhatsApp, &req, &body).await
}

#[utoipa::path(post, path = "/integrations/messenger", tag = "integrations",
    params(("X-Hub-Signature-256" = String, Header, description = "sha256=<hex HMAC of the body>")),
    request_body(content = Object, description = "A Messenger webhook delivery"),
    responses((status = 200, description = "Stored (entries for unknown pages are skipped)", body = WebhookAccepted),
        (status = 400, description = "Not a Messenger delivery", body = ErrorEnvelope),
        (status = 401, description = "Missing or wrong signature; nothing stored", body = ErrorEnvelope),
        (status = 404, description = "No platform Meta app configured", body = ErrorEnvelope)))]
/// A delivery for the platform's Meta app, routed by page id.
pub async fn receive_messenger_platform(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    receive_platform(&state, ChannelType::Messenger, &req, &body).await
}

// ---- shared steps ----

/// The channel's tenant and row, when `raw` names an enabled channel of `kind`.
async fn find_channel(
    state: &AppState,
    raw: &str,
    kind: ChannelType,
) -> Result<(TenantId, channels::Channel), ApiError> {
    let id = Uuid::parse_str(raw).map(ChannelId::from_uuid).map_err(|_| ApiError::NotFound)?;
    let mut conn = connection(state).await?;
    let Some((tenant, stored_kind)) = channels::resolve_channel(&mut conn, id).await.map_err(internal)? else {
        return Err(ApiError::NotFound);
    };
    if stored_kind != kind {
        return Err(ApiError::NotFound);
    }
    let channel =
        in_tenant_tx(&mut conn, tenant, |conn| Box::pin(async move { channels::find(conn, tenant, id).await }))
            .await
            .map_err(internal)?
            .filter(|channel| channel.enabled)
            .ok_or(ApiError::NotFound)?;
    Ok((tenant, channel))
}

async fn verify_channel(
    state: &AppState,
    raw: &str,
    kind: ChannelType,
    query: &Handshake,
) -> Result<HttpResponse, ApiError> {
    let (tenant, channel) = find_channel(state, raw, kind).await?;
    let expected = open_secret(&state.keyring, tenant, channel.id, &channel.secrets, SecretField::VerifyToken)
        .map_err(internal)?;
    handshake(query, expected.expose())
}

fn verify_platform(state: &AppState, query: &Handshake) -> Result<HttpResponse, ApiError> {
    let expected = state.config.meta.verify_token.expose();
    if state.config.meta.app_secret.expose().is_empty() || expected.is_empty() {
        return Err(ApiError::NotFound);
    }
    handshake(query, expected)
}

fn handshake(query: &Handshake, expected: &str) -> Result<HttpResponse, ApiError> {
    let challenge =
        verify_subscription(query.mode.as_deref(), query.verify_token.as_deref(), query.challenge.as_deref(), expected)
            .map_err(|_| ApiError::Forbidden("The verification token does not match."))?;
    Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(challenge))
}

fn check_signature(secret: &str, req: &HttpRequest, body: &[u8]) -> Result<(), ApiError> {
    let header = req.headers().get(SIGNATURE_HEADER).map(|value| value.to_str().unwrap_or(""));
    verify_meta_signature(secret.as_bytes(), body, header).map_err(|_| ApiError::InvalidSignature)
}

fn parse(kind: ChannelType, body: &[u8]) -> Result<InboundBatch, ApiError> {
    let parsed = match kind {
        ChannelType::WhatsApp => parse_whatsapp(body),
        ChannelType::Messenger => parse_messenger(body),
        ChannelType::WebChat | ChannelType::Api => return Err(ApiError::NotFound),
    };
    parsed.map_err(|err| match err {
        ParseError::InvalidJson => ApiError::InvalidJson("the body is not JSON".into()),
        ParseError::WrongObject { .. } => ApiError::Validation(vec![FieldError::new("object", err.to_string())]),
        ParseError::Shape(_) => ApiError::Validation(vec![FieldError::new("entry", err.to_string())]),
    })
}

fn limit(state: &AppState, key: &str) -> Result<(), ApiError> {
    state.limits.per_channel.check(key).map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })
}

/// The part of `batch` addressed to `account` (a phone number id or page id).
fn for_account(batch: &InboundBatch, account: &str) -> InboundBatch {
    InboundBatch {
        messages: batch.messages.iter().filter(|m| m.account_id == account).cloned().collect(),
        receipts: batch.receipts.iter().filter(|r| r.account_id == account).cloned().collect(),
        skipped: 0,
    }
}

async fn receive_channel(
    state: &AppState,
    raw: &str,
    kind: ChannelType,
    req: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    limit(state, &format!("channel:{raw}"))?;
    let (tenant, channel) = find_channel(state, raw, kind).await?;
    let secret =
        open_secret(&state.keyring, tenant, channel.id, &channel.secrets, SecretField::AppSecret).map_err(internal)?;
    check_signature(secret.expose(), req, body)?;
    let batch = parse(kind, body)?;
    let account = channel.external_id.as_deref().unwrap_or_default();
    let ours = for_account(&batch, account);
    let route = ChannelRoute { tenant, channel: channel.id, channel_type: kind };
    let mut accepted = WebhookAccepted::default();
    store(state, route, &ours, &mut accepted).await?;
    Ok(HttpResponse::Ok().json(accepted))
}

async fn receive_platform(
    state: &AppState,
    kind: ChannelType,
    req: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let secret = state.config.meta.app_secret.expose();
    if secret.is_empty() {
        return Err(ApiError::NotFound);
    }
    check_signature(secret, req, body)?;
    let batch = parse(kind, body)?;
    let mut accounts: Vec<&str> = batch
        .messages
        .iter()
        .map(|m| m.account_id.as_str())
        .chain(batch.receipts.iter().map(|r| r.account_id.as_str()))
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    let mut accepted = WebhookAccepted::default();
    for account in accounts {
        limit(state, &format!("account:{}:{account}", kind.as_str()))?;
        let mut conn = connection(state).await?;
        let routed = channels::resolve_by_external_id(&mut conn, kind, account).await.map_err(internal)?;
        drop(conn);
        let Some((tenant, channel)) = routed else {
            tracing::info!(channel_type = %kind, "platform webhook for an account no channel connects; skipped");
            continue;
        };
        let route = ChannelRoute { tenant, channel, channel_type: kind };
        store(state, route, &for_account(&batch, account), &mut accepted).await?;
    }
    Ok(HttpResponse::Ok().json(accepted))
}

/// Stores `batch` in one tenant transaction, then publishes its events (in the background: the answer
/// does not wait for RabbitMQ, and the sweeper publishes whatever this misses).
async fn store(
    state: &AppState,
    route: ChannelRoute,
    batch: &InboundBatch,
    accepted: &mut WebhookAccepted,
) -> Result<(), ApiError> {
    if batch.messages.is_empty() && batch.receipts.is_empty() {
        return Ok(());
    }
    let mut conn = connection(state).await?;
    let batch = batch.clone();
    let Ingested { stored, duplicates, statuses, events } =
        in_tenant_tx(&mut conn, route.tenant, |conn| Box::pin(async move { ingest(conn, route, &batch).await }))
            .await
            .map_err(internal)?;
    accepted.received += stored;
    accepted.duplicates += duplicates;
    accepted.statuses += statuses;
    tracing::info!(channel_id = %route.channel, stored, duplicates, statuses, "webhook delivery stored");
    if !events.is_empty() {
        let relay = state.relay.clone();
        tokio::spawn(async move { relay.publish_committed(route.tenant, events).await });
    }
    Ok(())
}
