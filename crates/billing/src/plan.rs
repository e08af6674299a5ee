//! The plan in force for a tenant: a platform admin's override wins; otherwise the plan of its newest live
//! subscription (without one, `tenants.plan_id`, which the webhook sets back to free on cancellation); a `past_due` subscription keeps its plan for the configured grace period from the first
//! failed payment and then falls back to free; canceled, unpaid and expired subscriptions give free.

use chrono::{DateTime, Duration, Utc};
use meta_chat_database::subscriptions::{self, Subscription};
use meta_chat_database::{AsyncPgConnection, DbResult, tenants};
use meta_chat_shared::Plan;
use meta_chat_shared::config::{BillingConfig, PlanLimits};
use meta_chat_shared::ids::TenantId;

/// The plan a tenant's limits come from, with why.
#[derive(Debug, Clone)]
pub struct PlanInForce {
    /// The plan whose limits apply now.
    pub plan: Plan,
    /// The tenant's newest subscription in any status.
    pub subscription: Option<Subscription>,
    /// Set while a `past_due` subscription is in its grace period: when the plan falls back to free.
    pub grace_ends_at: Option<DateTime<Utc>>,
}

impl PlanInForce {
    /// The plan's limits from configuration.
    #[must_use]
    pub fn limits(&self, config: &BillingConfig) -> PlanLimits {
        limits(config, self.plan)
    }
}

/// The configured limits of `plan`.
#[must_use]
pub fn limits(config: &BillingConfig, plan: Plan) -> PlanLimits {
    config.plans.all().into_iter().find(|(id, _)| *id == plan).map_or(config.plans.free.limits, |(_, p)| p.limits)
}

/// Decides the plan from the stored facts (pure, so the rules are unit-tested).
#[must_use]
pub fn decide(
    override_plan: Option<Plan>,
    stored: Plan,
    live: Option<&Subscription>,
    grace: Duration,
    now: DateTime<Utc>,
) -> (Plan, Option<DateTime<Utc>>) {
    if let Some(plan) = override_plan {
        return (plan, None);
    }
    // without a live subscription `tenants.plan_id` is what the webhook left there (free after a cancellation)
    let Some(sub) = live else { return (stored, None) };
    let plan = sub.plan_id.parse().unwrap_or(Plan::Free);
    match (sub.status.as_str(), sub.past_due_since) {
        ("active" | "trialing", _) => (plan, None),
        ("past_due", Some(since)) => {
            let ends = since + grace;
            if now < ends { (plan, Some(ends)) } else { (Plan::Free, None) }
        }
        _ => (Plan::Free, None),
    }
}

/// The plan in force for `tenant` now (in the tenant's transaction).
pub async fn in_force(conn: &mut AsyncPgConnection, tenant: TenantId, config: &BillingConfig) -> DbResult<PlanInForce> {
    let row = tenants::find(conn, tenant).await?;
    let override_plan = row.as_ref().and_then(|t| t.plan_override.as_deref()).and_then(|p| p.parse().ok());
    let stored = row.as_ref().and_then(|t| t.plan_id.parse().ok()).unwrap_or(Plan::Free);
    let live = subscriptions::in_force(conn, tenant).await?;
    let grace = Duration::days(i64::from(config.past_due_grace_days));
    let (plan, grace_ends_at) = decide(override_plan, stored, live.as_ref(), grace, Utc::now());
    let subscription = match live {
        Some(live) => Some(live),
        None => subscriptions::latest(conn, tenant).await?,
    };
    Ok(PlanInForce { plan, subscription, grace_ends_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(status: &str, past_due_since: Option<DateTime<Utc>>) -> Subscription {
        Subscription {
            id: uuid::Uuid::now_v7(),
            stripe_subscription_id: "sub_1".into(),
            stripe_customer_id: "cus_1".into(),
            plan_id: "pro".into(),
            status: status.into(),
            current_period_start: None,
            current_period_end: None,
            cancel_at_period_end: false,
            canceled_at: None,
            past_due_since,
            stripe_updated_at: Utc::now(),
        }
    }

    #[test]
    fn status_gates_the_plan() {
        let now = Utc::now();
        let grace = Duration::days(7);
        assert_eq!(decide(None, Plan::Free, None, grace, now).0, Plan::Free);
        assert_eq!(decide(None, Plan::Starter, None, grace, now).0, Plan::Starter);
        assert_eq!(decide(None, Plan::Free, Some(&sub("active", None)), grace, now).0, Plan::Pro);
        assert_eq!(decide(None, Plan::Free, Some(&sub("trialing", None)), grace, now).0, Plan::Pro);
        let recent = decide(None, Plan::Free, Some(&sub("past_due", Some(now - Duration::days(2)))), grace, now);
        assert_eq!(recent, (Plan::Pro, Some(now + Duration::days(5))));
        let late = decide(None, Plan::Free, Some(&sub("past_due", Some(now - Duration::days(8)))), grace, now);
        assert_eq!(late, (Plan::Free, None));
        assert_eq!(decide(None, Plan::Free, Some(&sub("canceled", None)), grace, now).0, Plan::Free);
        assert_eq!(decide(None, Plan::Free, Some(&sub("unpaid", None)), grace, now).0, Plan::Free);
        assert_eq!(
            decide(Some(Plan::Enterprise), Plan::Free, Some(&sub("canceled", None)), grace, now).0,
            Plan::Enterprise
        );
        // no grace at all: past_due falls back at once
        assert_eq!(decide(None, Plan::Free, Some(&sub("past_due", Some(now))), Duration::zero(), now).0, Plan::Free);
    }
}
