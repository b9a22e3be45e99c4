//! The history export streamed in pages, on SQLite and PostgreSQL: a history of more than two
//! pages comes out whole, newest first, in both formats; the body is a stream (no length known
//! up front); an export stops at its upper bound.

use axum::{
    body::Body,
    http::{header, Request},
};
use http_body_util::BodyExt;
use keycard::history::export::{export_body, Format, EXPORT_PAGE_SIZE, MAX_EXPORT_EVENTS};
use tower::ServiceExt;

use crate::common::{Client, TestApp, PASSWORD};

on_both_databases!(export_streams_a_long_history_whole_and_newest_first, export_stops_at_its_upper_bound,);

/// More than two pages of events.
const EVENTS: i64 = 1_200;

/// Adds `EVENTS` `password_changed` events to `user`, one SQL statement; event `i` happened at
/// `1_700_000_000 + i`, so later events have higher ids and times.
async fn insert_events(app: &TestApp, user: i64) {
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $3) \
         INSERT INTO history_events (user_id, kind, at, ip, user_agent, detail, alert) \
         SELECT $1, 'password_changed', $2 + i, '198.51.100.7', 'agent ' || i, 'event ' || i, 0 FROM n",
    )
    .bind(user)
    .bind(1_700_000_000i64)
    .bind(EVENTS)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
}

async fn signed_up_with_long_history(app: &TestApp, email: &str) -> (Client, i64) {
    let mut client = app.client();
    client.sign_up(email).await.assert_redirect_to("/");
    let user = app.user_id(email).await;
    insert_events(app, user).await;
    (client, user)
}

/// A GET with the client's cookies, straight on the router, leaving the body unread.
async fn raw_get(app: &TestApp, client: &Client, path: &str) -> axum::response::Response {
    let jar: Vec<String> = client.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let req = Request::get(path)
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::COOKIE, jar.join("; "))
        .body(Body::empty())
        .unwrap();
    app.router.clone().oneshot(req).await.unwrap()
}

fn assert_newest_first(ids: &[i64]) {
    assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "ids are not strictly decreasing");
}

/// The `id` column of a CSV export (no field of these events holds a line break or comma).
fn csv_ids(csv: &str) -> Vec<i64> {
    let mut lines = csv.split("\r\n");
    assert_eq!(lines.next(), Some("id,kind,event,at,at_utc,detail,ip,user_agent,new_device"));
    lines.filter(|line| !line.is_empty()).map(|line| line.split(',').next().unwrap().parse().unwrap()).collect()
}

async fn export_streams_a_long_history_whole_and_newest_first(app: &TestApp) {
    assert!(EVENTS as usize > 2 * EXPORT_PAGE_SIZE);
    let (mut client, user) = signed_up_with_long_history(app, "long-export@example.com").await;
    client.reauth(PASSWORD, "/history#export").await;
    let newest: i64 = sqlx::query_scalar("SELECT MAX(id) FROM history_events WHERE user_id = $1")
        .bind(user)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();

    let started = std::time::Instant::now();
    let json = client.get("/history/export.json").await;
    eprintln!("{}: JSON export of {} events in {:?}", app.backend, EVENTS + 1, started.elapsed());
    assert_eq!(json.status, 200);
    assert_eq!(json.headers.get(header::CONTENT_TYPE).unwrap(), "application/json");
    assert!(json.headers.get(header::CONTENT_DISPOSITION).unwrap().to_str().unwrap().contains("keycard-history.json"));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json.body).expect("the export is one JSON array");
    // The sign-up's own event plus the inserted ones.
    assert_eq!(rows.len() as i64, EVENTS + 1);
    let ids: Vec<i64> = rows.iter().map(|row| row["id"].as_i64().unwrap()).collect();
    assert_newest_first(&ids);
    assert_eq!(ids[0], newest);
    let first = rows[0].as_object().unwrap();
    let mut fields: Vec<&str> = first.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["at", "at_utc", "detail", "event", "id", "ip", "kind", "new_device", "user_agent"]);
    assert_eq!(first["kind"], "password_changed");
    assert_eq!(first["detail"], format!("event {EVENTS}"));
    assert_eq!(first["at"], 1_700_000_000 + EVENTS);
    assert_eq!(rows.last().unwrap()["kind"], "signed_in");

    let started = std::time::Instant::now();
    let csv = client.get("/history/export.csv").await;
    eprintln!("{}: CSV export of {} events in {:?}", app.backend, EVENTS + 1, started.elapsed());
    assert_eq!(csv.status, 200);
    assert!(csv.headers.get(header::CONTENT_DISPOSITION).unwrap().to_str().unwrap().contains("keycard-history.csv"));
    assert_eq!(csv_ids(&csv.body), ids, "CSV and JSON hold the same events in the same order");
    assert!(csv.body.contains(&format!("\r\n{newest},password_changed,")));

    // Streamed: no length is known before the body is sent.
    let response = raw_get(app, &client, "/history/export.csv").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get(header::CONTENT_LENGTH).is_none());
    assert_eq!(axum::body::HttpBody::size_hint(response.body()).exact(), None);
    let streamed = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(csv_ids(std::str::from_utf8(&streamed).unwrap()).len() as i64, EVENTS + 1);
}

async fn export_stops_at_its_upper_bound(app: &TestApp) {
    assert_eq!(MAX_EXPORT_EVENTS, 100_000, "docs/architecture.md documents this bound");
    let (_client, user) = signed_up_with_long_history(app, "bounded-export@example.com").await;
    let all: Vec<i64> = sqlx::query_scalar("SELECT id FROM history_events WHERE user_id = $1 ORDER BY id DESC")
        .bind(user)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    // A bound that is not a multiple of the page size: the last page is cut short.
    let bound = 2 * EXPORT_PAGE_SIZE + 7;
    let body = export_body(&app.state.db, user, Format::Csv, bound).await.unwrap();
    let csv = body.collect().await.unwrap().to_bytes();
    assert_eq!(csv_ids(std::str::from_utf8(&csv).unwrap()), all[..bound], "the newest {bound} events");

    let body = export_body(&app.state.db, user, Format::Json, bound).await.unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&body.collect().await.unwrap().to_bytes()).unwrap();
    let ids: Vec<i64> = rows.iter().map(|row| row["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, all[..bound]);

    // No events at all: still a valid, empty JSON array and a CSV header.
    let body = export_body(&app.state.db, user + 1_000, Format::Json, bound).await.unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&body.collect().await.unwrap().to_bytes()).unwrap();
    assert!(rows.is_empty());
    let body = export_body(&app.state.db, user + 1_000, Format::Csv, bound).await.unwrap();
    assert!(csv_ids(std::str::from_utf8(&body.collect().await.unwrap().to_bytes()).unwrap()).is_empty());
}
