-- The share of a token's rate limits this data folder takes, inferred from 429s when other clients
-- (other computers with the same token) use the limits too; no row means the full limits. Kept per
-- token fingerprint (never the token), so the next start begins with the share the last one ended on.
CREATE TABLE request_share (
    token_key     TEXT PRIMARY KEY,
    share         REAL NOT NULL,      -- fraction of every limit, in (0, 1]
    step          REAL NOT NULL,      -- the next raise
    changed_at    INTEGER NOT NULL,   -- ms on this computer's clock: when the share last changed
    raised        INTEGER NOT NULL,   -- 1 when that change was a raise, 0 a cut
    refusals      INTEGER NOT NULL DEFAULT 0, -- 429s that told of other clients, all time
    last_refusal  INTEGER,            -- ms: the newest of them
    account_id    INTEGER             -- the account that last used it (for diagnostics)
);
