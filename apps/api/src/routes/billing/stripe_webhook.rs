//! `POST /billing/stripe/webhook`: Stripe's events, authenticated by the `Stripe-Signature` header only
//! (timestamp plus v1 HMAC-SHA256 over the raw body, `billing.stripe.webhook_tolerance_secs` of tolerance,
//! several v1 values accepted during a secret roll). The signature is checked before the body is parsed; a
//! bad one is 401 and nothing is stored. A processed event answers 200 only after its change committed; a
//! database failure answers 500 so Stripe retries; unknown event types answer 200 and are ignored.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use meta_chat_billing::stripe_signature;
use meta_chat_billing::webhook::{self, Outcome, WebhookError};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::accounts::{connection, internal};
use crate::error::{ApiError, ErrorEnvelope};
use crate::state::AppState;

/// The answer Stripe gets.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAck {
    /// Always `true`: the event will not be sent again.
    pub received: bool,
    /// `applied`, `duplicate` (processed before) or `ignored`.
    pub outcome: &'static str,
}

/// Receive a Stripe event.
#[utoipa::path(post, path = "/billing/stripe/webhook", tag = "billing",
    params(("Stripe-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256>")),
    request_body(content = Object, description = "A Stripe event, exactly as Stripe signed it"),
    responses((status = 200, description = "Processed, a redelivery, or ignored", body = WebhookAck),
        (status = 400, description = "Signed, but not a Stripe event", body = ErrorEnvelope),
        (status = 401, description = "`INVALID_SIGNATURE`: missing, wrong, or too old", body = ErrorEnvelope),
        (status = 503, description = "No webhook secret configured: Stripe retries later", body = ErrorEnvelope)))]
pub async fn receive(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let config = &state.config.billing.stripe;
    let secret = config.webhook_secret.expose();
    if secret.is_empty() {
        return Err(ApiError::ServiceUnavailable { details: json!({ "unavailable": ["stripe"] }) });
    }
    let header = req.headers().get("stripe-signature").and_then(|value| value.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    stripe_signature::verify(secret, header, &body, now, Duration::from_secs(config.webhook_tolerance_secs)).map_err(
        |err| {
            tracing::info!(error = %err, "stripe webhook refused");
            ApiError::InvalidSignature
        },
    )?;
    let mut conn = connection(&state).await?;
    let outcome = match webhook::process(&mut conn, &state.config.billing, &body).await {
        Ok(outcome) => outcome,
        Err(WebhookError::Malformed(reason)) => {
            tracing::warn!(%reason, "signed stripe webhook is not an event");
            return Err(ApiError::InvalidJson("not a Stripe event".into()));
        }
        Err(WebhookError::Db(err)) => return Err(internal(err)),
    };
    let outcome = match outcome {
        Outcome::Applied { tenant, events } => {
            tracing::info!(tenant.id = %tenant, "stripe event applied");
            super::publish(&state, tenant, events);
            "applied"
        }
        Outcome::Duplicate => "duplicate",
        Outcome::Ignored(reason) => {
            tracing::info!(reason, "stripe event ignored");
            "ignored"
        }
    };
    Ok(HttpResponse::Ok().json(WebhookAck { received: true, outcome }))
}
