ALTER TABLE analytics_daily DROP CONSTRAINT analytics_daily_response_times_check;
ALTER TABLE analytics_daily DROP COLUMN errors;
ALTER TABLE analytics_daily DROP COLUMN p95_first_response_ms;
ALTER TABLE analytics_daily DROP COLUMN active_contacts;
