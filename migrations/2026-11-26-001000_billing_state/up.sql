-- Billing state the Stripe webhook and quota enforcement need.

-- When the subscription went past_due (kept while it stays past_due): service continues for the configured
-- grace period from this moment, then the tenant falls back to the free plan's limits.
ALTER TABLE subscriptions ADD COLUMN past_due_since timestamptz;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_past_due_check CHECK ((status = 'past_due') = (past_due_since IS NOT NULL));

-- Stripe's event time of the last change applied to an invoice, so an older event never rolls it back.
ALTER TABLE invoices ADD COLUMN stripe_updated_at timestamptz NOT NULL DEFAULT now();

-- `usage.limit_reached` is announced once per tenant, metric, period and threshold (80 and 100 percent).
CREATE TABLE usage_alerts (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    metric       text NOT NULL CHECK (metric IN ('inbound_messages', 'ai_replies', 'documents', 'storage_bytes',
                                                 'team_members', 'channels', 'api_calls')),
    period_start date NOT NULL,
    threshold    smallint NOT NULL CHECK (threshold IN (80, 100)),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, metric, period_start, threshold)
);
SELECT app_enable_tenant_rls('usage_alerts');
