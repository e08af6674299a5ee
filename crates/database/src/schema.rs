// @generated automatically by Diesel CLI.

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    analytics_daily (tenant_id, day) {
        tenant_id -> Uuid,
        day -> Date,
        conversations_started -> Int4,
        messages_inbound -> Int4,
        messages_outbound -> Int4,
        ai_replies -> Int4,
        handoffs -> Int4,
        rag_queries -> Int4,
        rag_empty -> Int4,
        avg_first_response_ms -> Nullable<Int4>,
        prompt_tokens -> Int8,
        completion_tokens -> Int8,
        cost_micro_usd -> Int8,
        updated_at -> Timestamptz,
        active_contacts -> Int4,
        p95_first_response_ms -> Nullable<Int4>,
        errors -> Int4,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    api_keys (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        prefix -> Text,
        key_hash -> Bytea,
        scopes -> Array<Nullable<Text>>,
        created_by -> Nullable<Uuid>,
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    api_logs (id, created_at) {
        tenant_id -> Uuid,
        id -> Uuid,
        method -> Text,
        route -> Text,
        status -> Int2,
        duration_ms -> Int4,
        api_key_id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
        request_id -> Nullable<Text>,
        ip -> Nullable<Inet>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    audit_log (id) {
        tenant_id -> Nullable<Uuid>,
        id -> Uuid,
        actor_type -> Text,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Text>,
        ip -> Nullable<Inet>,
        user_agent -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    channels (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        name -> Text,
        enabled -> Bool,
        config -> Jsonb,
        secrets -> Jsonb,
        external_id -> Nullable<Text>,
        widget_key -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        flagged_at -> Nullable<Timestamptz>,
        flag_reason -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    chunk_embeddings (chunk_id, model) {
        tenant_id -> Uuid,
        chunk_id -> Uuid,
        model -> Text,
        embedding -> Vector,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    chunks (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        document_id -> Uuid,
        document_version -> Int4,
        position -> Int4,
        content -> Text,
        token_count -> Int4,
        metadata -> Jsonb,
        content_tsv -> Nullable<Tsvector>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    contacts (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        channel_id -> Uuid,
        external_id -> Text,
        phone -> Nullable<Text>,
        display_name -> Nullable<Text>,
        metadata -> Jsonb,
        last_seen_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    conversations (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        channel_id -> Uuid,
        contact_id -> Uuid,
        status -> Text,
        assignee_id -> Nullable<Uuid>,
        handoff_reason -> Nullable<Text>,
        metadata -> Jsonb,
        last_message_at -> Timestamptz,
        last_inbound_at -> Nullable<Timestamptz>,
        closed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    document_contents (tenant_id, document_id) {
        tenant_id -> Uuid,
        document_id -> Uuid,
        version -> Int4,
        bytes -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    documents (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        filename -> Text,
        mime_type -> Text,
        size_bytes -> Int8,
        checksum -> Bytea,
        status -> Text,
        status_reason -> Nullable<Text>,
        version -> Int4,
        language -> Nullable<Text>,
        chunk_count -> Int4,
        embedding_model -> Nullable<Text>,
        metadata -> Jsonb,
        uploaded_by -> Nullable<Uuid>,
        processed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    email_tokens (id) {
        tenant_id -> Nullable<Uuid>,
        id -> Uuid,
        purpose -> Text,
        token_hash -> Bytea,
        user_id -> Nullable<Uuid>,
        admin_id -> Nullable<Uuid>,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    embedding_models (name) {
        name -> Text,
        provider -> Text,
        dimensions -> Int4,
        is_default -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    inbound_receipts (channel_id, external_id) {
        tenant_id -> Uuid,
        channel_id -> Uuid,
        external_id -> Text,
        message_id -> Uuid,
        message_created_at -> Timestamptz,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    integrity_reports (id) {
        id -> Uuid,
        started_at -> Timestamptz,
        finished_at -> Timestamptz,
        critical_count -> Int4,
        warning_count -> Int4,
        info_count -> Int4,
        findings -> Jsonb,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    invoices (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        stripe_invoice_id -> Text,
        subscription_id -> Nullable<Uuid>,
        status -> Text,
        currency -> Text,
        amount_due -> Int8,
        amount_paid -> Int8,
        hosted_invoice_url -> Nullable<Text>,
        period_start -> Nullable<Timestamptz>,
        period_end -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        stripe_updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    mcp_servers (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        name -> Text,
        url -> Text,
        auth_header_enc -> Nullable<Text>,
        enabled -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    media_blobs (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        conversation_id -> Uuid,
        message_id -> Uuid,
        message_created_at -> Timestamptz,
        mime_type -> Text,
        size_bytes -> Int4,
        sha256 -> Bytea,
        data -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    message_replies (inbound_message_id) {
        tenant_id -> Uuid,
        inbound_message_id -> Uuid,
        conversation_id -> Uuid,
        outcome -> Text,
        reply_message_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        model -> Nullable<Text>,
        retrieval -> Nullable<Text>,
        prompt_tokens -> Int4,
        completion_tokens -> Int4,
        cost_micro_usd -> Int8,
        latency_ms -> Nullable<Int4>,
        confidence -> Nullable<Float4>,
        citations -> Jsonb,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    messages (id, created_at) {
        tenant_id -> Uuid,
        id -> Uuid,
        conversation_id -> Uuid,
        direction -> Text,
        sender -> Text,
        sender_user_id -> Nullable<Uuid>,
        #[sql_name = "type"]
        type_ -> Text,
        text -> Nullable<Text>,
        payload -> Jsonb,
        status -> Text,
        external_id -> Nullable<Text>,
        reply_to_external_id -> Nullable<Text>,
        error_code -> Nullable<Text>,
        error_message -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
        delivered_at -> Nullable<Timestamptz>,
        read_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    outbox_events (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        event_type -> Text,
        schema_version -> Int2,
        aggregate_id -> Nullable<Uuid>,
        payload -> Jsonb,
        trace_context -> Jsonb,
        occurred_at -> Timestamptz,
        published_at -> Nullable<Timestamptz>,
        publish_attempts -> Int4,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    platform_admins (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        disabled_at -> Nullable<Timestamptz>,
        last_login_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    refresh_sessions (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        family_id -> Uuid,
        replaced_by -> Nullable<Uuid>,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Inet>,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    stripe_events (id) {
        id -> Text,
        event_type -> Text,
        tenant_id -> Nullable<Uuid>,
        received_at -> Timestamptz,
        processed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    subscriptions (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        stripe_subscription_id -> Text,
        stripe_customer_id -> Text,
        plan_id -> Text,
        status -> Text,
        current_period_start -> Nullable<Timestamptz>,
        current_period_end -> Nullable<Timestamptz>,
        cancel_at_period_end -> Bool,
        canceled_at -> Nullable<Timestamptz>,
        stripe_updated_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        past_due_since -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    tenant_users (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        email -> Text,
        name -> Text,
        role -> Text,
        status -> Text,
        password_hash -> Nullable<Text>,
        email_verified_at -> Nullable<Timestamptz>,
        failed_login_count -> Int4,
        locked_until -> Nullable<Timestamptz>,
        last_login_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    tenant_webhooks (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        url -> Text,
        description -> Nullable<Text>,
        events -> Array<Nullable<Text>>,
        secret_enc -> Text,
        enabled -> Bool,
        consecutive_failures -> Int4,
        disabled_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    tenants (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        status -> Text,
        plan_id -> Text,
        plan_override -> Nullable<Text>,
        settings -> Jsonb,
        llm_api_key_enc -> Nullable<Text>,
        stripe_customer_id -> Nullable<Text>,
        suspended_at -> Nullable<Timestamptz>,
        suspended_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        embedding_model -> Nullable<Text>,
        embedding_model_next -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    usage_alerts (tenant_id, metric, period_start, threshold) {
        tenant_id -> Uuid,
        metric -> Text,
        period_start -> Date,
        threshold -> Int2,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    usage_counters (tenant_id, metric, period_start) {
        tenant_id -> Uuid,
        metric -> Text,
        period_start -> Date,
        used -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;
    use crate::sql_types::Tsvector;

    webhook_deliveries (id) {
        tenant_id -> Uuid,
        id -> Uuid,
        webhook_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        payload -> Jsonb,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        last_status_code -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(analytics_daily -> tenants (tenant_id));
diesel::joinable!(api_keys -> tenants (tenant_id));
diesel::joinable!(api_logs -> tenants (tenant_id));
diesel::joinable!(audit_log -> tenants (tenant_id));
diesel::joinable!(channels -> tenants (tenant_id));
diesel::joinable!(chunk_embeddings -> embedding_models (model));
diesel::joinable!(chunk_embeddings -> tenants (tenant_id));
diesel::joinable!(chunks -> tenants (tenant_id));
diesel::joinable!(contacts -> tenants (tenant_id));
diesel::joinable!(conversations -> tenants (tenant_id));
diesel::joinable!(document_contents -> tenants (tenant_id));
diesel::joinable!(documents -> embedding_models (embedding_model));
diesel::joinable!(documents -> tenants (tenant_id));
diesel::joinable!(email_tokens -> platform_admins (admin_id));
diesel::joinable!(email_tokens -> tenants (tenant_id));
diesel::joinable!(inbound_receipts -> tenants (tenant_id));
diesel::joinable!(invoices -> tenants (tenant_id));
diesel::joinable!(mcp_servers -> tenants (tenant_id));
diesel::joinable!(media_blobs -> tenants (tenant_id));
diesel::joinable!(message_replies -> tenants (tenant_id));
diesel::joinable!(messages -> tenants (tenant_id));
diesel::joinable!(outbox_events -> tenants (tenant_id));
diesel::joinable!(refresh_sessions -> tenants (tenant_id));
diesel::joinable!(stripe_events -> tenants (tenant_id));
diesel::joinable!(subscriptions -> tenants (tenant_id));
diesel::joinable!(tenant_users -> tenants (tenant_id));
diesel::joinable!(tenant_webhooks -> tenants (tenant_id));
diesel::joinable!(usage_alerts -> tenants (tenant_id));
diesel::joinable!(usage_counters -> tenants (tenant_id));
diesel::joinable!(webhook_deliveries -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    analytics_daily,
    api_keys,
    api_logs,
    audit_log,
    channels,
    chunk_embeddings,
    chunks,
    contacts,
    conversations,
    document_contents,
    documents,
    email_tokens,
    embedding_models,
    inbound_receipts,
    integrity_reports,
    invoices,
    mcp_servers,
    media_blobs,
    message_replies,
    messages,
    outbox_events,
    platform_admins,
    refresh_sessions,
    stripe_events,
    subscriptions,
    tenant_users,
    tenant_webhooks,
    tenants,
    usage_alerts,
    usage_counters,
    webhook_deliveries,
);
