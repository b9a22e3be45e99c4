//! Listing and ending sessions (ASVS 7.4.5: an administrator can end the sessions of one account
//! or of all). Ending is marking the rows ended, so it takes effect on each session's very next
//! request on every instance; each account affected gets a history event in the same transaction.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{account_id, admin_event, AdminError};
use crate::core::db::Db;
use crate::core::principal::EndReason;
use crate::core::state::AppState;
use crate::history::{store as history, Kind};
use crate::moment::moment;
use crate::sessions::keys::SignInMethod;
use crate::sessions::lifecycle::{end_sessions, live_sql, EndedSession, Sessions};

/// One live session as the operator sees it (never its id or id hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveSession {
    pub handle: String,
    pub device: String,
    pub ip: String,
    pub method: String,
    pub signed_in_at: i64,
    pub last_seen_at: i64,
}

/// `sessions <email>`.
pub(super) async fn list(state: &AppState, email: &str) -> Result<String, AdminError> {
    let t = state.db.clock.now();
    let sessions = live_sessions(&state.db, account_id(state, email).await?, t).await?;
    let mut out = format!("{} live session(s) of {email}\n", sessions.len());
    for s in sessions {
        let signed_in = moment(s.signed_in_at, t).exact;
        let seen = moment(s.last_seen_at, t).exact;
        out.push_str(&format!(
            "{}  {}  {}  {}  signed in {signed_in}, last active {seen}\n",
            s.handle, s.device, s.ip, s.method
        ));
    }
    Ok(out)
}

/// `sign-out <email>`.
pub(super) async fn sign_out(state: &AppState, email: &str) -> Result<String, AdminError> {
    let ended = sign_out_account(&state.db, account_id(state, email).await?, state.db.clock.now()).await?;
    Ok(format!("signed out {ended} session(s) of {email}\n"))
}

/// `sign-out-everyone`.
pub(super) async fn sign_out_all(state: &AppState) -> Result<String, AdminError> {
    let (sessions, accounts) = sign_out_everyone(&state.db, state.db.clock.now()).await?;
    Ok(format!("signed out {sessions} session(s) of {accounts} account(s)\n"))
}

/// The live (not ended, not expired) sessions of `user_id`, newest activity first.
pub async fn live_sessions(db: &Db, user_id: i64, now: i64) -> Result<Vec<LiveSession>, sqlx::Error> {
    let sql = format!(
        "SELECT public_id, user_agent, ip, method, created_at, last_seen_at FROM sessions \
         WHERE user_id = $1 AND {} ORDER BY last_seen_at DESC",
        live_sql("$2")
    );
    let rows = sqlx::query(&sql).bind(user_id).bind(now).fetch_all(&db.pool).await?;
    Ok(rows
        .iter()
        .map(|row| LiveSession {
            handle: row.get::<Option<String>, _>(0).unwrap_or_default(),
            device: crate::core::user_agent::describe(&row.get::<String, _>(1)).name,
            ip: row.get(2),
            method: SignInMethod::label_of(&row.get::<String, _>(3)).to_owned(),
            signed_in_at: row.get(4),
            last_seen_at: row.get(5),
        })
        .collect())
}

/// Ends every live session of `user_id` (each with its `session_ended` event), with the
/// administrator's event when any was live. Returns how many.
pub async fn sign_out_account(db: &Db, user_id: i64, now: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let ended = end_sessions(&mut tx, Sessions::Account(user_id), EndReason::SignedOutElsewhere, now).await?;
    record_admin_events(&mut tx, &ended, now).await?;
    tx.commit().await?;
    Ok(ended.len() as u64)
}

/// Ends every live session of every account, each account's events in the same transaction.
/// Returns (sessions ended, accounts affected).
pub async fn sign_out_everyone(db: &Db, now: i64) -> Result<(u64, u64), sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let ended = end_sessions(&mut tx, Sessions::Everyone, EndReason::SignedOutElsewhere, now).await?;
    let accounts = record_admin_events(&mut tx, &ended, now).await?;
    tx.commit().await?;
    Ok((ended.len() as u64, accounts))
}

/// One `signed_out_by_admin` event per account that had sessions ended. Returns how many accounts.
pub(super) async fn record_admin_events(
    conn: &mut sqlx::AnyConnection,
    ended: &[EndedSession],
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut per_account: BTreeMap<i64, u64> = BTreeMap::new();
    for session in ended {
        *per_account.entry(session.user_id).or_default() += 1;
    }
    for (&user_id, &count) in &per_account {
        let detail = crate::history::sessions_signed_out(count, "");
        history::record(&mut *conn, &admin_event(user_id, Kind::SignedOutByAdmin, now, &detail)).await?;
    }
    Ok(per_account.len() as u64)
}
