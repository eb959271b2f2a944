-- Pact p2: conversation states, message statuses as the server reports them, replies and deletions,
-- one message per file where the API allows one attachment per message, and the request budget that
-- every process sharing the data folder (the app and parley-cli) keeps together.
ALTER TABLE conversations ADD COLUMN state TEXT;              -- open | archived | blocked; NULL: unknown (open)
ALTER TABLE conversations ADD COLUMN replied INTEGER;         -- 1 replied, 0 unreplied, NULL unknown
ALTER TABLE messages ADD COLUMN external_id TEXT;             -- the messenger's own id (p2 replies quote it)
ALTER TABLE messages ADD COLUMN reply_to TEXT;                -- external id of the message this one quotes
ALTER TABLE messages ADD COLUMN status_reason TEXT;           -- why the status is error, in the server's words
ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN reply_to TEXT;                  -- provider id of the message being answered
ALTER TABLE outbox_files ADD COLUMN message_provider_id TEXT; -- the message this file went out in (one file a message)

-- Request starts per token fingerprint (never the token) and rate-limit bucket, within the longest
-- window of the bucket; older rows are deleted as new ones are written.
CREATE TABLE request_budget (
    token_key  TEXT NOT NULL,
    bucket     TEXT NOT NULL,
    started_at INTEGER NOT NULL
);
CREATE INDEX request_budget_by_bucket ON request_budget (token_key, bucket, started_at);

-- A pause the server asked for (429 "Please wait for N seconds"): no request of the bucket before `until`.
CREATE TABLE request_holds (
    token_key TEXT NOT NULL,
    bucket    TEXT NOT NULL,
    until     INTEGER NOT NULL,
    PRIMARY KEY (token_key, bucket)
);

CREATE INDEX conversations_by_state ON conversations (state, last_message_at DESC);

-- When a paced sync last listed all of a company's conversations (NULL: never, so the next sync
-- lists them all; afterwards it reads only what moved).
ALTER TABLE companies ADD COLUMN listed_at INTEGER;
