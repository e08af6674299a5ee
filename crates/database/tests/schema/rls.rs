//! Row-level security: the runtime role sees nothing without a tenant, and only its tenant's rows with one.

use diesel_async::AsyncPgConnection;
use meta_chat_database::DbError;
use meta_chat_database::tenant::in_tenant_tx;
use meta_chat_database::testkit::{TestDb, seed};
use meta_chat_shared::ids::TenantId;

use crate::support::{connect, count, try_exec};

const TENANT_TABLES: &[&str] =
    &["tenants", "tenant_users", "channels", "contacts", "conversations", "messages", "inbound_receipts"];

#[tokio::test]
async fn app_role_without_tenant_sees_no_rows() {
    let db = TestDb::new();
    let mut owner = connect(&db.owner_url()).await;
    let a = seed::tenant_with_conversation(&mut owner, "acme").await;
    seed::inbound_message(&mut owner, &a, "2026-11-20T10:00:00Z").await;
    assert_eq!(count(&mut owner, "SELECT count(*) AS n FROM conversations").await, 1, "owner bypasses RLS");

    let mut app = connect(&db.app_url()).await;
    for table in TENANT_TABLES {
        assert_eq!(count(&mut app, &format!("SELECT count(*) AS n FROM {table}")).await, 0, "{table} leaks");
    }
    // writes without a tenant are refused too
    let insert = format!(
        "INSERT INTO contacts (tenant_id, id, channel_id, external_id) VALUES ('{}', '{}', '{}', 'x')",
        a.tenant,
        uuid::Uuid::now_v7(),
        a.channel
    );
    assert!(try_exec(&mut app, &insert).await.is_err(), "insert without tenant must fail");
    assert_eq!(try_exec(&mut app, "UPDATE conversations SET status = 'closed', closed_at = now()").await.unwrap(), 0);
    assert_eq!(try_exec(&mut app, "DELETE FROM messages").await.unwrap(), 0);
    assert_eq!(count(&mut owner, "SELECT count(*) AS n FROM messages").await, 1);
}

#[tokio::test]
async fn tenant_a_cannot_read_or_write_tenant_b() {
    let db = TestDb::new();
    let mut owner = connect(&db.owner_url()).await;
    let a = seed::tenant_with_conversation(&mut owner, "acme").await;
    let b = seed::tenant_with_conversation(&mut owner, "globex").await;
    seed::inbound_message(&mut owner, &b, "2026-11-20T10:00:00Z").await;

    let mut app = connect(&db.app_url()).await;
    let (b_conv, b_tenant, b_channel) = (b.conversation, b.tenant, b.channel);
    let result: Result<(), DbError> = in_tenant_tx(&mut app, TenantId::from_uuid(a.tenant), move |conn| {
        Box::pin(async move {
            for table in TENANT_TABLES {
                assert_eq!(
                    count(conn, &format!("SELECT count(*) AS n FROM {table}")).await,
                    i64::from(*table != "messages" && *table != "inbound_receipts"),
                    "{table}"
                );
            }
            let n = count(conn, &format!("SELECT count(*) AS n FROM conversations WHERE id = '{b_conv}'")).await;
            assert_eq!(n, 0, "B's conversation is invisible to A");
            let updated =
                try_exec(conn, &format!("UPDATE conversations SET handoff_reason = 'x' WHERE id = '{b_conv}'")).await?;
            assert_eq!(updated, 0, "B's conversation cannot be updated by A");
            assert_eq!(try_exec(conn, "DELETE FROM messages").await?, 0, "B's messages cannot be deleted by A");
            Ok(())
        })
    })
    .await;
    result.unwrap();

    // inserting a row that claims tenant B while A is set violates the policy's WITH CHECK
    let insert = format!(
        "INSERT INTO contacts (tenant_id, id, channel_id, external_id) VALUES ('{b_tenant}', '{}', '{b_channel}', 'y')",
        uuid::Uuid::now_v7()
    );
    let result: Result<usize, DbError> =
        in_tenant_tx(&mut app, TenantId::from_uuid(a.tenant), move |conn: &mut AsyncPgConnection| {
            Box::pin(async move { try_exec(conn, &insert).await })
        })
        .await;
    assert!(result.is_err(), "A wrote a row for B: {result:?}");
    assert_eq!(count(&mut owner, "SELECT count(*) AS n FROM contacts WHERE external_id = 'y'").await, 0);
    assert_eq!(count(&mut owner, "SELECT count(*) AS n FROM conversations WHERE handoff_reason = 'x'").await, 0);
    assert_eq!(count(&mut owner, "SELECT count(*) AS n FROM messages").await, 1);

    // the setting is transaction-local: after the transaction the connection sees nothing again
    assert_eq!(count(&mut app, "SELECT count(*) AS n FROM conversations").await, 0);
}

/// Every table with a `tenant_id` column has RLS enabled and forced with a policy (`stripe_events` is platform-level).
#[tokio::test]
async fn every_tenant_table_has_forced_rls() {
    let db = TestDb::new();
    let mut owner = connect(&db.owner_url()).await;
    let missing = count(
        &mut owner,
        "SELECT count(*) AS n FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace \
         WHERE ns.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) \
           AND c.relname <> 'stripe_events' \
           AND NOT (c.relrowsecurity AND c.relforcerowsecurity AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))",
    )
    .await;
    assert_eq!(missing, 0);
}

/// Partitions have no policies of their own: the runtime role may only reach them through the parent.
#[tokio::test]
async fn app_role_cannot_read_partitions_directly() {
    let db = TestDb::new();
    let mut owner = connect(&db.owner_url()).await;
    let a = seed::tenant_with_conversation(&mut owner, "acme").await;
    seed::inbound_message(&mut owner, &a, "2100-01-01T00:00:00Z").await;
    let mut app = connect(&db.app_url()).await;
    for partition in ["messages_default", "api_logs_default"] {
        let result = try_exec(&mut app, &format!("SELECT * FROM {partition}")).await;
        assert!(result.is_err(), "{partition} is readable by the runtime role: {result:?}");
    }
    // the owner-only grants of platform tables stay narrow
    assert!(try_exec(&mut app, "DELETE FROM integrity_reports").await.is_err());
    assert!(try_exec(&mut app, "DELETE FROM embedding_models").await.is_err());
}
