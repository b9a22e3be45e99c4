//! Security notices by mail: written into the outbox in the transaction of the change they
//! announce, and only to a proven (verified) address. Without mail configured, nothing is written.

use sqlx::{AnyConnection, Row};

use crate::core::config::Config;

/// The account's address when it has been proven (verified), read on the caller's transaction.
pub async fn proven_address(conn: &mut AnyConnection, user_id: i64) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT email FROM users WHERE id = $1 AND email_verified_at IS NOT NULL")
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|row| row.get(0)))
}

/// Enqueues a notice to the account's proven address, if mail is on and there is one, with a
/// link to the security page.
pub async fn notify(
    conn: &mut AnyConnection,
    config: &Config,
    user_id: i64,
    kind: &'static str,
    subject: &str,
    paragraphs: &[&str],
    now: i64,
) -> Result<(), sqlx::Error> {
    if !crate::mail::enabled(config) {
        return Ok(());
    }
    let Some(address) = proven_address(&mut *conn, user_id).await? else {
        return Ok(());
    };
    let security = format!("{}{}", config.public_url, crate::routes::SECURITY);
    let mail =
        crate::mail::compose(&address, kind, subject, paragraphs, Some(("Review your account's security", &security)));
    crate::mail::enqueue(conn, &mail, now).await?;
    Ok(())
}
