-- Verified addresses and single-use links sent by mail. Keep equivalent to
-- migrations/sqlite/20261127000003_email_links.sql.
--
-- email_verified_at: when the account's current address was proven by a link (NULL: unverified;
--   notices go only to verified addresses).
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;

-- token_hash: SHA-256 (hex) of the link's random token; the token itself is only in the mail.
-- purpose: verify_email or reset_password; a link works only for its purpose.
-- email: the address the link was sent to (a verification proves exactly this address).
-- session_public_id: for not_me links, the session (by its public handle) the link signs out.
-- used_at: set by the one request that used it (single use).
CREATE TABLE email_links (
    token_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    session_public_id TEXT
);
CREATE INDEX email_links_by_user ON email_links (user_id, purpose);
