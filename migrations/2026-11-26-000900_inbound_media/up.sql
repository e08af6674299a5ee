-- Inbound media (WhatsApp images, audio, video, documents, stickers) downloaded with the channel's token and
-- kept by the platform: Meta's media URLs expire, agents and exports need the file later. One blob per
-- message. It belongs to the message's conversation, so erasing a contact (GDPR) or deleting a conversation
-- deletes its files; no foreign key points into the partitioned messages table, which would pin its
-- partitions (they could no longer be detached or dropped).
CREATE TABLE media_blobs (
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                 uuid PRIMARY KEY,
    conversation_id    uuid NOT NULL,
    message_id         uuid NOT NULL,
    message_created_at timestamptz NOT NULL,
    mime_type          text NOT NULL CHECK (mime_type ~ '^[a-z]+/[A-Za-z0-9.+_-]+' AND length(mime_type) <= 255),
    size_bytes         integer NOT NULL CHECK (size_bytes BETWEEN 0 AND 104857600),
    sha256             bytea NOT NULL CHECK (length(sha256) = 32),
    data               bytea NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (message_id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    CHECK (length(data) = size_bytes)
);
CREATE INDEX media_blobs_tenant_created_idx ON media_blobs (tenant_id, created_at DESC);
SELECT app_enable_tenant_rls('media_blobs');
