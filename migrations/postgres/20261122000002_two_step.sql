-- Two-step sign-in: one TOTP secret per account and its recovery codes.
-- Keep equivalent to migrations/sqlite/20261122000002_two_step.sql.
--
-- secret is hex of nonce ‖ XChaCha20-Poly1305 ciphertext under the server's secret key, bound to
-- the user id; enabled_at stays NULL until a correct code confirms the enrolment.
-- last_used_step: the newest TOTP time step accepted (each step works once).
-- failed_attempts: wrong codes since the last success (throttling across instances).
CREATE TABLE totp_secrets (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    enabled_at BIGINT,
    last_used_step BIGINT NOT NULL DEFAULT 0,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- code_hash is hex HMAC-SHA256 of the normalised code under a key derived from the secret key.
CREATE TABLE recovery_codes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX recovery_codes_by_user ON recovery_codes (user_id, code_hash);
