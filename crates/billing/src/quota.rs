//! Quota enforcement. Monthly metrics (inbound messages, AI replies, API calls) are counted one at a time
//! under the counter row's lock; resources a tenant holds (channels, team members, documents, stored bytes)
//! are counted under the tenant row's lock before they are created. Either way concurrent requests at the
//! boundary are serialised and the limit is never exceeded. Crossing 80 % and 100 % of a limit records
//! `usage.limit_reached` once per metric, threshold and period, in the transaction of the action.
//!
//! Call these inside the action's tenant transaction, then publish the returned events after the commit.

use meta_chat_database::usage::{self, Consumed, Metric};
use meta_chat_database::{AsyncPgConnection, DbResult};
use meta_chat_events::{Envelope, EventType};
use meta_chat_shared::config::{BillingConfig, PlanLimits};
use meta_chat_shared::ids::TenantId;
use serde_json::json;

use crate::plan;

/// The refusal: what the plan allows and what is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    /// The limited metric.
    pub metric: Metric,
    /// The plan's limit.
    pub limit: u64,
    /// Used now.
    pub used: u64,
}

/// The limit of `metric` in `limits` (`None`: unlimited).
#[must_use]
pub const fn limit_of(limits: &PlanLimits, metric: Metric) -> Option<u64> {
    match metric {
        Metric::InboundMessages => limits.inbound_messages,
        Metric::AiReplies => limits.ai_replies,
        Metric::ApiCalls => limits.api_calls,
        Metric::Documents => limits.documents,
        Metric::StorageBytes => limits.storage_bytes,
        Metric::TeamMembers => limits.team_members,
        Metric::Channels => limits.channels,
    }
}

/// What an allowed action left behind: the events to publish after the commit (already recorded).
pub type Allowed = Vec<Envelope>;

/// Counts one use of the monthly `metric` against the tenant's plan, or refuses it. Nothing is counted when
/// refused.
pub async fn consume(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    metric: Metric,
    config: &BillingConfig,
) -> DbResult<Result<Allowed, Exceeded>> {
    let limit = limit_of(&plan::in_force(conn, tenant, config).await?.limits(config), metric);
    match usage::consume(conn, tenant, metric, limit).await? {
        Consumed::Counted { used } => Ok(Ok(alerts(conn, tenant, metric, limit, to_u64(used)).await?)),
        Consumed::Refused { used } => {
            Ok(Err(Exceeded { metric, limit: limit.unwrap_or_default(), used: to_u64(used) }))
        }
    }
}

/// Checks that the tenant may add `adding` of the resource `metric` (1 channel, 1 user, n bytes) and records
/// the alerts the addition crosses. Locks the tenant row first, so concurrent additions check one after the
/// other: call it before inserting, in the same transaction.
pub async fn make_room(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    metric: Metric,
    adding: u64,
    config: &BillingConfig,
) -> DbResult<Result<Allowed, Exceeded>> {
    usage::lock_tenant(conn, tenant).await?;
    let limit = limit_of(&plan::in_force(conn, tenant, config).await?.limits(config), metric);
    let used = to_u64(usage::resource_count(conn, tenant, metric).await?);
    let after = used.saturating_add(adding);
    if let Some(limit) = limit
        && after > limit
    {
        return Ok(Err(Exceeded { metric, limit, used }));
    }
    Ok(Ok(alerts(conn, tenant, metric, limit, after).await?))
}

/// Records the alerts a metric that is never refused (inbound messages) has crossed, from its current count.
pub async fn observe(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    metric: Metric,
    config: &BillingConfig,
) -> DbResult<Allowed> {
    let limit = limit_of(&plan::in_force(conn, tenant, config).await?.limits(config), metric);
    let used = to_u64(usage::resource_count(conn, tenant, metric).await?);
    alerts(conn, tenant, metric, limit, used).await
}

/// Records `usage.limit_reached` for each threshold `used` has reached and that was not announced yet.
async fn alerts(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    metric: Metric,
    limit: Option<u64>,
    used: u64,
) -> DbResult<Vec<Envelope>> {
    let Some(limit) = limit.filter(|limit| *limit > 0) else { return Ok(Vec::new()) };
    let mut events = Vec::new();
    for threshold in [80_u16, 100] {
        // used / limit >= threshold %, in integers
        let reached = u128::from(used) * 100 >= u128::from(limit) * u128::from(threshold);
        if reached && usage::alert_once(conn, tenant, metric, threshold.cast_signed()).await? {
            events.push(Envelope::new(
                EventType::UsageLimitReached,
                tenant,
                None,
                json!({
                    "metric": metric.as_str(),
                    "threshold": threshold,
                    "limit": limit,
                    "used": used,
                    "periodStart": usage::current_period_start(),
                }),
            ));
        }
    }
    meta_chat_events::record(conn, tenant, &events).await?;
    Ok(events)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}
