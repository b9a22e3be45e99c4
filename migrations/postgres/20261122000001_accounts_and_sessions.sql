-- Accounts and server-side sessions. Times are Unix seconds; flags are 0/1 integers.
-- Keep equivalent to migrations/sqlite/20261122000001_accounts_and_sessions.sql.
CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

-- One row per signed-in browser. id_hash is the SHA-256 (hex) of the cookie's session id, so the
-- table yields no usable cookie. Rows with ended_at set are never loaded again.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    stage TEXT NOT NULL,
    method TEXT NOT NULL,
    remember BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    ended_at BIGINT,
    end_reason TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id, ended_at);
CREATE INDEX sessions_by_idle_expiry ON sessions (idle_expires_at);
