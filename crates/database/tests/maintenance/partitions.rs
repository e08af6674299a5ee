//! The partition manager: creates the right partitions, idempotently, moves rows out of DEFAULT, drops
//! only expired `api_logs` partitions, keeps partitions away from other roles, and refuses bad input
//! without executing anything.

use chrono::NaiveDate;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use meta_chat_database::DbError;
use meta_chat_database::partitions::{self, Month, PartitionedTable};
use meta_chat_database::testkit::{TestDb, seed};

use crate::support::{connect, count, exec, insert_api_log, partition_catalog, partition_of, today};

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

fn bound(table: &str, name: &str, from: &str, to: &str) -> String {
    format!("{table} > {name}: FOR VALUES FROM ('{from} 00:00:00+00') TO ('{to} 00:00:00+00')")
}

#[tokio::test]
async fn creates_monthly_partitions_from_last_month_to_months_ahead_with_utc_bounds() {
    let db = TestDb::new();
    let mut conn = connect(&db.owner_url()).await;
    // bounds are written in UTC whatever the session's time zone
    exec(&mut conn, "SET TimeZone = 'America/New_York'").await;

    let report = partitions::ensure(&mut conn, PartitionedTable::Messages, today(), 3).await.unwrap();

    assert_eq!(
        report.created,
        ["messages_p202610", "messages_p202611", "messages_p202612", "messages_p202701", "messages_p202702"]
    );
    assert!(report.existing.is_empty());
    assert_eq!(report.moved_rows, 0);
    assert_eq!(
        partition_catalog(&mut conn).await,
        [
            "api_logs > api_logs_default: DEFAULT".to_owned(),
            "messages > messages_default: DEFAULT".to_owned(),
            bound("messages", "messages_p202610", "2026-10-01", "2026-11-01"),
            bound("messages", "messages_p202611", "2026-11-01", "2026-12-01"),
            bound("messages", "messages_p202612", "2026-12-01", "2027-01-01"),
            bound("messages", "messages_p202701", "2027-01-01", "2027-02-01"),
            bound("messages", "messages_p202702", "2027-02-01", "2027-03-01"),
        ]
    );
}

#[tokio::test]
async fn a_second_run_creates_nothing_and_does_not_fail() {
    let db = TestDb::new();
    let mut conn = connect(&db.owner_url()).await;
    let first = partitions::ensure_all(&mut conn, today(), 3, 12).await.unwrap();
    assert_eq!(first.created.len(), 10);
    let catalog = partition_catalog(&mut conn).await;

    let second = partitions::ensure_all(&mut conn, today(), 3, 12).await.unwrap();
    assert_eq!(second, partitions::MaintenanceSummary::default());
    let again = partitions::ensure(&mut conn, PartitionedTable::ApiLogs, today(), 3).await.unwrap();
    assert!(again.created.is_empty());
    assert_eq!(again.existing.len(), 5);
    assert_eq!(partition_catalog(&mut conn).await, catalog);
}

#[tokio::test]
async fn rows_that_landed_in_default_move_into_the_partition_created_for_their_month() {
    let db = TestDb::new();
    let mut conn = connect(&db.owner_url()).await;
    let acme = seed::tenant_with_conversation(&mut conn, "acme").await;
    // only DEFAULT exists yet
    let mid_november = seed::inbound_message(&mut conn, &acme, "2026-11-15 12:00:00+00").await;
    // 23:30 in New York on 30 November is 1 December in UTC
    let first_of_december = seed::inbound_message(&mut conn, &acme, "2026-11-30 23:30:00-05").await;
    let before_the_window = seed::inbound_message(&mut conn, &acme, "2026-09-15 12:00:00+00").await;
    let far_future = seed::inbound_message(&mut conn, &acme, "2150-01-01 00:00:00+00").await;
    let log_november = insert_api_log(&mut conn, acme.tenant, "2026-11-02 08:00:00+00").await;
    let log_february = insert_api_log(&mut conn, acme.tenant, "2027-02-28 23:59:59+00").await;
    for id in [mid_november, first_of_december, before_the_window, far_future] {
        assert_eq!(partition_of(&mut conn, "messages", id).await, "messages_default");
    }

    let summary = partitions::ensure_all(&mut conn, today(), 3, 12).await.unwrap();

    assert_eq!(summary.moved_rows, 4);
    assert_eq!(partition_of(&mut conn, "messages", mid_november).await, "messages_p202611");
    assert_eq!(partition_of(&mut conn, "messages", first_of_december).await, "messages_p202612");
    assert_eq!(partition_of(&mut conn, "messages", before_the_window).await, "messages_default");
    assert_eq!(partition_of(&mut conn, "messages", far_future).await, "messages_default");
    assert_eq!(partition_of(&mut conn, "api_logs", log_november).await, "api_logs_p202611");
    assert_eq!(partition_of(&mut conn, "api_logs", log_february).await, "api_logs_p202702");
    // nothing lost or doubled on the way
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM messages").await, 4);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM api_logs").await, 2);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM pg_class WHERE relname = 'partition_move'").await, 0);
}

#[tokio::test]
async fn inserts_far_in_the_future_still_succeed_in_the_default_partition() {
    let db = TestDb::new();
    let mut conn = connect(&db.owner_url()).await;
    let acme = seed::tenant_with_conversation(&mut conn, "acme").await;
    partitions::ensure_all(&mut conn, today(), 3, 12).await.unwrap();

    let in_2150 = seed::inbound_message(&mut conn, &acme, "2150-06-01 00:00:00+00").await;
    let log_2150 = insert_api_log(&mut conn, acme.tenant, "2150-06-01 00:00:00+00").await;
    let in_window = seed::inbound_message(&mut conn, &acme, "2027-01-10 00:00:00+00").await;

    assert_eq!(partition_of(&mut conn, "messages", in_2150).await, "messages_default");
    assert_eq!(partition_of(&mut conn, "api_logs", log_2150).await, "api_logs_default");
    assert_eq!(partition_of(&mut conn, "messages", in_window).await, "messages_p202701");
}

#[tokio::test]
async fn invalid_input_is_an_error_and_executes_no_ddl() {
    let db = TestDb::new();
    let mut conn = connect(&db.owner_url()).await;
    partitions::ensure(&mut conn, PartitionedTable::Messages, today(), 1).await.unwrap();
    let before = partition_catalog(&mut conn).await;
    let tables_before = count(&mut conn, "SELECT count(*) AS n FROM pg_class").await;

    for (year, month) in [(9999, 1), (1999, 12), (2026, 0), (2026, 13)] {
        assert!(matches!(Month::new(year, month), Err(DbError::InvalidInput(_))), "{year}-{month}");
    }
    for name in ["messages; DROP TABLE tenants", "\"messages\"", "api_logs'--", "messages ", "Messages", "tenants"] {
        assert!(matches!(name.parse::<PartitionedTable>(), Err(DbError::InvalidInput(_))), "{name:?}");
    }
    let refused = [
        partitions::ensure(&mut conn, PartitionedTable::Messages, date(1999, 12, 31), 3).await.err(),
        partitions::ensure(&mut conn, PartitionedTable::Messages, date(9999, 1, 1), 3).await.err(),
        // the window would end in 3000
        partitions::ensure(&mut conn, PartitionedTable::ApiLogs, date(2999, 11, 1), 3).await.err(),
        partitions::ensure(&mut conn, PartitionedTable::ApiLogs, today(), 1000).await.err(),
        partitions::drop_expired(&mut conn, PartitionedTable::Messages, today(), 12).await.err(),
        partitions::drop_expired(&mut conn, PartitionedTable::ApiLogs, today(), 0).await.err(),
        partitions::drop_expired(&mut conn, PartitionedTable::ApiLogs, date(1999, 1, 1), 12).await.err(),
        // bad retention must not let ensure_all create partitions first
        partitions::ensure_all(&mut conn, today(), 3, 0).await.err(),
        partitions::ensure_all(&mut conn, today(), 99, 12).await.err(),
        partitions::partitions_ahead(&mut conn, PartitionedTable::Messages, date(3000, 1, 1)).await.err(),
    ];
    for (i, err) in refused.iter().enumerate() {
        assert!(matches!(err, Some(DbError::InvalidInput(_))), "case {i}: {err:?}");
    }

    assert_eq!(partition_catalog(&mut conn).await, before);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM pg_class").await, tables_before);
}

/// A connection whose backend has been terminated: any use of it fails.
async fn dead_connection(db: &TestDb) -> AsyncPgConnection {
    let mut victim = connect(&db.owner_url()).await;
    let pid = count(&mut victim, "SELECT pg_backend_pid()::bigint AS n").await;
    let mut killer = connect(&db.superuser_url()).await;
    exec(&mut killer, &format!("SELECT pg_terminate_backend({pid}, 5000)")).await;
    victim
}

#[tokio::test]
async fn invalid_input_is_refused_before_the_connection_is_used() {
    let db = TestDb::new();
    let mut dead = dead_connection(&db).await;

    let refused = [
        partitions::ensure(&mut dead, PartitionedTable::Messages, date(1999, 12, 31), 3).await.err(),
        partitions::ensure(&mut dead, PartitionedTable::Messages, today(), 1000).await.err(),
        partitions::drop_expired(&mut dead, PartitionedTable::Messages, today(), 12).await.err(),
        partitions::drop_expired(&mut dead, PartitionedTable::ApiLogs, today(), 0).await.err(),
        partitions::ensure_all(&mut dead, date(9999, 1, 1), 3, 12).await.err(),
    ];
    for (i, err) in refused.iter().enumerate() {
        assert!(matches!(err, Some(DbError::InvalidInput(_))), "case {i}: {err:?}");
    }
    // control: valid input does reach the (dead) connection
    let used = partitions::ensure(&mut dead, PartitionedTable::Messages, today(), 3).await;
    assert!(matches!(used, Err(ref e) if !matches!(e, DbError::InvalidInput(_))), "{used:?}");
}

#[tokio::test]
async fn drop_expired_detaches_and_drops_only_api_logs_partitions_past_the_retention() {
    let db = TestDb::new();
    let mut conn = connect(&db.owner_url()).await;
    let acme = seed::tenant_with_conversation(&mut conn, "acme").await;
    // partitions from earlier runs: 2025-11 .. 2025-12 and 2026-04 .. 2026-05, for both tables
    for table in PartitionedTable::ALL {
        partitions::ensure(&mut conn, table, date(2025, 12, 10), 0).await.unwrap();
        partitions::ensure(&mut conn, table, date(2026, 5, 10), 0).await.unwrap();
    }
    insert_api_log(&mut conn, acme.tenant, "2025-11-15 00:00:00+00").await;
    insert_api_log(&mut conn, acme.tenant, "2024-01-01 00:00:00+00").await; // in DEFAULT, long expired
    let kept = insert_api_log(&mut conn, acme.tenant, "2026-05-02 00:00:00+00").await;
    let kept_message = seed::inbound_message(&mut conn, &acme, "2025-11-15 00:00:00+00").await;

    // retention 6 in 2026-11: 2026-05 is the oldest month kept
    let summary = partitions::ensure_all(&mut conn, today(), 3, 6).await.unwrap();

    assert_eq!(summary.dropped, ["api_logs_p202511", "api_logs_p202512", "api_logs_p202604"]);
    assert_eq!(summary.expired_default_rows, 1);
    let api_logs = partitions::list_partitions(&mut conn, PartitionedTable::ApiLogs).await.unwrap();
    assert_eq!(
        api_logs,
        [
            "api_logs_default",
            "api_logs_p202605",
            "api_logs_p202610",
            "api_logs_p202611",
            "api_logs_p202612",
            "api_logs_p202701",
            "api_logs_p202702"
        ]
    );
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM pg_class WHERE relname LIKE 'api_logs_p2025%'").await, 0);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM api_logs").await, 1);
    assert_eq!(partition_of(&mut conn, "api_logs", kept).await, "api_logs_p202605");
    // messages are never dropped
    let messages = partitions::list_partitions(&mut conn, PartitionedTable::Messages).await.unwrap();
    assert!(messages.contains(&"messages_p202511".to_owned()), "{messages:?}");
    assert_eq!(partition_of(&mut conn, "messages", kept_message).await, "messages_p202511");
}

#[tokio::test]
async fn partitions_ahead_counts_contiguous_future_months() {
    let db = TestDb::new();
    let mut conn = connect(&db.owner_url()).await;
    for table in PartitionedTable::ALL {
        assert_eq!(partitions::partitions_ahead(&mut conn, table, today()).await.unwrap(), 0);
    }
    partitions::ensure_all(&mut conn, today(), 3, 12).await.unwrap();
    for table in PartitionedTable::ALL {
        assert_eq!(partitions::partitions_ahead(&mut conn, table, today()).await.unwrap(), 3);
    }
    // a gap stops the count
    exec(&mut conn, "DROP TABLE messages_p202701").await;
    assert_eq!(partitions::partitions_ahead(&mut conn, PartitionedTable::Messages, today()).await.unwrap(), 1);
    // seen from January, December is past and February is next
    assert_eq!(partitions::partitions_ahead(&mut conn, PartitionedTable::Messages, date(2027, 1, 5)).await.unwrap(), 1);
}

#[tokio::test]
async fn partitions_cannot_be_used_directly_by_the_runtime_role() {
    let db = TestDb::new();
    let mut owner = connect(&db.owner_url()).await;
    let acme = seed::tenant_with_conversation(&mut owner, "acme").await;
    let globex = seed::tenant_with_conversation(&mut owner, "globex").await;
    // as ALTER DEFAULT PRIVILEGES … TO metachat_app would hand out
    exec(&mut owner, "GRANT SELECT, INSERT, UPDATE, DELETE ON messages_default TO metachat_app").await;

    let summary = partitions::ensure_all(&mut owner, today(), 3, 12).await.unwrap();
    assert!(summary.secured.contains(&"messages_default".to_owned()), "{summary:?}");
    seed::inbound_message(&mut owner, &acme, "2026-11-20 10:00:00+00").await;
    seed::inbound_message(&mut owner, &globex, "2026-11-20 10:00:00+00").await;

    let mut app = connect(&db.app_url()).await;
    for partition in ["messages_default", "messages_p202611", "api_logs_p202611"] {
        let direct = diesel::sql_query(format!("SELECT 1 FROM {partition}")).execute(&mut app).await;
        assert!(direct.is_err(), "{partition} must not be readable directly by the runtime role");
    }
    // through the parent, row-level security applies and shows the tenant's own row only
    let tenant = acme.tenant.to_string();
    let seen = app
        .transaction(async |conn| {
            diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)")
                .bind::<Text, _>(&tenant)
                .execute(conn)
                .await?;
            Ok::<_, diesel::result::Error>(count(conn, "SELECT count(*) AS n FROM messages").await)
        })
        .await
        .unwrap();
    assert_eq!(seen, 1);
    assert_eq!(
        count(&mut owner, "SELECT count(*) AS n FROM pg_class c, aclexplode(c.relacl) a WHERE c.relispartition AND a.grantee <> c.relowner")
            .await,
        0
    );
}

#[tokio::test]
async fn ensure_only_touches_the_table_it_is_given() {
    let db = TestDb::new();
    let mut conn = connect(&db.owner_url()).await;
    let report = partitions::ensure(&mut conn, PartitionedTable::ApiLogs, today(), 0).await.unwrap();
    assert_eq!(report.created, ["api_logs_p202610", "api_logs_p202611"]);
    assert_eq!(partitions::list_partitions(&mut conn, PartitionedTable::Messages).await.unwrap(), ["messages_default"]);
}

#[tokio::test]
async fn hand_made_partitions_are_secured_but_never_dropped() {
    let db = TestDb::new();
    let mut conn = connect(&db.owner_url()).await;
    exec(
        &mut conn,
        r#"CREATE TABLE "old ""logs""; x" PARTITION OF api_logs FOR VALUES FROM ('2010-01-01 00:00:00+00') TO ('2010-02-01 00:00:00+00')"#,
    )
    .await;
    exec(&mut conn, r#"GRANT SELECT ON "old ""logs""; x" TO metachat_app, PUBLIC"#).await;

    let summary = partitions::ensure_all(&mut conn, today(), 3, 1).await.unwrap();

    assert!(summary.secured.contains(&r#"old "logs"; x"#.to_owned()), "{summary:?}");
    assert!(summary.dropped.is_empty(), "{summary:?}");
    let api_logs = partitions::list_partitions(&mut conn, PartitionedTable::ApiLogs).await.unwrap();
    assert!(api_logs.contains(&r#"old "logs"; x"#.to_owned()), "{api_logs:?}");
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM pg_class c, aclexplode(c.relacl) a WHERE c.relispartition AND a.grantee <> c.relowner")
            .await,
        0
    );
}
