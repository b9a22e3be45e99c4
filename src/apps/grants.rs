//! Pairing requests of the device flow (RFC 8628), in `device_grants`: created by an app
//! ([`create`]), looked up and decided on `/connect` ([`pending`], [`decide`]), and polled by the
//! app until it receives its tokens ([`poll`]). Each step is one statement that decides, so a
//! code is decided once and redeemed once, however many requests race for it.

use sqlx::{AnyConnection, Row};

use super::codes::{new_user_code, user_code_hash, Secret};
use super::{CODE_LIFETIME_SECS, POLL_INTERVAL_SECS};
use crate::core::origin::RequestOrigin;
use crate::core::secrets::SecretKey;
use crate::sessions::lifecycle::live_sql_of;

/// What `POST /oauth/device` answers: the secrets of a new pairing request.
pub struct NewGrant {
    pub device_code: String,
    pub user_code: String,
}

impl std::fmt::Debug for NewGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewGrant { .. }")
    }
}

/// Stores a new pairing request for `client_name`, asked from `origin`.
pub async fn create(
    conn: &mut AnyConnection,
    secrets: &SecretKey,
    client_name: &str,
    origin: &RequestOrigin,
    now: i64,
) -> Result<NewGrant, sqlx::Error> {
    let device_code = Secret::DeviceCode.generate();
    let device_code_hash = Secret::DeviceCode.hash(&device_code).unwrap_or_default();
    // A user code equal to one still stored (about one in 25 billion per stored code) is drawn again.
    loop {
        let user_code = new_user_code();
        let inserted = sqlx::query(
            "INSERT INTO device_grants (device_code_hash, user_code_hash, client_name, ip, user_agent, created_at, \
             expires_at, poll_interval, next_poll_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $6) \
             ON CONFLICT (user_code_hash) DO NOTHING",
        )
        .bind(&device_code_hash)
        .bind(user_code_hash(secrets, &user_code))
        .bind(client_name)
        .bind(&origin.ip)
        .bind(&origin.user_agent)
        .bind(now)
        .bind(now + CODE_LIFETIME_SECS)
        .bind(POLL_INTERVAL_SECS)
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(NewGrant { device_code, user_code });
        }
    }
}

/// A pending request as `/connect` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub client_name: String,
    pub ip: String,
    pub user_agent: String,
    pub created_at: i64,
}

fn pending_from(row: &sqlx::any::AnyRow) -> Pending {
    Pending { client_name: row.get(0), ip: row.get(1), user_agent: row.get(2), created_at: row.get(3) }
}

/// The undecided, unexpired request with this (canonical) user code.
pub async fn pending(
    db: &crate::core::db::Db,
    secrets: &SecretKey,
    code: &str,
    now: i64,
) -> Result<Option<Pending>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT client_name, ip, user_agent, created_at FROM device_grants \
         WHERE user_code_hash = $1 AND decision IS NULL AND expires_at > $2",
    )
    .bind(user_code_hash(secrets, code))
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.as_ref().map(pending_from))
}

/// The person's answer on `/connect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Deny,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approved",
            Decision::Deny => "denied",
        }
    }
}

/// Records `decision` by `user_id` (in the session `approved_by`) on the pending request with
/// this user code, in one statement: only one decision is ever taken. `None` when there is no
/// such pending request (unknown, expired, already decided).
pub async fn decide(
    conn: &mut AnyConnection,
    secrets: &SecretKey,
    code: &str,
    decision: Decision,
    user_id: i64,
    approved_by: &str,
    now: i64,
) -> Result<Option<Pending>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE device_grants SET decision = $3, user_id = $4, approved_by = $5, decided_at = $2 \
         WHERE user_code_hash = $1 AND decision IS NULL AND expires_at > $2 \
         RETURNING client_name, ip, user_agent, created_at",
    )
    .bind(user_code_hash(secrets, code))
    .bind(now)
    .bind(decision.as_str())
    .bind(user_id)
    .bind(approved_by)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(pending_from))
}

/// An approved request, redeemed by this poll: the connection to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approved {
    pub user_id: i64,
    pub client_name: String,
    pub ip: String,
    pub user_agent: String,
}

/// What a poll of the token endpoint finds (RFC 8628 section 3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Poll {
    /// Unknown device code, or already redeemed, or approved by a session that has ended since.
    Invalid,
    Expired,
    /// Polled before the interval was over: the interval grows by 5 seconds.
    SlowDown,
    Pending,
    Denied,
    /// Approved and now redeemed by this poll (on the caller's transaction).
    Approved(Approved),
}

/// One poll with `device_code`, on the caller's transaction (which then opens the connection).
pub async fn poll(conn: &mut AnyConnection, device_code: &str, now: i64) -> Result<Poll, sqlx::Error> {
    let Some(hash) = Secret::DeviceCode.hash(device_code) else { return Ok(Poll::Invalid) };
    let row = sqlx::query("SELECT expires_at, redeemed_at FROM device_grants WHERE device_code_hash = $1")
        .bind(&hash)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(Poll::Invalid) };
    if row.get::<Option<i64>, _>(1).is_some() {
        return Ok(Poll::Invalid);
    }
    if row.get::<i64, _>(0) <= now {
        return Ok(Poll::Expired);
    }
    // The poll slot: one statement takes it or finds the app early.
    let slot = sqlx::query(
        "UPDATE device_grants SET next_poll_at = $2 + poll_interval \
         WHERE device_code_hash = $1 AND next_poll_at <= $2 RETURNING decision",
    )
    .bind(&hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(slot) = slot else {
        sqlx::query(
            "UPDATE device_grants SET poll_interval = poll_interval + 5, next_poll_at = $2 + poll_interval + 5 \
             WHERE device_code_hash = $1",
        )
        .bind(&hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        return Ok(Poll::SlowDown);
    };
    match slot.get::<Option<String>, _>(0).as_deref() {
        None => Ok(Poll::Pending),
        Some("denied") => Ok(Poll::Denied),
        Some(_) => {
            // Redeemed once, and only while the approving session is live: a password change or
            // "sign out all other devices" after the approval also stops this connection.
            let sql = format!(
                "UPDATE device_grants SET redeemed_at = $2 WHERE device_code_hash = $1 AND redeemed_at IS NULL \
                 AND decision = 'approved' AND EXISTS (SELECT 1 FROM sessions s WHERE s.id_hash = approved_by \
                 AND s.user_id = device_grants.user_id AND {}) \
                 RETURNING user_id, client_name, ip, user_agent",
                live_sql_of("s", "$2"),
            );
            let redeemed = sqlx::query(&sql).bind(&hash).bind(now).fetch_optional(&mut *conn).await?;
            Ok(match redeemed {
                Some(row) => Poll::Approved(Approved {
                    user_id: row.get(0),
                    client_name: row.get(1),
                    ip: row.get(2),
                    user_agent: row.get(3),
                }),
                None => Poll::Invalid,
            })
        }
    }
}

/// Deletes requests expired for a day (the sweeper's clean-up).
pub async fn purge_expired(conn: &mut AnyConnection, now: i64) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM device_grants WHERE expires_at < $1").bind(now - 24 * 3600).execute(conn).await?;
    Ok(done.rows_affected())
}
