-- Parley's local cache: one schema for every provider, the provider's raw ids kept as text.
-- Times are UTC milliseconds since the Unix epoch.

CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    provider       TEXT NOT NULL,
    base_url       TEXT,                 -- NULL: the provider's public endpoint
    secret_ref     TEXT NOT NULL UNIQUE, -- the keyring entry's user name; the token itself is never stored here
    company_filter TEXT,                 -- JSON array of provider company ids chosen at add time; NULL: every company
    created_at     INTEGER NOT NULL
);

CREATE TABLE companies (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    provider_id TEXT NOT NULL,
    name        TEXT,
    UNIQUE (account_id, provider_id)
);

CREATE TABLE conversations (
    id                 INTEGER PRIMARY KEY,
    account_id         INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    company_id         INTEGER NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    provider_id        TEXT NOT NULL,
    title              TEXT,
    channel            TEXT,
    channel_id         TEXT,
    contact            TEXT,
    avatar_url         TEXT,
    created_at         INTEGER,
    remote_activity_at INTEGER,           -- last activity as the server reports it
    last_message_at    INTEGER,           -- what the inbox sorts by: the newest of the server's word and the cache
    assignee_id        TEXT,
    note               TEXT,
    bitrix_openlines   INTEGER,           -- NULL: unknown
    synced_activity_at INTEGER,           -- remote_activity_at when this thread was last brought up to date
    history_complete   INTEGER NOT NULL DEFAULT 0,
    backfill_cursor    TEXT,              -- where an interrupted first download of the thread resumes
    UNIQUE (account_id, provider_id)
);
CREATE INDEX conversations_by_activity ON conversations (last_message_at DESC, id DESC);
CREATE INDEX conversations_by_company ON conversations (company_id);

-- messages.id is time-ordered (created_at * 1000 + a tie-breaker), so "newest first" is "highest id first"
-- both for thread pages and for full-text search results.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    provider_id     TEXT NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    text            TEXT,
    created_at      INTEGER NOT NULL,
    status          TEXT NOT NULL,
    UNIQUE (account_id, provider_id)
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);

CREATE TABLE attachments (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    provider_id TEXT,
    file_name   TEXT,
    mime_type   TEXT,
    size        INTEGER,
    url         TEXT,
    preview_url TEXT,
    local_path  TEXT,                     -- set once the bytes were fetched into the data folder
    UNIQUE (message_id, position)
);

-- Full-text search. Messages are indexed in bulk: inserts only queue the row in fts_pending (cheap), and
-- Store::index_pending_messages moves the queue into the index in one statement.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE fts_pending (message_id INTEGER PRIMARY KEY);

CREATE TRIGGER messages_fts_queue AFTER INSERT ON messages
WHEN new.text IS NOT NULL AND new.text <> '' BEGIN
    INSERT OR IGNORE INTO fts_pending (message_id) VALUES (new.id);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text)
        SELECT 'delete', old.id, old.text
        WHERE old.text IS NOT NULL AND old.text <> ''
          AND NOT EXISTS (SELECT 1 FROM fts_pending WHERE message_id = old.id);
    DELETE FROM fts_pending WHERE message_id = old.id;
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages
WHEN old.text IS NOT new.text BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text)
        SELECT 'delete', old.id, old.text
        WHERE old.text IS NOT NULL AND old.text <> ''
          AND NOT EXISTS (SELECT 1 FROM fts_pending WHERE message_id = old.id);
    INSERT OR IGNORE INTO fts_pending (message_id) SELECT new.id WHERE new.text IS NOT NULL AND new.text <> '';
END;

CREATE VIRTUAL TABLE conversations_fts USING fts5(
    title, content = 'conversations', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversations_fts (rowid, title) VALUES (new.id, new.title);
END;
CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO conversations_fts (conversations_fts, rowid, title) VALUES ('delete', old.id, old.title);
END;
CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title ON conversations
WHEN old.title IS NOT new.title BEGIN
    INSERT INTO conversations_fts (conversations_fts, rowid, title) VALUES ('delete', old.id, old.title);
    INSERT INTO conversations_fts (rowid, title) VALUES (new.id, new.title);
END;

-- The outbox owns every send: written here first, then uploaded, sent and followed to delivery.
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY,
    account_id          INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    conversation_id     INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    text                TEXT,
    state               TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'delivered', 'failed')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER NOT NULL,
    last_error          TEXT,
    last_error_code     TEXT,
    send_started_at     INTEGER,          -- set while a send request may have reached the server: reconcile before resending
    job_id              TEXT,
    channel_id          TEXT,
    message_provider_id TEXT,
    lease_until         INTEGER,          -- a worker owns the entry until then
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE TABLE outbox_files (
    outbox_id              INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
    position               INTEGER NOT NULL,
    file_name              TEXT NOT NULL,
    mime_type              TEXT,
    size                   INTEGER NOT NULL,
    stored_path            TEXT NOT NULL, -- a copy inside the data folder, so moving the original loses nothing
    provider_attachment_id TEXT,          -- set once uploaded
    PRIMARY KEY (outbox_id, position)
);
