-- Apps and command-line tools connected through the device flow (RFC 8628). Keep equivalent to
-- migrations/postgres/20261128000001_app_connections.sql.
--
-- An app connection is a row of `sessions` (so the devices page lists it, and every way
-- sessions end ends it too) whose client_name is set and whose data is empty: its id_hash
-- belongs to no cookie, it only ties the connection's tokens together (one token family).
ALTER TABLE sessions ADD COLUMN client_name TEXT;

-- One pairing request. Codes are stored only as hashes: device_code_hash is SHA-256 of the
-- secret the app polls with; user_code_hash is a keyed hash of the short code a person types.
-- decision: NULL while pending, then 'approved' (user_id set) or 'denied'; redeemed_at is set by
-- the one poll that received the tokens (single use), and only while the session that approved
-- it (approved_by, its id hash) is still live. next_poll_at: the app's next poll may not
-- come before this (RFC 8628 slow_down); poll_interval grows by 5 s on each early poll.
CREATE TABLE device_grants (
    device_code_hash TEXT PRIMARY KEY,
    user_code_hash TEXT NOT NULL UNIQUE,
    client_name TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    poll_interval INTEGER NOT NULL,
    next_poll_at INTEGER NOT NULL,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    decision TEXT,
    decided_at INTEGER,
    approved_by TEXT,
    redeemed_at INTEGER
);
CREATE INDEX device_grants_by_expiry ON device_grants (expires_at);

-- Access and refresh tokens of app connections, stored only as SHA-256 hashes. kind: 'access'
-- or 'refresh'. rotated_at: when a refresh token was exchanged for new tokens; presenting it
-- again is reuse, which ends the whole connection. Tokens go with their connection's row.
CREATE TABLE app_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id_hash TEXT NOT NULL REFERENCES sessions(id_hash) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER
);
CREATE INDEX app_tokens_by_session ON app_tokens (session_id_hash);
CREATE INDEX app_tokens_by_expiry ON app_tokens (expires_at);
