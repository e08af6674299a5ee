-- Usage metering, Stripe subscriptions and invoices, processed Stripe events, daily analytics and API logs.

CREATE TABLE usage_counters (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    metric       text NOT NULL CHECK (metric IN ('inbound_messages', 'ai_replies', 'documents', 'storage_bytes',
                                                 'team_members', 'channels', 'api_calls')),
    -- first day of the billing period the count belongs to
    period_start date NOT NULL,
    used         bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, metric, period_start)
);
SELECT app_track_updated_at('usage_counters');
SELECT app_enable_tenant_rls('usage_counters');

CREATE TABLE subscriptions (
    tenant_id              uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                     uuid PRIMARY KEY,
    stripe_subscription_id text NOT NULL UNIQUE CHECK (stripe_subscription_id ~ '^sub_[A-Za-z0-9]+$'),
    stripe_customer_id     text NOT NULL CHECK (stripe_customer_id ~ '^cus_[A-Za-z0-9]+$'),
    plan_id                text NOT NULL CHECK (plan_id IN ('free', 'starter', 'pro', 'enterprise')),
    status                 text NOT NULL CHECK (status IN ('incomplete', 'incomplete_expired', 'trialing', 'active',
                                                           'past_due', 'canceled', 'unpaid', 'paused')),
    current_period_start   timestamptz,
    current_period_end     timestamptz,
    cancel_at_period_end   boolean NOT NULL DEFAULT false,
    canceled_at            timestamptz,
    -- Stripe's own event time of the last change applied, so out-of-order webhooks never roll state back
    stripe_updated_at      timestamptz NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    CHECK (current_period_end IS NULL OR current_period_start IS NULL OR current_period_end > current_period_start)
);
CREATE INDEX subscriptions_tenant_idx ON subscriptions (tenant_id, created_at DESC);
SELECT app_track_updated_at('subscriptions');
SELECT app_enable_tenant_rls('subscriptions');

CREATE TABLE invoices (
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                 uuid PRIMARY KEY,
    stripe_invoice_id  text NOT NULL UNIQUE CHECK (stripe_invoice_id ~ '^in_[A-Za-z0-9]+$'),
    subscription_id    uuid,
    status             text NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'uncollectible', 'void')),
    currency           text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    amount_due         bigint NOT NULL CHECK (amount_due >= 0),
    amount_paid        bigint NOT NULL DEFAULT 0 CHECK (amount_paid >= 0),
    hosted_invoice_url text CHECK (hosted_invoice_url ~ '^https://'),
    period_start       timestamptz,
    period_end         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id) ON DELETE SET NULL (subscription_id)
);
CREATE INDEX invoices_tenant_created_idx ON invoices (tenant_id, created_at DESC);
SELECT app_track_updated_at('invoices');
SELECT app_enable_tenant_rls('invoices');

-- Stripe webhook idempotency: an event id is processed once. Platform-level (an event may name no tenant).
CREATE TABLE stripe_events (
    id           text PRIMARY KEY CHECK (id ~ '^evt_[A-Za-z0-9]+$'),
    event_type   text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 128),
    tenant_id    uuid REFERENCES tenants (id) ON DELETE SET NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz
);
CREATE INDEX stripe_events_tenant_idx ON stripe_events (tenant_id, received_at DESC);
GRANT SELECT, INSERT, UPDATE ON stripe_events TO metachat_app;

CREATE TABLE analytics_daily (
    tenant_id             uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day                   date NOT NULL,
    conversations_started integer NOT NULL DEFAULT 0 CHECK (conversations_started >= 0),
    messages_inbound      integer NOT NULL DEFAULT 0 CHECK (messages_inbound >= 0),
    messages_outbound     integer NOT NULL DEFAULT 0 CHECK (messages_outbound >= 0),
    ai_replies            integer NOT NULL DEFAULT 0 CHECK (ai_replies >= 0),
    handoffs              integer NOT NULL DEFAULT 0 CHECK (handoffs >= 0),
    rag_queries           integer NOT NULL DEFAULT 0 CHECK (rag_queries >= 0),
    rag_empty             integer NOT NULL DEFAULT 0 CHECK (rag_empty >= 0 AND rag_empty <= rag_queries),
    avg_first_response_ms integer CHECK (avg_first_response_ms >= 0),
    prompt_tokens         bigint NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),
    completion_tokens     bigint NOT NULL DEFAULT 0 CHECK (completion_tokens >= 0),
    cost_micro_usd        bigint NOT NULL DEFAULT 0 CHECK (cost_micro_usd >= 0),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, day)
);
SELECT app_track_updated_at('analytics_daily');
SELECT app_enable_tenant_rls('analytics_daily');

-- Per-request log of tenant-attributed API calls, range-partitioned by month like messages; old partitions
-- are detached and dropped after the retention period.
CREATE TABLE api_logs (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid NOT NULL,
    method      text NOT NULL CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS')),
    route       text NOT NULL CHECK (length(route) BETWEEN 1 AND 256),
    status      smallint NOT NULL CHECK (status BETWEEN 100 AND 599),
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    api_key_id  uuid,
    user_id     uuid,
    request_id  text CHECK (length(request_id) <= 128),
    ip          inet,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE api_logs_default PARTITION OF api_logs DEFAULT;
-- Partitions have no row-level security of their own: only the parent may be queried by the runtime role.
REVOKE ALL ON api_logs_default FROM PUBLIC, metachat_app;
CREATE INDEX api_logs_tenant_created_idx ON api_logs (tenant_id, created_at DESC);
SELECT app_enable_tenant_rls('api_logs');
