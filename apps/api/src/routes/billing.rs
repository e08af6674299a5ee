//! Billing routes: `GET /billing/plans` (public): the plans with their monthly price and limits, as
//! configured (`billing.plans.*`); `GET /billing/usage` and `GET /billing/subscription` (owners and admins):
//! this period's usage against the plan in force, and the subscription. Checkout, the billing portal and
//! cancellation are in [`checkout`]; the Stripe webhook (signature only) in [`stripe_webhook`].

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use meta_chat_billing::{plan, quota};
use meta_chat_database::usage::{self, Metric};
use meta_chat_events::Envelope;
use meta_chat_shared::config::{PlanConfig, PlanLimits};
use meta_chat_shared::ids::TenantId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::{connection, internal};
use crate::caller::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::state::AppState;

pub mod checkout;
pub mod stripe_webhook;

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/billing/plans").route(web::get().to(list_plans)))
        .service(web::resource("/billing/usage").route(web::get().to(get_usage)))
        .service(web::resource("/billing/subscription").route(web::get().to(get_subscription)))
        .service(web::resource("/billing/checkout-session").route(web::post().to(checkout::create_checkout_session)))
        .service(web::resource("/billing/portal-session").route(web::post().to(checkout::create_portal_session)))
        .service(web::resource("/billing/cancel").route(web::post().to(checkout::cancel_subscription)))
        .service(web::resource("/billing/stripe/webhook").route(web::post().to(stripe_webhook::receive)));
}

/// Publishes events an action recorded in its (committed) transaction, without holding up the response;
/// the worker's outbox sweeper publishes whatever this misses.
pub(crate) fn publish(state: &AppState, tenant: TenantId, events: Vec<Envelope>) {
    if events.is_empty() {
        return;
    }
    let relay = state.relay.clone();
    tokio::spawn(async move { relay.publish_committed(tenant, events).await });
}

/// A plan's price.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceDto {
    /// Monthly amount in the currency's minor unit (cents); 0 for free and for plans priced on request.
    pub monthly_amount_minor: u64,
    /// ISO 4217 code, lower case.
    pub currency: String,
    /// Whether the plan can be bought through checkout.
    pub self_serve: bool,
}

/// A plan's limits; `null` is unlimited.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitsDto {
    /// Inbound channel messages per month.
    pub inbound_messages_per_month: Option<u64>,
    /// AI replies per month.
    pub ai_replies_per_month: Option<u64>,
    /// Knowledge-base documents.
    pub documents: Option<u64>,
    /// Stored bytes.
    pub storage_bytes: Option<u64>,
    /// Team members.
    pub team_members: Option<u64>,
    /// Connected channels.
    pub channels: Option<u64>,
    /// Authenticated API calls per month.
    pub api_calls_per_month: Option<u64>,
}

/// A plan.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanDto {
    /// `free`, `starter`, `pro` or `enterprise`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Price.
    pub price: PriceDto,
    /// Limits.
    pub limits: LimitsDto,
}

/// The plans, cheapest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanList {
    /// Every plan.
    pub data: Vec<PlanDto>,
    /// Always `null`: the list is complete.
    pub next_cursor: Option<String>,
}

fn limits(limits: &PlanLimits) -> LimitsDto {
    LimitsDto {
        inbound_messages_per_month: limits.inbound_messages,
        ai_replies_per_month: limits.ai_replies,
        documents: limits.documents,
        storage_bytes: limits.storage_bytes,
        team_members: limits.team_members,
        channels: limits.channels,
        api_calls_per_month: limits.api_calls,
    }
}

fn plan(id: meta_chat_shared::Plan, plan: &PlanConfig) -> PlanDto {
    PlanDto {
        id: id.as_str().to_owned(),
        name: plan.name.clone(),
        price: PriceDto {
            monthly_amount_minor: plan.monthly_price_minor,
            currency: plan.currency.clone(),
            self_serve: !plan.stripe_price_id.is_empty(),
        },
        limits: limits(&plan.limits),
    }
}

/// The plans with their prices and limits. Public: no credentials needed.
#[utoipa::path(get, path = "/billing/plans", tag = "billing",
    responses((status = 200, description = "Every plan, cheapest first", body = PlanList)))]
pub async fn list_plans(state: web::Data<AppState>) -> HttpResponse {
    let data = state.config.billing.plans.all().into_iter().map(|(id, config)| plan(id, config)).collect();
    HttpResponse::Ok()
        .insert_header(("cache-control", "public, max-age=300"))
        .json(PlanList { data, next_cursor: None })
}

/// One metric's use in the period.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricUsage {
    /// `inbound_messages`, `ai_replies`, `api_calls` (per month), `documents`, `storage_bytes`, `team_members`,
    /// `channels` (what the tenant has now).
    pub metric: String,
    /// Used so far in the period, or held now.
    pub used: i64,
    /// The plan's limit; `null` is unlimited.
    pub limit: Option<u64>,
}

/// Usage in the current period.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageResponse {
    /// The plan the limits come from (an admin's override wins; a lapsed subscription gives `free`).
    pub plan_id: String,
    /// First day of the period (calendar month, UTC).
    pub period_start: chrono::NaiveDate,
    /// First day of the next period.
    pub period_end: chrono::NaiveDate,
    /// Every limited metric.
    pub metrics: Vec<MetricUsage>,
}

/// This period's usage against the plan in force. Owners and admins.
#[utoipa::path(get, path = "/billing/usage", tag = "billing", security(("bearerAuth" = [])),
    responses((status = 200, description = "This period's usage", body = UsageResponse),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys", body = ErrorEnvelope)))]
pub async fn get_usage(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let tenant = caller.require_role(meta_chat_shared::UserRole::Admin)?.tenant_id;
    let period_start = usage::current_period_start();
    let billing = state.config.billing.clone();
    let mut conn = connection(&state).await?;
    let (plan_id, metrics) = meta_chat_database::tenant::in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let in_force = plan::in_force(conn, tenant, &billing).await?;
            let limits = in_force.limits(&billing);
            let mut metrics = Vec::with_capacity(Metric::ALL.len());
            for metric in Metric::ALL {
                let used = usage::resource_count(conn, tenant, metric).await?;
                let limit = quota::limit_of(&limits, metric);
                metrics.push(MetricUsage { metric: metric.as_str().to_owned(), used, limit });
            }
            Ok::<_, meta_chat_database::DbError>((in_force.plan.as_str().to_owned(), metrics))
        })
    })
    .await
    .map_err(internal)?;
    let period_end = period_start.checked_add_months(chrono::Months::new(1)).unwrap_or(period_start);
    Ok(HttpResponse::Ok().json(UsageResponse { plan_id, period_start, period_end, metrics }))
}

/// The subscription as the tenant sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionResponse {
    /// The plan in force (what the limits come from).
    pub plan_id: String,
    /// Stripe's status of the newest subscription (`active`, `trialing`, `past_due`, `canceled`, ...), or
    /// `none` for a tenant that never subscribed.
    pub status: String,
    /// End of the paid period.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether the subscription ends at `currentPeriodEnd`.
    pub cancel_at_period_end: bool,
    /// The plan subscribed to (may differ from `planId` after a lapse or under an admin override).
    pub subscribed_plan_id: Option<String>,
    /// While a payment is overdue: when service falls back to the free plan.
    pub grace_ends_at: Option<DateTime<Utc>>,
}

/// The tenant's subscription and the plan in force. Owners and admins.
#[utoipa::path(get, path = "/billing/subscription", tag = "billing", security(("bearerAuth" = [])),
    responses((status = 200, description = "The subscription", body = SubscriptionResponse),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys", body = ErrorEnvelope)))]
pub async fn get_subscription(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let tenant = caller.require_role(meta_chat_shared::UserRole::Admin)?.tenant_id;
    Ok(HttpResponse::Ok().json(subscription_view(&state, tenant).await?))
}

/// The tenant's subscription view (also the answer of `POST /billing/cancel`).
pub(crate) async fn subscription_view(state: &AppState, tenant: TenantId) -> Result<SubscriptionResponse, ApiError> {
    let billing = state.config.billing.clone();
    let mut conn = connection(state).await?;
    let in_force = meta_chat_database::tenant::in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move { plan::in_force(conn, tenant, &billing).await })
    })
    .await
    .map_err(internal)?;
    let sub = in_force.subscription.as_ref();
    Ok(SubscriptionResponse {
        plan_id: in_force.plan.as_str().to_owned(),
        status: sub.map_or_else(|| "none".to_owned(), |s| s.status.clone()),
        current_period_end: sub.and_then(|s| s.current_period_end),
        cancel_at_period_end: sub.is_some_and(|s| s.cancel_at_period_end),
        subscribed_plan_id: sub.map(|s| s.plan_id.clone()),
        grace_ends_at: in_force.grace_ends_at,
    })
}
