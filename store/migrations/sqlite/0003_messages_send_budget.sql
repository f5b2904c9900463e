-- 0003: message ids, the shared send budget, and a leaner deliveries table.
--
-- deliveries is rebuilt: its id was INTEGER PRIMARY KEY AUTOINCREMENT, which
-- costs a read and a write of sqlite_sequence on every insert (the ingest hot
-- path). A plain INTEGER PRIMARY KEY takes max(id) + 1; ids are kept as they
-- were, and since deliveries are never deleted (only with their event, which
-- the store never deletes) no id is handed out twice.
--
-- The rebuild runs inside the migration's transaction with foreign keys on,
-- where PRAGMA foreign_keys cannot be turned off. Dropping a parent table then
-- deletes its rows first, firing ON DELETE CASCADE into delivery_attempts. So
-- the attempt log is copied aside and dropped before the old deliveries table,
-- and recreated (referencing the new one) after the rename.

CREATE TABLE deliveries_new (
    id              INTEGER PRIMARY KEY,
    event_id        TEXT    NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    route           TEXT    NOT NULL,
    robot           TEXT    NOT NULL,
    spec            BLOB    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT    NOT NULL DEFAULT '',
    lease_until     INTEGER,
    last_reason     TEXT    NOT NULL DEFAULT '',
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    throttles       INTEGER NOT NULL DEFAULT 0,
    -- The DingTalk message the row last went out in (msgUuid, or a digest
    -- id); '' until assigned, cleared by a replay.
    message_id      TEXT    NOT NULL DEFAULT '',
    UNIQUE (event_id, route)
);

INSERT INTO deliveries_new (id, event_id, route, robot, spec, status, attempts, next_attempt_at,
    lease_owner, lease_until, last_reason, last_error, created_at, updated_at, sent_at, throttles)
SELECT id, event_id, route, robot, spec, status, attempts, next_attempt_at,
    lease_owner, lease_until, last_reason, last_error, created_at, updated_at, sent_at, throttles
FROM deliveries;

CREATE TABLE delivery_attempts_copy AS
    SELECT delivery_id, n, at, duration_ms, reason, error FROM delivery_attempts;
DROP TABLE delivery_attempts;
DROP TABLE deliveries; -- also drops its indexes and its sqlite_sequence row
ALTER TABLE deliveries_new RENAME TO deliveries;

-- ClaimDeliveries (due rows of one robot), Stats' counts and oldest due
-- time, OutboxRobots, ListDeliveries by status. It replaces the former
-- deliveries_status (status, id), whose every use this index serves too
-- (in SQLite each index entry ends with the rowid, id): one index less to
-- update on every insert and every status change.
CREATE INDEX deliveries_due ON deliveries (status, robot, next_attempt_at);
-- ListDeliveries by message. Partial: rows get a message id only once
-- claimed, so inserts (ingest) never touch it.
CREATE INDEX deliveries_message ON deliveries (message_id) WHERE message_id <> '';

CREATE TABLE delivery_attempts (
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    n           INTEGER NOT NULL, -- 1-based attempt number
    at          INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, n)
);
INSERT INTO delivery_attempts (delivery_id, n, at, duration_ms, reason, error)
SELECT delivery_id, n, at, duration_ms, reason, error FROM delivery_attempts_copy;
DROP TABLE delivery_attempts_copy;

-- One row per message sent, or reserved to be sent, to a robot; at is when
-- it reached (or, while in flight, the latest moment it may reach) DingTalk.
-- AUTOINCREMENT here, unlike deliveries: a slot id must never be handed out
-- again (ReserveSend deletes old rows, and a late StampSend or CancelSend
-- must not move another caller's slot), and a robot sends at most a few
-- messages a minute.
CREATE TABLE robot_sends (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    robot      TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    message_id TEXT    NOT NULL DEFAULT ''
);
-- The budget's window count and the pruning of old rows.
CREATE INDEX robot_sends_robot_at ON robot_sends (robot, at);

-- Per robot: the shared penalty end (BlockRobot) and its recorded state.
CREATE TABLE robot_state (
    robot         TEXT    PRIMARY KEY,
    state         TEXT    NOT NULL DEFAULT 'ok',
    reason        TEXT    NOT NULL DEFAULT '',
    blocked_until INTEGER,
    changed_at    INTEGER
);
