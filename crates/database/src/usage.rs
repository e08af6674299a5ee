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

/// What plans limit (the `usage_counters.metric` CHECK). The monthly ones are counted in `usage_counters`;
/// the others are what the tenant has now ([`resource_count`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Inbound channel messages per month.
    InboundMessages,
    /// AI replies per month.
    AiReplies,
    /// Authenticated API-key calls per month.
    ApiCalls,
    /// Knowledge-base documents.
    Documents,
    /// Stored document bytes.
    StorageBytes,
    /// Team members (active and invited).
    TeamMembers,
    /// Connected channels.
    Channels,
}

impl Metric {
    /// Every metric, in the order usage is reported.
    pub const ALL: [Self; 7] = [
        Self::InboundMessages,
        Self::AiReplies,
        Self::ApiCalls,
        Self::Documents,
        Self::StorageBytes,
        Self::TeamMembers,
        Self::Channels,
    ];

    /// The stored name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InboundMessages => "inbound_messages",
            Self::AiReplies => "ai_replies",
            Self::ApiCalls => "api_calls",
            Self::Documents => "documents",
            Self::StorageBytes => "storage_bytes",
            Self::TeamMembers => "team_members",
            Self::Channels => "channels",
        }
    }

    /// Whether the metric is counted per month (rather than what exists now).
    #[must_use]
    pub const fn is_monthly(self) -> bool {
        matches!(self, Self::InboundMessages | Self::AiReplies | Self::ApiCalls)
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

/// The row `consume` gets back when it counted.
#[derive(diesel::QueryableByName)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    used: i64,
}

/// What [`consume`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    /// Counted; `used` is the count now.
    Counted {
        /// The period's count including this one.
        used: i64,
    },
    /// Refused: counting it would exceed the limit; `used` is the count now.
    Refused {
        /// The period's count.
        used: i64,
    },
}

/// Adds one to the monthly `metric` unless that would exceed `limit` (`None`: unlimited). The counter row's
/// lock serialises concurrent callers, so the limit is never exceeded.
pub async fn consume(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    metric: Metric,
    limit: Option<u64>,
) -> DbResult<Consumed> {
    let limit = limit.map_or(i64::MAX, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
    let period = current_period_start();
    if limit >= 1 {
        let counted: Option<Counted> = diesel::sql_query(
            "INSERT INTO usage_counters (tenant_id, metric, period_start, used) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (tenant_id, metric, period_start) DO UPDATE SET used = usage_counters.used + 1 \
             WHERE usage_counters.used < $4 RETURNING used",
        )
        .bind::<diesel::sql_types::Uuid, _>(tenant.as_uuid())
        .bind::<diesel::sql_types::Text, _>(metric.as_str())
        .bind::<diesel::sql_types::Date, _>(period)
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .get_result(conn)
        .await
        .optional()?;
        if let Some(Counted { used }) = counted {
            return Ok(Consumed::Counted { used });
        }
    }
    let used = for_period(conn, tenant, period).await?;
    Ok(Consumed::Refused { used: used.iter().find(|(m, _)| m == metric.as_str()).map_or(0, |(_, n)| *n) })
}

/// How much of the non-monthly `metric` the tenant has now: channels, team members (active and invited),
/// documents, stored document bytes. Monthly metrics read their counter.
pub async fn resource_count(conn: &mut AsyncPgConnection, tenant: TenantId, metric: Metric) -> DbResult<i64> {
    use crate::schema::{channels, documents, tenant_users};
    let tenant_id = tenant.as_uuid();
    Ok(match metric {
        Metric::Channels => {
            channels::table
                .filter(channels::tenant_id.eq(tenant_id).and(channels::type_.ne("api")))
                .count()
                .get_result(conn)
                .await?
        }
        Metric::TeamMembers => {
            tenant_users::table
                .filter(tenant_users::tenant_id.eq(tenant_id).and(tenant_users::status.ne("disabled")))
                .count()
                .get_result(conn)
                .await?
        }
        Metric::Documents => {
            documents::table.filter(documents::tenant_id.eq(tenant_id)).count().get_result(conn).await?
        }
        Metric::StorageBytes => {
            documents::table
                .filter(documents::tenant_id.eq(tenant_id))
                .select(diesel::dsl::sql::<diesel::sql_types::BigInt>("coalesce(sum(size_bytes), 0)::bigint"))
                .first::<i64>(conn)
                .await?
        }
        Metric::InboundMessages | Metric::AiReplies | Metric::ApiCalls => {
            let used = for_period(conn, tenant, current_period_start()).await?;
            used.iter().find(|(m, _)| m == metric.as_str()).map_or(0, |(_, n)| *n)
        }
    })
}

/// Locks the tenant's row for the rest of the transaction, so that concurrent creations of channels, users
/// or documents check their limit one after another.
pub async fn lock_tenant(conn: &mut AsyncPgConnection, tenant: TenantId) -> DbResult<()> {
    use crate::schema::tenants;
    tenants::table
        .filter(tenants::id.eq(tenant.as_uuid()))
        .select(tenants::id)
        .for_no_key_update()
        .first::<uuid::Uuid>(conn)
        .await
        .optional()?;
    Ok(())
}

/// Records that `metric` crossed `threshold` percent of its limit in the current period; `true` the first
/// time only, so `usage.limit_reached` is announced once per threshold and period.
pub async fn alert_once(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    metric: Metric,
    threshold: i16,
) -> DbResult<bool> {
    use crate::schema::usage_alerts;
    let inserted = diesel::insert_into(usage_alerts::table)
        .values((
            usage_alerts::tenant_id.eq(tenant.as_uuid()),
            usage_alerts::metric.eq(metric.as_str()),
            usage_alerts::period_start.eq(current_period_start()),
            usage_alerts::threshold.eq(threshold),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted > 0)
}

/// Adds one to `metric` unless that would exceed `limit` (`None`: unlimited); `false` when the limit is
/// reached (see [`consume`]).
pub async fn try_increment(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    metric: Metric,
    limit: Option<u64>,
) -> DbResult<bool> {
    Ok(matches!(consume(conn, tenant, metric, limit).await?, Consumed::Counted { .. }))
}
