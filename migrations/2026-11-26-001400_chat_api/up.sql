-- The chat API (`POST /chat`) keeps its conversations like every channel's, on one platform-made channel of type
-- `api` per tenant (clients cannot create, change or count it against their plan).
ALTER TABLE channels DROP CONSTRAINT channels_type_check;
ALTER TABLE channels ADD CONSTRAINT channels_type_check CHECK (type IN ('whatsapp', 'messenger', 'webchat', 'api'));
CREATE UNIQUE INDEX channels_one_api_per_tenant ON channels (tenant_id) WHERE type = 'api';
