//! Daily analytics: `analytics backfill --from --to [--tenant]`, and the scheduler's job, which aggregates
//! today for every tenant on each run and, on the first run after each UTC midnight (and at start),
//! yesterday as well, so yesterday's row is final once the day is over. Aggregating a day replaces its
//! row, so any run can be repeated. Tenants are listed on the platform path (owner role); each tenant-day is
//! aggregated in its own tenant transaction by [`meta_chat_database::analytics::aggregate_day`].

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{bail, ensure};
use chrono::{NaiveDate, Utc};
use meta_chat_database::analytics::{self, MAX_WINDOW_DAYS};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::{DbError, platform, pool};
use meta_chat_shared::Config;
use meta_chat_shared::ids::TenantId;

/// `analytics backfill`: every day from `from` to `to` (both included, at most 366 days, not after today in
/// UTC) for `tenant`, or for every tenant. Exit 0 when every tenant-day was aggregated, 2 otherwise.
pub(crate) async fn backfill(
    config: &Config,
    from: NaiveDate,
    to: NaiveDate,
    tenant: Option<TenantId>,
) -> anyhow::Result<ExitCode> {
    let days = backfill_days(from, to, Utc::now().date_naive())?;
    let pool = pool::build_admin(&config.database, "metachat-worker-analytics")?;
    let tenants = match tenant {
        Some(tenant) => {
            let mut conn = pool.get().await.map_err(DbError::from)?;
            let exists = platform::in_platform_tx(&mut conn, move |conn| {
                Box::pin(async move { analytics::tenant_exists(conn, tenant).await })
            })
            .await?;
            ensure!(exists, "no tenant has the id {tenant}");
            vec![tenant]
        }
        None => tenant_ids(&pool).await?,
    };
    let summary = aggregate(&pool, &tenants, &days).await?;
    if summary.failed > 0 {
        bail!("{} of {} tenant-days could not be aggregated (see the log)", summary.failed, summary.total());
    }
    tracing::info!(tenants = tenants.len(), days = days.len(), "analytics backfill done");
    let mut out = std::io::stdout().lock();
    writeln!(out, "aggregated {} tenant-days ({} tenants, {from} to {to})", summary.aggregated, tenants.len())?;
    Ok(ExitCode::SUCCESS)
}

/// The days of a backfill, checked: `from` ≤ `to`, at most [`MAX_WINDOW_DAYS`] days, nothing after `today`.
fn backfill_days(from: NaiveDate, to: NaiveDate, today: NaiveDate) -> anyhow::Result<Vec<NaiveDate>> {
    ensure!(from <= to, "--from ({from}) must not be after --to ({to})");
    ensure!(to <= today, "--to ({to}) must not be after today ({today}, UTC)");
    let days: Vec<NaiveDate> = from.iter_days().take_while(|day| *day <= to).collect();
    ensure!(
        days.len() <= MAX_WINDOW_DAYS as usize,
        "a backfill covers at most {MAX_WINDOW_DAYS} days, not {}",
        days.len()
    );
    Ok(days)
}

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Tenant-days stored.
    pub(crate) aggregated: usize,
    /// Tenant-days that failed (logged; a later run retries them).
    pub(crate) failed: usize,
}

impl Summary {
    fn total(self) -> usize {
        self.aggregated + self.failed
    }
}

/// Every tenant, on the platform path.
async fn tenant_ids(pool: &pool::DbPool) -> anyhow::Result<Vec<TenantId>> {
    let mut conn = pool.get().await.map_err(DbError::from)?;
    Ok(platform::in_platform_tx(&mut conn, |conn| Box::pin(analytics::tenant_ids(conn))).await?)
}

/// Aggregates every day of `days` for every tenant of `tenants`, one transaction each; a failing tenant-day
/// is logged and counted, and the others still run.
async fn aggregate(pool: &pool::DbPool, tenants: &[TenantId], days: &[NaiveDate]) -> anyhow::Result<Summary> {
    let mut conn = pool.get().await.map_err(DbError::from)?;
    let mut summary = Summary::default();
    for &tenant in tenants {
        for &day in days {
            let stored =
                in_tenant_tx(&mut conn, tenant, move |conn| Box::pin(analytics::aggregate_day(conn, tenant, day)))
                    .await;
            match stored {
                Ok(_) => summary.aggregated += 1,
                Err(err) => {
                    tracing::warn!(
                        tenant.id = %tenant, analytics.day = %day, error = %err, "analytics day not aggregated"
                    );
                    summary.failed += 1;
                }
            }
        }
    }
    Ok(summary)
}

/// What the scheduler's job remembers between runs: the last day it finalised.
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    finalised: Option<NaiveDate>,
}

impl Schedule {
    /// The days a run at `today` aggregates: yesterday first while it is not finalised, then today.
    fn due(&self, today: NaiveDate) -> Vec<NaiveDate> {
        let yesterday = today.pred_opt();
        let mut days: Vec<NaiveDate> = yesterday.filter(|day| self.finalised < Some(*day)).into_iter().collect();
        days.push(today);
        days
    }
}

/// One run of the scheduler's job (see the module documentation). Yesterday counts as finalised only when
/// every tenant's yesterday was stored; otherwise the next run aggregates it again.
pub(crate) async fn run_once(pool: &pool::DbPool, schedule: &mut Schedule) -> anyhow::Result<()> {
    let today = Utc::now().date_naive();
    let days = schedule.due(today);
    let tenants = tenant_ids(pool).await?;
    let summary = aggregate(pool, &tenants, &days).await?;
    if summary.failed == 0 {
        schedule.finalised = today.pred_opt();
    }
    tracing::info!(
        tenants = tenants.len(),
        days = days.len(),
        aggregated = summary.aggregated,
        failed = summary.failed,
        "analytics aggregation done"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn yesterday_is_aggregated_until_it_is_finalised_and_today_always() {
        let mut schedule = Schedule::default();
        assert_eq!(schedule.due(date("2026-11-26")), [date("2026-11-25"), date("2026-11-26")], "at start");
        schedule.finalised = Some(date("2026-11-25"));
        assert_eq!(schedule.due(date("2026-11-26")), [date("2026-11-26")], "hourly during the day");
        assert_eq!(schedule.due(date("2026-11-27")), [date("2026-11-26"), date("2026-11-27")], "after midnight");
    }

    #[test]
    fn backfills_are_ordered_bounded_and_never_in_the_future() {
        let today = date("2026-11-26");
        assert_eq!(backfill_days(today, today, today).unwrap(), [today]);
        assert_eq!(backfill_days(date("2025-11-26"), today, today).unwrap().len(), 366);
        let refused = |from: &str, to: &str| backfill_days(date(from), date(to), today).unwrap_err().to_string();
        assert!(refused("2026-11-02", "2026-11-01").contains("must not be after --to"));
        assert!(refused("2025-11-25", "2026-11-26").contains("at most 366 days"));
        assert!(refused("2026-11-20", "2026-11-27").contains("must not be after today"));
    }
}
