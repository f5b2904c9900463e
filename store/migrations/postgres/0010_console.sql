-- 0010: the web console (issue 10).

-- Events by source: the overview's last event and events today per source,
-- the chart's events per hour by source (index-only), and the events page
-- filtered by source, newest first with the (received_at, id) cursor.
CREATE INDEX events_source_received ON events (source, received_at, id);
-- Messages sent today per robot.
CREATE INDEX deliveries_sent_at ON deliveries (sent_at, robot) WHERE sent_at IS NOT NULL;
-- The console's search by amount (the same as `bankbot events find`): with
-- events_reference (0006), events_provider_event_id (0004) and the primary
-- key, every term of the search's OR has an index, so a search reads its
-- matches instead of every event of its window.
CREATE INDEX events_amount ON events (amount);
