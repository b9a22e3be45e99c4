//! The devices page's data and actions, as plain functions over the database (tests call them
//! directly): listing an account's sessions, signing out one of them or all others.
//!
//! Every statement is scoped by `user_id`, so one account can never see or end another's
//! sessions; sessions are named to the browser only by their random `public_id`.

use super::{DeviceView, DevicesView};
use crate::core::db::Db;
use crate::core::origin::RequestOrigin;
use crate::core::principal::EndReason;
use crate::core::sqlite_reads::{Columns, Param};
use crate::core::state::AppState;
use crate::core::user_agent::describe;
use crate::history::{store as history, Kind};
use crate::moment::moment;
use crate::sessions::keys::SignInMethod;
use crate::sessions::lifecycle::{end_sessions, expired_at, is_live, Sessions, ENDED_RETENTION_SECS};

/// At most this many rows are read for one page; a person has far fewer devices.
const MAX_ROWS: i64 = 200;

/// All sessions of `user_id` worth showing: live ones and those ended in the last 30 days.
/// `current_hash` marks the session asking ("This device").
pub async fn list(db: &Db, user_id: i64, current_hash: &str, now: i64) -> Result<DevicesView, sqlx::Error> {
    let rows = db
        .read_rows(
            "SELECT public_id, id_hash, user_agent, ip, created_at, last_seen_at, method, remember, \
             idle_expires_at, absolute_expires_at, ended_at, end_reason, client_name FROM sessions \
             WHERE user_id = $1 AND stage = 'complete' AND public_id IS NOT NULL \
             AND (ended_at IS NULL OR ended_at >= $2) \
             ORDER BY last_seen_at DESC, created_at DESC LIMIT $3",
            &[Param::Int(user_id), Param::Int(now - ENDED_RETENTION_SECS), Param::Int(MAX_ROWS)],
            |row| device_view(row, current_hash, now),
        )
        .await?;
    let mut view = DevicesView { active: Vec::new(), recent: Vec::new() };
    for device in rows {
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

/// One row of [`list`]'s query as shown.
fn device_view(row: &dyn Columns, current_hash: &str, now: i64) -> Result<DeviceView, sqlx::Error> {
    let user_agent = row.text(2)?;
    let label = describe(&user_agent);
    let client_name = row.opt_text(12)?;
    let kind = if client_name.is_some() { "App" } else { label.kind };
    let idle_expires_at = row.int(8)?;
    let absolute_expires_at = row.int(9)?;
    let end_reason = row.opt_text(11)?;
    // A row past its lifetime is not accepted by the store any more: show it as expired, at
    // the moment it expired, never as active.
    let ended = match row.opt_int(10)? {
        Some(at) => Some((at, end_reason.as_deref().and_then(EndReason::parse).unwrap_or(EndReason::SignedOut))),
        None if !is_live(None, idle_expires_at, absolute_expires_at, now) => {
            Some((expired_at(idle_expires_at, absolute_expires_at), EndReason::Expired))
        }
        None => None,
    };
    Ok(DeviceView {
        handle: row.text(0)?,
        app: client_name.is_some(),
        device: if client_name.is_some() {
            crate::core::user_agent::describe_or_quote(&user_agent)
        } else {
            label.name.clone()
        },
        name: client_name.unwrap_or(label.name),
        kind: kind.to_owned(),
        user_agent,
        ip: row.text(3)?,
        signed_in: moment(row.int(4)?, now),
        last_active: moment(row.int(5)?, now),
        method: SignInMethod::label_of(&row.text(6)?).to_owned(),
        remembered_until: (row.int(7)? != 0).then(|| moment(absolute_expires_at, now)),
        current: ended.is_none() && current_hash == row.text(1)?,
        ended: ended.map(|(at, reason)| (moment(at, now), reason.label().to_owned())),
    })
}

/// **Sign out** one live session of `user_id` named by its public handle, other than the one
/// asking, with its history event. Returns false when there is no such session (another
/// account's, already ended, unknown): the caller answers 404 and nothing has changed.
pub async fn sign_out_device(
    db: &Db,
    user_id: i64,
    handle: &str,
    current_hash: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let which = Sessions::ByHandle { user_id, handle, except_id_hash: current_hash };
    let ended = end_sessions(&mut tx, which, EndReason::SignedOutElsewhere, now).await?;
    tx.commit().await?;
    Ok(!ended.is_empty())
}

/// **Sign out all other devices**: every other live session of `user_id` ends, each with its
/// `session_ended` event, and the action's own event (and its notice by mail) when any was
/// ended. Returns how many.
pub async fn sign_out_other_devices(
    state: &AppState,
    user_id: i64,
    current_hash: &str,
    origin: &RequestOrigin,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut tx = state.db.pool.begin().await?;
    let which = Sessions::OthersOf { user_id, except_id_hash: current_hash, unused_since: None };
    let ended = end_sessions(&mut tx, which, EndReason::SignedOutElsewhere, now).await?.len() as u64;
    if ended > 0 {
        let detail = crate::history::sessions_signed_out(ended, "");
        let event = history::Event::from_origin(origin, user_id, Kind::OtherDevicesSignedOut, now, &detail);
        history::record(&mut tx, &event).await?;
        crate::mail::notices::for_event(&mut tx, state, &event, None).await?;
    }
    tx.commit().await?;
    Ok(ended)
}
