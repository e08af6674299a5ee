//! Rows that break a CHECK or a foreign key are rejected by the database itself.

use meta_chat_database::DbError;
use meta_chat_database::testkit::{TestDb, seed};
use meta_chat_shared::{
    ConversationStatus, DeliveryStatus, DocumentStatus, MessageDirection, MessageType, Plan, TenantStatus, UserRole,
    UserStatus,
};

use crate::support::{connect, count, try_exec};

fn assert_check(result: &Result<usize, DbError>, what: &str) {
    assert!(matches!(result, Err(DbError::Check(_))), "{what}: expected a CHECK violation, got {result:?}");
}

fn assert_fk(result: &Result<usize, DbError>, what: &str) {
    assert!(matches!(result, Err(DbError::ForeignKey(_))), "{what}: expected a FK violation, got {result:?}");
}

async fn seeded() -> (TestDb, diesel_async::AsyncPgConnection, seed::Seeded, seed::Seeded) {
    let db = TestDb::new();
    let mut conn = connect(&db.owner_url()).await;
    let a = seed::tenant_with_conversation(&mut conn, "acme").await;
    let b = seed::tenant_with_conversation(&mut conn, "globex").await;
    (db, conn, a, b)
}

#[tokio::test]
async fn documents_and_chunks_reject_bad_sizes_versions_positions_and_statuses() {
    let (_db, mut conn, a, b) = seeded().await;
    let (ta, tb) = (a.tenant, b.tenant);
    let doc = |id: &str, size: i64, version: i32, status: &str| {
        format!(
            "INSERT INTO documents (tenant_id, id, filename, mime_type, size_bytes, checksum, version, status) \
             VALUES ('{ta}', '{id}', 'a.txt', 'text/plain', {size}, sha256('{id}'::bytea), {version}, '{status}')"
        )
    };
    let d1 = uuid::Uuid::now_v7();
    assert_check(&try_exec(&mut conn, &doc(&d1.to_string(), 0, 1, "pending")).await, "size 0");
    assert_check(&try_exec(&mut conn, &doc(&d1.to_string(), 10, 0, "pending")).await, "version 0");
    assert_check(&try_exec(&mut conn, &doc(&d1.to_string(), 10, 1, "done")).await, "bad document status");
    assert_eq!(try_exec(&mut conn, &doc(&d1.to_string(), 10, 1, "pending")).await.unwrap(), 1);

    let chunk = |tenant: uuid::Uuid, position: i32| {
        format!(
            "INSERT INTO chunks (tenant_id, id, document_id, document_version, position, content, token_count) \
             VALUES ('{tenant}', '{}', '{d1}', 1, {position}, 'text', 1)",
            uuid::Uuid::now_v7()
        )
    };
    assert_check(&try_exec(&mut conn, &chunk(ta, -1)).await, "position -1");
    assert_eq!(try_exec(&mut conn, &chunk(ta, 0)).await.unwrap(), 1);
    // a chunk of tenant B pointing at tenant A's document
    assert_fk(&try_exec(&mut conn, &chunk(tb, 5)).await, "chunk pointing at another tenant's document");
}

#[tokio::test]
async fn messages_reject_bad_enums_and_other_tenants_conversations() {
    let (_db, mut conn, a, b) = seeded().await;
    let ta = a.tenant;
    assert_check(
        &try_exec(&mut conn, &format!("UPDATE conversations SET status = 'pending' WHERE id = '{}'", a.conversation))
            .await,
        "bad conversation status",
    );
    let message = |conversation: uuid::Uuid, direction: &str, sender: &str, status: &str, kind: &str| {
        format!(
            "INSERT INTO messages (tenant_id, id, conversation_id, direction, sender, type, text, status) \
             VALUES ('{ta}', '{}', '{conversation}', '{direction}', '{sender}', '{kind}', 'hi', '{status}')",
            uuid::Uuid::now_v7()
        )
    };
    let c = a.conversation;
    assert_check(&try_exec(&mut conn, &message(c, "sideways", "contact", "received", "text")).await, "direction");
    assert_check(&try_exec(&mut conn, &message(c, "inbound", "contact", "received", "gif")).await, "type");
    assert_check(&try_exec(&mut conn, &message(c, "inbound", "contact", "sent", "text")).await, "inbound not received");
    assert_check(
        &try_exec(&mut conn, &message(c, "outbound", "contact", "queued", "text")).await,
        "outbound by contact",
    );
    assert_eq!(try_exec(&mut conn, &message(c, "outbound", "assistant", "queued", "text")).await.unwrap(), 1);
    // a message in tenant A pointing at tenant B's conversation: the composite FK refuses it
    assert_fk(
        &try_exec(&mut conn, &message(b.conversation, "inbound", "contact", "received", "text")).await,
        "message pointing at another tenant's conversation",
    );
}

#[tokio::test]
async fn tokens_keys_and_conversations_keep_their_invariants() {
    let (_db, mut conn, a, b) = seeded().await;
    let (ta, tb) = (a.tenant, b.tenant);
    let token = format!(
        "INSERT INTO email_tokens (tenant_id, id, purpose, token_hash, expires_at) \
         VALUES ('{ta}', '{}', 'verify_email', sha256('t'::bytea), now() + interval '1 day')",
        uuid::Uuid::now_v7()
    );
    assert_check(&try_exec(&mut conn, &token).await, "email token without owner");
    let key = format!(
        "INSERT INTO api_keys (tenant_id, id, name, prefix, key_hash, scopes) \
         VALUES ('{ta}', '{}', 'k', 'mck_abcdEFGH', sha256('k'::bytea), ARRAY['root'])",
        uuid::Uuid::now_v7()
    );
    assert_check(&try_exec(&mut conn, &key).await, "unknown api key scope");
    let dup = format!(
        "INSERT INTO conversations (tenant_id, id, channel_id, contact_id) VALUES ('{ta}', '{}', '{}', '{}')",
        uuid::Uuid::now_v7(),
        a.channel,
        a.contact
    );
    assert!(matches!(try_exec(&mut conn, &dup).await, Err(DbError::Conflict(_))), "two open conversations");

    // deleting a tenant removes its rows and nobody else's
    seed::inbound_message(&mut conn, &a, "2026-11-20T10:00:00Z").await;
    try_exec(&mut conn, &format!("DELETE FROM tenants WHERE id = '{ta}'")).await.unwrap();
    assert_eq!(count(&mut conn, &format!("SELECT count(*) AS n FROM messages WHERE tenant_id = '{ta}'")).await, 0);
    assert_eq!(count(&mut conn, &format!("SELECT count(*) AS n FROM conversations WHERE tenant_id = '{tb}'")).await, 1);
}

/// The CHECK constraints list exactly the spellings of the domain enums in `meta-chat-shared`.
#[tokio::test]
async fn check_constraints_match_the_domain_enums() {
    let db = TestDb::new();
    let mut conn = connect(&db.owner_url()).await;
    let cases: [(&str, &str, Vec<&str>); 10] = [
        ("conversations", "status", ConversationStatus::ALL.iter().map(|v| v.as_str()).collect()),
        ("messages", "direction", MessageDirection::ALL.iter().map(|v| v.as_str()).collect()),
        ("messages", "type", MessageType::ALL.iter().map(|v| v.as_str()).collect()),
        ("messages", "status", DeliveryStatus::ALL.iter().map(|v| v.as_str()).collect()),
        ("documents", "status", DocumentStatus::ALL.iter().map(|v| v.as_str()).collect()),
        ("tenants", "status", TenantStatus::ALL.iter().map(|v| v.as_str()).collect()),
        ("tenants", "plan_id", Plan::ALL.iter().map(|v| v.as_str()).collect()),
        ("tenants", "plan_override", Plan::ALL.iter().map(|v| v.as_str()).collect()),
        ("tenant_users", "status", UserStatus::ALL.iter().map(|v| v.as_str()).collect()),
        ("tenant_users", "role", UserRole::ALL.iter().map(|v| v.as_str()).collect()),
    ];
    for (table, column, values) in cases {
        let def_count = |value: &str| {
            format!(
                "SELECT count(*) AS n FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
                 WHERE t.relname = '{table}' AND c.contype = 'c' \
                   AND pg_get_constraintdef(c.oid) LIKE '%({column} = ANY%' \
                   AND pg_get_constraintdef(c.oid) LIKE '%''{value}''::text%'"
            )
        };
        for value in &values {
            assert_eq!(count(&mut conn, &def_count(value)).await, 1, "{table}.{column} CHECK lacks '{value}'");
        }
        let listed = count(
            &mut conn,
            &format!(
                "SELECT (array_length(regexp_split_to_array(pg_get_constraintdef(c.oid), '::text'), 1) - 1)::bigint AS n \
                 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
                 WHERE t.relname = '{table}' AND c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%({column} = ANY%'"
            ),
        )
        .await;
        assert_eq!(listed, i64::try_from(values.len()).unwrap(), "{table}.{column} CHECK lists extra values");
    }
}
