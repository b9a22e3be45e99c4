//! The outbox: one row per mail, written in the caller's transaction ([`enqueue`]) so that a mail
//! exists exactly when the event it reports committed, then claimed, sent and marked by the worker
//! ([`super::worker`]).
//!
//! Delivery is at least once, made once in practice: a row is claimed with a lease by one atomic
//! statement ([`claim`]), so two workers (instances) never hold the same row at the same time, and a
//! worker starts no send that could outlast its lease. Only a crash between the server accepting a
//! mail and [`mark_sent`] (or clocks of instances that disagree by more than a minute) can send a
//! mail twice; the Message-ID is the same each time, so mail clients show it once.
//!
//! Failures retry with exponential back-off ([`retry_delay`]); a mail still undelivered
//! [`GIVE_UP_AFTER_SECS`] after it was written is given up, logged at error level and counted.

use std::time::Duration;

use sqlx::AnyConnection;

use super::metrics::MailMetrics;
use crate::core::db::Db;
use crate::core::secrets::SecretKey;

/// Wait after the first failure; each further failure doubles it.
pub const FIRST_RETRY_SECS: i64 = 30;
/// The longest wait between two attempts.
pub const MAX_RETRY_SECS: i64 = 3600;
/// A mail not delivered this long after it was written is given up at its next failure: its news
/// (a sign-in link, a notice) is stale by then.
pub const GIVE_UP_AFTER_SECS: i64 = 24 * 3600;
/// Finished rows (sent or given up) are deleted this long after they were written: their bodies
/// hold links and personal details that need not be kept.
pub const FINISHED_RETENTION_SECS: i64 = 7 * 24 * 3600;
/// `last_error` keeps at most this many characters.
const ERROR_CHARS: usize = 500;

/// A mail to send: plain text and HTML versions of the same message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    /// One address, e.g. `ada@example.com`.
    pub to: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    /// What the mail is for (`verify_email`, `password_reset`, `new_device`, …), for logs.
    pub kind: &'static str,
}

/// Mail bodies carry single-use links (reset, verification, "This wasn't me"): they are sealed at
/// rest with the server's key ([`crate::core::secrets`]), so a copy of the database yields none.
const BODY_CONTEXT: &str = "outbox-body";

/// A body as [`enqueue`] sealed it, opened; `None` when it does not open with this key.
pub fn open_body(key: &SecretKey, sealed: &str) -> Option<String> {
    key.open(BODY_CONTEXT, sealed).ok().and_then(|bytes| String::from_utf8(bytes).ok())
}

/// Writes `mail` into the outbox on `conn`, normally the transaction that records the event the
/// mail is about: it is sent only if that transaction commits. Returns the row's id. Callers skip
/// this when mail is off ([`super::enabled`]).
pub async fn enqueue(conn: &mut AnyConnection, key: &SecretKey, mail: &Mail, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO outbox (to_address, subject, text_body, html_body, kind, created_at, next_attempt_at, attempts) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0) RETURNING id",
    )
    .bind(&mail.to)
    .bind(&mail.subject)
    .bind(key.seal(BODY_CONTEXT, mail.text_body.as_bytes()))
    .bind(key.seal(BODY_CONTEXT, mail.html_body.as_bytes()))
    .bind(mail.kind)
    .bind(now)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// A row the caller holds the lease of, until [`Claimed::lease_until`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub kind: String,
    pub created_at: i64,
    /// Attempts before this one.
    pub attempts: i64,
    /// The lease ends then; it also identifies this claim (a later claim sets a later time).
    pub lease_until: i64,
}

/// Claims up to `batch` rows due at `now` (unfinished, `next_attempt_at` passed, no live lease),
/// earliest due first, leasing them until `now + lease`. One statement: on SQLite it runs under
/// the database's single write lock; on PostgreSQL the subquery locks the rows it picks and skips
/// rows another claim has locked (`FOR UPDATE SKIP LOCKED`), and the outer condition is checked
/// again on the locked row, so two instances never claim the same row.
pub async fn claim(db: &Db, now: i64, lease: Duration, batch: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    let lease_until = now + lease.as_secs().max(1) as i64;
    let lock = if db.is_sqlite { "" } else { " FOR UPDATE SKIP LOCKED" };
    let sql = format!(
        "UPDATE outbox SET lease_until = $1 \
         WHERE id IN (SELECT id FROM outbox \
                      WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $2 \
                        AND (lease_until IS NULL OR lease_until <= $3) \
                      ORDER BY next_attempt_at, id LIMIT $4{lock}) \
           AND sent_at IS NULL AND gave_up_at IS NULL AND (lease_until IS NULL OR lease_until <= $5) \
         RETURNING id, to_address, subject, text_body, html_body, kind, created_at, attempts"
    );
    type ClaimedRow = (i64, String, String, String, String, String, i64, i64);
    let rows: Vec<ClaimedRow> =
        sqlx::query_as(&sql).bind(lease_until).bind(now).bind(now).bind(batch).bind(now).fetch_all(&db.pool).await?;
    let mut claimed: Vec<Claimed> = rows
        .into_iter()
        .map(|(id, to, subject, text_body, html_body, kind, created_at, attempts)| Claimed {
            id,
            to,
            subject,
            text_body,
            html_body,
            kind,
            created_at,
            attempts,
            lease_until,
        })
        .collect();
    // RETURNING has no order; send in the order the rows fell due.
    claimed.sort_by_key(|c| c.id);
    Ok(claimed)
}

/// Records that the SMTP server accepted the mail. Not conditional on the lease: the mail is sent,
/// whoever holds the row now. Returns false when the row was already marked sent.
pub async fn mark_sent(db: &Db, claimed: &Claimed, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE outbox SET sent_at = $1, attempts = attempts + 1, lease_until = NULL \
         WHERE id = $2 AND sent_at IS NULL",
    )
    .bind(now)
    .bind(claimed.id)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What [`mark_failed`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Tried again at this time.
    RetryAt(i64),
    /// Undelivered for [`GIVE_UP_AFTER_SECS`]: never tried again.
    GaveUp,
    /// The lease had lapsed and another worker holds the row; nothing was changed.
    NotHeld,
}

/// The wait before the next attempt after `attempts` failed ones: 30 s, 1 min, 2 min, … up to 1 h.
pub fn retry_delay(attempts: i64) -> i64 {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    (FIRST_RETRY_SECS << doublings).min(MAX_RETRY_SECS)
}

/// Whether a mail that failed may be tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// A passing failure (the server refused for now, or could not be reached): tried again after
    /// [`retry_delay`] until it was written [`GIVE_UP_AFTER_SECS`] ago.
    WhileInTime,
    /// It can never be sent (an invalid address, say): given up at once.
    Never,
}

/// Records a failed attempt at `now`, while `claimed`'s lease still holds the row: it is retried
/// or given up as `retry` says (a mail given up is logged at error level and counted in
/// [`MailMetrics::given_up`]).
pub async fn mark_failed(
    db: &Db,
    claimed: &Claimed,
    now: i64,
    error: &str,
    retry: Retry,
    metrics: &MailMetrics,
) -> Result<Failure, sqlx::Error> {
    let attempts = claimed.attempts + 1;
    let in_time = now - claimed.created_at < GIVE_UP_AFTER_SECS;
    let retry_at = (retry == Retry::WhileInTime && in_time).then(|| now + retry_delay(attempts));
    let (column, at) = match retry_at {
        Some(next) => ("next_attempt_at", next),
        None => ("gave_up_at", now),
    };
    let sql = format!(
        "UPDATE outbox SET attempts = $1, {column} = $2, lease_until = NULL, last_error = $3 \
         WHERE id = $4 AND lease_until = $5 AND sent_at IS NULL AND gave_up_at IS NULL"
    );
    let done = sqlx::query(&sql)
        .bind(attempts)
        .bind(at)
        .bind(truncated(error))
        .bind(claimed.id)
        .bind(claimed.lease_until)
        .execute(&db.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(Failure::NotHeld);
    }
    metrics.count_failed_attempt();
    let Some(next) = retry_at else {
        metrics.count_given_up();
        // The recipient is left out: logs are kept longer and wider than the outbox.
        tracing::error!(outbox_id = claimed.id, kind = %claimed.kind, attempts,
            written_secs_ago = now - claimed.created_at, error, "mail given up: it will not be sent");
        return Ok(Failure::GaveUp);
    };
    tracing::warn!(outbox_id = claimed.id, kind = %claimed.kind, attempts, retry_in_secs = next - now, error,
        "mail not sent; will retry");
    Ok(Failure::RetryAt(next))
}

/// Gives a claimed row back untried (the worker is stopping, or its lease is nearly over), so that
/// the next pass of any worker takes it without waiting for the lease to end.
pub async fn release(db: &Db, claimed: &Claimed) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox SET lease_until = NULL WHERE id = $1 AND lease_until = $2 AND sent_at IS NULL")
        .bind(claimed.id)
        .bind(claimed.lease_until)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Deletes finished rows written more than [`FINISHED_RETENTION_SECS`] before `now`, `batch` rows
/// per statement. Returns how many went.
pub async fn purge_finished(db: &Db, now: i64, batch: i64) -> Result<u64, sqlx::Error> {
    let mut purged = 0;
    loop {
        let done = sqlx::query(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
             WHERE created_at < $1 AND (sent_at IS NOT NULL OR gave_up_at IS NOT NULL) LIMIT $2)",
        )
        .bind(now - FINISHED_RETENTION_SECS)
        .bind(batch)
        .execute(&db.pool)
        .await?
        .rows_affected();
        purged += done;
        if done < batch as u64 {
            return Ok(purged);
        }
        tokio::task::yield_now().await;
    }
}

fn truncated(error: &str) -> String {
    error.chars().take(ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_to_an_hour() {
        let delays: Vec<i64> = (1..=9).map(retry_delay).collect();
        assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(retry_delay(0), 30);
        assert_eq!(retry_delay(i64::MAX), 3600);
    }
}
