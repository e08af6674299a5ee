//! Monthly partition maintenance for the range-partitioned tables `messages` and `api_logs`.
//!
//! Both are partitioned by `created_at` into `<table>_pYYYYMM` partitions, with a DEFAULT partition that
//! catches everything else so that no insert ever fails. The worker calls [`ensure_all`] on a schedule:
//! it creates the partitions from last month to `months_ahead` months ahead, moving any rows that already
//! landed in DEFAULT for those months, and detaches and drops `api_logs` partitions past the retention
//! (`messages` are kept forever).
//!
//! Safety of the DDL: table names come only from the [`PartitionedTable`] allowlist, months only from a
//! validated [`Month`], and the functions take those types, so invalid input is refused before a
//! connection is used. Identifiers are those fixed names plus zero-padded integers, double-quoted here;
//! date bounds are UTC literals built from the same integers. No caller-supplied string reaches SQL.
//! Every statement that changes the schema is logged at `info`.
//!
//! Run these as the owner role (it owns the tables and bypasses row-level security). Each transaction sets
//! `row_security = off`, so under a role to which RLS would apply it fails instead of silently moving or
//! missing rows.

mod naming;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

pub use self::naming::{Month, PartitionedTable};
use crate::error::{DbError, DbResult};

/// Upper limit of `months_ahead`: a typo must not create hundreds of tables.
pub const MAX_MONTHS_AHEAD: u32 = 24;
/// Upper limit of `retention_months` (ten years).
pub const MAX_RETENTION_MONTHS: u32 = 120;

/// How long a maintenance transaction waits for its lock on a parent table. While an `ACCESS EXCLUSIVE`
/// request waits, every later insert queues behind it, so give up quickly and retry at the next run.
const LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '5s'";

/// What [`ensure`] did for one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnsureReport {
    /// The table maintained.
    pub table: PartitionedTable,
    /// Partitions created, oldest first.
    pub created: Vec<String>,
    /// Partitions of the window that existed already.
    pub existing: Vec<String>,
    /// Rows moved out of the DEFAULT partition into the partitions created.
    pub moved_rows: u64,
    /// Partitions whose privileges for roles other than the owner were revoked (see [`ensure`]).
    pub secured: Vec<String>,
}

/// What [`drop_expired`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DropReport {
    /// The table maintained.
    pub table: PartitionedTable,
    /// Partitions detached and dropped, oldest first.
    pub dropped: Vec<String>,
    /// Rows older than the retention deleted from the DEFAULT partition.
    pub expired_default_rows: u64,
}

/// What [`ensure_all`] did, over every partitioned table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceSummary {
    /// Partitions created.
    pub created: Vec<String>,
    /// Rows moved out of DEFAULT partitions.
    pub moved_rows: u64,
    /// Partitions whose non-owner privileges were revoked.
    pub secured: Vec<String>,
    /// `api_logs` partitions detached and dropped.
    pub dropped: Vec<String>,
    /// Expired `api_logs` rows deleted from the DEFAULT partition.
    pub expired_default_rows: u64,
}

/// The months [`ensure`] keeps partitions for: last month through `months_ahead` months after the month
/// of `today`. Validates everything, touches nothing.
pub fn window(today: NaiveDate, months_ahead: u32) -> DbResult<Vec<Month>> {
    if months_ahead > MAX_MONTHS_AHEAD {
        return Err(DbError::InvalidInput(format!("months_ahead {months_ahead} above {MAX_MONTHS_AHEAD}")));
    }
    let current = Month::containing(today)?;
    (-1..=i64::from(months_ahead)).map(|delta| current.plus(delta)).collect()
}

/// Creates the monthly partitions of `table` from last month through `months_ahead` months after the month
/// of `today`, skipping those that exist. Idempotent: a second run creates nothing.
///
/// Rows that already landed in the DEFAULT partition for a month being created are moved into the new
/// partition, and the partition is created with no privileges for any role but the owner (see
/// [`secure_partitions`]); partitions of `table` left with such privileges are fixed as well.
///
/// Refuses (before using `conn`) a `today` outside 2000..=2999, a window leaving that range, and
/// `months_ahead` above [`MAX_MONTHS_AHEAD`].
pub async fn ensure(
    conn: &mut AsyncPgConnection,
    table: PartitionedTable,
    today: NaiveDate,
    months_ahead: u32,
) -> DbResult<EnsureReport> {
    let months = window(today, months_ahead)?;
    let present: BTreeSet<String> = list_partitions(conn, table).await?.into_iter().collect();
    let mut report =
        EnsureReport { table, created: Vec::new(), existing: Vec::new(), moved_rows: 0, secured: Vec::new() };
    for month in months {
        let name = table.partition_name(month);
        if present.contains(&name) {
            report.existing.push(name);
            continue;
        }
        report.moved_rows += create_partition(conn, table, month).await?;
        report.created.push(name);
    }
    report.secured = secure_partitions(conn, table).await?;
    Ok(report)
}

/// Creates one partition in one transaction, moving DEFAULT rows of its month; returns the rows moved.
///
/// PostgreSQL refuses `CREATE TABLE … PARTITION OF` while the DEFAULT partition holds rows of the new
/// range. Of the two ways around that, detaching DEFAULT, creating the partition and re-attaching DEFAULT
/// re-validates the whole DEFAULT partition on attach and leaves a window in which inserts outside the
/// monthly partitions fail. Instead, with the parent locked `ACCESS EXCLUSIVE` (so no insert can slip a row
/// into DEFAULT between the move and the create), the rows of the month are deleted through the parent
/// into a temporary table, the partition is created, and the rows are inserted back through the parent,
/// which routes them into the new partition. `RETURNING *` and `LIKE` both use the parent's column order,
/// so the copy is exact (neither table has generated or identity columns). Nothing references `messages`
/// or `api_logs` by foreign key, so deleting and re-inserting cascades nowhere. If anything fails, the
/// transaction rolls back and the rows stay in DEFAULT.
async fn create_partition(conn: &mut AsyncPgConnection, table: PartitionedTable, month: Month) -> DbResult<u64> {
    let parent = quoted(table.name());
    let partition = quoted(&table.partition_name(month));
    let (from, to) = (month.start_bound(), month.end_bound());
    let in_range = format!("created_at >= '{from}' AND created_at < '{to}'");
    conn.transaction(async |conn| {
        diesel::sql_query("SET LOCAL row_security = off").execute(conn).await?;
        diesel::sql_query(LOCK_TIMEOUT).execute(conn).await?;
        ddl(conn, &format!("LOCK TABLE {parent} IN ACCESS EXCLUSIVE MODE")).await?;
        let waiting =
            count(conn, &format!("SELECT count(*) AS n FROM {} WHERE {in_range}", quoted(table.default_partition())))
                .await?;
        if waiting > 0 {
            ddl(conn, &format!("CREATE TEMPORARY TABLE partition_move (LIKE {parent}) ON COMMIT DROP")).await?;
            let sql = format!(
                "WITH moved AS (DELETE FROM {parent} WHERE {in_range} RETURNING *) \
                 INSERT INTO partition_move SELECT * FROM moved"
            );
            tracing::info!(table = table.name(), statement = %sql, "partition maintenance");
            diesel::sql_query(sql).execute(conn).await?;
        }
        ddl(conn, &format!("CREATE TABLE {partition} PARTITION OF {parent} FOR VALUES FROM ('{from}') TO ('{to}')"))
            .await?;
        // Through the parent, privileges of the partition are never checked; directly, row-level security
        // of the parent does not apply. So nobody but the owner may use a partition directly.
        revoke_from_non_owners(conn, table, &table.partition_name(month)).await?;
        let mut moved = 0;
        if waiting > 0 {
            let sql = format!("INSERT INTO {parent} SELECT * FROM partition_move");
            tracing::info!(table = table.name(), statement = %sql, "partition maintenance");
            moved = diesel::sql_query(sql).execute(conn).await?;
            // explicit, in case the caller's own transaction outlives this one (ON COMMIT would be too late)
            ddl(conn, "DROP TABLE partition_move").await?;
        }
        Ok::<_, DbError>(u64::try_from(moved).unwrap_or(0))
    })
    .await
}

/// Revokes every privilege held by a role other than the owner (`PUBLIC` included) on the partitions
/// of `table` (DEFAULT included); returns the partitions changed.
///
/// A partition has no row-level security of its own: the parent's policies apply only to queries through
/// the parent. A role with privileges on a partition therefore reads and writes every tenant's rows in it.
/// Default privileges (`ALTER DEFAULT PRIVILEGES … GRANT … TO metachat_app`) hand out exactly such
/// privileges on every new table, partitions included, so they are taken back here.
pub async fn secure_partitions(conn: &mut AsyncPgConnection, table: PartitionedTable) -> DbResult<Vec<String>> {
    let mut secured = Vec::new();
    for partition in exposed_partitions(conn, table).await? {
        conn.transaction(async |conn| revoke_from_non_owners(conn, table, &partition).await).await?;
        secured.push(partition);
    }
    Ok(secured)
}

/// Partitions of `table` on which a role other than the owner holds a privilege.
async fn exposed_partitions(conn: &mut AsyncPgConnection, table: PartitionedTable) -> DbResult<Vec<String>> {
    let rows: Vec<NameRow> = diesel::sql_query(
        "SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = $1::regclass \
           AND EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner) \
         ORDER BY 1",
    )
    .bind::<Text, _>(table.name())
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// Revokes the privileges of every role but the owner on the partition of `table` named `partition`.
/// The statements are generated by the server with `format('%I')` from the catalog (the partition's own
/// name and its grantees), so every identifier is quoted by PostgreSQL itself; the name is only compared.
async fn revoke_from_non_owners(
    conn: &mut AsyncPgConnection,
    table: PartitionedTable,
    partition: &str,
) -> DbResult<()> {
    let statements: Vec<StatementRow> = diesel::sql_query(
        "SELECT DISTINCT format('REVOKE ALL ON TABLE %I.%I FROM %s', n.nspname, c.relname, \
                CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END) AS statement \
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee \
         WHERE i.inhparent = $1::regclass AND c.relname = $2 AND a.grantee <> c.relowner",
    )
    .bind::<Text, _>(table.name())
    .bind::<Text, _>(partition)
    .load(conn)
    .await?;
    for StatementRow { statement } in statements {
        ddl(conn, &statement).await?;
    }
    Ok(())
}

/// Detaches and drops the `api_logs` partitions entirely older than `retention_months` months before the
/// month of `today`, and deletes rows that old from the DEFAULT partition. With `today` in 2026-11 and a
/// retention of 6, partitions up to `api_logs_p202604` go and `api_logs_p202605` stays.
///
/// Refuses [`PartitionedTable::Messages`] (messages are kept forever), a retention outside
/// 1..=[`MAX_RETENTION_MONTHS`] and a `today` outside 2000..=2999, before using `conn`. Only partitions
/// named `api_logs_pYYYYMM` are considered; others are left alone.
pub async fn drop_expired(
    conn: &mut AsyncPgConnection,
    table: PartitionedTable,
    today: NaiveDate,
    retention_months: u32,
) -> DbResult<DropReport> {
    if table != PartitionedTable::ApiLogs {
        return Err(DbError::InvalidInput(format!("partitions of `{table}` are never dropped")));
    }
    if !(1..=MAX_RETENTION_MONTHS).contains(&retention_months) {
        return Err(DbError::InvalidInput(format!(
            "retention_months {retention_months} outside 1..={MAX_RETENTION_MONTHS}"
        )));
    }
    let current = Month::containing(today)?;
    // the oldest month kept; before 2000 there is nothing to drop
    let Ok(oldest_kept) = current.plus(-i64::from(retention_months)) else {
        return Ok(DropReport { table, dropped: Vec::new(), expired_default_rows: 0 });
    };
    let mut expired: Vec<(Month, String)> = list_partitions(conn, table)
        .await?
        .into_iter()
        .filter_map(|name| table.month_of_partition(&name).map(|month| (month, name)))
        .filter(|(month, _)| *month < oldest_kept)
        .collect();
    expired.sort();
    let parent = quoted(table.name());
    let mut report = DropReport { table, dropped: Vec::new(), expired_default_rows: 0 };
    for (_, name) in expired {
        conn.transaction(async |conn| {
            diesel::sql_query(LOCK_TIMEOUT).execute(conn).await?;
            ddl(conn, &format!("ALTER TABLE {parent} DETACH PARTITION {}", quoted(&name))).await?;
            ddl(conn, &format!("DROP TABLE {}", quoted(&name))).await
        })
        .await?;
        report.dropped.push(name);
    }
    let sql =
        format!("DELETE FROM {} WHERE created_at < '{}'", quoted(table.default_partition()), oldest_kept.start_bound());
    let deleted = conn
        .transaction(async |conn| {
            diesel::sql_query("SET LOCAL row_security = off").execute(conn).await?;
            diesel::sql_query(&sql).execute(conn).await
        })
        .await?;
    if deleted > 0 {
        tracing::info!(table = table.name(), statement = %sql, rows = deleted, "partition maintenance");
    }
    report.expired_default_rows = u64::try_from(deleted).unwrap_or(0);
    Ok(report)
}

/// How many months after the month of `today` have a partition of `table`, counted contiguously from
/// next month: 0 when next month has none. The integrity checker wants at least 2.
pub async fn partitions_ahead(
    conn: &mut AsyncPgConnection,
    table: PartitionedTable,
    today: NaiveDate,
) -> DbResult<u32> {
    let current = Month::containing(today)?;
    let months: BTreeSet<Month> =
        list_partitions(conn, table).await?.iter().filter_map(|name| table.month_of_partition(name)).collect();
    let mut ahead = 0;
    while current.plus(i64::from(ahead) + 1).is_ok_and(|month| months.contains(&month)) {
        ahead += 1;
    }
    Ok(ahead)
}

/// Runs [`ensure`] for every partitioned table and [`drop_expired`] for `api_logs`: the worker's scheduled
/// maintenance. Stops at the first error (the next run retries; every step is idempotent).
pub async fn ensure_all(
    conn: &mut AsyncPgConnection,
    today: NaiveDate,
    months_ahead: u32,
    retention_months: u32,
) -> DbResult<MaintenanceSummary> {
    // validate everything up front so that bad configuration changes nothing at all
    window(today, months_ahead)?;
    if !(1..=MAX_RETENTION_MONTHS).contains(&retention_months) {
        return Err(DbError::InvalidInput(format!(
            "retention_months {retention_months} outside 1..={MAX_RETENTION_MONTHS}"
        )));
    }
    let mut summary = MaintenanceSummary::default();
    for table in PartitionedTable::ALL {
        let report = ensure(conn, table, today, months_ahead).await?;
        summary.created.extend(report.created);
        summary.moved_rows += report.moved_rows;
        summary.secured.extend(report.secured);
    }
    let dropped = drop_expired(conn, PartitionedTable::ApiLogs, today, retention_months).await?;
    summary.dropped = dropped.dropped;
    summary.expired_default_rows = dropped.expired_default_rows;
    Ok(summary)
}

/// Names of the partitions attached to `table` (DEFAULT included), from `pg_inherits`.
pub async fn list_partitions(conn: &mut AsyncPgConnection, table: PartitionedTable) -> DbResult<Vec<String>> {
    let rows: Vec<NameRow> = diesel::sql_query(
        "SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = $1::regclass ORDER BY 1",
    )
    .bind::<Text, _>(table.name())
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

#[derive(QueryableByName)]
struct NameRow {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct StatementRow {
    #[diesel(sql_type = Text)]
    statement: String,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(conn: &mut AsyncPgConnection, sql: &str) -> DbResult<i64> {
    let row: CountRow = diesel::sql_query(sql).get_result(conn).await?;
    Ok(row.n)
}

/// Logs and runs one statement that changes the schema.
async fn ddl(conn: &mut AsyncPgConnection, sql: &str) -> DbResult<()> {
    tracing::info!(statement = %sql, "partition maintenance DDL");
    diesel::sql_query(sql).execute(conn).await?;
    Ok(())
}

/// Double-quotes an identifier. Only ever given the allowlisted table names and partition names made of
/// them plus digits, so there is nothing to escape; the assertion documents (and in tests enforces) that.
fn quoted(identifier: &str) -> String {
    debug_assert!(identifier.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
    format!("\"{identifier}\"")
}
