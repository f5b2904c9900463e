-- bankbot schema, SQLite. Times are INTEGER unix milliseconds UTC; NULL = unset.

CREATE TABLE events (
    id                TEXT    PRIMARY KEY,
    source            TEXT    NOT NULL,
    provider          TEXT    NOT NULL DEFAULT '',
    provider_event_id TEXT    NOT NULL,
    type              TEXT    NOT NULL DEFAULT '',
    kind              TEXT    NOT NULL DEFAULT '',
    amount            INTEGER NOT NULL DEFAULT 0,  -- minor units of currency
    currency          TEXT    NOT NULL DEFAULT '',
    reference         TEXT    NOT NULL DEFAULT '',
    occurred_at       INTEGER,
    received_at       INTEGER NOT NULL,
    remote_ip         TEXT    NOT NULL DEFAULT '',
    headers           TEXT    NOT NULL DEFAULT '{}', -- JSON object
    body              BLOB    NOT NULL,              -- raw bytes as received
    event             TEXT    NOT NULL,              -- canonical bankhooks.Event, JSON
    routed_at         INTEGER,
    UNIQUE (source, provider_event_id)
);

-- UnroutedEvents: oldest first among the unrouted.
CREATE INDEX events_unrouted ON events (received_at, id) WHERE routed_at IS NULL;

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
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
    UNIQUE (event_id, route)
);

-- ClaimDeliveries: due rows of one robot by status and time.
CREATE INDEX deliveries_due ON deliveries (status, robot, next_attempt_at, id);
-- ListDeliveries by status, newest first; Stats counts.
CREATE INDEX deliveries_status ON deliveries (status, id);

CREATE TABLE delivery_attempts (
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    n           INTEGER NOT NULL, -- 1-based attempt number
    at          INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    error       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (delivery_id, n)
);
