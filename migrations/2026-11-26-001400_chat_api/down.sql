-- Conversations held on the API channel go with it.
DELETE FROM channels WHERE type = 'api';
DROP INDEX channels_one_api_per_tenant;
ALTER TABLE channels DROP CONSTRAINT channels_type_check;
ALTER TABLE channels ADD CONSTRAINT channels_type_check CHECK (type IN ('whatsapp', 'messenger', 'webchat'));
