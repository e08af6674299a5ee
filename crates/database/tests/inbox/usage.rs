//! Usage counters: concurrent increments at a limit never exceed it.

use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::testkit::TestDb;
use meta_chat_database::testkit::seed::{self, connect};
use meta_chat_database::usage::{self, Metric};
use meta_chat_shared::ids::TenantId;

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_increments_at_the_limit_never_exceed_it() {
    let db = TestDb::new();
    let mut owner = connect(&db.owner_url()).await;
    let seeded = seed::tenant_with_conversation(&mut owner, "acme").await;
    let tenant = TenantId::from_uuid(seeded.tenant);
    let pool = db.app_pool();
    let attempts = (0..12).map(|_| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut conn = pool.get().await.expect("connection");
            in_tenant_tx(&mut conn, tenant, |conn| {
                Box::pin(async move { usage::try_increment(conn, tenant, Metric::AiReplies, Some(5)).await })
            })
            .await
            .expect("increment")
        })
    });
    let counted =
        futures_util::future::join_all(attempts).await.into_iter().filter(|r| *r.as_ref().expect("task")).count();
    assert_eq!(counted, 5);
    let used =
        seed::texts(&mut owner, "SELECT used::text AS value FROM usage_counters WHERE metric = 'ai_replies'").await;
    assert_eq!(used, ["5"]);
    // unlimited always counts
    let mut conn = pool.get().await.expect("connection");
    let unlimited = in_tenant_tx(&mut conn, tenant, |conn| {
        Box::pin(async move { usage::try_increment(conn, tenant, Metric::AiReplies, None).await })
    })
    .await
    .expect("increment");
    assert!(unlimited);
}
