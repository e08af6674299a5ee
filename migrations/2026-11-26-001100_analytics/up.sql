-- Daily analytics: what the aggregation job (meta-chat-database analytics.rs) writes and the analytics
-- endpoints read, beyond the first version of the table. One row per tenant and UTC day, replaced whenever
-- the day is aggregated again. Response times are those of the day's `replied` decisions, so they exist
-- exactly when there were AI replies; `errors` are the day's outbound messages that failed.
ALTER TABLE analytics_daily ADD COLUMN active_contacts integer NOT NULL DEFAULT 0
    CHECK (active_contacts >= 0 AND active_contacts <= messages_inbound);
ALTER TABLE analytics_daily ADD COLUMN p95_first_response_ms integer CHECK (p95_first_response_ms >= 0);
ALTER TABLE analytics_daily ADD COLUMN errors integer NOT NULL DEFAULT 0
    CHECK (errors >= 0 AND errors <= messages_outbound);
ALTER TABLE analytics_daily ADD CONSTRAINT analytics_daily_response_times_check
    CHECK ((ai_replies = 0) = (avg_first_response_ms IS NULL) AND (ai_replies = 0) = (p95_first_response_ms IS NULL));
