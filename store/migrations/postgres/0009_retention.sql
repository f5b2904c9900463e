-- 0009: retention (storage.retention, `bankbot storage purge`).
--
-- body_purged_at is when retention removed the event's raw body and stored
-- headers (both are then empty); NULL while they are kept. The canonical
-- event, its amount, kind and deliveries stay, so totals and `events
-- list|find` are unchanged.
ALTER TABLE events ADD COLUMN body_purged_at TIMESTAMPTZ;

-- Purge: the events still holding a body, oldest first (the index shrinks
-- as bodies are purged, so a second run does not walk purged rows).
CREATE INDEX events_body_kept ON events (received_at, id) WHERE body_purged_at IS NULL;
-- Purge: chat callback msgIds by age.
CREATE INDEX chat_messages_claimed ON chat_messages (claimed_at);
