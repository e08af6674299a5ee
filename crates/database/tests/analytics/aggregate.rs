//! `aggregate_day`: hand-computed values, replacement on re-runs, tenant isolation.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use meta_chat_database::analytics::{self, DayStats};
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::testkit::{TestDb, seed};
use meta_chat_database::{DbError, DbResult};
use meta_chat_shared::ids::TenantId;
use uuid::Uuid;

use crate::dataset::{self, after, answered, before, day, expected_acme, expected_globex};

/// Aggregates `tenant`'s `day` as the runtime role.
pub async fn aggregate(app: &mut AsyncPgConnection, tenant: Uuid, day: NaiveDate) -> DbResult<DayStats> {
    let tenant = TenantId::from_uuid(tenant);
    in_tenant_tx(app, tenant, move |conn| Box::pin(analytics::aggregate_day(conn, tenant, day))).await
}

async fn stored_rows(owner: &mut AsyncPgConnection, tenant: Uuid) -> Vec<String> {
    seed::texts(
        owner,
        &format!(
            "SELECT day::text || ' ' || messages_inbound || ' ' || ai_replies AS value FROM analytics_daily \
             WHERE tenant_id = '{tenant}' ORDER BY day"
        ),
    )
    .await
}

#[tokio::test]
async fn each_day_aggregates_to_the_hand_computed_values() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let data = dataset::seed(&mut owner).await;
    let mut app = seed::connect(&db.app_url()).await;
    for expected in expected_acme() {
        let row = aggregate(&mut app, data.acme.tenant, expected.day).await.expect("aggregate");
        assert_eq!(row, expected, "{}", expected.day);
    }
    // what is stored is what was returned
    let tenant = TenantId::from_uuid(data.acme.tenant);
    let window = analytics::Window { from: before(), to: after() };
    let stored = in_tenant_tx(&mut app, tenant, move |conn| Box::pin(analytics::days(conn, tenant, window, None)))
        .await
        .expect("read");
    assert_eq!(stored, expected_acme());
}

#[tokio::test]
async fn aggregating_a_day_again_replaces_it() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let data = dataset::seed(&mut owner).await;
    let mut app = seed::connect(&db.app_url()).await;
    let first = aggregate(&mut app, data.acme.tenant, day()).await.expect("aggregate");
    let again = aggregate(&mut app, data.acme.tenant, day()).await.expect("aggregate again");
    assert_eq!(again, first, "the same data gives the same row");

    // one more answered question on D (500 ms): the row is recomputed, not added to
    answered(
        &mut owner,
        (data.acme.tenant, data.conversation_b),
        ("And on Sundays?", "2026-11-20T15:00:00Z"),
        ("sent", "2026-11-20T15:00:00.5Z"),
    )
    .await;
    let updated = aggregate(&mut app, data.acme.tenant, day()).await.expect("aggregate after the change");
    let expected = DayStats {
        messages_inbound: 6,
        messages_outbound: 6,
        ai_replies: 4,
        // (2000 + 1000 + 4000 + 500) / 4
        avg_first_response_ms: Some(1875),
        // percentile_disc(0.95) of [500, 1000, 2000, 4000]
        p95_first_response_ms: Some(4000),
        ..first
    };
    assert_eq!(updated, expected);
    assert_eq!(stored_rows(&mut owner, data.acme.tenant).await, ["2026-11-20 6 4"], "one row for the day");
}

#[tokio::test]
async fn another_tenants_messages_are_never_counted() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let data = dataset::seed(&mut owner).await;
    let mut app = seed::connect(&db.app_url()).await;
    let globex = aggregate(&mut app, data.globex.tenant, day()).await.expect("aggregate globex");
    assert_eq!(globex, expected_globex());
    let acme = aggregate(&mut app, data.acme.tenant, day()).await.expect("aggregate acme");
    assert_eq!(acme, expected_acme()[1], "globex's messages on the same day are not acme's");
    assert_eq!(stored_rows(&mut owner, data.globex.tenant).await, ["2026-11-20 2 1"]);

    // inside globex's transaction, acme's day can be neither read nor written
    let acme_tenant = TenantId::from_uuid(data.acme.tenant);
    let crossed = in_tenant_tx(&mut app, TenantId::from_uuid(data.globex.tenant), move |conn| {
        Box::pin(async move { analytics::compute_day(conn, acme_tenant, day()).await })
    })
    .await
    .expect("compute");
    assert_eq!(crossed, DayStats::empty(day()), "row-level security hides acme's rows");
    let written: Result<DayStats, DbError> =
        in_tenant_tx(&mut app, TenantId::from_uuid(data.globex.tenant), move |conn| {
            Box::pin(async move { analytics::aggregate_day(conn, acme_tenant, day()).await })
        })
        .await;
    assert!(written.is_err(), "the policy refuses a row of another tenant: {written:?}");
}

#[tokio::test]
async fn the_worker_lists_every_tenant_on_the_platform_path_only() {
    let db = TestDb::new();
    let mut owner = seed::connect(&db.owner_url()).await;
    let data = dataset::seed(&mut owner).await;
    let ids = meta_chat_database::platform::in_platform_tx(&mut owner, |conn| {
        Box::pin(async move { analytics::tenant_ids(conn).await })
    })
    .await
    .expect("list");
    assert_eq!(ids, [TenantId::from_uuid(data.acme.tenant), TenantId::from_uuid(data.globex.tenant)]);
    let mut app = seed::connect(&db.app_url()).await;
    let refused = meta_chat_database::platform::in_platform_tx(&mut app, |conn| {
        Box::pin(async move { analytics::tenant_ids(conn).await })
    })
    .await;
    assert!(matches!(refused, Err(DbError::InvalidInput(_))), "{refused:?}");
}
