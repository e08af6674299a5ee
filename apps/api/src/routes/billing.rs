//! Billing routes. Today: `GET /billing/plans` (public): the plans with their monthly price and limits, as
//! configured (`billing.plans.*`). Subscriptions, usage, checkout and the Stripe webhook join it with the rest
//! of the billing issue.

use actix_web::{HttpResponse, web};
use meta_chat_shared::config::{PlanConfig, PlanLimits};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/billing/plans").route(web::get().to(list_plans)));
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
