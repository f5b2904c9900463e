-- 0006: chat commands (DingTalk @bankbot): callback dedupe across replicas,
-- the command audit, acknowledgements of failed events, verified bank slips.
-- (0005 is taken by another change; versions may leave gaps.)

-- ClaimChatMessage: one row per DingTalk callback msgId already handled.
CREATE TABLE chat_messages (
    msg_id     TEXT        PRIMARY KEY,
    claimed_at TIMESTAMPTZ NOT NULL
);

-- AppendAudit / ListAudit: one row per chat command, whatever its result.
CREATE TABLE chat_audit (
    id              BIGSERIAL   PRIMARY KEY,
    at              TIMESTAMPTZ NOT NULL,
    sender_id       TEXT        NOT NULL DEFAULT '',
    sender_name     TEXT        NOT NULL DEFAULT '',
    conversation_id TEXT        NOT NULL DEFAULT '',
    command         TEXT        NOT NULL DEFAULT '',
    result          TEXT        NOT NULL
);
-- ListAudit: newest first within a time window, optionally of one sender
-- or one conversation.
CREATE INDEX chat_audit_at ON chat_audit (at, id);
CREATE INDEX chat_audit_sender ON chat_audit (sender_id, at, id);
CREATE INDEX chat_audit_conversation ON chat_audit (conversation_id, at, id);

-- AckEvent / GetAck / ListUnacked: who acknowledged an event (the first ack
-- is kept). Deleting an event deletes its ack.
CREATE TABLE event_acks (
    event_id TEXT        PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
    by_id    TEXT        NOT NULL,
    by_name  TEXT        NOT NULL DEFAULT '',
    note     TEXT        NOT NULL DEFAULT '',
    at       TIMESTAMPTZ NOT NULL
);

-- RecordSlip: the first verification of each bank slip (sending bank,
-- transaction reference), to tell a slip shown twice.
CREATE TABLE slips (
    sending_bank     TEXT        NOT NULL,
    reference        TEXT        NOT NULL,
    verified_by_id   TEXT        NOT NULL DEFAULT '',
    verified_by_name TEXT        NOT NULL DEFAULT '',
    conversation_id  TEXT        NOT NULL DEFAULT '',
    at               TIMESTAMPTZ NOT NULL,
    matched_event_id TEXT        NOT NULL DEFAULT '',
    PRIMARY KEY (sending_bank, reference)
);

-- FindEvents by reference (a slip's transaction reference): its OR of
-- id, provider_event_id and reference can then use an index for each.
CREATE INDEX events_reference ON events (reference);
