-- Unread state, kept locally (Pact p1 has no read flag): a conversation is unread when a customer message
-- arrived after the user last opened it. History downloaded by a first sync counts as seen.
ALTER TABLE conversations ADD COLUMN last_incoming_at INTEGER;
ALTER TABLE conversations ADD COLUMN read_at INTEGER;
UPDATE conversations SET last_incoming_at = (
    SELECT MAX(created_at) FROM messages m WHERE m.conversation_id = conversations.id AND m.direction = 'in'
);
UPDATE conversations SET read_at = last_incoming_at;
-- Set when an account's first sync completes: until then, downloaded history counts as seen.
ALTER TABLE accounts ADD COLUMN first_synced_at INTEGER;
UPDATE accounts SET first_synced_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000
WHERE EXISTS (SELECT 1 FROM conversations c WHERE c.account_id = accounts.id);
