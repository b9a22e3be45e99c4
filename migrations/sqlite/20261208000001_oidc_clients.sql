-- Apps that sign people in through Keycard (OpenID Connect clients), registered by the operator with
-- `keycard admin apps add`. Keep equivalent to migrations/postgres/20261208000001_oidc_clients.sql.
--
-- client_id: public, random. secret_hash: SHA-256 of the client secret (256 random bits, shown once);
-- NULL for a public app (single-page, mobile or command-line), which has no secret.
-- redirect_uris, post_logout_redirect_uris: one URI a line, each matched exactly as written.
CREATE TABLE oidc_clients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    secret_hash TEXT,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    backchannel_logout_uri TEXT,
    created_at INTEGER NOT NULL,
    secret_rotated_at INTEGER
);
