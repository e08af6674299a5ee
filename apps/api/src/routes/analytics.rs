//! Analytics: `GET /analytics/overview`, `/analytics/rag`, `/analytics/response-times`,
//! `/analytics/top-questions`, `/analytics/unanswered`. Every tenant user may read them (owner, admin,
//! agent); API keys need the `analytics:read` scope. Each answers for the `days` UTC days ending today
//! ([`query`]): past days come from the worker's daily aggregates (`analytics_daily`), today is computed live,
//! and the question lists are read from the window's messages. Every read runs in the caller's tenant
//! transaction, so another tenant's data never appears. Definitions: `docs/analytics.md` and
//! [`meta_chat_database::analytics`].

use actix_web::{HttpResponse, web};
use chrono::Utc;
use meta_chat_database::DbError;
use meta_chat_database::analytics::{self, DayStats, Window};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_shared::api_keys::ApiScope;
use meta_chat_shared::ids::TenantId;

use crate::accounts::{connection, internal};
use crate::caller::Caller;
use crate::error::{ApiError, ErrorEnvelope};
use crate::state::AppState;

mod dto;
pub mod query;

pub use dto::{
    ActivityDto, OverviewDay, OverviewResponse, RagDay, RagResponse, ResponseTimesDay, ResponseTimesResponse,
    TopQuestionDto, TopQuestionList, UnansweredDto, UnansweredList,
};
use query::{AnalyticsParams, AnalyticsQuery};

/// Registers the routes (inside the `/api/v1` scope).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/analytics/overview").route(web::get().to(get_overview)))
        .service(web::resource("/analytics/rag").route(web::get().to(get_rag)))
        .service(web::resource("/analytics/response-times").route(web::get().to(get_response_times)))
        .service(web::resource("/analytics/top-questions").route(web::get().to(list_top_questions)))
        .service(web::resource("/analytics/unanswered").route(web::get().to(list_unanswered)));
}

/// The caller's tenant, once the caller may read analytics (403 for a key without `analytics:read`).
fn reader(caller: &Caller) -> Result<TenantId, ApiError> {
    caller.require_scope(ApiScope::AnalyticsRead)?;
    Ok(caller.tenant_id())
}

/// Every day of `query`'s window ending today, today computed live.
async fn days(state: &AppState, tenant: TenantId, query: AnalyticsQuery) -> Result<(Window, Vec<DayStats>), ApiError> {
    let today = Utc::now().date_naive();
    let window = query.window(today)?;
    let mut conn = connection(state).await?;
    let days = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move { analytics::days(conn, tenant, window, Some(today)).await })
    })
    .await
    .map_err(internal)?;
    Ok((window, days))
}

/// Activity per day and in total.
#[utoipa::path(get, path = "/analytics/overview", tag = "analytics", params(AnalyticsParams),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses((status = 200, description = "Totals and one entry per day, oldest first", body = OverviewResponse),
        (status = 400, description = "`VALIDATION_ERROR`: `days`, `limit`, unknown parameters", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "An API key without `analytics:read`", body = ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn get_overview(
    caller: Caller,
    state: web::Data<AppState>,
    query: AnalyticsQuery,
) -> Result<HttpResponse, ApiError> {
    let tenant = reader(&caller)?;
    let today = Utc::now().date_naive();
    let window = query.window(today)?;
    let mut conn = connection(&state).await?;
    // one transaction: the days and the window's distinct contacts describe the same moment
    let (series, active_contacts) = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move {
            let series = analytics::days(conn, tenant, window, Some(today)).await?;
            let active_contacts = analytics::active_contacts(conn, tenant, window).await?;
            Ok::<_, DbError>((series, active_contacts))
        })
    })
    .await
    .map_err(internal)?;
    Ok(HttpResponse::Ok().json(OverviewResponse::new(window, query.days, &series, active_contacts)))
}

/// Retrieval: how often the knowledge base had context for a question.
#[utoipa::path(get, path = "/analytics/rag", tag = "analytics", params(AnalyticsParams),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses((status = 200, description = "Retrievals and hit rate, in total and per day", body = RagResponse),
        (status = 400, description = "`VALIDATION_ERROR`: `days`, `limit`, unknown parameters", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "An API key without `analytics:read`", body = ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn get_rag(
    caller: Caller,
    state: web::Data<AppState>,
    query: AnalyticsQuery,
) -> Result<HttpResponse, ApiError> {
    let tenant = reader(&caller)?;
    let (window, series) = days(&state, tenant, query).await?;
    Ok(HttpResponse::Ok().json(RagResponse::new(window, query.days, &series)))
}

/// How fast the assistant answers.
#[utoipa::path(get, path = "/analytics/response-times", tag = "analytics", params(AnalyticsParams),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses(
        (status = 200, description = "Average and 95th percentile, total and per day", body = ResponseTimesResponse),
        (status = 400, description = "`VALIDATION_ERROR`: `days`, `limit`, unknown parameters", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "An API key without `analytics:read`", body = ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn get_response_times(
    caller: Caller,
    state: web::Data<AppState>,
    query: AnalyticsQuery,
) -> Result<HttpResponse, ApiError> {
    let tenant = reader(&caller)?;
    let (window, series) = days(&state, tenant, query).await?;
    Ok(HttpResponse::Ok().json(ResponseTimesResponse::new(window, query.days, &series)))
}

/// The questions contacts ask most.
#[utoipa::path(get, path = "/analytics/top-questions", tag = "analytics", params(AnalyticsParams),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses((status = 200, description = "Most asked first, at most `limit`", body = TopQuestionList),
        (status = 400, description = "`VALIDATION_ERROR`: `days`, `limit`, unknown parameters", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "An API key without `analytics:read`", body = ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn list_top_questions(
    caller: Caller,
    state: web::Data<AppState>,
    query: AnalyticsQuery,
) -> Result<HttpResponse, ApiError> {
    let tenant = reader(&caller)?;
    let window = query.window(Utc::now().date_naive())?;
    let mut conn = connection(&state).await?;
    let questions = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move { analytics::top_questions(conn, tenant, window, query.limit()).await })
    })
    .await
    .map_err(internal)?;
    let data = questions.into_iter().map(TopQuestionDto::from).collect();
    Ok(HttpResponse::Ok().json(TopQuestionList { data, next_cursor: None }))
}

/// The tenant's knowledge gaps: questions the assistant handed to a human.
#[utoipa::path(get, path = "/analytics/unanswered", tag = "analytics", params(AnalyticsParams),
    security(("bearerAuth" = []), ("apiKeyAuth" = [])),
    responses((status = 200, description = "Newest first, at most `limit`", body = UnansweredList),
        (status = 400, description = "`VALIDATION_ERROR`: `days`, `limit`, unknown parameters", body = ErrorEnvelope),
        (status = 401, description = "No or invalid credentials", body = ErrorEnvelope),
        (status = 403, description = "An API key without `analytics:read`", body = ErrorEnvelope)))]
#[tracing::instrument(skip_all, fields(tenant.id = %caller.tenant_id()))]
pub async fn list_unanswered(
    caller: Caller,
    state: web::Data<AppState>,
    query: AnalyticsQuery,
) -> Result<HttpResponse, ApiError> {
    let tenant = reader(&caller)?;
    let window = query.window(Utc::now().date_naive())?;
    let mut conn = connection(&state).await?;
    let questions = in_tenant_tx(&mut conn, tenant, move |conn| {
        Box::pin(async move { analytics::unanswered(conn, tenant, window, query.limit()).await })
    })
    .await
    .map_err(internal)?;
    let data = questions.into_iter().map(UnansweredDto::from).collect();
    Ok(HttpResponse::Ok().json(UnansweredList { data, next_cursor: None }))
}
