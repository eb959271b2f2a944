-- Exactly-once sending without trusting the computer's clock: before a send goes out, the newest
-- message the server had shown in the thread (its own timestamp and id) is kept with the entry. After
-- a lost answer, only messages the server stamped at or after that one count as candidates for ours;
-- the computer's clock is never compared with the server's.
ALTER TABLE outbox ADD COLUMN send_anchor_at INTEGER;   -- the server's created_at of that message (ms)
ALTER TABLE outbox ADD COLUMN send_anchor_id TEXT;      -- its provider id
