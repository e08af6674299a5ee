//! Row-level invariants: status values outside their sets, inconsistent timestamps, impossible sizes and
//! positions, counts that disagree, duplicates of natural keys, incomplete channel configuration and a
//! stuck outbox. The allowed sets repeat the CHECK constraints of the migrations (and the enums of
//! `meta_chat_shared::domain`): a value outside them is one the application cannot read.

use super::{Check, Severity};

const fn critical(id: &'static str, message: &'static str, sql: &'static str) -> Check {
    Check::rows(id, Severity::Critical, message, sql)
}

const fn warning(id: &'static str, message: &'static str, sql: &'static str) -> Check {
    Check::rows(id, Severity::Warning, message, sql)
}

/// Channels missing a piece of their configuration, among those matching `$enabled` (`t.enabled` or
/// `NOT t.enabled`).
macro_rules! incomplete_channels {
    ($enabled:literal) => {
        concat!(
            "SELECT t.id::text FROM channels t WHERE ",
            $enabled,
            " AND ((t.type = 'whatsapp' AND (\
                   coalesce(t.config ->> 'phoneNumberId', '') = '' \
                OR coalesce(t.config ->> 'businessAccountId', '') = '' \
                OR coalesce(t.secrets ->> 'accessToken', '') = '' \
                OR coalesce(t.secrets ->> 'appSecret', '') = '' \
                OR coalesce(t.secrets ->> 'verifyToken', '') = '')) \
              OR (t.type = 'messenger' AND (\
                   coalesce(t.config ->> 'pageId', '') = '' \
                OR coalesce(t.secrets ->> 'pageAccessToken', '') = '' \
                OR coalesce(t.secrets ->> 'appSecret', '') = '' \
                OR coalesce(t.secrets ->> 'verifyToken', '') = '')) \
              OR (t.type = 'webchat' AND coalesce(jsonb_typeof(t.config -> 'allowedOrigins'), '') <> 'array'))"
        )
    };
}

/// Rows beyond the first of each group of `$key` in `$table` (ordered by `$order`), labelled by `$label`.
macro_rules! duplicates {
    ($table:literal, $key:literal, $order:literal, $label:literal) => {
        duplicates!($table, $key, $order, $label, "true")
    };
    ($table:literal, $key:literal, $order:literal, $label:literal, $filter:literal) => {
        concat!(
            "SELECT d.label FROM (SELECT ",
            $label,
            " AS label, row_number() OVER (PARTITION BY ",
            $key,
            " ORDER BY ",
            $order,
            ") AS n FROM ",
            $table,
            " t WHERE ",
            $filter,
            ") d WHERE d.n > 1"
        )
    };
}

pub(super) fn checks() -> Vec<Check> {
    let mut checks = states();
    checks.extend(sizes());
    checks.extend(duplicates());
    checks.extend(channels_and_outbox());
    checks
}

/// Status values outside their sets and inconsistent timestamps.
fn states() -> Vec<Check> {
    vec![
        critical(
            "conversations_invalid_status",
            "conversations with a status outside active/assigned_human/closed",
            "SELECT t.id::text FROM conversations t \
             WHERE t.status IS NULL OR t.status NOT IN ('active', 'assigned_human', 'closed')",
        ),
        critical(
            "messages_invalid_status",
            "messages with a status outside received/queued/sent/delivered/read/failed",
            "SELECT t.id::text FROM messages t WHERE t.status IS NULL \
             OR t.status NOT IN ('received', 'queued', 'sent', 'delivered', 'read', 'failed')",
        ),
        critical(
            "messages_invalid_direction",
            "messages with a direction outside inbound/outbound",
            "SELECT t.id::text FROM messages t WHERE t.direction IS NULL OR t.direction NOT IN ('inbound', 'outbound')",
        ),
        critical(
            "messages_invalid_sender",
            "messages with a sender outside contact/assistant/agent/system",
            "SELECT t.id::text FROM messages t \
             WHERE t.sender IS NULL OR t.sender NOT IN ('contact', 'assistant', 'agent', 'system')",
        ),
        critical(
            "messages_invalid_type",
            "messages with an unknown type",
            "SELECT t.id::text FROM messages t WHERE t.type IS NULL OR t.type NOT IN ('text', 'image', 'audio', \
             'video', 'document', 'sticker', 'location', 'contacts', 'interactive', 'button', 'reaction', \
             'template', 'system', 'unsupported')",
        ),
        critical(
            "documents_invalid_status",
            "documents with a status outside pending/processing/ready/failed/stale",
            "SELECT t.id::text FROM documents t WHERE t.status IS NULL \
             OR t.status NOT IN ('pending', 'processing', 'ready', 'failed', 'stale')",
        ),
        critical(
            "webhook_deliveries_invalid_status",
            "webhook deliveries with a status outside pending/delivered/failed",
            "SELECT t.id::text FROM webhook_deliveries t \
             WHERE t.status IS NULL OR t.status NOT IN ('pending', 'delivered', 'failed')",
        ),
        critical(
            "subscriptions_invalid_status",
            "subscriptions with a status Stripe does not define",
            "SELECT t.id::text FROM subscriptions t WHERE t.status IS NULL OR t.status NOT IN ('incomplete', \
             'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused')",
        ),
        critical(
            "channels_invalid_type",
            "channels of a type outside whatsapp/messenger/webchat",
            "SELECT t.id::text FROM channels t WHERE t.type IS NULL OR t.type NOT IN ('whatsapp', 'messenger', 'webchat')",
        ),
        warning(
            "conversations_closed_without_closed_at",
            "closed conversations without closed_at",
            "SELECT t.id::text FROM conversations t WHERE t.status = 'closed' AND t.closed_at IS NULL",
        ),
        warning(
            "documents_failed_without_reason",
            "failed documents without a status_reason",
            "SELECT t.id::text FROM documents t \
             WHERE t.status = 'failed' AND coalesce(btrim(t.status_reason), '') = ''",
        ),
    ]
}

/// Impossible sizes and positions, counts that disagree.
fn sizes() -> Vec<Check> {
    vec![
        warning(
            "documents_nonpositive_size",
            "documents with size_bytes <= 0",
            "SELECT t.id::text FROM documents t WHERE t.size_bytes IS NULL OR t.size_bytes <= 0",
        ),
        warning(
            "documents_invalid_version",
            "documents with version < 1",
            "SELECT t.id::text FROM documents t WHERE t.version IS NULL OR t.version < 1",
        ),
        warning(
            "chunks_negative_position",
            "chunks with position < 0",
            "SELECT t.id::text FROM chunks t WHERE t.position IS NULL OR t.position < 0",
        ),
        warning(
            "chunks_nonpositive_token_count",
            "chunks with token_count <= 0",
            "SELECT t.id::text FROM chunks t WHERE t.token_count IS NULL OR t.token_count <= 0",
        ),
        warning(
            "chunks_empty_content",
            "chunks with empty content",
            "SELECT t.id::text FROM chunks t WHERE coalesce(length(t.content), 0) = 0",
        ),
        warning(
            "documents_ready_without_chunks",
            "documents marked ready that have no chunks (nothing to retrieve)",
            "SELECT t.id::text FROM documents t WHERE t.status = 'ready' \
             AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.tenant_id = t.tenant_id AND c.document_id = t.id)",
        ),
        warning(
            "documents_chunk_count_mismatch",
            "ready documents whose chunk_count differs from their chunks",
            "SELECT t.id::text FROM documents t WHERE t.status = 'ready' AND t.chunk_count IS DISTINCT FROM \
             (SELECT count(*) FROM chunks c WHERE c.tenant_id = t.tenant_id AND c.document_id = t.id)",
        ),
    ]
}

/// Duplicates of natural keys (labels: the rows beyond the first of each key).
fn duplicates() -> Vec<Check> {
    vec![
        critical(
            "tenant_users_duplicate_email",
            "users sharing an email (login takes no tenant, so it would be ambiguous)",
            duplicates!("tenant_users", "t.email", "t.created_at, t.id", "t.id::text"),
        ),
        critical(
            "api_keys_duplicate_prefix",
            "API keys sharing a prefix (key lookup would be ambiguous)",
            duplicates!("api_keys", "t.prefix", "t.created_at, t.id", "t.id::text"),
        ),
        critical(
            "channels_duplicate_external_id",
            "channels sharing a (type, external_id): inbound webhooks could reach the wrong tenant",
            duplicates!(
                "channels",
                "t.type, t.external_id",
                "t.created_at, t.id",
                "t.id::text",
                "t.external_id IS NOT NULL"
            ),
        ),
        warning(
            "contacts_duplicate_external_id",
            "contacts sharing a (tenant, channel, external_id)",
            duplicates!("contacts", "t.tenant_id, t.channel_id, t.external_id", "t.created_at, t.id", "t.id::text"),
        ),
        warning(
            "chunks_duplicate_position",
            "chunks sharing a (tenant, document, position)",
            duplicates!("chunks", "t.tenant_id, t.document_id, t.position", "t.created_at, t.id", "t.id::text"),
        ),
        warning(
            "inbound_receipts_duplicate",
            "inbound receipts sharing a (channel, external_id): deduplication is broken",
            duplicates!(
                "inbound_receipts",
                "t.channel_id, t.external_id",
                "t.received_at, t.message_id",
                "t.channel_id::text || '/' || t.external_id"
            ),
        ),
        warning(
            "conversations_multiple_open",
            "contacts with more than one open conversation (labels: the extra conversations)",
            duplicates!(
                "conversations",
                "t.tenant_id, t.contact_id",
                "t.created_at, t.id",
                "t.id::text",
                "t.status IS DISTINCT FROM 'closed'"
            ),
        ),
    ]
}

/// Incomplete channel configuration and a stuck outbox.
fn channels_and_outbox() -> Vec<Check> {
    vec![
        critical(
            "channel_config_incomplete",
            "enabled channels missing required configuration or secrets (whatsapp: phoneNumberId, \
             businessAccountId, accessToken, appSecret, verifyToken; messenger: pageId, pageAccessToken, \
             appSecret, verifyToken; webchat: allowedOrigins array)",
            incomplete_channels!("t.enabled"),
        ),
        warning(
            "channel_config_incomplete_disabled",
            "disabled channels missing required configuration or secrets (they cannot be enabled as they are)",
            incomplete_channels!("NOT t.enabled"),
        ),
        warning(
            "outbox_unpublished_stale",
            "outbox events unpublished for more than an hour (is the relay running?)",
            "SELECT t.id::text FROM outbox_events t \
             WHERE t.published_at IS NULL AND t.occurred_at < now() - interval '1 hour'",
        ),
    ]
}
