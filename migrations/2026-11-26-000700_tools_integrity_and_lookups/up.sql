-- Remote MCP servers, integrity reports, and the routing lookups that must work before a tenant is known.

CREATE TABLE mcp_servers (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    name            text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$'),
    -- remote servers over HTTPS only: the platform never runs a tenant's command
    url             text NOT NULL CHECK (url ~ '^https://[^\s/]+' AND length(url) <= 2048),
    auth_header_enc text CHECK (auth_header_enc LIKE 'v1.%'),
    enabled         boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
SELECT app_track_updated_at('mcp_servers');
SELECT app_enable_tenant_rls('mcp_servers');

-- Results of the integrity checker (worker `integrity-check`), platform-level.
CREATE TABLE integrity_reports (
    id             uuid PRIMARY KEY,
    started_at     timestamptz NOT NULL,
    finished_at    timestamptz NOT NULL,
    critical_count integer NOT NULL CHECK (critical_count >= 0),
    warning_count  integer NOT NULL CHECK (warning_count >= 0),
    info_count     integer NOT NULL CHECK (info_count >= 0),
    -- [{check, severity, count, sampleIds}]
    findings       jsonb NOT NULL CHECK (jsonb_typeof(findings) = 'array'),
    CHECK (finished_at >= started_at)
);
CREATE INDEX integrity_reports_started_idx ON integrity_reports (started_at DESC);
GRANT SELECT ON integrity_reports TO metachat_app;

-- Routing lookups. The app role sees no row until it has set a tenant, but some requests arrive with only
-- a routing key: a login email, an API key prefix, a token hash, a channel id in a webhook URL, a WhatsApp
-- phone_number_id or Messenger page id, a widget key, a Stripe customer id. These SECURITY DEFINER functions
-- run as the owner and return only the tenant (and row id) the key belongs to; the caller then sets
-- app.tenant_id and reads the row itself under row-level security.
CREATE FUNCTION app_lookup_user_by_email(p_email text)
    RETURNS TABLE (tenant_id uuid, user_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$ SELECT u.tenant_id, u.id FROM tenant_users u WHERE u.email = lower(p_email) $$;

CREATE FUNCTION app_lookup_api_key(p_prefix text)
    RETURNS TABLE (tenant_id uuid, api_key_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$ SELECT k.tenant_id, k.id FROM api_keys k WHERE k.prefix = p_prefix $$;

CREATE FUNCTION app_lookup_email_token(p_token_hash bytea)
    RETURNS TABLE (tenant_id uuid, token_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$ SELECT t.tenant_id, t.id FROM email_tokens t WHERE t.token_hash = p_token_hash AND t.tenant_id IS NOT NULL $$;

CREATE FUNCTION app_lookup_refresh_session(p_token_hash bytea)
    RETURNS TABLE (tenant_id uuid, session_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$ SELECT s.tenant_id, s.id FROM refresh_sessions s WHERE s.token_hash = p_token_hash $$;

CREATE FUNCTION app_lookup_channel(p_channel_id uuid)
    RETURNS TABLE (tenant_id uuid, channel_type text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$ SELECT c.tenant_id, c.type FROM channels c WHERE c.id = p_channel_id $$;

CREATE FUNCTION app_lookup_channel_by_external_id(p_type text, p_external_id text)
    RETURNS TABLE (tenant_id uuid, channel_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$ SELECT c.tenant_id, c.id FROM channels c WHERE c.type = p_type AND c.external_id = p_external_id $$;

CREATE FUNCTION app_lookup_widget(p_widget_key text)
    RETURNS TABLE (tenant_id uuid, channel_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$ SELECT c.tenant_id, c.id FROM channels c WHERE c.widget_key = p_widget_key $$;

CREATE FUNCTION app_lookup_stripe_customer(p_customer_id text)
    RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$ SELECT t.id FROM tenants t WHERE t.stripe_customer_id = p_customer_id $$;

REVOKE ALL ON FUNCTION app_lookup_user_by_email(text), app_lookup_api_key(text), app_lookup_email_token(bytea),
    app_lookup_refresh_session(bytea), app_lookup_channel(uuid), app_lookup_channel_by_external_id(text, text),
    app_lookup_widget(text), app_lookup_stripe_customer(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_lookup_user_by_email(text), app_lookup_api_key(text), app_lookup_email_token(bytea),
    app_lookup_refresh_session(bytea), app_lookup_channel(uuid), app_lookup_channel_by_external_id(text, text),
    app_lookup_widget(text), app_lookup_stripe_customer(text) TO metachat_app;
