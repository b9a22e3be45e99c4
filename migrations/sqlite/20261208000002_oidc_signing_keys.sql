-- The keys Keycard signs ID tokens and logout tokens with. Keep equivalent to
-- migrations/postgres/20261208000002_oidc_signing_keys.sql.
--
-- private_key: the PKCS#8 key, sealed under Keycard's secret key (XChaCha20-Poly1305, hex).
-- public_jwk: the public half as the JWK published at /oauth/jwks.
-- retired_at: when a newer key replaced it; it stays published a day longer.
-- signing: 1 for the one key that signs, NULL for the others: its unique index lets only one
-- first key in when first requests race.
CREATE TABLE oidc_signing_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kid TEXT NOT NULL UNIQUE,
    algorithm TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER,
    signing INTEGER UNIQUE
);
