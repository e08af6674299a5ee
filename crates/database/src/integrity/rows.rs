//! Orphans and cross-tenant links: child rows whose parent is missing, or belongs to another tenant. The
//! composite foreign keys `(tenant_id, parent_id)` make both impossible while they exist and are enforced.
//!
//! The SQL is assembled from the constant tables below only (table and column names written here).

use std::borrow::Cow;

use super::{Check, Probe, Severity};

/// A reference from `child.column` to `parent.id`.
struct Link {
    /// Check id for rows whose parent does not exist.
    orphan: &'static str,
    /// Check id for rows whose parent belongs to another tenant; `None` when the parent has no tenant.
    cross_tenant: Option<&'static str>,
    child: &'static str,
    column: &'static str,
    parent: &'static str,
    /// Label of a child row (`t` is the child).
    label: &'static str,
}

const LINKS: &[Link] = &[
    Link {
        orphan: "messages_without_conversation",
        cross_tenant: Some("messages_cross_tenant_conversation"),
        child: "messages",
        column: "conversation_id",
        parent: "conversations",
        label: "t.id::text",
    },
    Link {
        orphan: "messages_without_sender_user",
        cross_tenant: Some("messages_cross_tenant_sender_user"),
        child: "messages",
        column: "sender_user_id",
        parent: "tenant_users",
        label: "t.id::text",
    },
    Link {
        orphan: "conversations_without_contact",
        cross_tenant: Some("conversations_cross_tenant_contact"),
        child: "conversations",
        column: "contact_id",
        parent: "contacts",
        label: "t.id::text",
    },
    Link {
        orphan: "conversations_without_channel",
        cross_tenant: Some("conversations_cross_tenant_channel"),
        child: "conversations",
        column: "channel_id",
        parent: "channels",
        label: "t.id::text",
    },
    Link {
        orphan: "conversations_without_assignee",
        cross_tenant: Some("conversations_cross_tenant_assignee"),
        child: "conversations",
        column: "assignee_id",
        parent: "tenant_users",
        label: "t.id::text",
    },
    Link {
        orphan: "contacts_without_channel",
        cross_tenant: Some("contacts_cross_tenant_channel"),
        child: "contacts",
        column: "channel_id",
        parent: "channels",
        label: "t.id::text",
    },
    Link {
        orphan: "inbound_receipts_without_channel",
        cross_tenant: Some("inbound_receipts_cross_tenant_channel"),
        child: "inbound_receipts",
        column: "channel_id",
        parent: "channels",
        label: "t.channel_id::text || '/' || t.external_id",
    },
    Link {
        orphan: "documents_without_uploader",
        cross_tenant: Some("documents_cross_tenant_uploader"),
        child: "documents",
        column: "uploaded_by",
        parent: "tenant_users",
        label: "t.id::text",
    },
    Link {
        orphan: "document_contents_without_document",
        cross_tenant: Some("document_contents_cross_tenant_document"),
        child: "document_contents",
        column: "document_id",
        parent: "documents",
        label: "t.document_id::text",
    },
    Link {
        orphan: "chunks_without_document",
        cross_tenant: Some("chunks_cross_tenant_document"),
        child: "chunks",
        column: "document_id",
        parent: "documents",
        label: "t.id::text",
    },
    Link {
        orphan: "chunk_embeddings_without_chunk",
        cross_tenant: Some("chunk_embeddings_cross_tenant_chunk"),
        child: "chunk_embeddings",
        column: "chunk_id",
        parent: "chunks",
        label: "t.chunk_id::text || '/' || t.model",
    },
    Link {
        orphan: "webhook_deliveries_without_webhook",
        cross_tenant: Some("webhook_deliveries_cross_tenant_webhook"),
        child: "webhook_deliveries",
        column: "webhook_id",
        parent: "tenant_webhooks",
        label: "t.id::text",
    },
    Link {
        orphan: "refresh_sessions_without_user",
        cross_tenant: Some("refresh_sessions_cross_tenant_user"),
        child: "refresh_sessions",
        column: "user_id",
        parent: "tenant_users",
        label: "t.id::text",
    },
    Link {
        orphan: "email_tokens_without_user",
        cross_tenant: Some("email_tokens_cross_tenant_user"),
        child: "email_tokens",
        column: "user_id",
        parent: "tenant_users",
        label: "t.id::text",
    },
    Link {
        orphan: "api_keys_without_creator",
        cross_tenant: Some("api_keys_cross_tenant_creator"),
        child: "api_keys",
        column: "created_by",
        parent: "tenant_users",
        label: "t.id::text",
    },
    Link {
        orphan: "invoices_without_subscription",
        cross_tenant: Some("invoices_cross_tenant_subscription"),
        child: "invoices",
        column: "subscription_id",
        parent: "subscriptions",
        label: "t.id::text",
    },
];

/// Tables with a `tenant_id` referencing `tenants`, and the label of a row.
const TENANT_TABLES: &[(&str, &str)] = &[
    ("tenant_users", "t.id::text"),
    ("refresh_sessions", "t.id::text"),
    ("email_tokens", "t.id::text"),
    ("api_keys", "t.id::text"),
    ("audit_log", "t.id::text"),
    ("channels", "t.id::text"),
    ("contacts", "t.id::text"),
    ("conversations", "t.id::text"),
    ("messages", "t.id::text"),
    ("inbound_receipts", "t.channel_id::text || '/' || t.external_id"),
    ("documents", "t.id::text"),
    ("document_contents", "t.document_id::text"),
    ("chunks", "t.id::text"),
    ("chunk_embeddings", "t.chunk_id::text || '/' || t.model"),
    ("outbox_events", "t.id::text"),
    ("tenant_webhooks", "t.id::text"),
    ("webhook_deliveries", "t.id::text"),
    ("usage_counters", "t.metric || '/' || t.period_start::text"),
    ("subscriptions", "t.id::text"),
    ("invoices", "t.id::text"),
    ("stripe_events", "t.id"),
    ("analytics_daily", "t.day::text"),
    ("api_logs", "t.id::text"),
    ("mcp_servers", "t.id::text"),
];

pub(super) fn checks() -> Vec<Check> {
    let mut checks = Vec::with_capacity(2 * LINKS.len() + 3);
    let without_tenant = TENANT_TABLES
        .iter()
        .map(|(table, label)| {
            format!(
                "SELECT '{table}:' || {label} FROM {table} t \
                 WHERE t.tenant_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tenants p WHERE p.id = t.tenant_id)"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    checks.push(Check {
        id: "rows_without_tenant",
        severity: Severity::Critical,
        message: "rows whose tenant does not exist (labels are `table:id`)",
        probe: Probe::Rows(Cow::Owned(without_tenant)),
    });
    for link in LINKS {
        let Link { child, column, parent, label, .. } = link;
        checks.push(Check {
            id: link.orphan,
            severity: Severity::Critical,
            message: "rows referencing a parent that does not exist",
            probe: Probe::Rows(Cow::Owned(format!(
                "SELECT {label} FROM {child} t \
                 WHERE t.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = t.{column})"
            ))),
        });
        if let Some(id) = link.cross_tenant {
            checks.push(Check {
                id,
                severity: Severity::Critical,
                message: "rows referencing a parent of another tenant",
                probe: Probe::Rows(Cow::Owned(format!(
                    "SELECT {label} FROM {child} t JOIN {parent} p ON p.id = t.{column} \
                     WHERE p.tenant_id IS DISTINCT FROM t.tenant_id"
                ))),
            });
        }
    }
    checks.push(Check::rows(
        "chunk_embeddings_without_model",
        Severity::Critical,
        "embeddings of a model that is not registered",
        "SELECT t.chunk_id::text || '/' || t.model FROM chunk_embeddings t \
         WHERE NOT EXISTS (SELECT 1 FROM embedding_models m WHERE m.name = t.model)",
    ));
    checks.push(Check::rows(
        "conversations_contact_on_other_channel",
        Severity::Warning,
        "conversations whose contact belongs to another channel than the conversation",
        "SELECT t.id::text FROM conversations t JOIN contacts c ON c.id = t.contact_id \
         WHERE c.channel_id <> t.channel_id",
    ));
    checks
}
