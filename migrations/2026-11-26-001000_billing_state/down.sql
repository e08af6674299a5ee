DROP TABLE usage_alerts;
ALTER TABLE invoices DROP COLUMN stripe_updated_at;
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_past_due_check;
ALTER TABLE subscriptions DROP COLUMN past_due_since;
