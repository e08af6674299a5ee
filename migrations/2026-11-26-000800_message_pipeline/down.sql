ALTER TABLE channels DROP CONSTRAINT channels_flag_check;
ALTER TABLE channels DROP COLUMN flag_reason;
ALTER TABLE channels DROP COLUMN flagged_at;

DELETE FROM outbox_events WHERE event_type = 'message.queued';
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_event_type_check;
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_event_type_check CHECK (event_type IN (
    'message.received', 'message.sent', 'message.delivered', 'message.read', 'message.failed',
    'conversation.created', 'conversation.updated', 'conversation.handoff_requested',
    'conversation.closed', 'document.uploaded', 'document.ready', 'document.failed',
    'subscription.updated', 'usage.limit_reached'));

DROP TABLE message_replies;
