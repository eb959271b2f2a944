-- A staged file is checked before it is sent: the SHA-256 (lowercase hex) of the copy written into
-- the outbox, beside the size kept already, so a copy changed or truncated on disk is never sent in
-- its place. NULL for links (nothing staged) and for files queued before this (their size is checked).
ALTER TABLE outbox_files ADD COLUMN sha256 TEXT;
