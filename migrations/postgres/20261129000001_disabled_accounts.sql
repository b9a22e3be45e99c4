-- An administrator can disable an account (`keycard admin disable`): its sessions end and it
-- cannot sign in until enabled again. Keep equivalent to
-- migrations/sqlite/20261129000001_disabled_accounts.sql.
-- disabled_at: unix seconds when it was disabled; NULL while the account may sign in.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
