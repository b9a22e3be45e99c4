//! SQL for `history_events`: recording an event inside the caller's transaction (with the
//! new-device rule for sign-ins), the page's keyset-paginated listing, and the retention purge.
//! A leaf: every domain writes into it; it calls none of them.
//!
//! Every writer of a security change calls [`record`] (or [`record_sign_in`]) on the same
//! connection/transaction as the change, so an event exists exactly when its change committed.

use sqlx::{AnyConnection, Row};

use super::rules;
use super::Kind;
use crate::core::db::Db;
use crate::core::origin::{RequestOrigin, MAX_USER_AGENT};

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
    /// An event about the browser `origin` names: the request's, passed down by its server
    /// function (empty for the operator's command line and background work).
    pub fn from_origin(origin: &RequestOrigin, user_id: i64, kind: Kind, at: i64, detail: &str) -> Event {
        let origin = origin.clone();
        Event {
            user_id,
            kind,
            at,
            ip: origin.ip,
            user_agent: origin.user_agent,
            detail: detail.to_owned(),
            session_public_id: None,
        }
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
    // Two index probes that stop at their first match: the cost stays the same however long the
    // account's history grows (counting its sign-ins grew with every one).
    let row = sqlx::query(
        "SELECT EXISTS (SELECT 1 FROM history_events WHERE user_id = $1 AND kind = 'signed_in'), \
         EXISTS (SELECT 1 FROM history_events WHERE user_id = $1 AND device_key = $2 AND at >= $3 \
           AND kind = 'signed_in')",
    )
    .bind(event.user_id)
    .bind(&key)
    .bind(event.at - rules::LOOKBACK_SECS)
    .fetch_one(&mut *conn)
    .await?;
    let signed_in_before = crate::core::db::exists_column(&row, 0)?;
    let seen_recently = crate::core::db::exists_column(&row, 1)?;
    let alert = rules::is_new_device(signed_in_before, seen_recently);
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

pub fn stored(row: &sqlx::any::AnyRow) -> Option<StoredEvent> {
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

/// Deletes events older than `cutoff`, at most `batch` rows; returns how many went.
pub async fn purge_batch(conn: &mut AnyConnection, cutoff: i64, batch: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM history_events WHERE id IN (SELECT id FROM history_events WHERE at < $1 LIMIT $2)")
        .bind(cutoff)
        .bind(batch)
        .execute(conn)
        .await?
        .rows_affected())
}

/// SQL: the alert `h` was raised by another session after the viewer (whose handle is bound to
/// `viewer_param`) signed in. Only sessions signed in *before* an alert may see or answer it (a
/// thief who signed in must not dismiss the alert about that sign-in); "before" compares event ids
/// with the viewer's own `signed_in` event, so two sign-ins in the same second are still ordered.
/// The callout, its answers, the checkup and the session read all count alerts by this rule.
pub fn raised_after_viewer(viewer_param: &str) -> String {
    format!(
        "COALESCE(h.session_public_id, '') <> {viewer_param} AND h.id > COALESCE(\
         (SELECT MAX(v.id) FROM history_events v WHERE v.user_id = h.user_id AND v.kind = 'signed_in' \
          AND v.session_public_id = {viewer_param}), 9223372036854775807)"
    )
}
