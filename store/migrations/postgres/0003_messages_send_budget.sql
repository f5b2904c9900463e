-- 0003: message ids, the shared send budget, and one index less on deliveries.

-- The DingTalk message the row last went out in (msgUuid, or a digest id);
-- '' until assigned, cleared by a replay. A constant default: no rewrite.
ALTER TABLE deliveries ADD COLUMN message_id TEXT NOT NULL DEFAULT '';

-- deliveries_due (status, robot, next_attempt_at, id) serves every use of
-- deliveries_status (status, id): Stats' counts, ListDeliveries by status.
-- One index less to update on every insert and every status change.
DROP INDEX deliveries_status;

-- ListDeliveries by message. Partial: rows get a message id only once
-- claimed, so inserts (ingest) never touch it.
CREATE INDEX deliveries_message ON deliveries (message_id) WHERE message_id <> '';

-- One row per message sent, or reserved to be sent, to a robot; at is when
-- it reached (or, while in flight, the latest moment it may reach) DingTalk.
-- Every replica counts these rows: one budget per robot for all of them.
CREATE TABLE robot_sends (
    id         BIGSERIAL   PRIMARY KEY,
    robot      TEXT        NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    message_id TEXT        NOT NULL DEFAULT ''
);
-- The budget's window count and the pruning of old rows.
CREATE INDEX robot_sends_robot_at ON robot_sends (robot, at);

-- Per robot: the shared penalty end (BlockRobot) and its recorded state.
CREATE TABLE robot_state (
    robot         TEXT        PRIMARY KEY,
    state         TEXT        NOT NULL DEFAULT 'ok',
    reason        TEXT        NOT NULL DEFAULT '',
    blocked_until TIMESTAMPTZ,
    changed_at    TIMESTAMPTZ
);
