//! Access and refresh tokens of app connections (`app_tokens`), stored only as hashes.
//!
//! A connection is a `sessions` row ([`open_connection`]); its tokens are one family. An access
//! token works until it expires (`KEYCARD_ACCESS_TOKEN_SECS`) and only while the connection is
//! live ([`authenticate`]), so ending the row — on any instance, by any path — stops it on the
//! next request. A refresh token works once ([`refresh`]): exchanging it marks it rotated and
//! issues a new pair. Presenting a rotated one again means two parties hold the family (the
//! OAuth 2.0 security best current practice's reuse detection): the whole connection ends, the
//! history records it and the account gets an alert. A client that lost the answer to a refresh
//! therefore has to connect again; that is the price of noticing a stolen token.

use sqlx::{AnyConnection, Row};

use super::codes::Secret;
use super::grants::Approved;
use crate::core::config::Config;
use crate::core::db::Db;
use crate::core::origin::RequestOrigin;
use crate::core::principal::EndReason;
use crate::core::state::AppState;
use crate::history::{store as history, Kind};
use crate::sessions::lifecycle::{end_sessions, live_sql_of, Sessions};

/// The stored `method` of an app connection's row.
pub const APP_METHOD: &str = "app";

/// A new access token and refresh token (RFC 6749 section 5.1).
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenPair {{ expires_in: {}, .. }}", self.expires_in)
    }
}

/// Token lifetimes from the configuration, in seconds.
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    pub access: i64,
    pub refresh_idle: i64,
    pub refresh_absolute: i64,
}

impl Lifetimes {
    pub fn from_config(config: &Config) -> Lifetimes {
        Lifetimes {
            access: config.access_token_lifetime.as_secs() as i64,
            refresh_idle: config.refresh_idle_lifetime.as_secs() as i64,
            refresh_absolute: config.refresh_absolute_lifetime.as_secs() as i64,
        }
    }
}

async fn issue(
    conn: &mut AnyConnection,
    session_id_hash: &str,
    now: i64,
    access_lifetime: i64,
    refresh_expires_at: i64,
) -> Result<TokenPair, sqlx::Error> {
    let pair = TokenPair {
        access_token: Secret::AccessToken.generate(),
        refresh_token: Secret::RefreshToken.generate(),
        expires_in: access_lifetime,
    };
    for (secret, kind, token, expires_at) in [
        (Secret::AccessToken, "access", &pair.access_token, now + access_lifetime),
        (Secret::RefreshToken, "refresh", &pair.refresh_token, refresh_expires_at),
    ] {
        sqlx::query(
            "INSERT INTO app_tokens (token_hash, session_id_hash, kind, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(secret.hash(token).unwrap_or_default())
        .bind(session_id_hash)
        .bind(kind)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(pair)
}

/// Opens the connection an approved pairing request asked for (on the caller's transaction,
/// the one that redeemed it) and issues its first tokens. Returns them and the connection's handle,
/// or `None` when the account was disabled meanwhile (no connection is opened).
pub async fn open_connection(
    conn: &mut AnyConnection,
    is_sqlite: bool,
    approved: &Approved,
    lifetimes: Lifetimes,
    now: i64,
) -> Result<Option<(TokenPair, String)>, sqlx::Error> {
    // The row's id hash names the token family only: it is the hash of nothing any cookie carries.
    let id_hash = Secret::DeviceCode.hash(&Secret::DeviceCode.generate()).unwrap_or_default();
    let handle = crate::sessions::store::public_handle();
    let absolute = now + lifetimes.refresh_absolute;
    let idle = (now + lifetimes.refresh_idle).min(absolute);
    let sql = format!(
        "INSERT INTO sessions (id_hash, user_id, data, stage, method, remember, created_at, last_seen_at, \
         idle_expires_at, absolute_expires_at, ip, user_agent, public_id, client_name) \
         SELECT $1, $2, '{{}}', 'complete', $3, 1, $4, $4, $5, $6, $7, $8, $9, $10 WHERE {}",
        crate::sessions::store::may_sign_in_sql("$2", is_sqlite)
    );
    let opened = sqlx::query(&sql)
        .bind(&id_hash)
        .bind(approved.user_id)
        .bind(APP_METHOD)
        .bind(now)
        .bind(idle)
        .bind(absolute)
        .bind(&approved.ip)
        .bind(&approved.user_agent)
        .bind(&handle)
        .bind(&approved.client_name)
        .execute(&mut *conn)
        .await?;
    if opened.rows_affected() == 0 {
        return Ok(None);
    }
    crate::core::metrics::session_started("app");
    let pair = issue(conn, &id_hash, now, lifetimes.access, idle).await?;
    Ok(Some((pair, handle)))
}

/// What a refresh token got.
#[derive(Debug)]
pub enum Refreshed {
    Tokens(TokenPair),
    /// Unknown, expired, or of a connection that has ended.
    Invalid,
    /// Already exchanged before: the connection has now ended.
    Reused,
}

/// Exchanges a refresh token for a new pair, or detects its reuse and ends the connection, in
/// one transaction. The exchange is one statement that marks the token rotated only if it was
/// not yet: of two concurrent uses, one gets tokens and the other is reuse.
pub async fn refresh(
    state: &AppState,
    presented: &str,
    origin: &RequestOrigin,
    now: i64,
) -> Result<Refreshed, sqlx::Error> {
    let Some(hash) = Secret::RefreshToken.hash(presented) else { return Ok(Refreshed::Invalid) };
    let lifetimes = Lifetimes::from_config(&state.config);
    let mut tx = state.db.pool.begin().await?;
    let sql = format!(
        "UPDATE app_tokens SET rotated_at = $2 WHERE token_hash = $1 AND kind = 'refresh' AND rotated_at IS NULL \
         AND expires_at > $2 AND session_id_hash IN (SELECT s.id_hash FROM sessions s WHERE {}) \
         RETURNING session_id_hash",
        live_sql_of("s", "$2"),
    );
    let exchanged = sqlx::query(&sql).bind(&hash).bind(now).fetch_optional(&mut *tx).await?;
    if let Some(row) = exchanged {
        let id_hash: String = row.get(0);
        let idle = sqlx::query(
            "UPDATE sessions SET last_seen_at = $2, idle_expires_at = CASE WHEN absolute_expires_at < $3 \
             THEN absolute_expires_at ELSE $3 END WHERE id_hash = $1 RETURNING idle_expires_at",
        )
        .bind(&id_hash)
        .bind(now)
        .bind(now + lifetimes.refresh_idle)
        .fetch_one(&mut *tx)
        .await?
        .get::<i64, _>(0);
        let pair = issue(&mut tx, &id_hash, now, lifetimes.access, idle).await?;
        tx.commit().await?;
        return Ok(Refreshed::Tokens(pair));
    }
    let earlier = sqlx::query(
        "SELECT session_id_hash FROM app_tokens WHERE token_hash = $1 AND kind = 'refresh' AND rotated_at IS NOT NULL",
    )
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(earlier) = earlier else { return Ok(Refreshed::Invalid) };
    let id_hash: String = earlier.get(0);
    let ended = end_sessions(&mut tx, Sessions::ById(&id_hash), EndReason::TokenReused, now).await?;
    // Only the first reuse of a live connection raises the alarm; later ones find it ended.
    if let Some(connection) = ended.first() {
        let event = history::Event {
            user_id: connection.user_id,
            kind: Kind::RefreshTokenReused,
            at: now,
            ip: origin.ip.clone(),
            user_agent: origin.user_agent.clone(),
            detail: "An old refresh token was presented again, so the app's connection was ended".to_owned(),
            session_public_id: connection.handle.clone(),
        };
        history::record_alert(&mut tx, &event).await?;
        crate::mail::notices::for_event(&mut tx, state, &event, None).await?;
    }
    tx.commit().await?;
    Ok(Refreshed::Reused)
}

/// The app connection an access token belongs to, while both are live.
#[derive(Clone, PartialEq, Eq)]
pub struct AppPrincipal {
    pub user_id: i64,
    pub email: String,
    pub email_verified: bool,
    /// The connection's public handle.
    pub handle: String,
    /// The connection's row (token family).
    pub id_hash: String,
    pub client_name: String,
}

impl std::fmt::Debug for AppPrincipal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppPrincipal").field("user_id", &self.user_id).field("handle", &self.handle).finish()
    }
}

/// The connection of a presented access token: one read joining token, connection and account.
/// Marks the connection used ("last used") at most once per `last_seen_interval` seconds.
pub async fn authenticate(
    db: &Db,
    presented: &str,
    now: i64,
    last_seen_interval: i64,
) -> Result<Option<AppPrincipal>, sqlx::Error> {
    let Some(hash) = Secret::AccessToken.hash(presented) else { return Ok(None) };
    let sql = format!(
        "SELECT s.user_id, u.email, u.email_verified_at, s.public_id, s.id_hash, s.client_name, s.last_seen_at \
         FROM app_tokens t JOIN sessions s ON s.id_hash = t.session_id_hash JOIN users u ON u.id = s.user_id \
         WHERE t.token_hash = $1 AND t.kind = 'access' AND t.expires_at > $2 AND {}",
        live_sql_of("s", "$2"),
    );
    let Some(row) = sqlx::query(&sql).bind(&hash).bind(now).fetch_optional(&db.pool).await? else {
        return Ok(None);
    };
    let principal = AppPrincipal {
        user_id: row.get(0),
        email: row.get(1),
        email_verified: row.get::<Option<i64>, _>(2).is_some(),
        handle: row.get::<Option<String>, _>(3).unwrap_or_default(),
        id_hash: row.get(4),
        client_name: row.get::<Option<String>, _>(5).unwrap_or_default(),
    };
    if now - row.get::<i64, _>(6) >= last_seen_interval {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1 AND ended_at IS NULL")
            .bind(&principal.id_hash)
            .bind(now)
            .execute(&db.pool)
            .await?;
    }
    Ok(Some(principal))
}

/// Deletes access tokens past their expiry and refresh tokens past theirs (the sweeper's
/// clean-up). Rotated refresh tokens stay until they expire, to recognise their reuse.
pub async fn purge_expired(conn: &mut AnyConnection, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM app_tokens WHERE expires_at < $1").bind(now).execute(conn).await?;
    Ok(done.rows_affected())
}
