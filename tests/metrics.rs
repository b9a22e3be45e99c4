//! `/metrics`: off by default, behind its token when on, and counting what happened. In a binary
//! of its own: the Prometheus recorder is global to the process, so nothing else may count while
//! these scenarios compare the numbers before and after (once on SQLite, once on PostgreSQL).

// Tests stop at the first surprise: unwrapping is how they say so.
#![allow(clippy::unwrap_used, dead_code)]

#[macro_use]
#[path = "integration/common/mod.rs"]
mod common;

use common::{Client, TestApp, PASSWORD};
use keycard::core::config::{Config, Redacted};

const TOKEN: &str = "metrics-token-for-the-tests-0001";

fn with_metrics(config: &mut Config) {
    config.metrics_token = Some(Redacted(TOKEN.into()));
}

#[test]
fn metrics_on_sqlite() {
    common::run(async {
        let app = TestApp::sqlite_with(with_metrics).await;
        common::scenario_on("metrics on SQLite", app, metrics_count_what_happened).await;
        let plain = TestApp::sqlite().await;
        common::scenario_on("no metrics on SQLite", plain, metrics_are_off_without_a_token).await;
    });
}

#[test]
#[ignore = "needs PostgreSQL at 127.0.0.1:5432 (scripts/test runs it)"]
fn metrics_on_postgres() {
    common::run(async {
        let app = TestApp::postgres_with(with_metrics).await;
        common::scenario_on("metrics on PostgreSQL", app, metrics_count_what_happened).await;
    });
}

/// The two tests above run one after the other (each compares numbers the other would move).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn scrape(client: &mut Client) -> String {
    client.extra_headers = vec![("authorization", format!("Bearer {TOKEN}"))];
    let reply = client.get("/metrics").await;
    client.extra_headers.clear();
    assert_eq!(reply.status, 200, "{}", reply.body);
    let content_type = reply.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    reply.body
}

/// The value of the sample whose name and labels start with `series` (0 when absent).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(series))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

async fn metrics_are_off_without_a_token(app: &TestApp) {
    let mut client = app.client();
    assert_eq!(client.get("/metrics").await.status, 404);
    client.extra_headers = vec![("authorization", format!("Bearer {TOKEN}"))];
    assert_eq!(client.get("/metrics").await.status, 404, "no token configured: no metrics, whatever is sent");
}

async fn metrics_count_what_happened(app: &TestApp) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut watcher = app.client();
    // Refused without the token, or with another one, and says how to authenticate.
    for presented in [None, Some("Bearer wrong-token-wrong-token-00"), Some(&*format!("Basic {TOKEN}"))] {
        watcher.extra_headers = presented.map(|p| vec![("authorization", p.to_owned())]).unwrap_or_default();
        let refused = watcher.get("/metrics").await;
        assert_eq!(refused.status, 401, "{presented:?}");
        assert!(refused.headers.get("www-authenticate").unwrap().to_str().unwrap().starts_with("Bearer"));
        assert!(!refused.body.contains("keycard_"), "nothing leaks to a refused scraper");
    }
    let before = scrape(&mut watcher).await;

    let mut ana = app.client();
    ana.sign_up("ana@example.com").await.assert_redirect_to("/");
    ana.post_form("/api/logout", "/", &[]).await;
    ana.log_in("ana@example.com", PASSWORD, false).await.assert_redirect_to("/");
    assert_eq!(ana.get("/devices").await.status, 200);
    // Five wrong passwords, then the email is blocked for a moment: the sixth and seventh are
    // refused before any password is hashed.
    let mut guesser = app.client();
    for _ in 0..5 {
        guesser.log_in("bo@example.com", "not-the-password-1", false).await;
    }
    // That block lasts a second, and the clock stands still meanwhile.
    for _ in 0..2 {
        guesser.log_in("bo@example.com", "not-the-password-1", false).await;
    }
    // An account with two-step on: a wrong code at the code step.
    let mut cy = app.client();
    cy.sign_up("cy@example.com").await.assert_redirect_to("/");
    let cy_id = app.user_id("cy@example.com").await;
    keycard::two_step::service::begin_enrolment(&app.state, cy_id).await.unwrap();
    app.exec(&format!("UPDATE totp_secrets SET enabled_at = 1 WHERE user_id = {cy_id}")).await;
    let mut at_code = app.client();
    at_code.log_in("cy@example.com", PASSWORD, false).await.assert_redirect_to("/login/code");
    at_code.post_form("/api/login_code", "/login/code", &[("code", "not-a-code"), ("next", "")]).await;

    let after = scrape(&mut watcher).await;
    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(delta("keycard_sign_ins_total{outcome=\"success\"}"), 1.0, "{after}");
    assert_eq!(delta("keycard_sign_ins_total{outcome=\"wrong_password\"}"), 5.0, "{after}");
    assert_eq!(delta("keycard_sign_ins_total{outcome=\"throttled\"}"), 2.0, "{after}");
    assert_eq!(delta("keycard_sign_ins_total{outcome=\"code_failed\"}"), 1.0, "{after}");
    assert_eq!(delta("keycard_second_factor_total{outcome=\"wrong\"}"), 1.0, "{after}");
    assert_eq!(delta("keycard_sessions_started_total{method=\"sign_up\"}"), 2.0, "{after}");
    assert_eq!(delta("keycard_sessions_started_total{method=\"password\"}"), 1.0, "{after}");
    assert_eq!(delta("keycard_sessions_ended_total{reason=\"signed_out\"}"), 1.0, "{after}");
    // Gauges are read from the database at each scrape: ana's new session and cy's.
    assert_eq!(value(&after, "keycard_sessions_active "), 2.0, "{after}");
    assert_eq!(value(&after, "keycard_app_connections_active "), 0.0, "{after}");
    assert!(value(&after, "keycard_db_pool_max_connections ") >= 1.0, "{after}");
    assert!(after.contains("keycard_db_pool_connections{state=\"idle\"}"), "{after}");
    assert!(after.contains("keycard_mails_total{outcome=\"sent\"}"), "the mail worker's counts: {after}");
    // Latency by route template, with the histogram's buckets.
    let devices = "keycard_http_request_duration_seconds_count{route=\"/devices\",method=\"GET\",status=\"200\"}";
    assert_eq!(delta(devices), 1.0, "{after}");
    assert!(after.contains("keycard_http_request_duration_seconds_bucket{route=\"/devices\""), "{after}");
    assert!(after.contains("# TYPE keycard_sign_ins_total counter"), "{after}");

    // An id in a path never becomes a label: the API's session address is counted by its template.
    let handle = app.handle_of(&ana).await;
    let mut app_client = app.client();
    app_client.app_request("DELETE", &format!("/api/v1/sessions/{handle}"), Some("not-a-token"), None).await;
    let last = scrape(&mut watcher).await;
    assert!(last.contains("route=\"/api/v1/sessions/{handle}\""), "{last}");
    for secret in [handle.as_str(), "ana@example.com", "bo@example.com", TOKEN] {
        assert!(!last.contains(secret), "{secret} in the metrics");
    }
}
