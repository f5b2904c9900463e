-- 0005: confirmation through the provider's API (sources.*.confirm).
--
-- confirmation is '' for an event that needs none, else unconfirmed (waiting:
-- the provider's API has not answered yet), confirmed or mismatch (the API
-- contradicted the signed webhook; the event was alerted as suspicious, not
-- as genuine). confirmation_reason says why (the API's answer, the last
-- error). confirm_attempts and confirm_next_at are the retry state of an
-- event whose confirmation failed: the router skips it until then.
ALTER TABLE events ADD COLUMN confirmation TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN confirmation_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN confirm_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN confirm_next_at INTEGER;
