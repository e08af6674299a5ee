-- Foundation: pgvector, the runtime role, and the helpers every later migration uses.
-- The runtime role `metachat_app` is NOT the owner of any table, so row-level security applies to it.
-- scripts/services.sh (and deploy/postgres-init.sql) create it with LOGIN; this only guards a bare database.
CREATE EXTENSION IF NOT EXISTS vector;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metachat_app') THEN
        CREATE ROLE metachat_app NOLOGIN NOBYPASSRLS;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO metachat_app;

-- The tenant of the current transaction, set by the app with set_config('app.tenant_id', <uuid>, true).
-- Unset or reset ('') yields NULL, and `tenant_id = NULL` matches no row: a query that forgets its tenant sees nothing.
CREATE FUNCTION app_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE FUNCTION app_set_updated_at() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

-- Applies the standard tenant isolation to a tenant table: RLS enabled AND forced, one policy on
-- app_current_tenant(), and DML for the runtime role. Every tenant table goes through this.
CREATE FUNCTION app_enable_tenant_rls(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %s USING (tenant_id = app_current_tenant()) '
        'WITH CHECK (tenant_id = app_current_tenant())', tbl);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO metachat_app', tbl);
END
$$;

-- Adds the updated_at trigger to a table.
CREATE FUNCTION app_track_updated_at(tbl regclass) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    EXECUTE format(
        'CREATE TRIGGER set_updated_at BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION app_set_updated_at()', tbl);
END
$$;
