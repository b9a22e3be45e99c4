-- Outgoing mail. Keep equivalent to migrations/sqlite/20261127000002_outbox.sql.
--
-- A row is written in the same transaction as the event the mail is about, so a mail exists
-- exactly when its event committed; the worker (src/mail/worker.rs) claims due rows, sends them
-- and marks them.
-- kind: what the mail is for (e.g. verify_email, password_reset, new_device), for logs.
-- next_attempt_at: not tried before this; each failure moves it forward (exponential back-off).
-- attempts: tries so far, failed or not.
-- lease_until: set by the worker that claimed the row; no other worker claims it before this
--   passes (NULL when unclaimed).
-- sent_at, gave_up_at: a row with either is finished; last_error: the latest failure, for operators.
CREATE TABLE outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT,
    sent_at BIGINT,
    gave_up_at BIGINT,
    last_error TEXT
);
-- The claim: unfinished rows in the order they fall due.
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE sent_at IS NULL AND gave_up_at IS NULL;
-- The purge of finished rows.
CREATE INDEX outbox_by_created ON outbox (created_at);
