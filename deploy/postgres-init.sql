-- Meta Chat Platform: roles, database and extension for a new PostgreSQL + pgvector cluster.
--
-- Run once by the pgvector/pgvector image's entrypoint (mounted into /docker-entrypoint-initdb.d/), as the
-- superuser, only when the data volume is empty. The passwords come from the container's environment
-- (METACHAT_OWNER_PASSWORD, METACHAT_APP_PASSWORD; see docker-compose.yml); psql 15+ reads them with \getenv.
-- Mirrors what scripts/services.sh does for the local cluster. Table grants to metachat_app are made by the
-- migrations; the default privileges below cover anything they forget.

\set ON_ERROR_STOP on

\getenv owner_password METACHAT_OWNER_PASSWORD
\getenv app_password METACHAT_APP_PASSWORD

\if :{?owner_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'METACHAT_OWNER_PASSWORD is not set in the postgres container'; END $$;
\endif
\if :{?app_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'METACHAT_APP_PASSWORD is not set in the postgres container'; END $$;
\endif

-- Owns the schema, runs migrations and maintenance (partitions, integrity checks).
CREATE ROLE metachat_owner WITH LOGIN NOSUPERUSER BYPASSRLS CREATEDB PASSWORD :'owner_password';
-- The runtime role of the api and worker: row-level security applies to it.
CREATE ROLE metachat_app WITH LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'app_password';

CREATE DATABASE metachat OWNER metachat_owner ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE metachat FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE metachat TO metachat_owner, metachat_app;

\connect metachat

CREATE EXTENSION IF NOT EXISTS vector;

-- PostgreSQL 15+: the public schema is not writable by default.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO metachat_owner;
GRANT USAGE ON SCHEMA public TO metachat_app;

-- No default privileges: each migration grants the runtime role exactly what it needs (app_enable_tenant_rls
-- for tenant tables, narrow grants for platform tables), and partitions, which have no row-level security of
-- their own, get nothing. Revoking also cleans up clusters set up by an older version of this script.
ALTER DEFAULT PRIVILEGES FOR ROLE metachat_owner IN SCHEMA public
    REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM metachat_app;
ALTER DEFAULT PRIVILEGES FOR ROLE metachat_owner IN SCHEMA public
    REVOKE USAGE, SELECT ON SEQUENCES FROM metachat_app;
