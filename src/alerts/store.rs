//! SQL for alerts: history events marked `alert` (a new-device sign-in, a second-factor lock),
//! shown to and answered by the account's other sessions.

use sqlx::{AnyConnection, Row};

use crate::core::db::Db;
use crate::history::store::{raised_after_viewer, stored, StoredEvent};

/// The session looking at or answering alerts, by its public handle. Only sessions signed in
/// *before* an alert was raised may see or answer it: not the session that raised it, nor any
/// session started after it (a thief who signed in must not be able to dismiss the alert about
/// that sign-in). "Before" compares event ids with the viewer's own `signed_in` event, so two
/// sign-ins in the same second are still ordered.
#[derive(Clone, Copy, Debug)]
pub struct Viewer<'a> {
    pub public_id: &'a str,
}

/// Open alerts of `user_id` that `viewer` may answer (new-device sign-ins, second-factor locks).
pub async fn open_alerts(db: &Db, user_id: i64, viewer: Viewer<'_>) -> Result<Vec<StoredEvent>, sqlx::Error> {
    let sql = format!(
        "SELECT h.id, h.kind, h.at, h.ip, h.user_agent, h.detail, h.alert FROM history_events h \
         WHERE h.user_id = $1 AND h.alert = 1 AND h.alert_ack_at IS NULL AND {} ORDER BY h.id DESC LIMIT 5",
        raised_after_viewer("$2"),
    );
    let rows = sqlx::query(&sql).bind(user_id).bind(viewer.public_id).fetch_all(&db.pool).await?;
    Ok(rows.iter().filter_map(stored).collect())
}

/// Marks an open alert answered, if `viewer` may answer it; returns the handle of the session
/// that raised it (outer `None`: no such alert for this viewer).
pub async fn answer(
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
        raised_after_viewer("$4"),
    );
    let row =
        sqlx::query(&sql).bind(alert_id).bind(user_id).bind(at).bind(viewer.public_id).fetch_optional(&mut *tx).await?;
    Ok(row.map(|row| row.get(0)))
}
