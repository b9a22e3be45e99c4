//! Throttling, kept in the database so every instance shares it and restarts don't reset it.
//!
//! - Sign-in by email (whether or not it has an account, so throttling reveals nothing): the first
//!   5 consecutive failures are free, then each further one blocks that email for 2^(n-5) seconds,
//!   capped at an hour. At most ~17 guesses fit in the first hour and one an hour after that, well
//!   under NIST 800-63B's 100 consecutive failures, and no block is permanent: it ends by itself,
//!   and a correct password (once allowed) clears the count. The count also lapses after a day
//!   without failures.
//! - Sign-in by IP: the same curve starting after 20 failures; the count lapses after an hour.
//! - Sign-up by IP: at most 10 accounts an hour.

use sqlx::Row;

use crate::core::db::{now, Db};
use crate::errors::AppError;

const MAX_BLOCK_SECS: i64 = 3600;

/// One throttled thing and its rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    pub key: String,
    /// Failures allowed before blocking starts.
    free: i64,
    /// A count whose last failure is older than this starts again from zero.
    lapse_secs: i64,
    /// Past `free`: back off exponentially, or wait for the count to lapse.
    exponential: bool,
}

impl Limit {
    pub fn sign_in_email(email_key: &str) -> Limit {
        Limit { key: format!("signin-email:{email_key}"), free: 5, lapse_secs: 24 * 3600, exponential: true }
    }
    pub fn sign_in_ip(ip: &str) -> Limit {
        Limit { key: format!("signin-ip:{ip}"), free: 20, lapse_secs: 3600, exponential: true }
    }
    pub fn sign_up_ip(ip: &str) -> Limit {
        // Every sign-up counts; after 10 in an hour the IP waits for the hour to lapse.
        Limit { key: format!("signup-ip:{ip}"), free: 10, lapse_secs: 3600, exponential: false }
    }
}

/// Seconds blocked after `failures` consecutive failures.
pub fn block_secs(failures: i64, free: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let exponent = (failures - free).min(20) as u32;
    (1i64 << exponent).min(MAX_BLOCK_SECS)
}

/// Refuses with [`AppError::TooManyAttempts`] while any of `limits` is blocked.
pub async fn check(db: &Db, limits: &[Limit]) -> Result<(), AppError> {
    let t = now();
    let mut wait = 0;
    for limit in limits {
        let row = sqlx::query("SELECT blocked_until FROM throttle WHERE key = $1")
            .bind(&limit.key)
            .fetch_optional(&db.pool)
            .await
            .map_err(AppError::internal)?;
        if let Some(row) = row {
            wait = wait.max(row.get::<i64, _>(0) - t);
        }
    }
    if wait > 0 {
        return Err(AppError::TooManyAttempts { retry_after_secs: wait });
    }
    Ok(())
}

/// Counts one failure (or, for sign-up, one use) against each limit and sets its block.
pub async fn record(db: &Db, limits: &[Limit]) -> Result<(), AppError> {
    let mut conn = db.pool.acquire().await.map_err(AppError::internal)?;
    record_in(&mut conn, limits).await
}

/// [`record`] on the caller's connection or transaction (so a history event can commit with it).
pub async fn record_in(conn: &mut sqlx::AnyConnection, limits: &[Limit]) -> Result<(), AppError> {
    let t = now();
    for limit in limits {
        // One statement: concurrent failures on several instances each count.
        let row = sqlx::query(
            "INSERT INTO throttle (key, failures, last_failure_at, blocked_until) VALUES ($1, 1, $2, 0) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN throttle.last_failure_at < $3 THEN 1 ELSE throttle.failures + 1 END, \
               last_failure_at = $2 \
             RETURNING failures",
        )
        .bind(&limit.key)
        .bind(t)
        .bind(t - limit.lapse_secs)
        .fetch_one(&mut *conn)
        .await
        .map_err(AppError::internal)?;
        let failures: i64 = row.get(0);
        let block = match (limit.exponential, failures >= limit.free) {
            (true, _) => block_secs(failures, limit.free),
            (false, true) => limit.lapse_secs,
            (false, false) => 0,
        };
        if block > 0 {
            sqlx::query("UPDATE throttle SET blocked_until = $1 WHERE key = $2")
                .bind(t + block)
                .bind(&limit.key)
                .execute(&mut *conn)
                .await
                .map_err(AppError::internal)?;
        }
    }
    Ok(())
}

/// Forgets the count of a limit (after a correct password).
pub async fn clear(db: &Db, limit: &Limit) -> Result<(), AppError> {
    sqlx::query("DELETE FROM throttle WHERE key = $1")
        .bind(&limit.key)
        .execute(&db.pool)
        .await
        .map_err(AppError::internal)?;
    Ok(())
}

/// Deletes counters that have lapsed (called by the periodic clean-up).
pub async fn purge_lapsed(db: &Db) -> Result<u64, sqlx::Error> {
    let t = now();
    let result = sqlx::query("DELETE FROM throttle WHERE last_failure_at < $1 AND blocked_until < $2")
        .bind(t - 24 * 3600)
        .bind(t)
        .execute(&db.pool)
        .await?;
    Ok(result.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::block_secs;

    #[test]
    fn back_off_grows_exponentially_and_is_capped() {
        assert_eq!((0..5).map(|n| block_secs(n, 5)).collect::<Vec<_>>(), vec![0; 5]);
        assert_eq!(block_secs(5, 5), 1);
        assert_eq!(block_secs(6, 5), 2);
        assert_eq!(block_secs(10, 5), 32);
        assert_eq!(block_secs(17, 5), 3600);
        assert_eq!(block_secs(1_000_000, 5), 3600);
        // Within a day an attacker gets at most: the free ones, those of the growing phase, then one an hour.
        let mut t = 0;
        let mut attempts = 0;
        while t < 24 * 3600 {
            attempts += 1;
            t += block_secs(attempts, 5).max(1);
        }
        assert!(attempts <= 100, "{attempts} attempts in a day");
    }
}
