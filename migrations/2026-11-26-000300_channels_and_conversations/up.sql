-- Channels, contacts (end users), conversations, messages (partitioned by month) and inbound receipts.

CREATE TABLE channels (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid PRIMARY KEY,
    type        text NOT NULL CHECK (type IN ('whatsapp', 'messenger', 'webchat')),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    enabled     boolean NOT NULL DEFAULT true,
    -- non-secret, type-specific settings (phoneNumberId, pageId, allowedOrigins, ...)
    config      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
    -- field name -> AES-256-GCM envelope (accessToken, appSecret, verifyToken, identitySecret, ...)
    secrets     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(secrets) = 'object'),
    -- the provider's id that routes platform-app webhooks: phone_number_id or page id
    external_id text CHECK (length(external_id) BETWEEN 1 AND 64),
    -- public key of a web chat widget
    widget_key  text UNIQUE CHECK (widget_key ~ '^wk_[A-Za-z0-9]{24,64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    CHECK ((type = 'webchat') = (widget_key IS NOT NULL)),
    CHECK ((type = 'webchat') = (external_id IS NULL))
);
-- one WhatsApp number / Messenger page is connected once across the platform
CREATE UNIQUE INDEX channels_type_external_id_key ON channels (type, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX channels_tenant_type_idx ON channels (tenant_id, type);
SELECT app_track_updated_at('channels');
SELECT app_enable_tenant_rls('channels');

CREATE TABLE contacts (
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid PRIMARY KEY,
    channel_id   uuid NOT NULL,
    -- wa_id / business-scoped user id, Messenger PSID, or web chat visitor id
    external_id  text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 128),
    phone        text CHECK (phone ~ '^\+?[0-9]{5,20}$'),
    display_name text CHECK (length(display_name) <= 200),
    metadata     jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    last_seen_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    -- target of conversations' (tenant, contact, channel) key: a conversation's contact is on its channel
    UNIQUE (tenant_id, id, channel_id),
    UNIQUE (tenant_id, channel_id, external_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE
);
SELECT app_track_updated_at('contacts');
SELECT app_enable_tenant_rls('contacts');

CREATE TABLE conversations (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    channel_id      uuid NOT NULL,
    contact_id      uuid NOT NULL,
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'assigned_human', 'closed')),
    assignee_id     uuid,
    handoff_reason  text CHECK (length(handoff_reason) <= 500),
    metadata        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    -- the inbox sort key: set at creation, advanced by every message
    last_message_at timestamptz NOT NULL DEFAULT now(),
    -- start of the 24-hour customer-service window on WhatsApp
    last_inbound_at timestamptz,
    closed_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, contact_id, channel_id) REFERENCES contacts (tenant_id, id, channel_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, assignee_id) REFERENCES tenant_users (tenant_id, id) ON DELETE SET NULL (assignee_id),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);
CREATE INDEX conversations_tenant_last_message_idx ON conversations (tenant_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_tenant_status_idx ON conversations (tenant_id, status, last_message_at DESC, id DESC);
CREATE INDEX conversations_tenant_assignee_idx ON conversations (tenant_id, assignee_id) WHERE assignee_id IS NOT NULL;
CREATE INDEX conversations_tenant_contact_idx ON conversations (tenant_id, contact_id);
-- at most one open conversation per contact
CREATE UNIQUE INDEX conversations_open_contact_key ON conversations (tenant_id, contact_id) WHERE status <> 'closed';
SELECT app_track_updated_at('conversations');
SELECT app_enable_tenant_rls('conversations');

-- Range-partitioned by month on created_at; the worker creates monthly partitions ahead (meta-chat-database
-- partitions.rs) and the DEFAULT partition catches anything outside them, so an insert never fails.
-- Ids are UUIDv7, so created_at can always be recovered from an id for partition pruning.
CREATE TABLE messages (
    tenant_id            uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                   uuid NOT NULL,
    conversation_id      uuid NOT NULL,
    direction            text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    sender               text NOT NULL CHECK (sender IN ('contact', 'assistant', 'agent', 'system')),
    sender_user_id       uuid,
    type                 text NOT NULL CHECK (type IN ('text', 'image', 'audio', 'video', 'document', 'sticker', 'location',
                                                       'contacts', 'interactive', 'button', 'reaction', 'template',
                                                       'system', 'unsupported')),
    text                 text CHECK (length(text) <= 65536),
    -- normalized type-specific content (media id, location, reply context, citations, ...)
    payload              jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    status               text NOT NULL CHECK (status IN ('received', 'queued', 'sent', 'delivered', 'read', 'failed')),
    -- provider message id (wamid, Messenger mid)
    external_id          text CHECK (length(external_id) BETWEEN 1 AND 256),
    reply_to_external_id text CHECK (length(reply_to_external_id) BETWEEN 1 AND 256),
    error_code           text CHECK (length(error_code) <= 64),
    error_message        text CHECK (length(error_message) <= 1000),
    sent_at              timestamptz,
    delivered_at         timestamptz,
    read_at              timestamptz,
    failed_at            timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, sender_user_id) REFERENCES tenant_users (tenant_id, id) ON DELETE SET NULL (sender_user_id),
    CHECK ((direction = 'inbound') = (sender = 'contact')),
    CHECK ((direction = 'inbound') = (status = 'received')),
    CHECK (sender = 'agent' OR sender_user_id IS NULL)
) PARTITION BY RANGE (created_at);
CREATE TABLE messages_default PARTITION OF messages DEFAULT;
-- Partitions have no row-level security of their own: only the parent may be queried by the runtime role.
REVOKE ALL ON messages_default FROM PUBLIC, metachat_app;
CREATE INDEX messages_tenant_conversation_created_idx ON messages (tenant_id, conversation_id, created_at DESC);
CREATE INDEX messages_tenant_created_idx ON messages (tenant_id, created_at DESC);
CREATE INDEX messages_tenant_external_idx ON messages (tenant_id, external_id) WHERE external_id IS NOT NULL;
SELECT app_track_updated_at('messages');
SELECT app_enable_tenant_rls('messages');

-- Deduplication of inbound deliveries (Meta retries): a unique key on the partitioned messages table would
-- have to include created_at, so the key lives here. Inserted in the same transaction as the message.
CREATE TABLE inbound_receipts (
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    channel_id         uuid NOT NULL,
    external_id        text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 256),
    message_id         uuid NOT NULL,
    message_created_at timestamptz NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, external_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES channels (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX inbound_receipts_tenant_received_idx ON inbound_receipts (tenant_id, received_at DESC);
SELECT app_enable_tenant_rls('inbound_receipts');
