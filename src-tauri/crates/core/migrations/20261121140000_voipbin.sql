-- VoIPbin accounts may sign in with a username and password: the username is kept here, the password
-- (or the access key) in the OS keyring like every other secret.
ALTER TABLE accounts ADD COLUMN username TEXT;
