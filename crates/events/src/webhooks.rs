//! Tenant outbound webhooks: every domain event is offered to the tenant's subscribed URLs as a signed
//! `POST`, retried with backoff for a day, and recorded in a delivery log the tenant can read.
//!
//! - [`fan_out`] handles an event (a queue consumer calls it): in the tenant's transaction it creates one
//!   pending delivery per subscribed, enabled webhook. Idempotent: a redelivered event creates nothing.
//! - [`deliver_due`] (the worker, periodically) claims due deliveries across tenants with
//!   `FOR UPDATE SKIP LOCKED` and a lease, signs ([`sign`]), checks the destination ([`check_destination`]),
//!   POSTs, and records the attempt. After `webhooks.disable_after_failures` consecutive failures a webhook
//!   is disabled and the audit log gets a `webhook.disabled` entry (actor `system`).
//! - [`send_test`] sends one synthetic event synchronously for `POST /webhooks/{id}/test`.
//!
//! The body is `{id, event, tenantId, createdAt, data}`; headers [`EVENT_HEADER`], [`DELIVERY_HEADER`]
//! (the delivery's id, the same on every retry), [`TIMESTAMP_HEADER`] and [`SIGNATURE_HEADER`]. Logs carry
//! ids, attempt numbers and status codes only: never secrets, URLs or bodies.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use futures_util::StreamExt as _;
use meta_chat_database::audit::{self, Actor, NewAuditEntry, RequestOrigin};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::webhooks::{self as store, DeliveryEvent, DueDelivery, Webhook, WebhookDelivery};
use meta_chat_database::{DbError, DbPool};
use meta_chat_shared::config::{Secret, WebhooksConfig};
use meta_chat_shared::ids::{TenantId, WebhookId};
use meta_chat_shared::random::{self, RandomError};
use meta_chat_shared::secrets::{Keyring, SecretError};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::envelope::{Envelope, EventType};

mod signing;
mod ssrf;
mod transport;

pub use signing::{DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify, verify_at};
pub use ssrf::{Allowlist, MAX_URL_LEN, SsrfError, UrlError, check_destination, classify, parse_url};
pub use transport::MAX_RESPONSE_BYTES;
/// The URL type of [`parse_url`] and [`check_destination`].
pub use url::Url;

use self::transport::{Answer, Signed};

/// Every signing secret starts with this.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a signing secret (base64url after the prefix).
const SECRET_BYTES: usize = 32;
/// Deliveries attempted at once by one [`deliver_due`] call.
const CONCURRENCY: usize = 8;
/// How long past the attempt timeout a claimed delivery stays away from other workers.
const LEASE_MARGIN: Duration = Duration::from_secs(60);

/// What webhook handling can fail with (a failed *delivery* is not an error: it is recorded and retried).
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Reading or writing webhooks or deliveries failed.
    #[error("webhook store: {0}")]
    Database(#[from] DbError),
    /// A signing secret could not be sealed.
    #[error("webhook secret: {0}")]
    Secret(#[from] SecretError),
    /// No randomness for a new secret.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Delivery settings, from the `webhooks` configuration section.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Destinations exempt from the SSRF guard.
    pub allowlist: Allowlist,
    /// Time allowed to one attempt.
    pub timeout: Duration,
    /// How long after its creation a delivery is retried.
    pub retry_window: Duration,
    /// Consecutive failed attempts that disable a webhook.
    pub disable_after: u32,
}

impl WebhookSettings {
    /// The settings `config` describes.
    pub fn from_config(config: &WebhooksConfig) -> Self {
        Self {
            allowlist: Allowlist::new(&config.allow_private_hosts),
            timeout: Duration::from_millis(config.timeout_ms),
            retry_window: Duration::from_secs(u64::from(config.max_attempts_window_hours) * 3600),
            disable_after: config.disable_after_failures,
        }
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.timeout + LEASE_MARGIN).unwrap_or(chrono::Duration::hours(1))
    }
}

/// A new signing secret: [`SECRET_PREFIX`] + 32 random bytes, base64url without padding.
pub fn generate_secret() -> Result<Secret, RandomError> {
    let mut bytes = [0_u8; SECRET_BYTES];
    random::fill(&mut bytes)?;
    Ok(Secret::new(format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))))
}

/// The associated data a webhook secret is sealed with: `tenant:<tenant>:webhook:<id>:secret`, so an
/// envelope copied to another webhook or tenant does not open.
fn associated_data(tenant: TenantId, webhook: WebhookId) -> String {
    format!("tenant:{tenant}:webhook:{webhook}:secret")
}

/// Seals `secret` for storage in webhook `webhook` of `tenant`.
pub fn seal_secret(
    keyring: &Keyring,
    tenant: TenantId,
    webhook: WebhookId,
    secret: &Secret,
) -> Result<String, SecretError> {
    keyring.seal(secret.expose(), associated_data(tenant, webhook).as_bytes())
}

/// Opens a stored webhook's secret.
pub fn open_secret(keyring: &Keyring, webhook: &Webhook) -> Result<Secret, SecretError> {
    keyring.open(&webhook.secret_enc, associated_data(webhook.tenant_id, webhook.id).as_bytes()).map(Secret::new)
}

/// The body delivered for `event`: `{id, event, tenantId, createdAt, data}`.
pub fn payload(event: &Envelope) -> Value {
    json!({
        "id": event.id,
        "event": event.event_type.as_str(),
        "tenantId": event.tenant_id,
        "createdAt": event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": event.data,
    })
}

/// Creates a pending delivery of `event` for each of its tenant's enabled webhooks subscribed to its type,
/// in one tenant transaction on `pool` (the runtime role). Returns how many were created: 0 when no webhook
/// is subscribed, and 0 again when the same event comes a second time. Internal events
/// ([`EventType::is_public`] false) are never offered to tenants.
#[tracing::instrument(
    skip_all,
    fields(tenant.id = %event.tenant_id, event.id = %event.id, event.kind = %event.event_type)
)]
pub async fn fan_out(pool: &DbPool, event: &Envelope) -> Result<usize, WebhookError> {
    if !event.event_type.is_public() {
        return Ok(0);
    }
    let mut conn = pool.get().await.map_err(DbError::from)?;
    let (tenant, event_type, id) = (event.tenant_id, event.event_type, event.id);
    let body = payload(event);
    let created = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let webhooks = store::subscribed(conn, tenant, event_type.as_str()).await?;
            let ids: Vec<WebhookId> = webhooks.iter().map(|w| w.id).collect();
            let event =
                DeliveryEvent { id, event_type: event_type.as_str(), payload: &body, first_attempt_at: Utc::now() };
            store::create_deliveries(conn, tenant, &event, &ids).await.map(|created| created.len())
        })
    })
    .await?;
    if created > 0 {
        tracing::debug!(deliveries = created, "webhook deliveries created");
    }
    Ok(created)
}

/// Attempts up to `limit` due deliveries of any tenant: claims them through `owner` (the owner pool, which
/// bypasses row-level security; see [`store::due_deliveries`]), delivers them a few at a time, and records
/// each attempt in its tenant's transaction on `app` (the runtime role). Returns how many were attempted.
///
/// A delivery whose webhook was disabled meanwhile is given up without a request.
pub async fn deliver_due(
    owner: &DbPool,
    app: &DbPool,
    keyring: &Keyring,
    settings: &WebhookSettings,
    limit: usize,
) -> Result<usize, WebhookError> {
    let now = Utc::now();
    let due = {
        let mut conn = owner.get().await.map_err(DbError::from)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        store::due_deliveries(&mut conn, now, now + settings.lease(), limit).await?
    };
    let attempted = due.len();
    futures_util::stream::iter(due)
        .for_each_concurrent(CONCURRENCY, |due| async move {
            let (delivery, webhook) = (due.delivery.id, due.webhook.id);
            if let Err(err) = deliver_one(app, keyring, settings, due).await {
                // the lease runs out and the delivery is attempted again
                tracing::warn!(
                    delivery.id = %delivery, webhook.id = %webhook, error = %err, "webhook attempt not recorded"
                );
            }
        })
        .await;
    Ok(attempted)
}

async fn deliver_one(
    app: &DbPool,
    keyring: &Keyring,
    settings: &WebhookSettings,
    due: DueDelivery,
) -> Result<(), WebhookError> {
    let DueDelivery { delivery, webhook } = due;
    let attempt = delivery.attempts + 1;
    let (answer, retry_at, disable_after) = if webhook.enabled {
        let answer = attempt_delivery(keyring, settings, &webhook, &delivery).await;
        let retry_at =
            transport::retry_at(delivery.created_at, attempt, Utc::now(), settings.retry_window, transport::jitter());
        (answer, retry_at, Some(settings.disable_after))
    } else {
        (Answer::failed("not delivered: the webhook is disabled"), None, None)
    };
    let (tenant, webhook_id, delivery_id) = (webhook.tenant_id, webhook.id, delivery.id);
    let mut conn = app.get().await.map_err(DbError::from)?;
    let recorded = answer.clone();
    let disabled = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let outcome = recorded.outcome(retry_at);
            let disabled = store::record_attempt(conn, tenant, delivery_id, &outcome, disable_after).await?;
            if disabled {
                let entry = NewAuditEntry {
                    actor: Actor::System,
                    action: "webhook.disabled",
                    target_type: Some("webhook"),
                    target_id: Some(webhook_id.to_string()),
                    origin: &RequestOrigin::default(),
                    details: json!({ "consecutiveFailures": disable_after, "lastDelivery": delivery_id }),
                };
                audit::insert(conn, tenant, &entry).await?;
            }
            Ok::<_, DbError>(disabled)
        })
    })
    .await?;
    let outcome = match (answer.delivered(), retry_at.is_some() && disable_after.is_some()) {
        (true, _) => "delivered",
        (false, true) => "retry",
        (false, false) => "failed",
    };
    metrics::counter!("metachat_webhook_attempts_total", "outcome" => outcome).increment(1);
    tracing::info!(
        tenant.id = %tenant, webhook.id = %webhook_id, delivery.id = %delivery_id, attempt,
        http.status_code = answer.status_code, outcome, "webhook delivery attempted"
    );
    if disabled {
        tracing::warn!(tenant.id = %tenant, webhook.id = %webhook_id, failures = settings.disable_after,
            "webhook disabled after consecutive failed attempts");
    }
    Ok(())
}

/// One attempt: open the secret, check the destination again (DNS may have changed since the URL was
/// saved), sign and POST. Every failure becomes an [`Answer`] the tenant can read.
async fn attempt_delivery(
    keyring: &Keyring,
    settings: &WebhookSettings,
    webhook: &Webhook,
    delivery: &WebhookDelivery,
) -> Answer {
    let Ok(secret) = open_secret(keyring, webhook) else {
        tracing::error!(webhook.id = %webhook.id, "webhook secret cannot be decrypted (secrets.keys changed?)");
        return Answer::failed("not sent: the signing secret is unavailable");
    };
    let url = match parse_url(&webhook.url) {
        Ok(url) => url,
        Err(err) => return Answer::failed(format!("not sent: the URL {err}")),
    };
    let addrs = match check_destination(&url, &settings.allowlist).await {
        Ok(addrs) => addrs,
        Err(err) => return Answer::failed(format!("not sent: destination refused: {err}")),
    };
    let Ok(body) = serde_json::to_vec(&delivery.payload) else {
        return Answer::failed("not sent: the payload could not be encoded");
    };
    let timestamp = Utc::now().timestamp();
    let request = Signed {
        event_type: &delivery.event_type,
        delivery_id: delivery.id.to_string(),
        timestamp,
        signature: sign(secret.expose(), timestamp, &body),
        body,
    };
    transport::send(&url, &addrs, settings.timeout, request).await
}

/// The result of [`send_test`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestDelivery {
    /// The delivery row written for it (and the `X-MetaChat-Delivery` header sent).
    pub delivery_id: Uuid,
    /// The synthetic event's id.
    pub event_id: Uuid,
    /// The event type used: the webhook's first subscribed one.
    pub event_type: EventType,
    /// Whether the receiver answered 2xx.
    pub delivered: bool,
    /// The receiver's status, if it answered.
    pub status_code: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// Sends a synthetic event (the webhook's first subscribed type, `data: {"test": true}`) to webhook
/// `webhook` of `tenant` now, waits for the answer and records it as a delivery (one attempt, never
/// retried, not counted towards disabling). Works on disabled webhooks too. `None` for unknown ids and
/// other tenants' webhooks.
#[tracing::instrument(skip_all, fields(tenant.id = %tenant, webhook.id = %webhook))]
pub async fn send_test(
    pool: &DbPool,
    keyring: &Keyring,
    settings: &WebhookSettings,
    tenant: TenantId,
    webhook: WebhookId,
) -> Result<Option<TestDelivery>, WebhookError> {
    let mut conn = pool.get().await.map_err(DbError::from)?;
    // due only after the lease, so the delivery worker leaves it to this call
    let first_attempt_at = Utc::now() + settings.lease();
    let created = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let Some(hook) = store::find(conn, tenant, webhook).await? else { return Ok(None) };
            // the CHECK admits only known names, so the fallback is never used
            let event_type = hook.events.iter().find_map(|e| e.parse().ok()).unwrap_or(EventType::MessageReceived);
            let event = Envelope::new(event_type, tenant, None, json!({ "test": true }));
            let body = payload(&event);
            let new = DeliveryEvent { id: event.id, event_type: event_type.as_str(), payload: &body, first_attempt_at };
            let delivery = store::create_deliveries(conn, tenant, &new, &[webhook]).await?.into_iter().next();
            Ok::<_, DbError>(delivery.map(|delivery| (hook, delivery, event_type)))
        })
    })
    .await?;
    let Some((hook, delivery, event_type)) = created else { return Ok(None) };
    let answer = attempt_delivery(keyring, settings, &hook, &delivery).await;
    let delivery_id = delivery.id;
    let recorded = answer.clone();
    in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move { store::record_attempt(conn, tenant, delivery_id, &recorded.outcome(None), None).await })
    })
    .await?;
    tracing::info!(delivery.id = %delivery_id, http.status_code = answer.status_code, "webhook test sent");
    Ok(Some(TestDelivery {
        delivery_id,
        event_id: delivery.event_id,
        event_type,
        delivered: answer.delivered(),
        status_code: answer.status_code,
        error: answer.error,
    }))
}

/// The consumer of every public event: creates the delivery rows of the tenant's subscribed webhooks
/// (idempotent), which [`deliver_due`] then sends.
pub struct FanOut {
    pool: DbPool,
}

impl FanOut {
    /// A fan-out writing through `pool` (the runtime role).
    #[must_use]
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }
}

impl crate::Handler for FanOut {
    async fn handle(&self, event: Envelope, _attempt: usize) -> Result<(), crate::HandleError> {
        fan_out(&self.pool, &event).await.map(drop).map_err(|err| crate::HandleError::Retry(err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_url_safe() {
        let (a, b) = (generate_secret().unwrap(), generate_secret().unwrap());
        assert_ne!(a.expose(), b.expose());
        let body = a.expose().strip_prefix(SECRET_PREFIX).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), SECRET_BYTES);
        assert!(!format!("{a:?}").contains(body), "Debug must not show the secret");
    }

    #[test]
    fn the_payload_has_the_documented_shape() {
        let event = Envelope::new(EventType::ConversationClosed, TenantId::new(), None, json!({"conversationId": 1}));
        let body = payload(&event);
        let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["createdAt", "data", "event", "id", "tenantId"]);
        assert_eq!(body["event"], "conversation.closed");
        assert_eq!(body["id"], event.id.to_string());
        assert_eq!(body["tenantId"], event.tenant_id.to_string());
        assert_eq!(body["data"], json!({"conversationId": 1}));
    }

    #[test]
    fn sealed_secrets_open_only_for_their_own_webhook() {
        let keyring = Keyring::from_config(&meta_chat_shared::Config::default().secrets).unwrap();
        let (tenant, id) = (TenantId::new(), WebhookId::new());
        let secret = generate_secret().unwrap();
        let sealed = seal_secret(&keyring, tenant, id, &secret).unwrap();
        assert!(!sealed.contains(secret.expose()));
        let hook = |tenant_id, id| Webhook {
            tenant_id,
            id,
            url: "https://203.0.113.10/".into(),
            description: None,
            events: vec!["message.received".into()],
            secret_enc: sealed.clone(),
            enabled: true,
            consecutive_failures: 0,
            disabled_reason: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert_eq!(open_secret(&keyring, &hook(tenant, id)).unwrap().expose(), secret.expose());
        assert!(open_secret(&keyring, &hook(tenant, WebhookId::new())).is_err());
        assert!(open_secret(&keyring, &hook(TenantId::new(), id)).is_err());
    }
}
