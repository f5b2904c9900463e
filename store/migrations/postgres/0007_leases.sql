-- 0007: named leases (AcquireLease / ReleaseLease): one holder at a time
-- across the replicas sharing the database, e.g. "chatops-stream", the one
-- replica that holds the DingTalk Stream connection. A row whose until has
-- passed is free to take over.
CREATE TABLE leases (
    name  TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until TIMESTAMPTZ NOT NULL
);
