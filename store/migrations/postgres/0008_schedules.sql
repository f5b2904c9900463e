-- 0008: scheduled jobs (issue 9).

-- ClaimTick / FinishTick / LastTick: one row per (schedule, scheduled
-- time) that some replica claimed; the primary key makes the claim an
-- insert-if-absent, so a tick runs once across restarts and replicas.
CREATE TABLE schedule_ticks (
    name       TEXT    NOT NULL,
    tick_at    TIMESTAMPTZ NOT NULL,
    owner      TEXT    NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL,
    done_at    TIMESTAMPTZ,
    result     TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (name, tick_at)
);

-- SetMark / ListMarks / DeleteMark: what the jobs must remember once for
-- every replica (a source's silence, a key-expiry reminder sent).
CREATE TABLE schedule_marks (
    key   TEXT    PRIMARY KEY,
    value TEXT    NOT NULL DEFAULT '',
    at    TIMESTAMPTZ NOT NULL
);

-- LastReceived (the watchdog) and the summary's per-source windows use
-- events_source_received (source, received_at, id), created by 0010.
