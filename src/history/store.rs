//! SQL for `history_events`: recording an event inside the caller's transaction, the page's
//! keyset-paginated listing, new-device alerts, and the retention purge.
//!
//! Every writer of a security change calls [`record`] (or [`record_sign_in`]) on the same
//! connection/transaction as the change, so an event exists exactly when its change committed.

use sqlx::{AnyConnection, Row};

use super::rules;
use super::Kind;
use crate::core::db::Db;

/// Longest user-agent text kept with an event.
const MAX_USER_AGENT: usize = 512;

/// One event to record. `ip`/`user_agent` name the browser the event is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub user_id: i64,
    pub kind: Kind,
    pub at: i64,
    pub ip: String,
    pub user_agent: String,
    /// Short text chosen by the server ("Wrong password", "Signed out from another device").
    pub detail: String,
    pub session_public_id: Option<String>,
}

impl Event {
    /// An event about the browser of the current request (see [`Actor::current`]).
    pub fn now_by_current(user_id: i64, kind: Kind, at: i64, detail: &str) -> Event {
        let actor = Actor::current();
        Event {
            user_id,
            kind,
            at,
            ip: actor.ip,
            user_agent: actor.user_agent,
            detail: detail.to_owned(),
            session_public_id: None,
        }
    }
}

/// The browser making the current request, read from the Leptos request context when there is
/// one (server functions); empty otherwise (background tasks, direct calls from tests).
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub ip: String,
    pub user_agent: String,
}

impl Actor {
    pub fn current() -> Actor {
        leptos::prelude::use_context::<axum::http::request::Parts>()
            .map(|parts| {
                let origin = crate::sessions::auth::RequestOrigin::from_parts(&parts);
                Actor { ip: origin.ip, user_agent: origin.user_agent }
            })
            .unwrap_or_default()
    }
}

/// Writes `event` on `conn` (pass `&mut *tx` to write inside a transaction). Returns its id.
pub async fn record(conn: &mut AnyConnection, event: &Event) -> Result<i64, sqlx::Error> {
    insert(conn, event, None, false).await
}

/// Writes `event` as an alert: the banner shows it on the account's sessions that were signed in
/// before it, until one of them answers.
pub async fn record_alert(conn: &mut AnyConnection, event: &Event) -> Result<i64, sqlx::Error> {
    insert(conn, event, None, true).await
}

async fn insert(
    conn: &mut AnyConnection,
    event: &Event,
    device_key: Option<&str>,
    alert: bool,
) -> Result<i64, sqlx::Error> {
    let user_agent: String = event.user_agent.chars().take(MAX_USER_AGENT).collect();
    let row = sqlx::query(
        "INSERT INTO history_events (user_id, kind, at, ip, user_agent, detail, device_key, session_public_id, alert, alert_ack_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL) RETURNING id",
    )
    .bind(event.user_id)
    .bind(event.kind.as_str())
    .bind(event.at)
    .bind(&event.ip)
    .bind(&user_agent)
    .bind(&event.detail)
    .bind(device_key)
    .bind(event.session_public_id.as_deref())
    .bind(alert as i64)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.get(0))
}

/// Records a completed sign-in, applying the new-device rule ([`rules`]): the event carries an
/// alert when the browser family + OS + network was not seen on the account in the last 90 days
/// (never for the account's first sign-in). Returns whether it raised an alert.
pub async fn record_sign_in(conn: &mut AnyConnection, event: &Event) -> Result<bool, sqlx::Error> {
    let key = rules::device_key(&event.user_agent, &event.ip);
    let row = sqlx::query(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN device_key = $2 AND at >= $3 THEN 1 ELSE 0 END), 0) \
         FROM history_events WHERE user_id = $1 AND kind = 'signed_in'",
    )
    .bind(event.user_id)
    .bind(&key)
    .bind(event.at - rules::LOOKBACK_SECS)
    .fetch_one(&mut *conn)
    .await?;
    let earlier: i64 = row.get(0);
    let seen: i64 = row.get(1);
    let alert = rules::is_new_device(earlier, seen > 0);
    insert(conn, event, Some(&key), alert).await?;
    Ok(alert)
}

/// A stored event, as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: i64,
    pub kind: Kind,
    pub at: i64,
    pub ip: String,
    pub user_agent: String,
    pub detail: String,
    pub alert: bool,
}

/// Up to `limit` events of `user_id`, newest first, with ids below `before` (keyset pagination:
/// events arriving meanwhile get higher ids, so they never shift later pages). Returns the page
/// and the `before` of the next page, if there is one.
pub async fn list(
    db: &Db,
    user_id: i64,
    kind: Option<Kind>,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<StoredEvent>, Option<i64>), sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, kind, at, ip, user_agent, detail, alert FROM history_events \
         WHERE user_id = $1 AND ($2 = '' OR kind = $2) AND id < $3 ORDER BY id DESC LIMIT $4",
    )
    .bind(user_id)
    .bind(kind.map(|k| k.as_str()).unwrap_or(""))
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit + 1)
    .fetch_all(&db.pool)
    .await?;
    let mut events: Vec<StoredEvent> = rows.iter().filter_map(stored).collect();
    let next = if events.len() as i64 > limit {
        events.truncate(limit as usize);
        events.last().map(|e| e.id)
    } else {
        None
    };
    Ok((events, next))
}

fn stored(row: &sqlx::any::AnyRow) -> Option<StoredEvent> {
    Some(StoredEvent {
        id: row.get(0),
        kind: Kind::parse(&row.get::<String, _>(1))?,
        at: row.get(2),
        ip: row.get(3),
        user_agent: row.get(4),
        detail: row.get(5),
        alert: row.get::<i64, _>(6) != 0,
    })
}

/// The session looking at or answering alerts, by its public handle. Only sessions signed in
/// *before* an alert was raised may see or answer it: not the session that raised it, nor any
/// session started after it (a thief who signed in must not be able to dismiss the alert about
/// that sign-in). "Before" compares event ids with the viewer's own `signed_in` event, so two
/// sign-ins in the same second are still ordered.
#[derive(Clone, Copy, Debug)]
pub struct Viewer<'a> {
    pub public_id: &'a str,
}

/// SQL: the alert `h` was raised after the viewer (`$viewer`, a handle) signed in, by another session.
const RAISED_AFTER_VIEWER: &str = "COALESCE(h.session_public_id, '') <> $viewer AND h.id > COALESCE(\
    (SELECT MAX(v.id) FROM history_events v WHERE v.user_id = h.user_id AND v.kind = 'signed_in' \
     AND v.session_public_id = $viewer), 9223372036854775807)";

/// Open alerts of `user_id` that `viewer` may answer (new-device sign-ins, second-factor locks).
pub async fn open_alerts(db: &Db, user_id: i64, viewer: Viewer<'_>) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let sql = format!(
        "SELECT h.id, h.kind, h.at, h.ip, h.user_agent, h.detail, h.alert FROM history_events h \
         WHERE h.user_id = $1 AND h.alert = 1 AND h.alert_ack_at IS NULL AND {} ORDER BY h.id DESC LIMIT 5",
        RAISED_AFTER_VIEWER.replace("$viewer", "$2"),
    );
    let rows = sqlx::query(&sql).bind(user_id).bind(viewer.public_id).fetch_all(&db.pool).await?;
    Ok(rows.iter().filter_map(stored).collect())
}

/// Marks an open alert answered, if `viewer` may answer it; returns the handle of the session
/// that raised it (outer `None`: no such alert for this viewer).
async fn answer(
    tx: &mut AnyConnection,
    user_id: i64,
    alert_id: i64,
    viewer: Viewer<'_>,
    at: i64,
) -> Result<Option<Option<String>>, sqlx::Error> {
    let sql = format!(
        "UPDATE history_events SET alert_ack_at = $3 WHERE id IN (SELECT h.id FROM history_events h \
         WHERE h.id = $1 AND h.user_id = $2 AND h.alert = 1 AND h.alert_ack_at IS NULL AND {}) \
         AND alert_ack_at IS NULL RETURNING session_public_id",
        RAISED_AFTER_VIEWER.replace("$viewer", "$4"),
    );
    let row =
        sqlx::query(&sql).bind(alert_id).bind(user_id).bind(at).bind(viewer.public_id).fetch_optional(&mut *tx).await?;
    Ok(row.map(|row| row.get(0)))
}

/// The `alert_answered` event, naming the session that answered.
fn answered_event(user_id: i64, viewer: Viewer<'_>, at: i64, detail: &str) -> Event {
    let mut event = Event::now_by_current(user_id, Kind::AlertAnswered, at, detail);
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
    at: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    if answer(&mut tx, user_id, alert_id, viewer, at).await?.is_none() {
        tx.rollback().await?;
        return Ok(false);
    }
    record(&mut tx, &answered_event(user_id, viewer, at, "It was me")).await?;
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
    at: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let Some(raised_by) = answer(&mut tx, user_id, alert_id, viewer, at).await? else {
        tx.rollback().await?;
        return Ok(false);
    };
    record(&mut tx, &answered_event(user_id, viewer, at, "This wasn't me")).await?;
    if let Some(handle) = raised_by {
        crate::sessions::devices::revoke_in(&mut tx, user_id, &handle, current_hash, at).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Deletes events older than `cutoff`, at most `batch` rows; returns how many went.
pub async fn purge_batch(db: &Db, cutoff: i64, batch: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM history_events WHERE id IN (SELECT id FROM history_events WHERE at < $1 LIMIT $2)")
        .bind(cutoff)
        .bind(batch)
        .execute(&db.pool)
        .await?
        .rows_affected())
}
