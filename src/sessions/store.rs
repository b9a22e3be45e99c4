//! Keycard's tower-sessions store over its own `sessions` table.
//!
//! - Only the SHA-256 of the session id is stored: a copy of the table yields no usable cookie.
//! - Rows exist only for signed-in sessions ([`SessionAuth`] in the data); anonymous visitors never
//!   get one.
//! - Every load reads the database (no cache), so an ended session stops working on its very next
//!   request, on every instance. Loads enforce idle and absolute expiry and refresh "last seen" at
//!   most once per `last_seen_interval`.

use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use sqlx::Row;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::auth::{SessionAuth, Stage, AUTH_KEY};
use crate::core::db::{now, Db};

/// How long a session that has passed the password step but not the code step may live.
pub const PASSWORD_STEP_LIFETIME: Duration = Duration::from_secs(5 * 60);

#[derive(Clone, Debug)]
pub struct KeycardStore {
    db: Db,
    idle_timeout: Duration,
    last_seen_interval: Duration,
}

/// Why a session stopped working; stored in `end_reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    SignedOut,
    Revoked,
    Expired,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::SignedOut => "signed_out",
            EndReason::Revoked => "revoked",
            EndReason::Expired => "expired",
        }
    }
    pub fn parse(text: &str) -> Option<EndReason> {
        match text {
            "signed_out" => Some(EndReason::SignedOut),
            "revoked" => Some(EndReason::Revoked),
            "expired" => Some(EndReason::Expired),
            _ => None,
        }
    }
}

/// Hex SHA-256 of a session id: the only form of it that reaches the database.
pub fn hash_id(id: &Id) -> String {
    hex::encode(Sha256::digest(id.0.to_le_bytes()))
}

/// A random 128-bit hex handle naming a session to the browser (devices page); unrelated to the
/// session id, so it can be shown and posted without exposing anything usable.
pub fn public_handle() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The `session_ended` event of a row returned as `user_id, stage, ip, user_agent, public_id`.
pub fn session_ended_event(row: &sqlx::any::AnyRow, at: i64, reason: EndReason) -> crate::history::store::Event {
    crate::history::store::Event {
        user_id: row.get(0),
        kind: crate::history::Kind::SessionEnded,
        at,
        ip: row.get(2),
        user_agent: row.get(3),
        detail: super::devices::reason_label(reason).to_owned(),
        session_public_id: row.get(4),
    }
}

fn store_err(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

impl KeycardStore {
    pub fn new(db: Db, idle_timeout: Duration, last_seen_interval: Duration) -> Self {
        KeycardStore { db, idle_timeout, last_seen_interval }
    }

    fn idle_secs(&self, stage: Stage) -> i64 {
        match stage {
            Stage::Complete => self.idle_timeout.as_secs() as i64,
            Stage::PasswordVerified => PASSWORD_STEP_LIFETIME.as_secs() as i64,
        }
    }

    /// Marks a live session ended, with its `session_ended` history event in the same
    /// transaction (for fully signed-in sessions). Returns whether a live row was ended.
    pub async fn end(&self, id_hash: &str, reason: EndReason) -> Result<bool, sqlx::Error> {
        let mut tx = self.db.pool.begin().await?;
        let t = now();
        let row = sqlx::query(
            "UPDATE sessions SET ended_at = $1, end_reason = $2, data = '{}' \
             WHERE id_hash = $3 AND ended_at IS NULL RETURNING user_id, stage, ip, user_agent, public_id",
        )
        .bind(t)
        .bind(reason.as_str())
        .bind(id_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        if row.get::<String, _>(1) == Stage::Complete.as_str() {
            crate::history::store::record(&mut tx, &session_ended_event(&row, t, reason)).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The code step is done: the half-signed-in row goes, in one statement that must remove exactly
    /// one live row. False when it was already gone (a concurrent correct code, the lock-out, an
    /// expiry): then no full session may be created.
    pub async fn finish_password_step(&self, id_hash: &str) -> Result<bool, sqlx::Error> {
        let done =
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1 AND stage = 'password_verified' AND ended_at IS NULL")
                .bind(id_hash)
                .execute(&self.db.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Why the session with this id hash stopped working, if it did.
    pub async fn end_reason(&self, id_hash: &str) -> Result<Option<EndReason>, sqlx::Error> {
        let row =
            sqlx::query("SELECT end_reason, idle_expires_at, absolute_expires_at FROM sessions WHERE id_hash = $1")
                .bind(id_hash)
                .fetch_optional(&self.db.pool)
                .await?;
        Ok(row.and_then(|row| {
            let reason: Option<String> = row.get(0);
            match reason {
                Some(reason) => EndReason::parse(&reason),
                // Still marked live but past its expiry: the sweeper has not reached it yet.
                None => {
                    let t = now();
                    (t >= row.get::<i64, _>(1) || t >= row.get::<i64, _>(2)).then_some(EndReason::Expired)
                }
            }
        }))
    }
}

#[async_trait]
impl SessionStore for KeycardStore {
    /// A new row for a new sign-in, or, when the data already names a handle, the same session
    /// under a new id ([`super::auth::rotate_id`]: `cycle_id` has just deleted the old row).
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let mut auth = SessionAuth::from_record(record)
            .ok_or_else(|| store_err("refusing to store a session that is not signed in"))?;
        let rotated_handle = auth.public_id.clone();
        let t = now();
        let idle_expires_at = (t + self.idle_secs(auth.stage)).min(auth.absolute_expires_at);
        loop {
            let public_id = rotated_handle.clone().unwrap_or_else(public_handle);
            auth.public_id = Some(public_id.clone());
            // The handle enters the session's data only once the row is committed: a failed
            // attempt retried later must still be a new sign-in (with its event), not a rotation.
            let mut data_with_handle = record.data.clone();
            data_with_handle.insert(AUTH_KEY.to_owned(), serde_json::to_value(&auth).map_err(store_err)?);
            let data = serde_json::to_string(&data_with_handle).map_err(store_err)?;
            // The row and, for a completed sign-in, its history event (and new-device alert) commit together.
            let mut tx = self.db.pool.begin().await.map_err(store_err)?;
            let inserted = sqlx::query(
                "INSERT INTO sessions (id_hash, user_id, data, stage, method, remember, created_at, \
                 last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, public_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (id_hash) DO NOTHING",
            )
            .bind(hash_id(&record.id))
            .bind(auth.user_id)
            .bind(&data)
            .bind(auth.stage.as_str())
            .bind(auth.method.as_str())
            .bind(auth.remember as i64)
            .bind(auth.signed_in_at)
            .bind(t)
            .bind(idle_expires_at)
            .bind(auth.absolute_expires_at)
            .bind(&auth.ip)
            .bind(&auth.user_agent)
            .bind(&public_id)
            // A rotated session whose old row was ended meanwhile (signed out from another
            // device) conflicts with that ended row's handle: it is not brought back.
            .execute(&mut *tx)
            .await
            .map_err(store_err)?;
            if inserted.rows_affected() == 1 {
                if auth.stage == Stage::Complete && rotated_handle.is_none() {
                    let event = crate::history::store::Event {
                        user_id: auth.user_id,
                        kind: crate::history::Kind::SignedIn,
                        at: t,
                        ip: auth.ip.clone(),
                        user_agent: auth.user_agent.clone(),
                        detail: super::devices::method_label(auth.method.as_str()).to_owned(),
                        session_public_id: Some(public_id),
                    };
                    crate::history::store::record_sign_in(&mut tx, &event).await.map_err(store_err)?;
                }
                tx.commit().await.map_err(store_err)?;
                record.data = data_with_handle;
                return Ok(());
            }
            tx.rollback().await.map_err(store_err)?;
            // A 128-bit collision is all but impossible; never overwrite someone else's row.
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let Some(auth) = SessionAuth::from_record(record) else {
            return Err(store_err("refusing to store a session that is not signed in"));
        };
        let data = serde_json::to_string(&record.data).map_err(store_err)?;
        // Only live rows are updated: a session ended elsewhere is never brought back.
        sqlx::query("UPDATE sessions SET data = $1, stage = $2, method = $3 WHERE id_hash = $4 AND ended_at IS NULL")
            .bind(&data)
            .bind(auth.stage.as_str())
            .bind(auth.method.as_str())
            .bind(hash_id(&record.id))
            .execute(&self.db.pool)
            .await
            .map_err(store_err)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let id_hash = hash_id(id);
        let row = sqlx::query(
            "SELECT data, stage, last_seen_at, idle_expires_at, absolute_expires_at, public_id FROM sessions \
             WHERE id_hash = $1 AND ended_at IS NULL",
        )
        .bind(&id_hash)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(store_err)?;
        let Some(row) = row else { return Ok(None) };
        let data: String = row.get(0);
        let stage = Stage::parse(row.get::<String, _>(1).as_str()).unwrap_or(Stage::PasswordVerified);
        let last_seen_at: i64 = row.get(2);
        let idle_expires_at: i64 = row.get(3);
        let absolute_expires_at: i64 = row.get(4);
        let t = now();
        if t >= idle_expires_at || t >= absolute_expires_at {
            self.end(&id_hash, EndReason::Expired).await.map_err(store_err)?;
            return Ok(None);
        }
        if t - last_seen_at >= self.last_seen_interval.as_secs() as i64 {
            sqlx::query(
                "UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 \
                 WHERE id_hash = $3 AND ended_at IS NULL",
            )
            .bind(t)
            .bind((t + self.idle_secs(stage)).min(absolute_expires_at))
            .bind(&id_hash)
            .execute(&self.db.pool)
            .await
            .map_err(store_err)?;
        }
        let mut data: std::collections::HashMap<String, serde_json::Value> =
            serde_json::from_str(&data).map_err(store_err)?;
        // The row's handle is the truth (rows from before handles were kept in the data have one too).
        if let (Some(serde_json::Value::Object(auth)), Some(handle)) =
            (data.get_mut(AUTH_KEY), row.get::<Option<String>, _>(5))
        {
            auth.insert("public_id".to_owned(), serde_json::Value::String(handle));
        }
        let expiry_date = OffsetDateTime::from_unix_timestamp(absolute_expires_at).map_err(store_err)?;
        Ok(Some(Record { id: *id, data, expiry_date }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        // Called when the id is replaced (cycle at sign-in): the old row simply goes. Sign-out
        // and revocation end rows with a reason first, so they stay for the device history.
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1 AND ended_at IS NULL")
            .bind(hash_id(id))
            .execute(&self.db.pool)
            .await
            .map_err(store_err)?;
        Ok(())
    }
}
