-- Tenants, their users, platform admins, sessions, email tokens, API keys and the audit log.

CREATE TABLE tenants (
    id                 uuid PRIMARY KEY,
    name               text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    slug               text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    plan_id            text NOT NULL DEFAULT 'free' CHECK (plan_id IN ('free', 'starter', 'pro', 'enterprise')),
    plan_override      text CHECK (plan_override IN ('free', 'starter', 'pro', 'enterprise')),
    settings           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
    -- tenant's own LLM provider key, AES-256-GCM envelope (shared::secrets)
    llm_api_key_enc    text CHECK (llm_api_key_enc LIKE 'v1.%'),
    stripe_customer_id text UNIQUE,
    suspended_at       timestamptz,
    suspended_reason   text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'suspended') = (suspended_at IS NOT NULL))
);
CREATE INDEX tenants_created_at_idx ON tenants (created_at DESC);
SELECT app_track_updated_at('tenants');
-- The tenants table is keyed by `id` rather than `tenant_id`: a tenant sees only its own row.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = app_current_tenant()) WITH CHECK (id = app_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON tenants TO metachat_app;

CREATE TABLE platform_admins (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE CHECK (email = lower(email) AND email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 320),
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    disabled_at   timestamptz,
    last_login_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
SELECT app_track_updated_at('platform_admins');
GRANT SELECT, UPDATE ON platform_admins TO metachat_app;

CREATE TABLE tenant_users (
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                 uuid PRIMARY KEY,
    -- one login per email across the platform: POST /auth/login takes no tenant
    email              text NOT NULL UNIQUE CHECK (email = lower(email) AND email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 320),
    name               text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    role               text NOT NULL CHECK (role IN ('owner', 'admin', 'agent')),
    status             text NOT NULL DEFAULT 'active' CHECK (status IN ('invited', 'active', 'disabled')),
    password_hash      text CHECK (password_hash LIKE '$argon2id$%'),
    email_verified_at  timestamptz,
    failed_login_count integer NOT NULL DEFAULT 0 CHECK (failed_login_count >= 0),
    locked_until       timestamptz,
    last_login_at      timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    -- an active user can log in; an invited one has no password yet
    CHECK (status = 'invited' OR password_hash IS NOT NULL)
);
CREATE INDEX tenant_users_tenant_role_idx ON tenant_users (tenant_id, role);
SELECT app_track_updated_at('tenant_users');
SELECT app_enable_tenant_rls('tenant_users');

CREATE TABLE refresh_sessions (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL,
    -- SHA-256 of the opaque refresh token; the token itself is never stored
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    -- all rotations of one login share a family: reuse of a rotated token revokes the family
    family_id    uuid NOT NULL,
    replaced_by  uuid,
    user_agent   text CHECK (length(user_agent) <= 512),
    ip           inet,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, user_id) REFERENCES tenant_users (tenant_id, id) ON DELETE CASCADE,
    CHECK (expires_at > created_at)
);
CREATE INDEX refresh_sessions_tenant_user_idx ON refresh_sessions (tenant_id, user_id);
CREATE INDEX refresh_sessions_family_idx ON refresh_sessions (family_id);
SELECT app_enable_tenant_rls('refresh_sessions');

CREATE TABLE email_tokens (
    -- NULL only for a platform admin's token
    tenant_id  uuid REFERENCES tenants (id) ON DELETE CASCADE,
    id         uuid PRIMARY KEY,
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'invitation')),
    -- SHA-256 of the emailed token; single use (used_at)
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id    uuid,
    admin_id   uuid REFERENCES platform_admins (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, user_id) REFERENCES tenant_users (tenant_id, id) ON DELETE CASCADE,
    -- exactly one owner: a tenant user (with its tenant) or a platform admin (without one)
    CONSTRAINT email_tokens_one_owner CHECK (num_nonnulls(user_id, admin_id) = 1),
    CHECK ((user_id IS NOT NULL) = (tenant_id IS NOT NULL)),
    CHECK (admin_id IS NULL OR purpose = 'reset_password'),
    CHECK (expires_at > created_at),
    CHECK (used_at IS NULL OR used_at >= created_at)
);
CREATE INDEX email_tokens_tenant_user_idx ON email_tokens (tenant_id, user_id);
CREATE INDEX email_tokens_admin_idx ON email_tokens (admin_id) WHERE admin_id IS NOT NULL;
SELECT app_enable_tenant_rls('email_tokens');

CREATE TABLE api_keys (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid PRIMARY KEY,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    -- the visible start of the key (`mck_` + 8 characters), used to find it
    prefix       text NOT NULL UNIQUE CHECK (prefix ~ '^mck_[A-Za-z0-9]{8}$'),
    -- SHA-256 of the whole key (keys are 256-bit random, so a fast hash is enough)
    key_hash     bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    scopes       text[] NOT NULL CHECK (
        cardinality(scopes) BETWEEN 1 AND 7
        AND scopes <@ ARRAY['chat', 'documents:read', 'documents:write', 'conversations:read',
                            'conversations:write', 'analytics:read', 'admin']::text[]),
    created_by   uuid,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES tenant_users (tenant_id, id) ON DELETE SET NULL (created_by)
);
CREATE INDEX api_keys_tenant_created_idx ON api_keys (tenant_id, created_at DESC);
SELECT app_enable_tenant_rls('api_keys');

CREATE TABLE audit_log (
    -- NULL for platform-level actions that concern no single tenant
    tenant_id   uuid REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid PRIMARY KEY,
    actor_type  text NOT NULL CHECK (actor_type IN ('user', 'admin', 'api_key', 'system')),
    actor_id    uuid,
    action      text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    target_type text CHECK (length(target_type) <= 64),
    target_id   text CHECK (length(target_id) <= 128),
    ip          inet,
    user_agent  text CHECK (length(user_agent) <= 512),
    request_id  text CHECK (length(request_id) <= 128),
    details     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (actor_type = 'system' OR actor_id IS NOT NULL)
);
CREATE INDEX audit_log_tenant_created_idx ON audit_log (tenant_id, created_at DESC);
CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC);
SELECT app_enable_tenant_rls('audit_log');
