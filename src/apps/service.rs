//! The `/connect` page's work: looking up a pairing code under the guessing limits, and recording
//! the person's decision with its history event.

use super::codes::normalize_user_code;
use super::grants::{self, Pending};
use crate::core::origin::RequestOrigin;
use crate::core::state::AppState;
use crate::core::throttle::{reserve, Limit};
use crate::errors::AppError;
use crate::history::{store as history, Kind};

/// The pending request a typed code names, reserving a guess on the account's and the address's
/// limits first (a code that names one gives its guess back). `Ok(None)`: no such pending request.
pub async fn look_up(
    state: &AppState,
    user_id: i64,
    ip: &str,
    typed: &str,
) -> Result<Option<(String, Pending)>, AppError> {
    let permits = reserve(&state.db, &[Limit::pairing_code_account(user_id), Limit::pairing_code_ip(ip)]).await?;
    let found = match normalize_user_code(typed) {
        Some(code) => grants::pending(&state.db, &state.secrets, &code, state.db.clock.now())
            .await?
            .map(|pending| (code, pending)),
        None => None,
    };
    if found.is_some() {
        permits.succeeded(&state.db).await?;
    } else {
        let mut conn = state.db.pool.acquire().await?;
        permits.failed(&mut conn).await?;
    }
    Ok(found)
}

/// Records the person's decision on `/connect` (with its history event) in one transaction.
/// False when the code was not pending any more (expired, decided in a race).
pub async fn record_decision(
    state: &AppState,
    user_id: i64,
    approving_session: &str,
    code: &str,
    decision: grants::Decision,
    origin: &RequestOrigin,
) -> Result<bool, AppError> {
    let t = state.db.clock.now();
    let mut tx = state.db.pool.begin().await?;
    let Some(pending) = grants::decide(&mut tx, &state.secrets, code, decision, user_id, approving_session, t).await?
    else {
        return Ok(false);
    };
    let kind = match decision {
        grants::Decision::Approve => Kind::AppConnected,
        grants::Decision::Deny => Kind::AppConnectionDenied,
    };
    let detail = format!("{} (asked from {})", pending.client_name, pending.ip);
    let event = history::Event::from_origin(origin, user_id, kind, t, &detail);
    history::record(&mut tx, &event).await?;
    crate::mail::notices::for_event(&mut tx, state, &event, None).await?;
    tx.commit().await?;
    Ok(true)
}

/// Deletes expired tokens and pairing requests a day past their expiry (run with the session
/// sweep). Returns how many rows went.
pub async fn purge_expired(conn: &mut sqlx::AnyConnection, now: i64) -> Result<u64, sqlx::Error> {
    Ok(super::tokens::purge_expired(&mut *conn, now).await? + grants::purge_expired(conn, now).await?)
}
