-- Passkeys (WebAuthn credentials). Keep equivalent to migrations/postgres/20261130000001_passkeys.sql.
--
-- credential_id: the authenticator's credential id, base64url (public: browsers send it).
-- credential: webauthn-rs' stored passkey as JSON: the public key, the signature counter and the
-- backup flags; nothing in it signs anything, so it is stored as it is.
-- kind: what sort of authenticator made it, when the browser said ('synced', 'security_key',
-- 'this_device', 'phone', or 'unknown').
CREATE TABLE passkeys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX passkeys_by_user ON passkeys (user_id);

-- The WebAuthn user handle of an account (a random UUID given with its first passkey): what a
-- passkey hands back at sign-in to say whose it is, without naming the account.
ALTER TABLE users ADD COLUMN passkey_user_handle TEXT;
CREATE UNIQUE INDEX users_by_passkey_user_handle ON users (passkey_user_handle);

-- Each ceremony's challenge is accepted once: the finish inserts its hash here before checking
-- anything else, and a second finish with the same challenge finds it taken. Rows are useless
-- after expires_at (the ceremony's own expiry) and are deleted by later finishes.
CREATE TABLE passkey_challenges_used (
    challenge_hash TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX passkey_challenges_used_by_expiry ON passkey_challenges_used (expires_at);
