//! `POST /billing/checkout-session`, `POST /billing/portal-session` and `POST /billing/cancel` (owners and
//! admins): the calls that go to Stripe. The tenant's Stripe customer is created on the first checkout and
//! kept; the checkout carries the tenant id in its metadata, client reference and subscription metadata, so
//! the webhook finds the tenant whatever arrives first. Stripe down or refusing → 502; no Stripe key
//! configured → 503.

use actix_web::{HttpResponse, web};
use meta_chat_billing::{CheckoutRequest, StripeClient, StripeError};
use meta_chat_database::subscriptions::{self, SubscriptionState};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{DbError, tenants, users};
use meta_chat_shared::ids::TenantId;
use meta_chat_shared::{Plan, UserRole};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{SubscriptionResponse, subscription_view};
use crate::accounts::{connection, internal};
use crate::caller::Caller;
use crate::error::{ApiError, ErrorEnvelope, FieldError};
use crate::state::AppState;

/// `POST /billing/checkout-session`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CheckoutSessionRequest {
    /// A plan sold through checkout (one with a Stripe price): `starter`, `pro` or `enterprise`.
    pub plan_id: String,
}

/// A Checkout Session to send the customer to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutSessionResponse {
    /// `cs_…`.
    pub id: String,
    /// Stripe's hosted checkout page.
    pub url: String,
}

/// A Billing Portal session.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortalSessionResponse {
    /// Stripe's hosted billing portal.
    pub url: String,
}

fn stripe(state: &AppState) -> Result<&StripeClient, ApiError> {
    state.stripe.as_ref().ok_or_else(|| ApiError::ServiceUnavailable { details: json!({ "unavailable": ["stripe"] }) })
}

fn upstream(err: &StripeError) -> ApiError {
    ApiError::ExternalService { service: "stripe", cause: err.to_string() }
}

/// What checkout needs from the database.
struct Buyer {
    live: bool,
    customer: Option<String>,
    email: String,
    company: String,
}

/// Start a subscription: a Stripe Checkout Session for `planId`. 409 when a subscription is already live
/// (change plans in the billing portal).
#[utoipa::path(post, path = "/billing/checkout-session", tag = "billing", request_body = CheckoutSessionRequest,
    security(("bearerAuth" = [])),
    responses((status = 201, description = "Send the customer to `url`", body = CheckoutSessionResponse),
        (status = 400, description = "`VALIDATION_ERROR`: not a plan sold through checkout", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys", body = ErrorEnvelope),
        (status = 409, description = "A subscription is already live", body = ErrorEnvelope),
        (status = 502, description = "Stripe failed", body = ErrorEnvelope),
        (status = 503, description = "Stripe is not configured", body = ErrorEnvelope)))]
pub async fn create_checkout_session(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<CheckoutSessionRequest>,
) -> Result<HttpResponse, ApiError> {
    let ctx = *caller.require_role(UserRole::Admin)?;
    let plan_id: Plan = body.plan_id.parse().map_err(|_| invalid_plan("must be starter, pro or enterprise"))?;
    let price_id = state
        .config
        .billing
        .plans
        .all()
        .into_iter()
        .find(|(id, p)| *id == plan_id && !p.stripe_price_id.is_empty())
        .map(|(_, p)| p.stripe_price_id.clone())
        .ok_or_else(|| invalid_plan("is not sold through checkout"))?;
    let stripe = stripe(&state)?;
    let tenant = ctx.tenant_id;
    let user = ctx.user_id;
    let mut conn = connection(&state).await?;
    let buyer = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            Ok::<_, DbError>(Buyer {
                live: subscriptions::in_force(conn, tenant).await?.is_some(),
                customer: subscriptions::customer(conn, tenant).await?,
                email: users::find(conn, tenant, user).await?.map(|u| u.email).unwrap_or_default(),
                company: tenants::find(conn, tenant).await?.map(|t| t.name).unwrap_or_default(),
            })
        })
    })
    .await
    .map_err(internal)?;
    if buyer.live {
        return Err(ApiError::Conflict {
            field: "planId",
            message: "A subscription is already live; change plans in the billing portal.",
        });
    }
    let customer = match buyer.customer {
        Some(customer) => customer,
        None => create_customer(&state, stripe, tenant, &buyer.email, &buyer.company).await?,
    };
    let request = CheckoutRequest {
        tenant,
        customer: &customer,
        plan_id: plan_id.as_str(),
        price_id: &price_id,
        success_url: &state.config.billing.stripe.checkout_success_url,
        cancel_url: &state.config.billing.stripe.checkout_cancel_url,
    };
    let session = stripe.create_checkout_session(&request).await.map_err(|err| upstream(&err))?;
    let url = session.url.ok_or_else(|| upstream(&StripeError::Decode("checkout session without url".into())))?;
    tracing::info!(tenant.id = %tenant, plan = plan_id.as_str(), "checkout session created");
    Ok(HttpResponse::Created().json(CheckoutSessionResponse { id: session.id, url }))
}

fn invalid_plan(message: &str) -> ApiError {
    ApiError::Validation(vec![FieldError::new("planId", message)])
}

/// Creates the tenant's Stripe customer and stores it; a concurrent checkout that stored one first wins
/// (Stripe returns the same customer to both: the idempotency key is the tenant's).
async fn create_customer(
    state: &AppState,
    stripe: &StripeClient,
    tenant: TenantId,
    email: &str,
    company: &str,
) -> Result<String, ApiError> {
    let created = stripe.create_customer(tenant, email, company).await.map_err(|err| upstream(&err))?;
    let mut conn = connection(state).await?;
    in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            subscriptions::set_customer(conn, tenant, &created).await?;
            Ok::<_, DbError>(subscriptions::customer(conn, tenant).await?.unwrap_or(created))
        })
    })
    .await
    .map_err(internal)
}

/// Open the Stripe billing portal (payment methods, invoices, plan changes). 409 before the first checkout.
#[utoipa::path(post, path = "/billing/portal-session", tag = "billing", security(("bearerAuth" = [])),
    responses((status = 201, description = "Send the customer to `url`", body = PortalSessionResponse),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys", body = ErrorEnvelope),
        (status = 409, description = "No billing account yet", body = ErrorEnvelope),
        (status = 502, description = "Stripe failed", body = ErrorEnvelope),
        (status = 503, description = "Stripe is not configured", body = ErrorEnvelope)))]
pub async fn create_portal_session(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let tenant = caller.require_role(UserRole::Admin)?.tenant_id;
    let stripe = stripe(&state)?;
    let mut conn = connection(&state).await?;
    let customer = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move { subscriptions::customer(conn, tenant).await })
    })
    .await
    .map_err(internal)?
    .ok_or(ApiError::Conflict {
        field: "customer",
        message: "There is no billing account yet; subscribe through checkout first.",
    })?;
    let url = stripe
        .create_portal_session(&customer, &state.config.billing.stripe.portal_return_url)
        .await
        .map_err(|err| upstream(&err))?;
    Ok(HttpResponse::Created().json(PortalSessionResponse { url }))
}

/// Cancel at the end of the paid period: service continues until `currentPeriodEnd`. 409 without a live
/// subscription. Answers the subscription as it is now.
#[utoipa::path(post, path = "/billing/cancel", tag = "billing", security(("bearerAuth" = [])),
    responses((status = 200, description = "Ends at the period's end", body = SubscriptionResponse),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys", body = ErrorEnvelope),
        (status = 409, description = "No live subscription", body = ErrorEnvelope),
        (status = 502, description = "Stripe failed", body = ErrorEnvelope),
        (status = 503, description = "Stripe is not configured", body = ErrorEnvelope)))]
pub async fn cancel_subscription(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let tenant = caller.require_role(UserRole::Admin)?.tenant_id;
    let stripe = stripe(&state)?;
    let mut conn = connection(&state).await?;
    let live = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move { subscriptions::in_force(conn, tenant).await })
    })
    .await
    .map_err(internal)?
    .ok_or(ApiError::Conflict { field: "subscription", message: "There is no live subscription to cancel." })?;
    let canceled = stripe.cancel_at_period_end(&live.stripe_subscription_id).await.map_err(|err| upstream(&err))?;
    // Stored with the time of the state it changes, so the webhook event that follows still applies.
    let (start, end) = canceled.period();
    in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let state = SubscriptionState {
                stripe_subscription_id: &live.stripe_subscription_id,
                stripe_customer_id: &live.stripe_customer_id,
                plan_id: &live.plan_id,
                status: &canceled.status,
                current_period_start: start,
                current_period_end: end,
                cancel_at_period_end: Some(canceled.cancel_at_period_end),
                canceled_at: None,
                at: live.stripe_updated_at,
            };
            subscriptions::apply(conn, tenant, &state).await
        })
    })
    .await
    .map_err(internal)?;
    tracing::info!(tenant.id = %tenant, "subscription set to cancel at period end");
    Ok(HttpResponse::Ok().json(subscription_view(&state, tenant).await?))
}
