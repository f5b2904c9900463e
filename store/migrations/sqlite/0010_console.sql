-- 0010: the web console (issue 10).

-- Events by source: the overview's last event and events today per source,
-- the chart's events per hour by source (index-only), and the events page
-- filtered by source, newest first with the (received_at, id) cursor.
CREATE INDEX events_source_received ON events (source, received_at, id);
-- Messages sent today per robot.
CREATE INDEX deliveries_sent_at ON deliveries (sent_at, robot) WHERE sent_at IS NOT NULL;
