DROP TABLE audit_log;
DROP TABLE api_keys;
DROP TABLE email_tokens;
DROP TABLE refresh_sessions;
DROP TABLE tenant_users;
DROP TABLE platform_admins;
DROP TABLE tenants;
