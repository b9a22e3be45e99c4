-- Devices page: an opaque public handle per session, so the browser never sees the id hash.
-- Keep equivalent to migrations/postgres/20261122000003_devices.sql.
-- Rows from before this migration keep NULL and are left out of the devices list; every new row
-- gets a random 128-bit handle from the store.
ALTER TABLE sessions ADD COLUMN public_id TEXT;
CREATE UNIQUE INDEX sessions_by_public_id ON sessions (public_id);
-- The sweeper looks for live rows past their absolute lifetime and for old ended rows.
CREATE INDEX sessions_by_absolute_expiry ON sessions (absolute_expires_at);
CREATE INDEX sessions_by_ended ON sessions (ended_at);
