//! Health endpoints: `/health` (summary), `/health/live` (the process answers) and `/health/ready`
//! (PostgreSQL and RabbitMQ answer). Checks run in parallel, each bounded by `health.check_timeout_ms`,
//! so a dead or silent dependency makes readiness fail fast instead of hanging the probe.

use std::future::Future;
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use meta_chat_database::pool;
use meta_chat_events::broker;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorEnvelope};
use crate::state::AppState;

/// Registers the three health routes on `cfg` (used at the root and under `/api/v1`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/health").route(web::get().to(health)))
        .service(web::resource("/health/live").route(web::get().to(live)))
        .service(web::resource("/health/ready").route(web::get().to(ready)));
}

/// Overall state in a [`HealthReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Every dependency answered.
    Ok,
    /// At least one dependency did not answer.
    Degraded,
}

/// State of one dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// It answered within the timeout.
    Up,
    /// It failed or did not answer within the timeout.
    Down,
}

/// The result of checking one dependency.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Whether it answered.
    pub status: CheckStatus,
    /// How long the check took, in milliseconds.
    pub duration_ms: u64,
}

/// Every dependency check.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Checks {
    /// PostgreSQL (`SELECT 1` through the pool).
    pub database: Check,
    /// RabbitMQ (open and close a connection).
    pub rabbitmq: Check,
}

impl Checks {
    /// Names of the dependencies that are down.
    fn unavailable(&self) -> Vec<&'static str> {
        [("database", self.database), ("rabbitmq", self.rabbitmq)]
            .into_iter()
            .filter(|(_, check)| check.status == CheckStatus::Down)
            .map(|(name, _)| name)
            .collect()
    }
}

/// `GET /health` and a successful `GET /health/ready`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthReport {
    /// `ok` when every check is up.
    pub status: HealthStatus,
    /// Version of the running build.
    pub version: &'static str,
    /// Per-dependency results.
    pub checks: Checks,
}

/// `GET /health/live`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Liveness {
    /// Always `ok`: the process answers.
    pub status: HealthStatus,
}

/// Runs `check` with `timeout`, logging (never returning) the reason it failed.
async fn timed<E: std::fmt::Display>(
    name: &'static str,
    timeout: Duration,
    check: impl Future<Output = Result<(), E>>,
) -> Check {
    let started = Instant::now();
    // the checks bound themselves too; this makes the bound independent of their implementation
    let outcome = tokio::time::timeout(timeout, check).await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let status = match outcome {
        Ok(Ok(())) => CheckStatus::Up,
        Ok(Err(err)) => {
            tracing::warn!(dependency = name, duration_ms, error = %err, "health check failed");
            CheckStatus::Down
        }
        Err(_) => {
            tracing::warn!(dependency = name, duration_ms, "health check timed out");
            CheckStatus::Down
        }
    };
    Check { status, duration_ms }
}

async fn run_checks(state: &AppState) -> HealthReport {
    let timeout = Duration::from_millis(state.config.health.check_timeout_ms);
    let (database, rabbitmq) = tokio::join!(
        timed("database", timeout, pool::ping(&state.db, timeout)),
        timed("rabbitmq", timeout, broker::ping(state.config.amqp.url.expose(), timeout)),
    );
    let checks = Checks { database, rabbitmq };
    let status = if checks.unavailable().is_empty() { HealthStatus::Ok } else { HealthStatus::Degraded };
    HealthReport { status, version: env!("CARGO_PKG_VERSION"), checks }
}

/// Health summary: version and every dependency check. Always 200; `status` says `degraded` when a
/// dependency is down (probes use `/health/ready`).
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    responses((status = 200, description = "Summary of the service and its dependencies", body = HealthReport))
)]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(run_checks(&state).await)
}

/// Liveness: the process answers. Touches no dependency.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "health",
    responses((status = 200, description = "The process is alive", body = Liveness))
)]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Liveness { status: HealthStatus::Ok })
}

/// Readiness: PostgreSQL and RabbitMQ both answer within `health.check_timeout_ms`.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    responses(
        (status = 200, description = "Every dependency answered", body = HealthReport),
        (status = 503, description = "`SERVICE_UNAVAILABLE`; `details.unavailable` names the dependencies that are down", body = ErrorEnvelope)
    )
)]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let report = run_checks(&state).await;
    let unavailable = report.checks.unavailable();
    if unavailable.is_empty() {
        Ok(HttpResponse::Ok().json(report))
    } else {
        Err(ApiError::ServiceUnavailable { details: json!({ "unavailable": unavailable, "checks": report.checks }) })
    }
}
