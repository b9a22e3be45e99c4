//! The personal checkup as plain functions over the database (tests call them directly).
//!
//! Everything comes from one query: the `users` row with sub-selects over `totp_secrets`,
//! `recovery_codes`, `passkeys`, `sessions` and `history_events`, all scoped by this account.

use sqlx::Row;

use super::{Checkup, STALE_AFTER_SECS};
use crate::core::db::Db;
use crate::core::origin::RequestOrigin;
use crate::core::principal::EndReason;
use crate::history::store::raised_after_viewer;
use crate::history::{store as history, Kind};
use crate::sessions::lifecycle::{end_sessions, live_sql, Sessions};

/// The checkup of `user_id` at time `now`, seen from the session whose public handle is
/// `viewer`; `None` when the account does not exist.
///
/// - Failed sign-ins (wrong password or wrong code) count "since your last visit": the history
///   events after the sign-in that preceded this session's own sign-in. Event ids, not times,
///   order them, so two events in the same second are never confused.
/// - Open alerts are the alerts not yet answered that this session may answer (raised by other
///   sessions after this one signed in): the banner's own rule ([`raised_after_viewer`]).
pub async fn compute(db: &Db, user_id: i64, viewer: &str, now: i64) -> Result<Option<Checkup>, sqlx::Error> {
    let sql = format!(
        "WITH this_visit AS (SELECT COALESCE(MAX(h.id), (SELECT COALESCE(MAX(id), 0) + 1 FROM history_events)) AS id \
            FROM history_events h WHERE h.user_id = $1 AND h.kind = 'signed_in' AND h.session_public_id = $4), \
         last_visit AS (SELECT COALESCE(MAX(h.id), 0) AS id FROM history_events h, this_visit \
            WHERE h.user_id = $1 AND h.kind = 'signed_in' AND h.id < this_visit.id) \
         SELECT u.password_changed_at, \
         (SELECT COUNT(*) FROM totp_secrets t WHERE t.user_id = u.id AND t.enabled_at IS NOT NULL), \
         (SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL), \
         (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND {live} \
            AND s.stage = 'complete' AND s.last_seen_at < $2), \
         (SELECT COUNT(*) FROM history_events f, last_visit WHERE f.user_id = u.id \
            AND f.kind IN ('sign_in_failed', 'code_failed') AND f.id > last_visit.id), \
         (SELECT MAX(f.at) FROM history_events f, last_visit WHERE f.user_id = u.id \
            AND f.kind IN ('sign_in_failed', 'code_failed') AND f.id > last_visit.id), \
         (SELECT COUNT(*) FROM history_events h WHERE h.user_id = u.id AND h.alert = 1 \
            AND h.alert_ack_at IS NULL AND {open_to_viewer}), \
         u.muted_notices, \
         (SELECT COUNT(*) FROM passkeys k WHERE k.user_id = u.id) \
         FROM users u WHERE u.id = $1",
        live = live_sql("$3"),
        open_to_viewer = raised_after_viewer("$4"),
    );
    let row = sqlx::query(&sql)
        .bind(user_id)
        .bind(now - STALE_AFTER_SECS)
        .bind(now)
        .bind(viewer)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|row| {
        let two_step_on = row.get::<i64, _>(1) > 0;
        Checkup {
            two_step_on,
            recovery_codes_left: if two_step_on { row.get(2) } else { 0 },
            stale_sessions: row.get(3),
            failed_sign_ins: row.get(4),
            last_failed_at: row.get(5),
            open_alerts: row.get(6),
            password_changed_at: row.get(0),
            muted_notices: row.get(7),
            passkeys: row.get(8),
        }
    }))
}

/// **Sign out unused sessions**: every live session of `user_id` unused for more than 30 days
/// ends (never the one asking), each with its `session_ended` event, and the action's own event
/// when any was ended, in one transaction. Returns how many were ended.
pub async fn sign_out_unused_sessions(
    db: &Db,
    user_id: i64,
    current_hash: &str,
    origin: &RequestOrigin,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let unused =
        Sessions::OthersOf { user_id, except_id_hash: current_hash, unused_since: Some(now - STALE_AFTER_SECS) };
    let ended = end_sessions(&mut tx, unused, EndReason::SignedOutElsewhere, now).await?.len() as u64;
    if ended > 0 {
        let detail = crate::history::sessions_signed_out(ended, "unused ");
        let event = history::Event::from_origin(origin, user_id, Kind::UnusedSessionsSignedOut, now, &detail);
        history::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    Ok(ended)
}
