-- 0004: finding events (bankbot events list|show|find, replay --since).

-- ListEvents and FindEvents: newest first within a received_at window.
CREATE INDEX events_received ON events (received_at, id);
-- events show / replay by the provider's event id, whatever the source
-- (UNIQUE (source, provider_event_id) leads with source).
CREATE INDEX events_provider_event_id ON events (provider_event_id);
