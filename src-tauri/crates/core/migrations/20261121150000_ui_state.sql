-- What the window keeps between runs: a draft per conversation, and small settings (key/value), such as
-- the user's own id per account (for the "Mine" filter) and the recently used assignees.
CREATE TABLE drafts (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    text            TEXT NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The "Unassigned" and "Mine" filters read the assignee of conversations in activity order.
CREATE INDEX conversations_by_assignee ON conversations (assignee_id, last_message_at DESC);
