DROP TABLE api_logs;
DROP TABLE analytics_daily;
DROP TABLE stripe_events;
DROP TABLE invoices;
DROP TABLE subscriptions;
DROP TABLE usage_counters;
