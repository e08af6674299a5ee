-- The message pipeline: one reply per inbound message, the internal `message.queued` event that drives
-- outbound dispatch, and a health flag on channels whose provider credentials stopped working.

-- What the orchestrator decided for each inbound message. The primary key makes the decision happen once
-- however often the message.received event is delivered (a unique key on the partitioned messages table
-- would have to include created_at).
CREATE TABLE message_replies (
    tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    inbound_message_id uuid PRIMARY KEY,
    conversation_id    uuid NOT NULL,
    outcome            text NOT NULL CHECK (outcome IN ('replied', 'handoff', 'silent')),
    -- the outbound message produced (the reply, or the handoff notice), if any
    reply_message_id   uuid,
    created_at         timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
    CHECK (outcome <> 'replied' OR reply_message_id IS NOT NULL)
);
CREATE INDEX message_replies_tenant_conversation_idx ON message_replies (tenant_id, conversation_id, created_at DESC);
SELECT app_enable_tenant_rls('message_replies');

-- `message.queued` is internal (it asks the outbound consumer to send a message); tenant webhooks cannot
-- subscribe to it (tenant_webhooks.events keeps the public list).
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_event_type_check;
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_event_type_check CHECK (event_type IN (
    'message.received', 'message.queued', 'message.sent', 'message.delivered', 'message.read', 'message.failed',
    'conversation.created', 'conversation.updated', 'conversation.handoff_requested',
    'conversation.closed', 'document.uploaded', 'document.ready', 'document.failed',
    'subscription.updated', 'usage.limit_reached'));

-- Set when the provider rejects the channel's credentials (Graph error 190 and the like); cleared when the
-- tenant updates the channel's secrets.
ALTER TABLE channels ADD COLUMN flagged_at timestamptz;
ALTER TABLE channels ADD COLUMN flag_reason text CHECK (length(flag_reason) <= 500);
ALTER TABLE channels ADD CONSTRAINT channels_flag_check CHECK ((flagged_at IS NULL) = (flag_reason IS NULL));
