//! Billing routes. Today: `GET /billing/plans` (public): the plans with their monthly price and limits, as
//! configured (`billing.plans.*`); `GET /billing/usage` (owners and admins): this period's counted usage
//! against the tenant's plan. Subscriptions, checkout and the Stripe webhook join them with the rest of the
//! billing issue.

use actix_web::{HttpResponse, web};
use meta_chat_shared::config::{PlanConfig, PlanLimits};
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::{connection, internal};
use crate::caller::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::state::AppState;

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/billing/plans").route(web::get().to(list_plans)))
        .service(web::resource("/billing/usage").route(web::get().to(get_usage)));
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
    /// `inbound_messages` or `ai_replies` (more with the rest of the billing issue).
    pub metric: String,
    /// Used so far in the period.
    pub used: i64,
    /// The plan's limit; `null` is unlimited.
    pub limit: Option<u64>,
}

/// Usage in the current period.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageResponse {
    /// The plan the limits come from (a platform admin's override wins).
    pub plan_id: String,
    /// First day of the period (calendar month, UTC).
    pub period_start: chrono::NaiveDate,
    /// First day of the next period.
    pub period_end: chrono::NaiveDate,
    /// Counted metrics.
    pub metrics: Vec<MetricUsage>,
}

/// This period's usage against the tenant's plan. Owners and admins.
#[utoipa::path(get, path = "/billing/usage", tag = "billing", security(("bearerAuth" = [])),
    responses((status = 200, description = "This period's usage", body = UsageResponse),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "Agents and API keys", body = ErrorEnvelope)))]
pub async fn get_usage(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let tenant = caller.require_role(meta_chat_shared::UserRole::Admin)?.tenant_id;
    let period_start = meta_chat_database::usage::current_period_start();
    let mut conn = connection(&state).await?;
    let (plan_id, used) = meta_chat_database::tenant::in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let plan = meta_chat_database::tenants::find(conn, tenant).await?.map(|t| t.plan().to_owned());
            let used = meta_chat_database::usage::for_period(conn, tenant, period_start).await?;
            Ok::<_, meta_chat_database::DbError>((plan, used))
        })
    })
    .await
    .map_err(internal)?;
    let plan_id = plan_id.ok_or(ApiError::NotFound)?;
    let plan = state.config.billing.plans.all().into_iter().find(|(id, _)| id.as_str() == plan_id).map(|(_, p)| p);
    let limits = plan.map(|plan| plan.limits);
    let metrics = [
        ("inbound_messages", limits.and_then(|l| l.inbound_messages)),
        ("ai_replies", limits.and_then(|l| l.ai_replies)),
    ]
    .into_iter()
    .map(|(metric, limit)| MetricUsage {
        metric: metric.to_owned(),
        used: used.iter().find(|(m, _)| m == metric).map_or(0, |(_, n)| *n),
        limit,
    })
    .collect();
    let period_end = period_start.checked_add_months(chrono::Months::new(1)).unwrap_or(period_start);
    Ok(HttpResponse::Ok().json(UsageResponse { plan_id, period_start, period_end, metrics }))
}
