//! Answering alerts, each answer with its `alert_answered` event in the same transaction.

use super::store::{answer, Viewer};
use crate::core::db::Db;
use crate::core::origin::RequestOrigin;
use crate::core::principal::EndReason;
use crate::history::{store as history, Kind};
use crate::sessions::lifecycle::{end_sessions, Sessions};

/// The `alert_answered` event, naming the session that answered.
fn answered_event(user_id: i64, viewer: Viewer<'_>, origin: &RequestOrigin, at: i64, detail: &str) -> history::Event {
    let mut event = history::Event::from_origin(origin, user_id, Kind::AlertAnswered, at, detail);
    event.session_public_id = Some(viewer.public_id.to_owned());
    event
}

/// "It was me": the alert is acknowledged, with its `alert_answered` event. False when there is
/// no such open alert that `viewer` may answer.
pub async fn acknowledge(
    db: &Db,
    user_id: i64,
    alert_id: i64,
    viewer: Viewer<'_>,
    origin: &RequestOrigin,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    if answer(&mut tx, user_id, alert_id, viewer, at).await?.is_none() {
        tx.rollback().await?;
        return Ok(false);
    }
    history::record(&mut tx, &answered_event(user_id, viewer, origin, at, "It was me")).await?;
    tx.commit().await?;
    Ok(true)
}

/// "This wasn't me": in one transaction the alert is answered and the session that raised it is
/// signed out (with its `session_ended` event), unless it is the session asking. False when there
/// is no such open alert that `viewer` may answer.
pub async fn not_me(
    db: &Db,
    user_id: i64,
    alert_id: i64,
    viewer: Viewer<'_>,
    current_hash: &str,
    origin: &RequestOrigin,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let Some(raised_by) = answer(&mut tx, user_id, alert_id, viewer, at).await? else {
        tx.rollback().await?;
        return Ok(false);
    };
    history::record(&mut tx, &answered_event(user_id, viewer, origin, at, "This wasn't me")).await?;
    if let Some(handle) = raised_by {
        let which = Sessions::ByHandle { user_id, handle: &handle, except_id_hash: current_hash };
        end_sessions(&mut tx, which, EndReason::SignedOutElsewhere, at).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// "This wasn't me" from a new-sign-in notice: the link (single use) signs out the session it
/// names, whoever follows it, with the `alert_answered` event, in one transaction. Returns the
/// account, or `None` for an unknown, used or expired link (then nothing changes).
pub async fn not_me_by_link(db: &Db, token: &str, origin: &RequestOrigin, at: i64) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let used = crate::mail::links::consume(&mut tx, crate::mail::links::Purpose::NotMe, token, at).await?;
    let Some(crate::mail::links::UsedLink { user_id, session: Some(handle), .. }) = used else {
        tx.rollback().await?;
        return Ok(None);
    };
    let mut event =
        history::Event::from_origin(origin, user_id, Kind::AlertAnswered, at, "This wasn't me (from the mail)");
    event.session_public_id = Some(handle.clone());
    history::record(&mut tx, &event).await?;
    let which = Sessions::ByHandle { user_id, handle: &handle, except_id_hash: "" };
    end_sessions(&mut tx, which, EndReason::SignedOutElsewhere, at).await?;
    tx.commit().await?;
    Ok(Some(user_id))
}
