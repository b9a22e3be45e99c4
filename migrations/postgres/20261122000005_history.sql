-- Security history of each account, and new-device alerts.
-- Keep equivalent to migrations/sqlite/20261122000005_history.sql.
--
-- kind: signed_in, sign_in_failed, code_failed, two_step_on, two_step_off, recovery_code_used,
-- recovery_codes_regenerated, password_changed, session_ended, other_sessions_ended.
-- detail: short, person-facing text chosen by the server (method, reason); never a secret.
-- device_key: for signed_in events, "browser family|OS|network prefix" (the new-device rule).
-- session_public_id: the session the event is about (signed_in: the new session).
-- alert: 1 when a signed_in event is from a new device; alert_ack_at when it was acknowledged.
CREATE TABLE history_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    detail TEXT NOT NULL,
    device_key TEXT,
    session_public_id TEXT,
    alert BIGINT NOT NULL DEFAULT 0,
    alert_ack_at BIGINT
);
CREATE INDEX history_by_user ON history_events (user_id, id);
CREATE INDEX history_by_device ON history_events (user_id, device_key, at);
CREATE INDEX history_by_at ON history_events (at);
