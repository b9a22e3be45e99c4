//! The periodic session sweep: live rows past their idle or absolute expiry are marked ended
//! ("expired"), and ended rows older than 30 days are deleted.
//!
//! Work is done in small batches (one short statement each, yielding in between), so the sweep
//! never holds a long lock that would stall sign-ins. The store already refuses expired rows on
//! load; the sweep only tidies, so a late or skipped pass is harmless.

use std::time::Duration;

use tokio::sync::watch;

use super::lifecycle::{end_sessions, Sessions, ENDED_RETENTION_SECS};
use crate::core::db::Db;
use crate::core::periodic::{every, next_turn};
use crate::core::principal::EndReason;

/// Rows changed per statement.
pub const BATCH: i64 = 500;

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub expired: u64,
    pub purged: u64,
}

/// One full pass at time `now`, in batches of `batch` rows. Callable from tests.
pub async fn sweep_once(db: &Db, now: i64, batch: i64) -> Result<SweepReport, sqlx::Error> {
    let mut report = SweepReport::default();
    loop {
        // One transaction per batch: each row is ended at the moment it expired, with its
        // `session_ended` history event.
        let mut tx = db.pool.begin().await?;
        let ended = end_sessions(&mut tx, Sessions::AnyUpTo(batch), EndReason::Expired, now).await?;
        tx.commit().await?;
        report.expired += ended.len() as u64;
        if (ended.len() as i64) < batch {
            break;
        }
        tokio::task::yield_now().await;
    }
    loop {
        let done = delete_old_ended(&mut *db.pool.acquire().await?, now, batch).await?;
        report.purged += done;
        if done < batch as u64 {
            break;
        }
        tokio::task::yield_now().await;
    }
    Ok(report)
}

/// Deletes at most `batch` sessions that ended more than [`ENDED_RETENTION_SECS`] before `now`.
pub async fn delete_old_ended(conn: &mut sqlx::AnyConnection, now: i64, batch: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions \
         WHERE ended_at IS NOT NULL AND ended_at < $1 LIMIT $2)",
    )
    .bind(now - ENDED_RETENTION_SECS)
    .bind(batch)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Default retention of history events (`KEYCARD_HISTORY_RETENTION_DAYS`).
pub const DEFAULT_HISTORY_RETENTION_SECS: i64 = 365 * 24 * 3600;

/// Deletes history events older than `retention_secs`, in batches. Returns how many went.
pub async fn purge_history(db: &Db, now: i64, retention_secs: i64, batch: i64) -> Result<u64, sqlx::Error> {
    let mut purged = 0;
    loop {
        let done =
            crate::history::store::purge_batch(&mut *db.pool.acquire().await?, now - retention_secs, batch).await?;
        purged += done;
        if done < batch as u64 {
            return Ok(purged);
        }
        tokio::task::yield_now().await;
    }
}

/// Lapsed throttle rows, and mail links a day past their expiry (of no use to anyone).
async fn purge_small_tables(db: &Db) -> Result<(), sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    crate::core::throttle::purge_lapsed(&mut conn, db.clock.now()).await?;
    crate::mail::links::purge_expired(&mut conn, db.clock.now() - MAIL_LINK_GRACE_SECS).await?;
    Ok(())
}

/// Mail links stay this long past their expiry (a late click still learns the link expired).
pub const MAIL_LINK_GRACE_SECS: i64 = 24 * 3600;

/// Runs [`sweep_once`] every `interval` until `stop` turns true (or its sender is dropped).
pub fn spawn(db: Db, interval: Duration, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    spawn_with_history(db, interval, DEFAULT_HISTORY_RETENTION_SECS, stop)
}

/// [`spawn`], also purging history events older than `history_retention_secs` on every pass.
pub fn spawn_with_history(
    db: Db,
    interval: Duration,
    history_retention_secs: i64,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = every(interval);
        while next_turn(&mut ticks, &mut stop).await {
            match sweep_once(&db, db.clock.now(), BATCH).await {
                Ok(report) if report != SweepReport::default() => {
                    tracing::info!(expired = report.expired, purged = report.purged, "session sweep");
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "session sweep failed; will retry"),
            }
            match purge_history(&db, db.clock.now(), history_retention_secs, BATCH).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "history purge"),
                Err(err) => tracing::warn!(error = %err, "history purge failed; will retry"),
            }
            if let Err(err) = purge_small_tables(&db).await {
                tracing::warn!(error = %err, "throttle or mail link purge failed; will retry");
            }
        }
        tracing::debug!("session sweeper stopped");
    })
}
