//! A small Stripe API client over reqwest: the five calls billing makes. Every POST carries an
//! `Idempotency-Key`; a request that fails in transport is retried with the same key, so Stripe performs it
//! at most once. The base URL is configurable, so tests talk to a local fake server.

use std::time::Duration;

use meta_chat_shared::config::StripeConfig;
use meta_chat_shared::ids::TenantId;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use crate::objects::{CheckoutSession, Created, ErrorBody, Subscription};

/// Transport attempts per call (the first and the retries).
const ATTEMPTS: u32 = 3;

/// Why a Stripe call failed. Nothing here is shown to API clients; it is logged.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe could not be reached or did not answer in time.
    #[error("stripe unreachable: {0}")]
    Transport(String),
    /// Stripe answered with an error.
    #[error("stripe answered {status}: {kind} {code}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Stripe's error type.
        kind: String,
        /// Stripe's error code.
        code: String,
    },
    /// The answer could not be read.
    #[error("unreadable stripe answer: {0}")]
    Decode(String),
}

/// What checkout sells.
#[derive(Debug, Clone)]
pub struct CheckoutRequest<'a> {
    /// The tenant buying (metadata, client reference and subscription metadata).
    pub tenant: TenantId,
    /// `cus_…`.
    pub customer: &'a str,
    /// The plan id (metadata).
    pub plan_id: &'a str,
    /// `price_…`.
    pub price_id: &'a str,
    /// Return URL after paying.
    pub success_url: &'a str,
    /// Return URL after giving up.
    pub cancel_url: &'a str,
}

/// The Stripe client.
#[derive(Debug, Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl StripeClient {
    /// A client for the configured account; `None` when no secret key is configured.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (TLS back end missing).
    pub fn from_config(config: &StripeConfig) -> Result<Option<Self>, StripeError> {
        if config.secret_key.expose().is_empty() {
            return Ok(None);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .user_agent(concat!("meta-chat-platform/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| StripeError::Transport(err.to_string()))?;
        Ok(Some(Self {
            http,
            base: config.api_base_url.trim_end_matches('/').to_owned(),
            key: config.secret_key.expose().to_owned(),
        }))
    }

    /// Creates the tenant's customer. The idempotency key is derived from the tenant, so concurrent or
    /// repeated checkouts create one customer.
    ///
    /// # Errors
    /// [`StripeError`].
    pub async fn create_customer(&self, tenant: TenantId, email: &str, name: &str) -> Result<String, StripeError> {
        let tenant_id = tenant.to_string();
        let form = [("email", email), ("name", name), ("metadata[tenantId]", tenant_id.as_str())];
        let created: Created = self.post("/v1/customers", &form, &format!("customer-{tenant_id}")).await?;
        Ok(created.id)
    }

    /// Creates a Checkout Session for a monthly subscription to `request.price_id`.
    ///
    /// # Errors
    /// [`StripeError`].
    pub async fn create_checkout_session(&self, request: &CheckoutRequest<'_>) -> Result<CheckoutSession, StripeError> {
        let tenant_id = request.tenant.to_string();
        let form = [
            ("mode", "subscription"),
            ("customer", request.customer),
            ("line_items[0][price]", request.price_id),
            ("line_items[0][quantity]", "1"),
            ("client_reference_id", tenant_id.as_str()),
            ("metadata[tenantId]", tenant_id.as_str()),
            ("metadata[planId]", request.plan_id),
            ("subscription_data[metadata][tenantId]", tenant_id.as_str()),
            ("subscription_data[metadata][planId]", request.plan_id),
            ("success_url", request.success_url),
            ("cancel_url", request.cancel_url),
        ];
        self.post("/v1/checkout/sessions", &form, &uuid::Uuid::new_v4().to_string()).await
    }

    /// Creates a Billing Portal session; returns its URL.
    ///
    /// # Errors
    /// [`StripeError`].
    pub async fn create_portal_session(&self, customer: &str, return_url: &str) -> Result<String, StripeError> {
        let form = [("customer", customer), ("return_url", return_url)];
        let created: Created =
            self.post("/v1/billing_portal/sessions", &form, &uuid::Uuid::new_v4().to_string()).await?;
        created.url.ok_or_else(|| StripeError::Decode("portal session without url".into()))
    }

    /// Reads a subscription.
    ///
    /// # Errors
    /// [`StripeError`].
    pub async fn retrieve_subscription(&self, id: &str) -> Result<Subscription, StripeError> {
        let url = format!("{}/v1/subscriptions/{}", self.base, path_segment(id)?);
        let mut last = None;
        for _ in 0..ATTEMPTS {
            match self.http.get(&url).bearer_auth(&self.key).send().await {
                Ok(response) => return read(response).await,
                Err(err) => last = Some(err),
            }
        }
        Err(StripeError::Transport(last.map(|e| e.to_string()).unwrap_or_default()))
    }

    /// Sets a subscription to end at its period's end.
    ///
    /// # Errors
    /// [`StripeError`].
    pub async fn cancel_at_period_end(&self, id: &str) -> Result<Subscription, StripeError> {
        let path = format!("/v1/subscriptions/{}", path_segment(id)?);
        self.post(&path, &[("cancel_at_period_end", "true")], &uuid::Uuid::new_v4().to_string()).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
        idempotency_key: &str,
    ) -> Result<T, StripeError> {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let url = format!("{}{path}", self.base);
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let sent = self
                .http
                .post(&url)
                .bearer_auth(&self.key)
                .header("Idempotency-Key", idempotency_key)
                .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(response) => return read(response).await,
                Err(err) => last = Some(err),
            }
        }
        Err(StripeError::Transport(last.map(|e| e.to_string()).unwrap_or_default()))
    }
}

/// Ids go into paths only when they are plain Stripe ids.
fn path_segment(id: &str) -> Result<&str, StripeError> {
    if !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(StripeError::Decode("not a Stripe id".into()))
    }
}

async fn read<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, StripeError> {
    let status = response.status();
    let bytes = response.bytes().await.map_err(|err| StripeError::Transport(err.to_string()))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|err| StripeError::Decode(err.to_string()));
    }
    let detail = serde_json::from_slice::<ErrorBody>(&bytes).ok().map(|body| body.error);
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        tracing::warn!(status = status.as_u16(), "stripe call failed");
    }
    Err(StripeError::Api {
        status: status.as_u16(),
        kind: detail.as_ref().and_then(|d| d.kind.clone()).unwrap_or_default(),
        code: detail.and_then(|d| d.code).unwrap_or_default(),
    })
}
