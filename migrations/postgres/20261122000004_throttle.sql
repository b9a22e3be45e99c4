-- Failure counters for throttling (sign-in by email and by IP, sign-up by IP), shared by every
-- instance. Keep equivalent to migrations/sqlite/20261122000004_throttle.sql.
CREATE TABLE throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL
);
CREATE INDEX throttle_by_last_failure ON throttle (last_failure_at);
