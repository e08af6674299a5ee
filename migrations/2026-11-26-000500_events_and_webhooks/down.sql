DROP TABLE webhook_deliveries;
DROP TABLE tenant_webhooks;
DROP TABLE outbox_events;
