-- The agent's daily work: conversations started from Parley, attachments by link, saved replies and
-- teammates known by name.

-- A conversation started here lives under a placeholder id ("new-…") until the outbox has opened it
-- on the server; then the row takes the server's id, and the placeholder is remembered so a window
-- (or a CLI run) holding it can find the conversation again.
ALTER TABLE conversations ADD COLUMN pending_start INTEGER NOT NULL DEFAULT 0;
CREATE TABLE started_conversations (
    account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    placeholder_id TEXT NOT NULL,
    provider_id    TEXT NOT NULL,
    PRIMARY KEY (account_id, placeholder_id)
);
-- How the outbox opens the conversation before (or while) sending the entry's text: JSON with the
-- messenger, the normalised contact and the WABA template. NULL for every other entry.
ALTER TABLE outbox ADD COLUMN start_request TEXT;

-- A link the server fetches itself (`file_url`) instead of a staged file; stored_path is '' then.
ALTER TABLE outbox_files ADD COLUMN source_url TEXT;

-- Reusable replies: for one account, or for all (account_id NULL). `{name}` in the text is filled
-- with the contact's name when inserted.
CREATE TABLE saved_replies (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX saved_replies_by_title ON saved_replies (title COLLATE NOCASE);

-- Teammates by name: as the provider lists them (VoIPbin agents), and names the agent gave user ids
-- itself ("42 = Olga") where the provider lists none. A label wins over the provider's name.
CREATE TABLE teammates (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    name       TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE TABLE teammate_labels (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    name       TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
