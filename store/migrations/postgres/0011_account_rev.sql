-- 0011: search by the account's last digits through an index.

-- The account's letters and digits, lower-cased and reversed ("123-4-56789-0"
-- is "0987654321"), so "the account ends with 7890" is the prefix range
-- account_rev >= '0987' AND account_rev < '0987' || U+10FFFF on the index
-- below. COLLATE "C" compares code points (UTF-8 bytes), as SQLite's BINARY
-- does: under a linguistic collation a prefix is not a range. Written by
-- InsertEvent (and ConfirmEvent when it replaces the event); NULL for the
-- rows stored before this migration until the store's backfill has computed
-- it in Go ('' for an event without account).
ALTER TABLE events ADD COLUMN account_rev TEXT COLLATE "C";
-- received_at and id make the search's window and cursor index-only; NULLs
-- (rows not yet backfilled) are found through it too.
CREATE INDEX events_account_rev ON events (account_rev, received_at, id);
