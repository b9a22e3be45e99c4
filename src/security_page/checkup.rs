//! The personal checkup as plain functions over the database (tests call them directly).
//!
//! Everything comes from one query: the `users` row with sub-selects over `totp_secrets`,
//! `recovery_codes`, `sessions` and `throttle`, all scoped by this account.

use sqlx::Row;

use super::{Checkup, STALE_AFTER_SECS};
use crate::core::db::Db;
use crate::sessions::store::EndReason;

/// The checkup of `user_id` at time `now`; `None` when the account does not exist.
///
/// Failed sign-ins come from [`failed_sign_ins_since_last_visit`]'s source, the sign-in throttle
/// counter for this email: it counts consecutive wrong passwords and is cleared by a correct one,
/// so it is "failures since the last successful sign-in". When the security-events table
/// (issue 5) lands, switch that one function to count `sign_in_failed` events after the
/// previous visit instead.
pub async fn compute(db: &Db, user_id: i64, now: i64) -> Result<Option<Checkup>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.password_changed_at, \
         (SELECT COUNT(*) FROM totp_secrets t WHERE t.user_id = u.id AND t.enabled_at IS NOT NULL), \
         (SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL), \
         (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.ended_at IS NULL \
            AND s.stage = 'complete' AND s.last_seen_at < $2 \
            AND s.idle_expires_at > $3 AND s.absolute_expires_at > $3), \
         (SELECT th.failures FROM throttle th WHERE th.key = 'signin-email:' || u.email_key), \
         (SELECT th.last_failure_at FROM throttle th WHERE th.key = 'signin-email:' || u.email_key) \
         FROM users u WHERE u.id = $1",
    )
    .bind(user_id)
    .bind(now - STALE_AFTER_SECS)
    .bind(now)
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|row| {
        let two_step_on = row.get::<i64, _>(1) > 0;
        let (failed_sign_ins, last_failed_at) =
            failed_sign_ins_since_last_visit(row.get::<Option<i64>, _>(4), row.get::<Option<i64>, _>(5));
        Checkup {
            two_step_on,
            recovery_codes_left: if two_step_on { row.get(2) } else { 0 },
            stale_sessions: row.get(3),
            failed_sign_ins,
            last_failed_at,
            password_changed_at: row.get(0),
        }
    }))
}

/// Failed sign-ins since the person's last visit, from the data this branch has: the throttle
/// counter of the account's email (failures, time of the newest). The lead switches this to the
/// security events of issue 5 (failures after the previous session's sign-in).
pub fn failed_sign_ins_since_last_visit(failures: Option<i64>, last_failure_at: Option<i64>) -> (i64, Option<i64>) {
    match failures {
        Some(n) if n > 0 => (n, last_failure_at),
        _ => (0, None),
    }
}

/// Signs out (reason 'revoked') every live session of `user_id` unused for more than 30 days,
/// never the one asking. Returns how many were ended.
pub async fn sign_out_stale(db: &Db, user_id: i64, current_hash: &str, now: i64) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE sessions SET ended_at = $1, end_reason = $2, data = '{}' \
         WHERE user_id = $3 AND ended_at IS NULL AND id_hash <> $4 AND last_seen_at < $5",
    )
    .bind(now)
    .bind(EndReason::Revoked.as_str())
    .bind(user_id)
    .bind(current_hash)
    .bind(now - STALE_AFTER_SECS)
    .execute(&db.pool)
    .await?;
    Ok(result.rows_affected())
}
