//! SQL for the `users` table.

use sqlx::{AnyConnection, Row};

use crate::core::db::{is_unique_violation, Db};

/// What sign-in needs to know about an account.
#[derive(Clone)]
pub struct Credentials {
    pub user_id: i64,
    pub password_hash: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user_id", &self.user_id).field("password_hash", &"[redacted]").finish()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub created_at: i64,
    pub password_changed_at: i64,
}

#[derive(Debug)]
pub enum InsertError {
    EmailTaken,
    Db(sqlx::Error),
}

/// Creates the account on `conn`, normally a transaction that also writes what comes with a new
/// account (its verification link and mail).
pub async fn insert_user(
    conn: &mut AnyConnection,
    email: &str,
    email_key: &str,
    password_hash: &str,
    at: i64,
) -> Result<i64, InsertError> {
    sqlx::query(
        "INSERT INTO users (email, email_key, password_hash, created_at, password_changed_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(email)
    .bind(email_key)
    .bind(password_hash)
    .bind(at)
    .fetch_one(conn)
    .await
    .map(|row| row.get::<i64, _>(0))
    .map_err(|err| if is_unique_violation(&err) { InsertError::EmailTaken } else { InsertError::Db(err) })
}

pub async fn credentials_by_email_key(db: &Db, email_key: &str) -> Result<Option<Credentials>, sqlx::Error> {
    Ok(sign_in_credentials(db, email_key).await?.map(|account| account.credentials))
}

/// What sign-in reads about an account, in one statement.
#[derive(Clone, Debug)]
pub struct SignInAccount {
    pub credentials: Credentials,
    /// Two-step sign-in is on: the password leads only to the code step.
    pub two_step_on: bool,
    /// An administrator disabled the account: even the right password does not sign in.
    pub disabled: bool,
}

/// The credentials of the account with `email_key`, whether two-step sign-in is on for it and
/// whether it is disabled, in one read (sign-in needs all three).
pub async fn sign_in_credentials(db: &Db, email_key: &str) -> Result<Option<SignInAccount>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, password_hash, EXISTS (SELECT 1 FROM totp_secrets t WHERE t.user_id = users.id \
         AND t.enabled_at IS NOT NULL), disabled_at FROM users WHERE email_key = $1",
    )
    .bind(email_key)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let two_step_on = crate::core::db::exists_column(&row, 2)?;
    Ok(Some(SignInAccount {
        credentials: Credentials { user_id: row.get(0), password_hash: row.get(1) },
        two_step_on,
        disabled: row.get::<Option<i64>, _>(3).is_some(),
    }))
}

pub async fn account_by_id(db: &Db, user_id: i64) -> Result<Option<Account>, sqlx::Error> {
    let row = sqlx::query("SELECT id, email, created_at, password_changed_at FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|row| Account {
        id: row.get(0),
        email: row.get(1),
        created_at: row.get(2),
        password_changed_at: row.get(3),
    }))
}

/// The email key and credentials of a signed-in account (its password typed again), in one read.
pub async fn credentials_by_id(db: &Db, user_id: i64) -> Result<Option<(String, Credentials)>, sqlx::Error> {
    let row = sqlx::query("SELECT email_key, password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|row| (row.get(0), Credentials { user_id, password_hash: row.get(1) })))
}

/// Sets a new password hash (inside the caller's transaction, with the change's other effects).
pub async fn set_password_hash(conn: &mut AnyConnection, user_id: i64, hash: &str, at: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(at)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks the account's address verified at `at`, on the caller's transaction, but only while it
/// is still `email` (the address the link was sent to). Returns whether it did.
pub async fn set_email_verified(
    conn: &mut AnyConnection,
    user_id: i64,
    email: &str,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE users SET email_verified_at = $1 WHERE id = $2 AND email = $3")
        .bind(at)
        .bind(user_id)
        .bind(email)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
