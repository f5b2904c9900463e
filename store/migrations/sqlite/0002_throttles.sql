-- Throttled answers (DingTalk's rate limit or quota) are logged as attempts
-- but do not count against the retry budget: they are counted apart.
ALTER TABLE deliveries ADD COLUMN throttles INTEGER NOT NULL DEFAULT 0;
