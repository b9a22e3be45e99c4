-- Which optional security notices the person turned off. Keep equivalent to
-- migrations/postgres/20261127000004_notice_settings.sql.
-- muted_notices: comma-separated notice kinds (only those src/mail/notices.rs lists as optional;
--   security-critical notices are always sent).
ALTER TABLE users ADD COLUMN muted_notices TEXT NOT NULL DEFAULT '';
