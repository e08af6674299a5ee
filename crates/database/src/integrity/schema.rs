//! Schema checks (the catalog matches what the migrations create), embeddings and partitions.
//!
//! The expected foreign keys and indexes are kept here, derived from `migrations/`: a migration that adds,
//! drops or changes one must update these lists, or the integrity test of a freshly migrated database fails.

use super::{Check, Probe, Severity};

/// Every foreign key the migrations create, as `table: pg_get_constraintdef(oid)`.
pub(crate) const EXPECTED_FOREIGN_KEYS: &[&str] = &[
    "analytics_daily: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "api_keys: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "api_keys: FOREIGN KEY (tenant_id, created_by) REFERENCES tenant_users(tenant_id, id) ON DELETE SET NULL (created_by)",
    "api_logs: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "audit_log: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "channels: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "chunk_embeddings: FOREIGN KEY (model) REFERENCES embedding_models(name)",
    "chunk_embeddings: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "chunk_embeddings: FOREIGN KEY (tenant_id, chunk_id) REFERENCES chunks(tenant_id, id) ON DELETE CASCADE",
    "chunks: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "chunks: FOREIGN KEY (tenant_id, document_id) REFERENCES documents(tenant_id, id) ON DELETE CASCADE",
    "contacts: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "contacts: FOREIGN KEY (tenant_id, channel_id) REFERENCES channels(tenant_id, id) ON DELETE CASCADE",
    "conversations: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "conversations: FOREIGN KEY (tenant_id, assignee_id) REFERENCES tenant_users(tenant_id, id) ON DELETE SET NULL (assignee_id)",
    "conversations: FOREIGN KEY (tenant_id, channel_id) REFERENCES channels(tenant_id, id) ON DELETE CASCADE",
    "conversations: FOREIGN KEY (tenant_id, contact_id, channel_id) REFERENCES contacts(tenant_id, id, channel_id) ON DELETE CASCADE",
    "document_contents: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "document_contents: FOREIGN KEY (tenant_id, document_id) REFERENCES documents(tenant_id, id) ON DELETE CASCADE",
    "documents: FOREIGN KEY (embedding_model) REFERENCES embedding_models(name)",
    "documents: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "documents: FOREIGN KEY (tenant_id, uploaded_by) REFERENCES tenant_users(tenant_id, id) ON DELETE SET NULL (uploaded_by)",
    "email_tokens: FOREIGN KEY (admin_id) REFERENCES platform_admins(id) ON DELETE CASCADE",
    "email_tokens: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "email_tokens: FOREIGN KEY (tenant_id, user_id) REFERENCES tenant_users(tenant_id, id) ON DELETE CASCADE",
    "inbound_receipts: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "inbound_receipts: FOREIGN KEY (tenant_id, channel_id) REFERENCES channels(tenant_id, id) ON DELETE CASCADE",
    "invoices: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "invoices: FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions(tenant_id, id) ON DELETE SET NULL (subscription_id)",
    "mcp_servers: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "messages: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "messages: FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations(tenant_id, id) ON DELETE CASCADE",
    "messages: FOREIGN KEY (tenant_id, sender_user_id) REFERENCES tenant_users(tenant_id, id) ON DELETE SET NULL (sender_user_id)",
    "outbox_events: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "refresh_sessions: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "refresh_sessions: FOREIGN KEY (tenant_id, user_id) REFERENCES tenant_users(tenant_id, id) ON DELETE CASCADE",
    "stripe_events: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE SET NULL",
    "subscriptions: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "tenant_users: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "tenant_webhooks: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "usage_counters: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "webhook_deliveries: FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE",
    "webhook_deliveries: FOREIGN KEY (tenant_id, webhook_id) REFERENCES tenant_webhooks(tenant_id, id) ON DELETE CASCADE",
];

/// The indexes the migrations create by name for query patterns and partial uniqueness (constraint
/// indexes are covered by the duplicate checks, per-model HNSW indexes by `embedding_model_index_missing`).
pub(crate) const EXPECTED_INDEXES: &[&str] = &[
    "tenants_created_at_idx",
    "tenant_users_tenant_role_idx",
    "refresh_sessions_tenant_user_idx",
    "refresh_sessions_family_idx",
    "email_tokens_tenant_user_idx",
    "email_tokens_admin_idx",
    "api_keys_tenant_created_idx",
    "audit_log_tenant_created_idx",
    "audit_log_created_idx",
    "channels_type_external_id_key",
    "channels_tenant_type_idx",
    "conversations_tenant_last_message_idx",
    "conversations_tenant_status_idx",
    "conversations_tenant_assignee_idx",
    "conversations_tenant_contact_idx",
    "conversations_open_contact_key",
    "messages_tenant_conversation_created_idx",
    "messages_tenant_created_idx",
    "messages_tenant_external_idx",
    "inbound_receipts_tenant_received_idx",
    "embedding_models_one_default_key",
    "documents_tenant_status_updated_idx",
    "documents_tenant_created_idx",
    "chunks_content_tsv_idx",
    "chunk_embeddings_tenant_model_idx",
    "outbox_events_tenant_type_time_idx",
    "outbox_events_unpublished_idx",
    "tenant_webhooks_tenant_idx",
    "webhook_deliveries_tenant_webhook_idx",
    "webhook_deliveries_due_idx",
    "subscriptions_tenant_idx",
    "invoices_tenant_created_idx",
    "stripe_events_tenant_idx",
    "api_logs_tenant_created_idx",
    "integrity_reports_started_idx",
];

/// Tables with a `tenant_id` that deliberately have no row-level security.
pub(crate) const RLS_EXEMPT_TABLES: &[&str] = &[
    // Stripe webhook idempotency is platform-level: an event may name no tenant.
    "stripe_events",
];

/// Ordinary and partitioned tables of the `public` schema, partitions excluded (they are checked through
/// their parents, and separately for privileges).
macro_rules! tables {
    () => {
        "SELECT c.oid, c.relname, c.relowner, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
    };
}

pub(super) fn checks() -> Vec<Check> {
    vec![
        Check {
            id: "schema_foreign_key_missing",
            severity: Severity::Critical,
            message: "foreign keys of the migrations that are missing or changed (labels: the expected definition)",
            probe: Probe::RowsWith(
                "SELECT e.fk FROM unnest($1::text[]) AS e(fk) WHERE NOT EXISTS (\
                   SELECT 1 FROM pg_constraint c WHERE c.contype = 'f' AND c.conparentid = 0 \
                   AND c.connamespace = 'public'::regnamespace \
                   AND c.conrelid::regclass::text || ': ' || pg_get_constraintdef(c.oid) = e.fk)",
                EXPECTED_FOREIGN_KEYS,
            ),
        },
        Check::rows(
            "schema_foreign_key_not_enforced",
            Severity::Critical,
            "foreign keys that are NOT VALID or whose enforcement triggers are disabled",
            "SELECT c.conrelid::regclass::text || '.' || c.conname FROM pg_constraint c \
             WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace AND (NOT c.convalidated \
               OR EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgconstraint = c.oid AND g.tgenabled = 'D'))",
        ),
        Check {
            id: "schema_index_missing",
            severity: Severity::Warning,
            message: "indexes of the migrations that are missing or invalid",
            probe: Probe::RowsWith(
                "SELECT e.name FROM unnest($1::text[]) AS e(name) WHERE NOT EXISTS (\
                   SELECT 1 FROM pg_class i JOIN pg_index x ON x.indexrelid = i.oid \
                   WHERE i.relname = e.name AND i.relnamespace = 'public'::regnamespace AND x.indisvalid)",
                EXPECTED_INDEXES,
            ),
        },
        Check::rows(
            "schema_tenant_index_missing",
            Severity::Warning,
            "tables with a tenant_id but no valid index leading with it",
            concat!(
                "SELECT t.relname::text FROM (",
                tables!(),
                ") t \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped \
                 WHERE NOT EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = t.oid AND x.indisvalid \
                   AND x.indkey[0] = a.attnum)"
            ),
        ),
        Check {
            id: "schema_rls_missing",
            severity: Severity::Critical,
            message: "tenant tables without row-level security enabled and forced, or without a policy",
            probe: Probe::RowsWith(
                concat!(
                    "SELECT t.relname::text FROM (",
                    tables!(),
                    ") t \
                     WHERE (t.relname = 'tenants' OR EXISTS (SELECT 1 FROM pg_attribute a \
                       WHERE a.attrelid = t.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)) \
                     AND t.relname <> ALL ($1::text[]) \
                     AND NOT (t.relrowsecurity AND t.relforcerowsecurity \
                       AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = t.oid))"
                ),
                RLS_EXEMPT_TABLES,
            ),
        },
        Check::rows(
            "partition_privileges_exposed",
            Severity::Critical,
            "partitions without row-level security on which a role other than the owner holds privileges: \
             that role reads every tenant's rows (run partition maintenance to revoke them)",
            "SELECT c.relname::text FROM pg_class c WHERE c.relispartition \
             AND c.relnamespace = 'public'::regnamespace AND NOT c.relrowsecurity \
             AND EXISTS (SELECT 1 FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner)",
        ),
        Check::rows(
            "embedding_dimension_mismatch",
            Severity::Critical,
            "embeddings whose dimension differs from their model's (labels: chunk_id/model)",
            "SELECT e.chunk_id::text || '/' || e.model FROM chunk_embeddings e \
             JOIN embedding_models m ON m.name = e.model WHERE vector_dims(e.embedding) <> m.dimensions",
        ),
        Check::rows(
            "embedding_model_index_missing",
            Severity::Warning,
            "registered embedding models without their partial HNSW index on chunk_embeddings",
            "SELECT m.name FROM embedding_models m WHERE NOT EXISTS (\
               SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam \
               WHERE x.indrelid = 'chunk_embeddings'::regclass AND am.amname = 'hnsw' AND x.indisvalid \
               AND position(quote_literal(m.name) IN coalesce(pg_get_expr(x.indpred, x.indrelid), '')) > 0 \
               AND position('vector(' || m.dimensions || ')' IN pg_get_indexdef(x.indexrelid)) > 0)",
        ),
        Check::rows(
            "partition_default_rows",
            Severity::Warning,
            "rows in a DEFAULT partition (a month without its partition; partition maintenance moves recent \
             ones; labels: table:id)",
            "SELECT 'messages:' || t.id::text FROM messages_default t \
             UNION ALL SELECT 'api_logs:' || t.id::text FROM api_logs_default t",
        ),
    ]
}
