//! Keycard's tower-sessions store over its own `sessions` table.
//!
//! - Only the SHA-256 of the session id is stored: a copy of the table yields no usable cookie.
//! - Rows exist only for signed-in sessions ([`SessionAuth`] in the data); anonymous visitors never
//!   get one.
//! - Every load reads the database (no cache), so an ended session stops working on its very next
//!   request, on every instance. Loads enforce idle and absolute expiry and refresh "last seen" at
//!   most once per `last_seen_interval`.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::keys::{SessionAuth, AUTH};
use super::lifecycle::{end_sessions_now, is_live, Sessions};
use crate::core::principal::{EndReason, Stage};
use crate::core::sqlite_reads::Param;
use crate::core::state::AppState;
use crate::history::{store as history, Kind};

/// How long a session that has passed the password step but not the code step may live.
pub const PASSWORD_STEP_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// SQL that is true when the account `user_id_param` may start a session (it is not disabled).
/// New session rows are inserted only under it, and on PostgreSQL the account's row is share-locked
/// (`FOR SHARE`), so a sign-in racing `keycard admin disable` either commits first (and its row is
/// ended by the disable) or sees the account disabled.
pub fn may_sign_in_sql(user_id_param: &str, is_sqlite: bool) -> String {
    let lock = if is_sqlite { "" } else { " FOR SHARE" };
    format!("EXISTS (SELECT 1 FROM users WHERE id = {user_id_param} AND disabled_at IS NULL{lock})")
}

/// The store's refusal to start a session for a disabled account (see [`is_account_disabled`]).
const ACCOUNT_DISABLED: &str = "the account is disabled";
const NOT_SIGNED_IN: &str = "refusing to store a session that is not signed in";

/// The insert of a new session row: never over an existing id, and only while the account may
/// sign in (see [`may_sign_in_sql`]).
fn insert_sql(is_sqlite: bool) -> String {
    format!(
        "INSERT INTO sessions (id_hash, user_id, data, stage, method, remember, created_at, \
         last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, public_id) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 WHERE {} \
         ON CONFLICT (id_hash) DO NOTHING",
        may_sign_in_sql("$2", is_sqlite)
    )
}
static INSERT_SQLITE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| insert_sql(true));
static INSERT_POSTGRES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| insert_sql(false));

async fn account_disabled(db: &crate::core::db::Db, user_id: i64) -> Result<bool, sqlx::Error> {
    let disabled: Option<Option<i64>> = sqlx::query_scalar("SELECT disabled_at FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(disabled.is_some_and(|at| at.is_some()))
}

/// Whether a session error is the store refusing a disabled account's new session (a sign-in that
/// raced `keycard admin disable`).
pub fn is_account_disabled(err: &tower_sessions::session::Error) -> bool {
    matches!(err, tower_sessions::session::Error::Store(session_store::Error::Backend(msg)) if msg == ACCOUNT_DISABLED)
}

/// The columns [`KeycardStore::load`] reads.
struct LoadedRow {
    data: String,
    stage: String,
    last_seen_at: i64,
    idle_expires_at: i64,
    absolute_expires_at: i64,
    public_id: Option<String>,
    email: String,
    email_verified: bool,
    open_alerts: i64,
}

#[derive(Clone, Debug)]
pub struct KeycardStore {
    /// The settings (idle timeout, "last seen" interval) and what the new-device notice written
    /// with a sign-in needs (mail settings, the key that seals mail at rest).
    state: AppState,
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

/// The session data as stored, in a stable key order: the account's email and whether it is
/// verified are read from `users` on every load, never kept, and [`WRITTEN`] is not data.
fn data_to_store(data: &HashMap<String, serde_json::Value>) -> Result<String, StoreFailure> {
    let mut data: std::collections::BTreeMap<String, serde_json::Value> =
        data.iter().filter(|(key, _)| key.as_str() != WRITTEN).map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Some(serde_json::Value::Object(auth)) = data.get_mut(AUTH.name) {
        auth.remove("email");
        auth.remove("email_verified");
    }
    Ok(serde_json::to_string(&data)?)
}

/// Kept in a record (in memory only) once this process has written it: the SHA-256 of the data as
/// written. Starting a session saves at once (so a failure is that request's error), and the
/// session layer saves the same record again as the answer leaves; that second save finds nothing
/// changed and writes nothing.
const WRITTEN: &str = "__written";

fn fingerprint(stored: &str) -> serde_json::Value {
    serde_json::Value::String(hex::encode(Sha256::digest(stored.as_bytes())))
}

/// Why the store failed, told to the session layer as its `Backend` error text.
enum StoreFailure {
    /// A database failure, keeping whether the database was unreachable.
    Db(sqlx::Error),
    Other(String),
}

impl From<sqlx::Error> for StoreFailure {
    fn from(err: sqlx::Error) -> Self {
        StoreFailure::Db(err)
    }
}

impl From<serde_json::Error> for StoreFailure {
    fn from(err: serde_json::Error) -> Self {
        StoreFailure::Other(err.to_string())
    }
}

impl From<time::error::ComponentRange> for StoreFailure {
    fn from(err: time::error::ComponentRange) -> Self {
        StoreFailure::Other(err.to_string())
    }
}

impl From<StoreFailure> for session_store::Error {
    fn from(failure: StoreFailure) -> Self {
        session_store::Error::Backend(match failure {
            StoreFailure::Db(err) => crate::errors::describe_for_session_store(&err),
            StoreFailure::Other(text) => text,
        })
    }
}

fn refused(why: &str) -> StoreFailure {
    StoreFailure::Other(why.to_owned())
}

impl KeycardStore {
    pub fn new(state: AppState) -> Self {
        KeycardStore { state }
    }

    fn idle_secs(&self, stage: Stage) -> i64 {
        match stage {
            Stage::Complete => self.state.config.idle_timeout.as_secs() as i64,
            Stage::PasswordVerified => PASSWORD_STEP_LIFETIME.as_secs() as i64,
        }
    }

    /// A new row for a new sign-in, or, when the data already names a handle, the same session
    /// under a new id ([`super::sign_in::rotate_id`]: `cycle_id` has just deleted the old row).
    async fn insert_row(&self, record: &mut Record) -> Result<(), StoreFailure> {
        let mut auth = SessionAuth::from_record(record).ok_or_else(|| refused(NOT_SIGNED_IN))?;
        let rotated_handle = auth.public_id.clone();
        let t = self.state.db.clock.now();
        let idle_expires_at = (t + self.idle_secs(auth.stage)).min(auth.absolute_expires_at);
        loop {
            let public_id = rotated_handle.clone().unwrap_or_else(public_handle);
            auth.public_id = Some(public_id.clone());
            // The handle enters the session's data only once the row is committed: a failed
            // attempt retried later must still be a new sign-in (with its event), not a rotation.
            let mut data_with_handle = record.data.clone();
            data_with_handle.insert(AUTH.name.to_owned(), serde_json::to_value(&auth)?);
            let data = data_to_store(&data_with_handle)?;
            // The row and, for a completed sign-in, its history event (and new-device alert) commit together.
            let mut tx = self.state.db.pool.begin().await?;
            let inserted = sqlx::query(if self.state.db.is_sqlite { &INSERT_SQLITE } else { &INSERT_POSTGRES })
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
                .await?;
            if inserted.rows_affected() == 1 {
                if auth.stage == Stage::Complete && rotated_handle.is_none() {
                    let event = history::Event {
                        user_id: auth.user_id,
                        kind: Kind::SignedIn,
                        at: t,
                        ip: auth.ip.clone(),
                        user_agent: auth.user_agent.clone(),
                        detail: auth.method.label().to_owned(),
                        session_public_id: Some(public_id),
                    };
                    if history::record_sign_in(&mut tx, &event).await? {
                        crate::mail::notices::new_device(&mut tx, &self.state, &event).await?;
                    }
                }
                tx.commit().await?;
                record.data = data_with_handle;
                record.data.insert(WRITTEN.to_owned(), fingerprint(&data));
                return Ok(());
            }
            tx.rollback().await?;
            if account_disabled(&self.state.db, auth.user_id).await? {
                return Err(refused(ACCOUNT_DISABLED));
            }
            // A 128-bit collision is all but impossible; never overwrite someone else's row.
            record.id = Id::default();
        }
    }

    async fn update_row(&self, record: &Record) -> Result<(), StoreFailure> {
        let Some(auth) = SessionAuth::from_record(record) else {
            return Err(refused(NOT_SIGNED_IN));
        };
        let data = data_to_store(&record.data)?;
        if record.data.get(WRITTEN) == Some(&fingerprint(&data)) {
            return Ok(());
        }
        // Only live rows are updated: a session ended elsewhere is never brought back.
        sqlx::query("UPDATE sessions SET data = $1, stage = $2, method = $3 WHERE id_hash = $4 AND ended_at IS NULL")
            .bind(&data)
            .bind(auth.stage.as_str())
            .bind(auth.method.as_str())
            .bind(hash_id(&record.id))
            .execute(&self.state.db.pool)
            .await?;
        Ok(())
    }

    /// The session's row, joined with its account's email (and whether it is verified) and the
    /// number of open alerts it may answer, in one read.
    /// Never an app connection's row: those are reached only through their tokens.
    async fn read_row(&self, id: &Id) -> Result<Option<Record>, StoreFailure> {
        let id_hash = hash_id(id);
        // With the number of alerts this session may answer: most pages then need no alert query.
        static LOAD: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT s.data, s.stage, s.last_seen_at, s.idle_expires_at, s.absolute_expires_at, s.public_id, \
                 u.email, u.email_verified_at, \
                 (SELECT COUNT(*) FROM history_events h WHERE h.user_id = s.user_id AND h.alert = 1 \
                  AND h.alert_ack_at IS NULL AND {open}) \
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.ended_at IS NULL \
                 AND s.client_name IS NULL",
                open = history::raised_after_viewer("s.public_id"),
            )
        });
        let rows = self
            .state
            .db
            .read_rows(LOAD.as_str(), &[Param::Text(&id_hash)], |row| {
                Ok(LoadedRow {
                    data: row.text(0)?,
                    stage: row.text(1)?,
                    last_seen_at: row.int(2)?,
                    idle_expires_at: row.int(3)?,
                    absolute_expires_at: row.int(4)?,
                    public_id: row.opt_text(5)?,
                    email: row.text(6)?,
                    email_verified: row.opt_int(7)?.is_some(),
                    open_alerts: row.int(8)?,
                })
            })
            .await?;
        let Some(row) = rows.into_iter().next() else { return Ok(None) };
        let stage = Stage::parse(&row.stage).unwrap_or(Stage::PasswordVerified);
        let (last_seen_at, idle_expires_at, absolute_expires_at) =
            (row.last_seen_at, row.idle_expires_at, row.absolute_expires_at);
        let t = self.state.db.clock.now();
        if !is_live(None, idle_expires_at, absolute_expires_at, t) {
            end_sessions_now(&self.state.db, Sessions::ById(&id_hash), EndReason::Expired).await?;
            return Ok(None);
        }
        if t - last_seen_at >= self.state.config.last_seen_interval.as_secs() as i64 {
            sqlx::query(
                "UPDATE sessions SET last_seen_at = $1, idle_expires_at = $2 \
                 WHERE id_hash = $3 AND ended_at IS NULL",
            )
            .bind(t)
            .bind((t + self.idle_secs(stage)).min(absolute_expires_at))
            .bind(&id_hash)
            .execute(&self.state.db.pool)
            .await?;
        }
        let mut data: HashMap<String, serde_json::Value> = serde_json::from_str(&row.data)?;
        // The row's handle is the truth (rows from before handles were kept in the data have one
        // too), and the email and whether it is verified come from the account.
        if let Some(serde_json::Value::Object(auth)) = data.get_mut(AUTH.name) {
            if let Some(handle) = row.public_id {
                auth.insert("public_id".to_owned(), serde_json::Value::String(handle));
            }
            auth.insert("email".to_owned(), serde_json::Value::String(row.email));
            auth.insert("email_verified".to_owned(), serde_json::Value::Bool(row.email_verified));
            auth.insert("open_alerts".to_owned(), serde_json::Value::from(row.open_alerts));
        }
        let expiry_date = OffsetDateTime::from_unix_timestamp(absolute_expires_at)?;
        Ok(Some(Record { id: *id, data, expiry_date }))
    }

    async fn delete_row(&self, id: &Id) -> Result<(), StoreFailure> {
        // Called when the id is replaced (cycle at sign-in): the old row simply goes. Sign-out
        // and other endings end rows with a reason first, so they stay for the device history.
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1 AND ended_at IS NULL")
            .bind(hash_id(id))
            .execute(&self.state.db.pool)
            .await?;
        Ok(())
    }
}

/// The session layer's four calls, each answered by the method of the same job above.
#[async_trait]
impl SessionStore for KeycardStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        Ok(self.insert_row(record).await?)
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        Ok(self.update_row(record).await?)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        Ok(self.read_row(id).await?)
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        Ok(self.delete_row(id).await?)
    }
}
