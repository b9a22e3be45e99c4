//! The session lifecycle: what a live session is, and the one way sessions end.
//!
//! Every ending — signing out here, signing out one device or all others, a password change,
//! unused sessions, the code-step lock-out, an administrator, expiry — goes through
//! [`end_sessions`]: one set-based `UPDATE … RETURNING` on the caller's transaction, then one
//! `session_ended` history event per fully signed-in session it ended. An ended row stays (for
//! the devices page's "Recently signed out") with its reason, so the browser holding its cookie
//! learns why on its next request, on every instance.

use sqlx::{AnyConnection, Row};

use crate::core::db::Db;
use crate::core::principal::{EndReason, Stage};
use crate::history::{store as history, Kind};

/// How long ended sessions stay (listed under "Recently signed out"), before the sweeper deletes them.
pub const ENDED_RETENTION_SECS: i64 = 30 * 24 * 3600;

/// The one definition of a live session, as SQL over a `sessions` row: not ended, and neither of
/// its lifetimes over at the time bound to `now_param`.
pub fn live_sql(now_param: &str) -> String {
    live_sql_of("", now_param)
}

/// [`live_sql`] for the `sessions` row named `alias` in a join (`"s"` gives `s.ended_at …`).
pub fn live_sql_of(alias: &str, now_param: &str) -> String {
    let a = if alias.is_empty() { String::new() } else { format!("{alias}.") };
    format!("{a}ended_at IS NULL AND {a}idle_expires_at > {now_param} AND {a}absolute_expires_at > {now_param}")
}

/// The same definition for a row already read.
pub fn is_live(ended_at: Option<i64>, idle_expires_at: i64, absolute_expires_at: i64, now: i64) -> bool {
    ended_at.is_none() && now < idle_expires_at && now < absolute_expires_at
}

/// When a row that was never ended stopped being live: the earlier of its two lifetimes.
pub fn expired_at(idle_expires_at: i64, absolute_expires_at: i64) -> i64 {
    idle_expires_at.min(absolute_expires_at)
}

/// Which sessions to end: of those still to end — live ones, or for [`EndReason::Expired`] those
/// whose lifetime is over but which were never ended (they end at the moment they expired).
#[derive(Clone, Copy, Debug)]
pub enum Sessions<'a> {
    /// The session with this id hash.
    ById(&'a str),
    /// The account's session with this public handle, unless it is the one asking.
    ByHandle { user_id: i64, handle: &'a str, except_id_hash: &'a str },
    /// Every session of the account but the one asking; with `unused_since`, only those not
    /// used since then.
    OthersOf { user_id: i64, except_id_hash: &'a str, unused_since: Option<i64> },
    /// Every session of the account.
    Account(i64),
    /// The account's sessions still owing the second step.
    CodeStepOf(i64),
    /// Every session of every account.
    Everyone,
    /// At most this many sessions, whichever (the sweeper's batches).
    AnyUpTo(i64),
}

/// A session [`end_sessions`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndedSession {
    pub user_id: i64,
    pub handle: Option<String>,
    pub stage: Option<Stage>,
}

/// Ends `which` sessions for `reason` at `at`, on the caller's connection (pass `&mut *tx`), with
/// one `session_ended` event per fully signed-in session ended. Returns what it ended.
pub async fn end_sessions(
    conn: &mut AnyConnection,
    which: Sessions<'_>,
    reason: EndReason,
    at: i64,
) -> Result<Vec<EndedSession>, sqlx::Error> {
    // $1 = at, $2 = reason; the variant's own values follow.
    let (ended_at, still_to_end) = if reason == EndReason::Expired {
        (
            "CASE WHEN idle_expires_at < absolute_expires_at THEN idle_expires_at ELSE absolute_expires_at END",
            "ended_at IS NULL AND (idle_expires_at <= $1 OR absolute_expires_at <= $1)".to_owned(),
        )
    } else {
        ("$1", live_sql("$1"))
    };
    let condition = match which {
        Sessions::ById(_) => "id_hash = $3".to_owned(),
        Sessions::ByHandle { .. } => "public_id = $3 AND user_id = $4 AND id_hash <> $5".to_owned(),
        Sessions::OthersOf { .. } => "user_id = $3 AND id_hash <> $4 AND last_seen_at < $5".to_owned(),
        Sessions::Account(_) => "user_id = $3".to_owned(),
        Sessions::CodeStepOf(_) => format!("user_id = $3 AND stage = '{}'", Stage::PasswordVerified.as_str()),
        Sessions::Everyone => "1 = 1".to_owned(),
        Sessions::AnyUpTo(_) => format!("id_hash IN (SELECT id_hash FROM sessions WHERE {still_to_end} LIMIT $3)"),
    };
    let sql = format!(
        "UPDATE sessions SET ended_at = {ended_at}, end_reason = $2, data = '{{}}' \
         WHERE {condition} AND {still_to_end} \
         RETURNING user_id, stage, ip, user_agent, public_id, ended_at"
    );
    let query = sqlx::query(&sql).bind(at).bind(reason.as_str());
    let query = match which {
        Sessions::ById(id_hash) => query.bind(id_hash),
        Sessions::ByHandle { user_id, handle, except_id_hash } => query.bind(handle).bind(user_id).bind(except_id_hash),
        Sessions::OthersOf { user_id, except_id_hash, unused_since } => {
            query.bind(user_id).bind(except_id_hash).bind(unused_since.unwrap_or(i64::MAX))
        }
        Sessions::Account(user_id) | Sessions::CodeStepOf(user_id) => query.bind(user_id),
        Sessions::Everyone => query,
        Sessions::AnyUpTo(limit) => query.bind(limit),
    };
    let rows = query.fetch_all(&mut *conn).await?;
    crate::core::metrics::sessions_ended(reason.as_str(), rows.len() as u64);
    let mut ended = Vec::with_capacity(rows.len());
    for row in rows {
        let stage = Stage::parse(&row.get::<String, _>(1));
        let session = EndedSession { user_id: row.get(0), handle: row.get(4), stage };
        if stage == Some(Stage::Complete) {
            let event = history::Event {
                user_id: session.user_id,
                kind: Kind::SessionEnded,
                at: row.get(5),
                ip: row.get(2),
                user_agent: row.get(3),
                detail: reason.label().to_owned(),
                session_public_id: session.handle.clone(),
            };
            history::record(&mut *conn, &event).await?;
        }
        ended.push(session);
    }
    Ok(ended)
}

/// [`end_sessions`] in a transaction of its own.
pub async fn end_sessions_now(
    db: &Db,
    which: Sessions<'_>,
    reason: EndReason,
) -> Result<Vec<EndedSession>, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let ended = end_sessions(&mut tx, which, reason, db.clock.now()).await?;
    tx.commit().await?;
    Ok(ended)
}

/// The code step is done: the half-signed-in row goes, in one statement that must remove exactly
/// one live row. False when it was already gone (a concurrent correct code, the lock-out, an
/// expiry): then no full session may be created.
pub async fn finish_password_step(db: &Db, id_hash: &str) -> Result<bool, sqlx::Error> {
    let sql = format!("DELETE FROM sessions WHERE id_hash = $1 AND stage = 'password_verified' AND {}", live_sql("$2"));
    let done = sqlx::query(&sql).bind(id_hash).bind(db.clock.now()).execute(&db.pool).await?;
    Ok(done.rows_affected() == 1)
}

/// Why the session with this id hash stopped working, if it did.
pub async fn end_reason(db: &Db, id_hash: &str) -> Result<Option<EndReason>, sqlx::Error> {
    let row = sqlx::query("SELECT end_reason, idle_expires_at, absolute_expires_at FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.and_then(|row| match row.get::<Option<String>, _>(0) {
        Some(reason) => EndReason::parse(&reason),
        // Never ended but past its lifetime: the sweeper has not reached it yet.
        None => (!is_live(None, row.get(1), row.get(2), db.clock.now())).then_some(EndReason::Expired),
    }))
}
