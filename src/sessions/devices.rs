//! The devices page's data and actions, as plain functions over the database (tests call them
//! directly): listing an account's sessions, signing out one of them or all others.
//!
//! Every statement is scoped by `user_id`, so one account can never see or end another's
//! sessions; sessions are named to the browser only by their random `public_id`.

use sqlx::Row;

use super::store::EndReason;
use super::ua::describe;
use super::{DeviceView, DevicesView, Moment};
use crate::core::db::Db;

/// How long ended sessions stay listed under "Recently signed out" (and in the table at all).
pub const ENDED_RETENTION_SECS: i64 = 30 * 24 * 3600;
/// At most this many rows are read for one page; a person has far fewer devices.
const MAX_ROWS: i64 = 200;

/// All sessions of `user_id` worth showing: live ones and those ended in the last 30 days.
/// `current_hash` marks the session asking ("This device").
pub async fn list(db: &Db, user_id: i64, current_hash: Option<&str>, now: i64) -> Result<DevicesView, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT public_id, id_hash, user_agent, ip, created_at, last_seen_at, method, remember, \
         idle_expires_at, absolute_expires_at, ended_at, end_reason FROM sessions \
         WHERE user_id = $1 AND stage = 'complete' AND public_id IS NOT NULL \
         AND (ended_at IS NULL OR ended_at >= $2) \
         ORDER BY last_seen_at DESC, created_at DESC LIMIT $3",
    )
    .bind(user_id)
    .bind(now - ENDED_RETENTION_SECS)
    .bind(MAX_ROWS)
    .fetch_all(&db.pool)
    .await?;
    let mut view = DevicesView { active: Vec::new(), recent: Vec::new() };
    for row in rows {
        let user_agent: String = row.get(2);
        let label = describe(&user_agent);
        let idle_expires_at: i64 = row.get(8);
        let absolute_expires_at: i64 = row.get(9);
        let ended_at: Option<i64> = row.get(10);
        let end_reason: Option<String> = row.get(11);
        // A live row past its expiry is not accepted by the store any more: show it as expired,
        // at the moment it expired, never as active.
        let ended = match ended_at {
            Some(at) => Some((at, end_reason.as_deref().and_then(EndReason::parse).unwrap_or(EndReason::SignedOut))),
            None if now >= idle_expires_at || now >= absolute_expires_at => {
                Some((idle_expires_at.min(absolute_expires_at), EndReason::Expired))
            }
            None => None,
        };
        let is_current = ended.is_none() && current_hash.is_some_and(|h| h == row.get::<String, _>(1));
        let device = DeviceView {
            handle: row.get(0),
            name: label.name,
            kind: label.kind.to_owned(),
            user_agent,
            ip: row.get(3),
            signed_in: moment(row.get(4), now),
            last_active: moment(row.get(5), now),
            method: method_label(&row.get::<String, _>(6)).to_owned(),
            remembered_until: (row.get::<i64, _>(7) != 0).then(|| moment(absolute_expires_at, now)),
            current: is_current,
            ended: ended.map(|(at, reason)| (moment(at, now), reason_label(reason).to_owned())),
        };
        if device.ended.is_some() {
            view.recent.push(device);
        } else {
            view.active.push(device);
        }
    }
    // Newest activity first for live sessions; most recently ended first for the others.
    view.recent.sort_by(|a, b| b.ended.as_ref().map(|e| &e.0.iso).cmp(&a.ended.as_ref().map(|e| &e.0.iso)));
    Ok(view)
}

/// Ends one live, unexpired session of `user_id` named by its public handle, other than the one
/// asking, with its history event. Returns false when there is no such session (another
/// account's, already ended, unknown): the caller answers 404 and nothing has changed.
pub async fn revoke(db: &Db, user_id: i64, handle: &str, current_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let ended = revoke_in(&mut tx, user_id, handle, current_hash, now).await?;
    tx.commit().await?;
    Ok(ended)
}

/// [`revoke`] inside the caller's transaction.
pub async fn revoke_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: i64,
    handle: &str,
    current_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE sessions SET ended_at = $1, end_reason = $2, data = '{}' \
         WHERE public_id = $3 AND user_id = $4 AND ended_at IS NULL AND id_hash <> $5 \
         AND idle_expires_at > $1 AND absolute_expires_at > $1 \
         RETURNING user_id, stage, ip, user_agent, public_id",
    )
    .bind(now)
    .bind(EndReason::Revoked.as_str())
    .bind(handle)
    .bind(user_id)
    .bind(current_hash)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(false) };
    if row.get::<String, _>(1) == "complete" {
        crate::history::store::record(tx, &super::store::session_ended_event(&row, now, EndReason::Revoked)).await?;
    }
    Ok(true)
}

/// Ends every other live session of `user_id` in one statement, with one history event when any
/// was ended. Returns how many were ended.
pub async fn revoke_others(db: &Db, user_id: i64, current_hash: &str, now: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let ended = end_other_sessions_in(&mut tx, user_id, current_hash, now, None).await?;
    if ended > 0 {
        let detail =
            if ended == 1 { "1 session signed out".to_owned() } else { format!("{ended} sessions signed out") };
        let event = crate::history::store::Event::now_by_current(
            user_id,
            crate::history::Kind::OtherSessionsEnded,
            now,
            &detail,
        );
        crate::history::store::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    Ok(ended)
}

/// Ends (reason 'revoked', so each learns "You were signed out from another device.") every live
/// session of `user_id` (expired ones are left to the sweeper, which records them as expired) except the one whose id hash is `current_hash`; with `unused_since`, only
/// those not used since then. Runs on the caller's transaction, which also writes the history
/// event of the change that asked for it. Returns how many were ended.
pub async fn end_other_sessions_in(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
    current_hash: &str,
    now: i64,
    unused_since: Option<i64>,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE sessions SET ended_at = $1, end_reason = $2, data = '{}' \
         WHERE user_id = $3 AND ended_at IS NULL AND id_hash <> $4 AND last_seen_at < $5 \
         AND idle_expires_at > $1 AND absolute_expires_at > $1",
    )
    .bind(now)
    .bind(EndReason::Revoked.as_str())
    .bind(user_id)
    .bind(current_hash)
    .bind(unused_since.unwrap_or(i64::MAX))
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}

pub fn method_label(method: &str) -> &'static str {
    match method {
        "password" => "Password",
        "password_and_code" => "Password and authenticator code",
        "recovery_code" => "Recovery code",
        _ => "Unknown",
    }
}

pub fn reason_label(reason: EndReason) -> &'static str {
    match reason {
        EndReason::SignedOut => "Signed out",
        EndReason::Revoked => "Signed out from another device",
        EndReason::Expired => "Expired",
    }
}

/// `at` worded relative to `now`, with its exact UTC time.
pub fn moment(at: i64, now: i64) -> Moment {
    let dt = time::OffsetDateTime::from_unix_timestamp(at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (y, mo, d, h, mi, s) = (dt.year(), dt.month() as u8, dt.day(), dt.hour(), dt.minute(), dt.second());
    Moment {
        relative: relative(at, now),
        exact: format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC"),
        iso: format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
    }
}

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago"; "in 29 days" for the future.
pub fn relative(at: i64, now: i64) -> String {
    let delta = now - at;
    let (amount, future) = (delta.unsigned_abs(), delta < 0);
    if amount < 60 {
        return if future { "in less than a minute".into() } else { "just now".into() };
    }
    let (n, unit) = match amount {
        a if a < 3600 => (a / 60, "minute"),
        a if a < 86_400 => (a / 3600, "hour"),
        a => (a / 86_400, "day"),
    };
    let plural = if n == 1 { "" } else { "s" };
    if future {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(relative(1000, 1000), "just now");
        assert_eq!(relative(1000, 1059), "just now");
        assert_eq!(relative(1000, 1060), "1 minute ago");
        assert_eq!(relative(1000, 1000 + 5 * 60 + 30), "5 minutes ago");
        assert_eq!(relative(0, 2 * 3600), "2 hours ago");
        assert_eq!(relative(0, 86_400), "1 day ago");
        assert_eq!(relative(30 * 86_400, 0), "in 30 days");
        assert_eq!(relative(10, 0), "in less than a minute");
    }

    #[test]
    fn exact_times_are_utc() {
        let m = moment(1_795_326_067, 1_795_326_067);
        assert_eq!(m.iso, "2026-11-22T05:41:07Z");
        assert_eq!(m.exact, "2026-11-22 05:41 UTC");
    }
}
