-- Throttle rows say when their count lapses (each limit has its own lapse: a day for sign-in by
-- email, a week for the second-factor budget of an account), so the periodic purge needs no
-- knowledge of the limits. Keep equivalent to migrations/postgres/20261123000001_throttle_reservations.sql.
ALTER TABLE throttle ADD COLUMN lapses_at INTEGER NOT NULL DEFAULT 0;
UPDATE throttle SET lapses_at = last_failure_at + 86400;
CREATE INDEX throttle_by_lapse ON throttle (lapses_at);
-- totp_secrets.failed_attempts is no longer used: wrong codes count in throttle, per account
-- (key second-factor:user:<id>), reserved before each code is checked.
