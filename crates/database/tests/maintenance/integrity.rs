//! The integrity checker: silent on a clean database, and each seeded defect is found with the right count.
//! Defects that constraints prevent are seeded by dropping the constraint first, as the owner.

use chrono::Utc;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use meta_chat_database::integrity::{self, Finding, IntegrityReport, Severity};
use meta_chat_database::partitions;
use meta_chat_database::testkit::{TestDb, seed};
use uuid::Uuid;

use crate::support::{connect, count, exec, insert_chunk, insert_document, insert_embedding};

/// A migrated database with partitions maintained for the real current date and two seeded tenants.
async fn maintained() -> (TestDb, AsyncPgConnection, seed::Seeded, seed::Seeded) {
    let db = TestDb::new();
    let mut conn = connect(&db.owner_url()).await;
    partitions::ensure_all(&mut conn, Utc::now().date_naive(), 3, 12).await.unwrap();
    let acme = seed::tenant_with_conversation(&mut conn, "acme").await;
    let globex = seed::tenant_with_conversation(&mut conn, "globex").await;
    (db, conn, acme, globex)
}

async fn run(conn: &mut AsyncPgConnection) -> IntegrityReport {
    integrity::run(conn).await.unwrap()
}

/// The finding of `check`, which must exist with `severity` and `count`.
fn expect<'r>(report: &'r IntegrityReport, check: &str, severity: Severity, count: i64) -> &'r Finding {
    let finding = report.finding(check).unwrap_or_else(|| panic!("no `{check}` finding in {:#?}", report.findings));
    assert_eq!((finding.severity, finding.count), (severity, count), "{finding:#?}");
    finding
}

fn now() -> String {
    Utc::now().to_rfc3339()
}

#[tokio::test]
async fn a_clean_database_reports_nothing() {
    let (_db, mut conn, acme, globex) = maintained().await;
    seed::inbound_message(&mut conn, &acme, &now()).await;
    seed::inbound_message(&mut conn, &globex, &now()).await;
    let doc = insert_document(&mut conn, acme.tenant, "ready", 1).await;
    let chunk = insert_chunk(&mut conn, acme.tenant, doc, 0).await;
    insert_embedding(&mut conn, acme.tenant, chunk, "local-hash-384", 384).await;
    exec(
        &mut conn,
        &format!(
            "INSERT INTO channels (tenant_id, id, type, name, widget_key, config) VALUES ('{}', '{}', 'webchat', \
             'site', 'wk_abcdefghijklmnopqrstuvwx', '{{\"allowedOrigins\": [\"https://example.com\"]}}')",
            acme.tenant,
            Uuid::now_v7()
        ),
    )
    .await;

    let report = run(&mut conn).await;

    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert!(!report.has_critical());
    assert_eq!(report.checks_run, integrity::check_ids());
    assert!(report.checks_run.len() > 60, "{}", report.checks_run.len());
    assert!(report.finished_at >= report.started_at);
}

#[tokio::test]
async fn orphan_and_cross_tenant_messages_are_critical() {
    let (_db, mut conn, acme, globex) = maintained().await;
    exec(&mut conn, "ALTER TABLE messages DROP CONSTRAINT messages_tenant_id_conversation_id_fkey").await;
    let orphan = seed::inbound_message(&mut conn, &seed::Seeded { conversation: Uuid::now_v7(), ..acme }, &now()).await;
    // globex's message in acme's conversation
    let cross =
        seed::inbound_message(&mut conn, &seed::Seeded { conversation: acme.conversation, ..globex }, &now()).await;

    let report = run(&mut conn).await;

    assert_eq!(
        expect(&report, "messages_without_conversation", Severity::Critical, 1).sample_ids,
        [orphan.to_string()]
    );
    assert_eq!(
        expect(&report, "messages_cross_tenant_conversation", Severity::Critical, 1).sample_ids,
        [cross.to_string()]
    );
    assert_eq!(
        expect(&report, "schema_foreign_key_missing", Severity::Critical, 1).sample_ids,
        [
            "messages: FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations(tenant_id, id) ON DELETE CASCADE"
        ]
    );
    assert!(report.has_critical());
}

#[tokio::test]
async fn orphan_chunks_and_embeddings_are_critical() {
    let (_db, mut conn, acme, _) = maintained().await;
    exec(&mut conn, "ALTER TABLE chunks DROP CONSTRAINT chunks_tenant_id_document_id_fkey").await;
    exec(&mut conn, "ALTER TABLE chunk_embeddings DROP CONSTRAINT chunk_embeddings_tenant_id_chunk_id_fkey").await;
    let chunk = insert_chunk(&mut conn, acme.tenant, Uuid::now_v7(), 0).await;
    insert_embedding(&mut conn, acme.tenant, Uuid::now_v7(), "local-hash-384", 384).await;

    let report = run(&mut conn).await;

    assert_eq!(expect(&report, "chunks_without_document", Severity::Critical, 1).sample_ids, [chunk.to_string()]);
    expect(&report, "chunk_embeddings_without_chunk", Severity::Critical, 1);
    expect(&report, "schema_foreign_key_missing", Severity::Critical, 2);
}

#[tokio::test]
async fn status_values_outside_their_sets_are_critical() {
    let (_db, mut conn, acme, globex) = maintained().await;
    exec(&mut conn, "ALTER TABLE conversations DROP CONSTRAINT conversations_status_check").await;
    exec(&mut conn, &format!("UPDATE conversations SET status = 'pending' WHERE id = '{}'", acme.conversation)).await;
    exec(&mut conn, &format!("UPDATE conversations SET status = 'Active' WHERE id = '{}'", globex.conversation)).await;

    let report = run(&mut conn).await;

    expect(&report, "conversations_invalid_status", Severity::Critical, 2);
}

#[tokio::test]
async fn bad_sizes_and_positions_are_warnings() {
    let (_db, mut conn, acme, _) = maintained().await;
    exec(&mut conn, "ALTER TABLE documents DROP CONSTRAINT documents_size_bytes_check").await;
    exec(&mut conn, "ALTER TABLE chunks DROP CONSTRAINT chunks_position_check").await;
    let empty = insert_document(&mut conn, acme.tenant, "pending", 0).await;
    exec(&mut conn, &format!("UPDATE documents SET size_bytes = 0 WHERE id = '{empty}'")).await;
    let doc = insert_document(&mut conn, acme.tenant, "pending", 0).await;
    let negative = insert_chunk(&mut conn, acme.tenant, doc, -1).await;
    // ready, but its count says 3 and it has one chunk; another ready one has none
    let miscounted = insert_document(&mut conn, acme.tenant, "ready", 3).await;
    insert_chunk(&mut conn, acme.tenant, miscounted, 0).await;
    let chunkless = insert_document(&mut conn, acme.tenant, "ready", 0).await;

    let report = run(&mut conn).await;

    assert_eq!(expect(&report, "documents_nonpositive_size", Severity::Warning, 1).sample_ids, [empty.to_string()]);
    assert_eq!(expect(&report, "chunks_negative_position", Severity::Warning, 1).sample_ids, [negative.to_string()]);
    assert_eq!(
        expect(&report, "documents_chunk_count_mismatch", Severity::Warning, 1).sample_ids,
        [miscounted.to_string()]
    );
    assert_eq!(
        expect(&report, "documents_ready_without_chunks", Severity::Warning, 1).sample_ids,
        [chunkless.to_string()]
    );
    assert!(!report.has_critical(), "{:#?}", report.findings);
}

#[tokio::test]
async fn duplicate_contacts_are_found() {
    let (_db, mut conn, acme, _) = maintained().await;
    exec(&mut conn, "ALTER TABLE contacts DROP CONSTRAINT contacts_tenant_id_channel_id_external_id_key").await;
    let duplicate = Uuid::now_v7();
    exec(
        &mut conn,
        &format!(
            "INSERT INTO contacts (tenant_id, id, channel_id, external_id) VALUES ('{}', '{duplicate}', '{}', 'acme-contact')",
            acme.tenant, acme.channel
        ),
    )
    .await;

    let report = run(&mut conn).await;

    assert_eq!(
        expect(&report, "contacts_duplicate_external_id", Severity::Warning, 1).sample_ids,
        [duplicate.to_string()]
    );
}

#[tokio::test]
async fn incomplete_channel_configuration_is_critical_when_enabled_and_a_warning_when_disabled() {
    let (_db, mut conn, acme, _) = maintained().await;
    let insert = |id: Uuid, kind: &str, enabled: bool, config: &str, secrets: &str| {
        format!(
            "INSERT INTO channels (tenant_id, id, type, name, enabled, external_id, config, secrets) \
             VALUES ('{}', '{id}', '{kind}', 'c', {enabled}, '{id}', '{config}', '{secrets}')",
            acme.tenant
        )
    };
    let (enabled, disabled, messenger) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    // no businessAccountId, no verifyToken
    let secrets = r#"{"accessToken": "v1.k.a.b", "appSecret": "v1.k.a.b"}"#;
    exec(&mut conn, &insert(enabled, "whatsapp", true, r#"{"phoneNumberId": "1"}"#, secrets)).await;
    exec(&mut conn, &insert(disabled, "whatsapp", false, "{}", "{}")).await;
    exec(&mut conn, &insert(messenger, "messenger", true, r#"{"pageId": ""}"#, "{}")).await;

    let report = run(&mut conn).await;

    let mut critical = vec![enabled.to_string(), messenger.to_string()];
    critical.sort();
    assert_eq!(expect(&report, "channel_config_incomplete", Severity::Critical, 2).sample_ids, critical);
    assert_eq!(
        expect(&report, "channel_config_incomplete_disabled", Severity::Warning, 1).sample_ids,
        [disabled.to_string()]
    );
}

#[tokio::test]
async fn dropped_and_unenforced_foreign_keys_are_found_by_the_schema_check() {
    let (db, mut conn, _, _) = maintained().await;
    exec(&mut conn, "ALTER TABLE refresh_sessions DROP CONSTRAINT refresh_sessions_tenant_id_user_id_fkey").await;
    // disabling the internal triggers that enforce a foreign key needs a superuser
    let mut superuser = connect(&db.superuser_url()).await;
    exec(&mut superuser, "ALTER TABLE webhook_deliveries DISABLE TRIGGER ALL").await;

    let report = run(&mut conn).await;

    assert_eq!(
        expect(&report, "schema_foreign_key_missing", Severity::Critical, 1).sample_ids,
        ["refresh_sessions: FOREIGN KEY (tenant_id, user_id) REFERENCES tenant_users(tenant_id, id) ON DELETE CASCADE"]
    );
    let unenforced = expect(&report, "schema_foreign_key_not_enforced", Severity::Critical, 2);
    assert!(unenforced.sample_ids.iter().all(|s| s.starts_with("webhook_deliveries.")), "{unenforced:?}");
}

#[tokio::test]
async fn tables_without_forced_row_level_security_are_critical() {
    let (_db, mut conn, _, _) = maintained().await;
    exec(&mut conn, "ALTER TABLE documents DISABLE ROW LEVEL SECURITY").await;
    exec(&mut conn, "ALTER TABLE chunks NO FORCE ROW LEVEL SECURITY").await;
    exec(&mut conn, "DROP POLICY tenant_isolation ON tenants").await;

    let report = run(&mut conn).await;

    assert_eq!(
        expect(&report, "schema_rls_missing", Severity::Critical, 3).sample_ids,
        ["chunks", "documents", "tenants"]
    );
}

#[tokio::test]
async fn missing_indexes_are_warnings() {
    let (_db, mut conn, _, _) = maintained().await;
    exec(&mut conn, "DROP INDEX conversations_tenant_status_idx").await;
    exec(&mut conn, "DROP INDEX audit_log_tenant_created_idx").await;

    let report = run(&mut conn).await;

    let named = expect(&report, "schema_index_missing", Severity::Warning, 2);
    assert_eq!(named.sample_ids, ["audit_log_tenant_created_idx", "conversations_tenant_status_idx"]);
    // audit_log has no other index leading with tenant_id
    assert_eq!(expect(&report, "schema_tenant_index_missing", Severity::Warning, 1).sample_ids, ["audit_log"]);
}

#[tokio::test]
async fn embeddings_of_the_wrong_dimension_and_models_without_an_index_are_found() {
    let (_db, mut conn, acme, _) = maintained().await;
    let doc = insert_document(&mut conn, acme.tenant, "pending", 0).await;
    let chunk = insert_chunk(&mut conn, acme.tenant, doc, 0).await;
    // the partial HNSW index of a model casts to its dimension and so rejects other dimensions; a model
    // registered without its index accepts anything
    exec(
        &mut conn,
        "INSERT INTO embedding_models (name, provider, dimensions) VALUES ('nomic-embed-text', 'ollama', 768)",
    )
    .await;
    insert_embedding(&mut conn, acme.tenant, chunk, "nomic-embed-text", 3).await;

    let report = run(&mut conn).await;

    assert_eq!(
        expect(&report, "embedding_dimension_mismatch", Severity::Critical, 1).sample_ids,
        [format!("{chunk}/nomic-embed-text")]
    );
    assert_eq!(expect(&report, "embedding_model_index_missing", Severity::Warning, 1).sample_ids, ["nomic-embed-text"]);
}

#[tokio::test]
async fn missing_partitions_ahead_are_critical() {
    let db = TestDb::new();
    let mut conn = connect(&db.owner_url()).await;

    let report = run(&mut conn).await;
    assert_eq!(
        expect(&report, "partitions_ahead_missing", Severity::Critical, 2).sample_ids,
        ["api_logs: 0 months ahead", "messages: 0 months ahead"]
    );

    // one month ahead is not enough either
    partitions::ensure_all(&mut conn, Utc::now().date_naive(), 1, 12).await.unwrap();
    let report = run(&mut conn).await;
    expect(&report, "partitions_ahead_missing", Severity::Critical, 2);

    partitions::ensure_all(&mut conn, Utc::now().date_naive(), 2, 12).await.unwrap();
    assert!(run(&mut conn).await.finding("partitions_ahead_missing").is_none());
}

#[tokio::test]
async fn rows_in_default_partitions_stale_outbox_events_and_exposed_partitions_are_found() {
    let (_db, mut conn, acme, _) = maintained().await;
    let future = seed::inbound_message(&mut conn, &acme, "2150-01-01 00:00:00+00").await;
    let stale = Uuid::now_v7();
    exec(
        &mut conn,
        &format!(
            "INSERT INTO outbox_events (tenant_id, id, event_type, payload, occurred_at) \
             VALUES ('{}', '{stale}', 'message.received', '{{}}', now() - interval '2 hours')",
            acme.tenant
        ),
    )
    .await;
    exec(&mut conn, "GRANT SELECT ON api_logs_default TO metachat_app").await;

    let report = run(&mut conn).await;

    assert_eq!(
        expect(&report, "partition_default_rows", Severity::Warning, 1).sample_ids,
        [format!("messages:{future}")]
    );
    assert_eq!(expect(&report, "outbox_unpublished_stale", Severity::Warning, 1).sample_ids, [stale.to_string()]);
    assert_eq!(expect(&report, "partition_privileges_exposed", Severity::Critical, 1).sample_ids, ["api_logs_default"]);

    // partition maintenance takes the privileges back
    partitions::ensure_all(&mut conn, Utc::now().date_naive(), 3, 12).await.unwrap();
    assert!(run(&mut conn).await.finding("partition_privileges_exposed").is_none());
}

#[tokio::test]
async fn a_check_that_cannot_run_is_reported_and_the_others_still_run() {
    let (_db, mut conn, acme, _) = maintained().await;
    exec(&mut conn, "DROP TABLE mcp_servers").await;
    exec(&mut conn, "ALTER TABLE conversations DROP CONSTRAINT conversations_status_check").await;
    exec(&mut conn, &format!("UPDATE conversations SET status = 'x' WHERE id = '{}'", acme.conversation)).await;

    let report = run(&mut conn).await;

    assert_eq!(expect(&report, integrity::CHECK_FAILED, Severity::Critical, 1).sample_ids, ["rows_without_tenant"]);
    expect(&report, "conversations_invalid_status", Severity::Critical, 1);
}

#[tokio::test]
async fn reports_serialize_in_camel_case_and_store_writes_a_row() {
    let (_db, mut conn, acme, _) = maintained().await;
    exec(&mut conn, "ALTER TABLE conversations DROP CONSTRAINT conversations_status_check").await;
    exec(&mut conn, &format!("UPDATE conversations SET status = 'x' WHERE id = '{}'", acme.conversation)).await;
    let report = run(&mut conn).await;

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["criticalCount"], 1);
    assert_eq!(json["findings"][0]["check"], "conversations_invalid_status");
    assert_eq!(json["findings"][0]["severity"], "critical");
    assert_eq!(json["findings"][0]["sampleIds"][0], acme.conversation.to_string());
    assert!(json["checksRun"].as_array().unwrap().len() > 60);

    let id = integrity::store(&mut conn, &report).await.unwrap();

    let stored = diesel::sql_query(
        "SELECT count(*) AS n FROM integrity_reports WHERE id = $1 AND critical_count = 1 AND warning_count = 0 \
         AND info_count = 0 AND jsonb_array_length(findings) = 1 \
         AND findings -> 0 ->> 'check' = 'conversations_invalid_status' AND findings -> 0 ? 'sampleIds'",
    )
    .bind::<SqlUuid, _>(id);
    let n: i64 = stored.get_result::<Count>(&mut conn).await.unwrap().n;
    assert_eq!(n, 1);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM integrity_reports").await, 1);
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
