//! The integrity checker: finds data and schema states that constraints should make impossible, for the
//! day a constraint was dropped, disabled or never migrated. The worker runs [`run`] on a schedule (and
//! `integrity-check [--json]` on demand) and keeps each report with [`store`].
//!
//! Every check is one read-only query (a table of them lives in the submodules) returning a label for
//! each offending row or schema object; a check with a non-zero count becomes a [`Finding`] with up to
//! five sample labels. Checks run as the owner role in one `REPEATABLE READ READ ONLY` transaction with
//! `row_security = off` (so they see every tenant, and fail rather than see a filtered view), each under
//! a savepoint: a check that cannot run (say, its table was dropped) becomes a `check_failed` finding
//! instead of aborting the others.
//!
//! Severities:
//! - critical: orphans and cross-tenant links, status values the application cannot read, duplicates of
//!   keys that route requests or logins (user email, API key prefix, channel external id), incomplete
//!   configuration of an enabled channel, a missing or unenforced foreign key, missing row-level security,
//!   a partition any role but the owner can use directly, an embedding of the wrong dimension, fewer than
//!   two monthly partitions ahead, and a check that could not run;
//! - warning: other broken invariants (sizes, positions, counts, timestamps, other duplicates), incomplete
//!   configuration of a disabled channel, missing indexes, rows in a DEFAULT partition, stale outbox events;
//! - info: nothing yet.

mod rows;
mod schema;
mod states;

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel::{ExpressionMethods as _, QueryableByName};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{DbError, DbResult};
use crate::partitions::{self, PartitionedTable};
use crate::schema::integrity_reports;

/// Fewer monthly partitions ahead than this is critical.
pub const MIN_PARTITIONS_AHEAD: u32 = 2;
/// Sample labels kept per finding.
pub const MAX_SAMPLES: usize = 5;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Data is wrong or exposed, or will be soon: page someone (`integrity-check` exits 1).
    Critical,
    /// Something to repair, but nothing is wrong for users yet.
    Warning,
    /// Worth knowing.
    Info,
}

/// One check that found something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Stable `snake_case` id of the check; never renamed, dashboards and alerts key on it.
    pub check: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// Offending rows or objects (always > 0 in a report).
    pub count: i64,
    /// Up to [`MAX_SAMPLES`] labels of offending rows (ids) or objects (names), in sort order.
    pub sample_ids: Vec<String>,
    /// What the check looks for.
    pub message: String,
}

/// The result of one [`run`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrityReport {
    /// When the checks started.
    pub started_at: DateTime<Utc>,
    /// When the last check finished.
    pub finished_at: DateTime<Utc>,
    /// Every check that ran, in order, whether or not it found anything.
    pub checks_run: Vec<&'static str>,
    /// Checks that found something, in the order they ran.
    pub findings: Vec<Finding>,
    /// Findings of severity critical.
    pub critical_count: usize,
    /// Findings of severity warning.
    pub warning_count: usize,
    /// Findings of severity info.
    pub info_count: usize,
}

impl IntegrityReport {
    /// Whether any finding is critical.
    pub fn has_critical(&self) -> bool {
        self.critical_count > 0
    }

    /// The finding of check `check`, if it found anything.
    pub fn finding(&self, check: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.check == check)
    }

    fn new(started_at: DateTime<Utc>, checks_run: Vec<&'static str>, findings: Vec<Finding>) -> Self {
        let count = |severity| findings.iter().filter(|f| f.severity == severity).count();
        Self {
            started_at,
            finished_at: Utc::now(),
            critical_count: count(Severity::Critical),
            warning_count: count(Severity::Warning),
            info_count: count(Severity::Info),
            checks_run,
            findings,
        }
    }
}

/// Id of the finding that reports checks which could not run.
pub const CHECK_FAILED: &str = "check_failed";

/// One entry of the check tables.
pub(crate) struct Check {
    pub(crate) id: &'static str,
    pub(crate) severity: Severity,
    pub(crate) message: &'static str,
    pub(crate) probe: Probe,
}

/// How a check finds offenders.
pub(crate) enum Probe {
    /// A query returning one text column: a label for each offending row or object.
    Rows(Cow<'static, str>),
    /// The same, with `$1` bound to a text array (an expected list kept in code).
    RowsWith(&'static str, &'static [&'static str]),
    /// Partitioned tables with fewer than [`MIN_PARTITIONS_AHEAD`] months ahead.
    PartitionsAhead,
}

impl Check {
    pub(crate) const fn rows(id: &'static str, severity: Severity, message: &'static str, sql: &'static str) -> Self {
        Self { id, severity, message, probe: Probe::Rows(Cow::Borrowed(sql)) }
    }
}

fn all_checks() -> Vec<Check> {
    let mut checks = rows::checks();
    checks.extend(states::checks());
    checks.extend(schema::checks());
    checks.push(Check {
        id: "partitions_ahead_missing",
        severity: Severity::Critical,
        message: "partitioned table with fewer than 2 monthly partitions ahead: inserts will pile up in DEFAULT",
        probe: Probe::PartitionsAhead,
    });
    checks
}

/// The ids of every check [`run`] performs, in order.
pub fn check_ids() -> Vec<&'static str> {
    all_checks().iter().map(|c| c.id).collect()
}

/// Runs every check and returns what they found. Needs the owner role (or another role that bypasses
/// row-level security) and a connection that is not inside a transaction.
pub async fn run(conn: &mut AsyncPgConnection) -> DbResult<IntegrityReport> {
    let started_at = Utc::now();
    let today = started_at.date_naive();
    let checks = all_checks();
    let outcomes = conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run(async |conn| {
            diesel::sql_query("SET LOCAL row_security = off").execute(conn).await?;
            let mut outcomes = Vec::with_capacity(checks.len());
            for check in &checks {
                let outcome = conn.transaction(async |conn| probe(conn, &check.probe, today).await).await;
                outcomes.push(outcome);
            }
            Ok::<_, DbError>(outcomes)
        })
        .await?;

    let mut findings = Vec::new();
    let mut failed = Vec::new();
    for (check, outcome) in checks.iter().zip(outcomes) {
        match outcome {
            Ok((0, _)) => {}
            Ok((count, sample_ids)) => findings.push(Finding {
                check: check.id,
                severity: check.severity,
                count,
                sample_ids,
                message: check.message.to_owned(),
            }),
            Err(err) => {
                tracing::warn!(check = check.id, error = %err, "integrity check could not run");
                failed.push((check.id, err));
            }
        }
    }
    if let Some((_, first)) = failed.as_slice().first() {
        findings.push(Finding {
            check: CHECK_FAILED,
            severity: Severity::Critical,
            count: i64::try_from(failed.len()).unwrap_or(i64::MAX),
            message: format!("checks could not run (first error: {first})"),
            sample_ids: failed.iter().take(MAX_SAMPLES).map(|(id, _)| (*id).to_owned()).collect(),
        });
    }
    Ok(IntegrityReport::new(started_at, checks.iter().map(|c| c.id).collect(), findings))
}

#[derive(QueryableByName)]
struct SampleRow {
    #[diesel(sql_type = Nullable<Text>)]
    label: Option<String>,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Runs one probe: (number of offenders, up to [`MAX_SAMPLES`] labels).
async fn probe(conn: &mut AsyncPgConnection, probe: &Probe, today: NaiveDate) -> DbResult<(i64, Vec<String>)> {
    let wrap = |inner: &str| {
        format!(
            "SELECT bad.label AS label, count(*) OVER () AS total FROM ({inner}) AS bad(label) \
             ORDER BY bad.label LIMIT {MAX_SAMPLES}"
        )
    };
    let rows: Vec<SampleRow> = match probe {
        Probe::Rows(sql) => diesel::sql_query(wrap(sql)).load(conn).await?,
        Probe::RowsWith(sql, list) => {
            diesel::sql_query(wrap(sql)).bind::<Array<Text>, _>(list.to_vec()).load(conn).await?
        }
        Probe::PartitionsAhead => return partitions_short(conn, today).await,
    };
    let total = rows.as_slice().first().map_or(0, |r| r.total);
    Ok((total, rows.into_iter().map(|r| r.label.unwrap_or_else(|| "<null>".to_owned())).collect()))
}

async fn partitions_short(conn: &mut AsyncPgConnection, today: NaiveDate) -> DbResult<(i64, Vec<String>)> {
    let mut short = Vec::new();
    for table in PartitionedTable::ALL {
        let ahead = partitions::partitions_ahead(conn, table, today).await?;
        if ahead < MIN_PARTITIONS_AHEAD {
            short.push(format!("{table}: {ahead} months ahead"));
        }
    }
    short.sort();
    Ok((i64::try_from(short.len()).unwrap_or(i64::MAX), short))
}

/// Stores `report` in `integrity_reports` (findings as a JSON array); returns the new row's id.
pub async fn store(conn: &mut AsyncPgConnection, report: &IntegrityReport) -> DbResult<Uuid> {
    let findings = serde_json::to_value(&report.findings)
        .map_err(|e| DbError::InvalidInput(format!("report not serializable: {e}")))?;
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let id = Uuid::now_v7();
    diesel::insert_into(integrity_reports::table)
        .values((
            integrity_reports::id.eq(id),
            integrity_reports::started_at.eq(report.started_at),
            integrity_reports::finished_at.eq(report.finished_at),
            integrity_reports::critical_count.eq(count(report.critical_count)),
            integrity_reports::warning_count.eq(count(report.warning_count)),
            integrity_reports::info_count.eq(count(report.info_count)),
            integrity_reports::findings.eq(findings),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}
