//! Deleting an account: the `users` row and everything hanging off it (sessions, two-step
//! secret, recovery codes; the foreign keys cascade, and the child rows are also deleted
//! explicitly so the outcome does not depend on a connection's foreign-key setting), in one
//! transaction. Its sessions stop working at once: their rows are gone, so no cookie loads.

use crate::core::db::Db;

pub use crate::errors::ACCOUNT_DELETED;

/// Whether `typed` names the account's email (case and surrounding spaces ignored).
pub fn confirms_email(typed: &str, email: &str) -> bool {
    let typed = typed.trim();
    !typed.is_empty() && typed.eq_ignore_ascii_case(email.trim())
}

/// Removes the account `user_id` and its data. Returns whether an account was deleted.
pub async fn delete_account(db: &Db, user_id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    // Child tables first (the cascade would do the same); the history table of issue 5 cascades
    // from users too.
    for sql in [
        "DELETE FROM recovery_codes WHERE user_id = $1",
        "DELETE FROM email_links WHERE user_id = $1",
        "DELETE FROM totp_secrets WHERE user_id = $1",
        "DELETE FROM passkeys WHERE user_id = $1",
        "DELETE FROM sessions WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
    }
    let deleted = sqlx::query("DELETE FROM users WHERE id = $1").bind(user_id).execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(deleted > 0)
}
