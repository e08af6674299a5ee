-- Transactional outbox and tenant outbound webhooks.

-- Events written in the same transaction as the change they describe; the relay publishes them to RabbitMQ
-- with publisher confirms and marks them published; a sweeper republishes anything left behind.
CREATE TABLE outbox_events (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    event_type      text NOT NULL CHECK (event_type IN (
                        'message.received', 'message.sent', 'message.delivered', 'message.read', 'message.failed',
                        'conversation.created', 'conversation.updated', 'conversation.handoff_requested',
                        'conversation.closed', 'document.uploaded', 'document.ready', 'document.failed',
                        'subscription.updated', 'usage.limit_reached')),
    schema_version  smallint NOT NULL DEFAULT 1 CHECK (schema_version >= 1),
    aggregate_id    uuid,
    payload         jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    -- W3C trace context of the transaction that wrote the event
    trace_context   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(trace_context) = 'object'),
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz,
    publish_attempts integer NOT NULL DEFAULT 0 CHECK (publish_attempts >= 0),
    last_error      text CHECK (length(last_error) <= 1000),
    CHECK (published_at IS NULL OR published_at >= occurred_at)
);
CREATE INDEX outbox_events_tenant_type_time_idx ON outbox_events (tenant_id, event_type, occurred_at DESC);
CREATE INDEX outbox_events_unpublished_idx ON outbox_events (occurred_at) WHERE published_at IS NULL;
SELECT app_enable_tenant_rls('outbox_events');

CREATE TABLE tenant_webhooks (
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid PRIMARY KEY,
    url           text NOT NULL CHECK (url ~ '^https?://[^\s/]+' AND length(url) <= 2048),
    description   text CHECK (length(description) <= 500),
    events        text[] NOT NULL CHECK (cardinality(events) >= 1 AND events <@ ARRAY[
                      'message.received', 'message.sent', 'message.delivered', 'message.read', 'message.failed',
                      'conversation.created', 'conversation.updated', 'conversation.handoff_requested',
                      'conversation.closed', 'document.uploaded', 'document.ready', 'document.failed',
                      'subscription.updated', 'usage.limit_reached']::text[]),
    -- signing secret, AES-256-GCM envelope
    secret_enc    text NOT NULL CHECK (secret_enc LIKE 'v1.%'),
    enabled       boolean NOT NULL DEFAULT true,
    consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    disabled_reason text CHECK (length(disabled_reason) <= 500),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id)
);
CREATE INDEX tenant_webhooks_tenant_idx ON tenant_webhooks (tenant_id, created_at DESC);
SELECT app_track_updated_at('tenant_webhooks');
SELECT app_enable_tenant_rls('tenant_webhooks');

CREATE TABLE webhook_deliveries (
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               uuid PRIMARY KEY,
    webhook_id       uuid NOT NULL,
    -- the outbox event delivered; X-MetaChat-Delivery is this row's id, stable across retries
    event_id         uuid NOT NULL,
    event_type       text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 64),
    payload          jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz,
    last_status_code integer CHECK (last_status_code BETWEEN 100 AND 599),
    last_error       text CHECK (length(last_error) <= 1000),
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (webhook_id, event_id),
    FOREIGN KEY (tenant_id, webhook_id) REFERENCES tenant_webhooks (tenant_id, id) ON DELETE CASCADE,
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX webhook_deliveries_tenant_webhook_idx ON webhook_deliveries (tenant_id, webhook_id, created_at DESC);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
SELECT app_track_updated_at('webhook_deliveries');
SELECT app_enable_tenant_rls('webhook_deliveries');
