//! Usage counters per tenant, metric and billing period. Increments run in the transaction of the action
//! they count, and that action is itself idempotent (an inbound message is counted with its receipt, an AI
//! reply with its one decision), so a redelivered webhook or event never counts twice.

use chrono::{Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_shared::ids::TenantId;

use crate::error::DbResult;
use crate::schema::usage_counters;

/// What is counted (the `usage_counters.metric` CHECK).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Inbound channel messages.
    InboundMessages,
    /// AI replies.
    AiReplies,
}

impl Metric {
    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InboundMessages => "inbound_messages",
            Self::AiReplies => "ai_replies",
        }
    }
}

/// The first day of the current period: calendar months (UTC) until subscriptions carry their own periods.
#[must_use]
pub fn current_period_start() -> NaiveDate {
    let today = Utc::now().date_naive();
    today.with_day(1).unwrap_or(today)
}

/// Adds `by` to `metric` for the current period (in the caller's tenant transaction).
pub async fn increment(conn: &mut AsyncPgConnection, tenant: TenantId, metric: Metric, by: i64) -> DbResult<()> {
    if by <= 0 {
        return Ok(());
    }
    diesel::insert_into(usage_counters::table)
        .values((
            usage_counters::tenant_id.eq(tenant.as_uuid()),
            usage_counters::metric.eq(metric.as_str()),
            usage_counters::period_start.eq(current_period_start()),
            usage_counters::used.eq(by),
        ))
        .on_conflict((usage_counters::tenant_id, usage_counters::metric, usage_counters::period_start))
        .do_update()
        .set(usage_counters::used.eq(usage_counters::used + excluded(usage_counters::used)))
        .execute(conn)
        .await?;
    Ok(())
}

/// `(metric, used)` of every counted metric in the period starting `period_start`.
pub async fn for_period(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    period_start: NaiveDate,
) -> DbResult<Vec<(String, i64)>> {
    Ok(usage_counters::table
        .filter(usage_counters::tenant_id.eq(tenant.as_uuid()).and(usage_counters::period_start.eq(period_start)))
        .select((usage_counters::metric, usage_counters::used))
        .load(conn)
        .await?)
}

/// The row `try_increment` gets back when it counted.
#[derive(diesel::QueryableByName)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    #[expect(dead_code, reason = "only whether a row came back matters")]
    used: i64,
}

/// Adds one to `metric` unless that would exceed `limit` (`None`: unlimited); `false` when the limit is
/// reached. The counter row's lock serialises concurrent callers, so the limit is never exceeded.
pub async fn try_increment(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    metric: Metric,
    limit: Option<u64>,
) -> DbResult<bool> {
    let Some(limit) = limit else {
        increment(conn, tenant, metric, 1).await?;
        return Ok(true);
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    if limit < 1 {
        return Ok(false);
    }
    let counted: Option<Counted> = diesel::sql_query(
        "INSERT INTO usage_counters (tenant_id, metric, period_start, used) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (tenant_id, metric, period_start) DO UPDATE SET used = usage_counters.used + 1 \
         WHERE usage_counters.used < $4 RETURNING used",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant.as_uuid())
    .bind::<diesel::sql_types::Text, _>(metric.as_str())
    .bind::<diesel::sql_types::Date, _>(current_period_start())
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .get_result(conn)
    .await
    .optional()?;
    Ok(counted.is_some())
}
