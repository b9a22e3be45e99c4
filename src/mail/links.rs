//! Single-use links sent by mail (verifying an address, resetting a password): a random token in
//! the link, only its SHA-256 in the database, bound to one purpose, one account and address, and
//! an expiry. Using a link is one conditional `UPDATE … RETURNING`, so of any number of concurrent
//! uses exactly one succeeds.

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::core::db::Db;

/// What a link is for; a link works only for its own purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
    /// "This wasn't me" in a new-sign-in notice: signs that one session out.
    NotMe,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::NotMe => "not_me",
        }
    }

    /// How long a link of this purpose works.
    pub fn lifetime_secs(self) -> i64 {
        match self {
            Purpose::VerifyEmail => 24 * 3600,
            Purpose::ResetPassword => 30 * 60,
            Purpose::NotMe => 7 * 24 * 3600,
        }
    }
}

/// A link's token: 256 random bits, URL-safe. Its `Debug` never shows it.
pub struct Token(pub String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([redacted])")
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Longest token accepted from a request (anything longer is not one of ours).
pub const MAX_TOKEN_CHARS: usize = 64;

/// Makes a link for `user_id` and `email`, valid from `now` for the purpose's lifetime, on the
/// caller's transaction (with the mail that carries it).
pub async fn issue(
    conn: &mut AnyConnection,
    purpose: Purpose,
    user_id: i64,
    email: &str,
    now: i64,
) -> Result<Token, sqlx::Error> {
    issue_about(conn, purpose, user_id, email, None, now).await
}

/// A "This wasn't me" link for the session with public handle `session`.
pub async fn issue_not_me(
    conn: &mut AnyConnection,
    user_id: i64,
    email: &str,
    session: &str,
    now: i64,
) -> Result<Token, sqlx::Error> {
    issue_about(conn, Purpose::NotMe, user_id, email, Some(session), now).await
}

async fn issue_about(
    conn: &mut AnyConnection,
    purpose: Purpose,
    user_id: i64,
    email: &str,
    session: Option<&str>,
    now: i64,
) -> Result<Token, sqlx::Error> {
    let token = data_encoding::BASE64URL_NOPAD.encode(&rand::random::<[u8; 32]>());
    sqlx::query(
        "INSERT INTO email_links (token_hash, purpose, user_id, email, created_at, expires_at, used_at, \
         session_public_id) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
    )
    .bind(token_hash(&token))
    .bind(purpose.as_str())
    .bind(user_id)
    .bind(email)
    .bind(now)
    .bind(now + purpose.lifetime_secs())
    .bind(session)
    .execute(conn)
    .await?;
    Ok(Token(token))
}

/// Whom an unused, unexpired link of `purpose` names: (account, address). Reads only.
pub async fn peek(db: &Db, purpose: Purpose, token: &str, now: i64) -> Result<Option<(i64, String)>, sqlx::Error> {
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT user_id, email FROM email_links \
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(token_hash(token))
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|row| (row.get(0), row.get(1))))
}

/// A link that was just used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsedLink {
    pub user_id: i64,
    /// The address it was sent to.
    pub email: String,
    /// For a "This wasn't me" link: the session it names (its public handle).
    pub session: Option<String>,
}

/// Uses the link, on the caller's transaction (with the change it allows), or `None` when it is
/// unknown, of another purpose, expired or already used.
pub async fn consume(
    conn: &mut AnyConnection,
    purpose: Purpose,
    token: &str,
    now: i64,
) -> Result<Option<UsedLink>, sqlx::Error> {
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Ok(None);
    }
    let row = sqlx::query(
        "UPDATE email_links SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL \
         AND expires_at > $3 RETURNING user_id, email, session_public_id",
    )
    .bind(token_hash(token))
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| UsedLink { user_id: row.get(0), email: row.get(1), session: row.get(2) }))
}

/// Every unused link of `purpose` for the account stops working (a newer one was sent, or the
/// change it was for happened another way).
pub async fn retire(conn: &mut AnyConnection, purpose: Purpose, user_id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE email_links SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL")
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes links that expired before `cutoff` (the sweeper's tidying).
pub async fn purge_expired(conn: &mut sqlx::AnyConnection, cutoff: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM email_links WHERE expires_at < $1").bind(cutoff).execute(conn).await?.rows_affected())
}
