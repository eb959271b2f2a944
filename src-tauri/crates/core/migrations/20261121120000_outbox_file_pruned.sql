-- Staged copies of sent files are deleted once the server's message is in the cache; remember which.
ALTER TABLE outbox_files ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;
