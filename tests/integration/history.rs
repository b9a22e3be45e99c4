//! The security history through the real router, on SQLite and PostgreSQL: events written with
//! their changes (and not without), failed sign-ins, the new-device rule and its banner, "This
//! wasn't me", keyset pagination and filters, export, retention.

use crate::common::{local_path, Client, TestApp, PASSWORD, SAFARI_IPHONE};
use keycard::history::{store, Kind};
use keycard::sessions::sweeper;
use sqlx::Row;

on_both_databases!(
    failed_sign_in_is_in_the_accounts_history_without_the_password,
    unknown_email_attempts_are_in_no_history,
    first_sign_in_is_not_an_alert_and_a_known_device_is_not_either,
    new_device_raises_banner_on_other_sessions_until_acknowledged,
    this_wasnt_me_signs_the_new_session_out_and_goes_to_password,
    session_endings_are_recorded_with_how,
    failed_changes_write_no_event,
    each_event_names_the_browser_that_asked,
    no_sign_in_without_its_event,
    pagination_is_stable_while_events_arrive_and_filters_by_kind,
    export_downloads_as_json_and_csv_for_the_signed_in_account_only,
    retention_purges_old_events_in_batches,
    alerts_answer_only_to_earlier_sessions,
);

async fn signed_up(app: &TestApp, email: &str) -> Client {
    let mut client = app.client();
    client.sign_up(email).await.assert_redirect_to("/");
    client
}

async fn signed_in(app: &TestApp, email: &str, user_agent: &str) -> Client {
    let mut client = app.client();
    client.user_agent = user_agent.into();
    client.log_in(email, PASSWORD, false).await.assert_redirect_to("/");
    client
}

async fn open_alert_id(app: &TestApp, user: i64) -> i64 {
    sqlx::query("SELECT id FROM history_events WHERE user_id = $1 AND alert = 1 AND alert_ack_at IS NULL")
        .bind(user)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .get(0)
}

async fn failed_sign_in_is_in_the_accounts_history_without_the_password(app: &TestApp) {
    let mut owner = signed_up(app, "fail@example.com").await;
    let mut attacker = app.client();
    let reply = attacker.log_in("fail@example.com", "wrong-guess-7781-secret", false).await;
    // Back to the form with the signed "WrongCredentials" error, not signed in.
    assert_eq!(reply.status, 302, "{}", reply.body);
    let wrong_credentials = "/login?__path=%2Fapi%2Flogin&__err=Ildyb25nQ3JlZGVudGlhbHMi&__exp=";
    assert!(local_path(reply.location()).starts_with(wrong_credentials), "{}", reply.location());
    assert!(attacker.follow(&reply).await.body.contains("Email or password is incorrect."));
    let user = app.user_id("fail@example.com").await;
    assert_eq!(app.history_kinds(user).await, vec!["signed_in", "sign_in_failed"]);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM history_events WHERE detail LIKE '%wrong-guess%' OR user_agent LIKE '%wrong-guess%'"
        )
        .await,
        0
    );
    let page = owner.get("/history").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Sign-in failed"), "{}", page.body);
    assert!(page.body.contains("Wrong password"));
    assert!(!page.body.contains("wrong-guess"));
}

async fn unknown_email_attempts_are_in_no_history(app: &TestApp) {
    signed_up(app, "known@example.com").await;
    app.client().log_in("nobody@example.com", "whatever-password-1", false).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM history_events WHERE kind = 'sign_in_failed'").await, 0);
}

async fn first_sign_in_is_not_an_alert_and_a_known_device_is_not_either(app: &TestApp) {
    signed_up(app, "known-device@example.com").await;
    signed_in(app, "known-device@example.com", crate::common::FIREFOX_LINUX).await;
    let user = app.user_id("known-device@example.com").await;
    assert_eq!(app.history_kinds(user).await, vec!["signed_in", "signed_in"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM history_events WHERE alert = 1").await, 0);
    // The same browser family, OS and network seen more than 90 days ago counts as new again.
    app.exec(&format!("UPDATE history_events SET at = at - {}", 91 * 24 * 3600)).await;
    signed_in(app, "known-device@example.com", crate::common::FIREFOX_LINUX).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM history_events WHERE alert = 1").await, 1);
}

async fn new_device_raises_banner_on_other_sessions_until_acknowledged(app: &TestApp) {
    let mut first = signed_up(app, "banner@example.com").await;
    assert!(!first.get("/").await.body.contains("This wasn't me"));
    let mut phone = signed_in(app, "banner@example.com", SAFARI_IPHONE).await;
    let page = first.get("/devices").await.body;
    assert!(page.contains("New sign-in to your account from") && page.contains("Safari 17 on iPhone ("), "{page}");
    assert!(page.contains("It was me"));
    assert!(page.contains("<button type=\"submit\" class=\"danger\">This wasn't me</button>"), "{page}");
    // Not shown to the session that raised it.
    assert!(!phone.get("/").await.body.contains("It was me"));
    let user = app.user_id("banner@example.com").await;
    let alert = open_alert_id(app, user).await;
    // Another account cannot acknowledge it.
    let mut stranger = signed_up(app, "stranger@example.com").await;
    stranger.post_form("/api/history/alerts/ack", "/", &[("alert", &alert.to_string())]).await;
    assert_eq!(open_alert_id(app, user).await, alert, "still open");
    let reply = first.post_form("/api/history/alerts/ack", "/devices", &[("alert", &alert.to_string())]).await;
    reply.assert_redirect_to("/history");
    assert!(!first.get("/").await.body.contains("It was me"));
    // The phone is still signed in.
    assert_eq!(phone.get("/devices").await.status, 200);
}

async fn this_wasnt_me_signs_the_new_session_out_and_goes_to_password(app: &TestApp) {
    let mut first = signed_up(app, "notme@example.com").await;
    let mut phone = signed_in(app, "notme@example.com", SAFARI_IPHONE).await;
    let user = app.user_id("notme@example.com").await;
    let alert = open_alert_id(app, user).await;
    let reply = first.post_form("/api/history/alerts/not-me", "/", &[("alert", &alert.to_string())]).await;
    reply.assert_redirect_to("/security/password");
    let reply = phone.get("/devices").await;
    reply.assert_redirect_to("/login?next=/devices&ended=elsewhere");
    assert_eq!(first.get("/devices").await.status, 200);
    assert_eq!(app.history_kinds(user).await, vec!["signed_in", "signed_in", "alert_answered", "session_ended"]);
    // Answered once only.
    let again = first.post_form("/api/history/alerts/not-me", "/", &[("alert", &alert.to_string())]).await;
    assert_ne!(again.location(), "/security/password");
    assert_eq!(app.history_kinds(user).await.len(), 4);
    app.assert_every_ending_recorded().await;
}

async fn session_endings_are_recorded_with_how(app: &TestApp) {
    let mut first = signed_up(app, "ends@example.com").await;
    let user = app.user_id("ends@example.com").await;
    let mut second = signed_in(app, "ends@example.com", crate::common::FIREFOX_LINUX).await;
    second.post_form("/api/logout", "/", &[]).await.assert_redirect_to("/login");
    signed_in(app, "ends@example.com", crate::common::FIREFOX_LINUX).await;
    signed_in(app, "ends@example.com", crate::common::FIREFOX_LINUX).await;
    first.post_form("/api/devices/sign-out-others", "/devices", &[]).await.assert_redirect_to("/devices");
    // Expiry by the sweeper: the third session idles out while the first stays in use.
    signed_in(app, "ends@example.com", crate::common::FIREFOX_LINUX).await;
    app.clock.advance(29 * 60);
    assert_eq!(first.get("/devices").await.status, 200);
    app.clock.advance(60);
    sweeper::sweep_once(&app.state.db, app.now(), 10).await.unwrap();
    let details: Vec<(String, String)> =
        sqlx::query("SELECT kind, detail FROM history_events WHERE user_id = $1 AND kind <> 'signed_in' ORDER BY id")
            .bind(user)
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    assert_eq!(
        details,
        vec![
            ("session_ended".to_owned(), "Signed out".to_owned()),
            // Every ending is recorded the same way: one event per session, then the action's own.
            ("session_ended".to_owned(), "Signed out from another device".to_owned()),
            ("session_ended".to_owned(), "Signed out from another device".to_owned()),
            ("other_devices_signed_out".to_owned(), "2 sessions signed out".to_owned()),
            ("session_ended".to_owned(), "Expired".to_owned()),
        ]
    );
    app.assert_every_ending_recorded().await;
}

/// Services are handed the request's origin by their server function: each event names the
/// browser and address of the request that made it, not of another session of the account.
async fn each_event_names_the_browser_that_asked(app: &TestApp) {
    let mut owner = signed_up(app, "origin@example.com").await;
    let mut phone = signed_in(app, "origin@example.com", SAFARI_IPHONE).await;
    let mut attacker = app.client();
    attacker.user_agent = "curl/8.5.0".into();
    attacker.log_in("origin@example.com", "not-the-password-1", false).await;
    let user = app.user_id("origin@example.com").await;
    let alert = open_alert_id(app, user).await.to_string();
    owner.post_form("/api/history/alerts/ack", "/devices", &[("alert", &alert)]).await.assert_redirect_to("/history");
    phone.post_form("/api/devices/sign-out-others", "/devices", &[]).await.assert_redirect_to("/devices");
    let rows = sqlx::query(
        "SELECT kind, user_agent, ip FROM history_events WHERE user_id = $1 AND kind <> 'session_ended' ORDER BY id",
    )
    .bind(user)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let events: Vec<(String, String, String)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    let firefox = crate::common::FIREFOX_LINUX;
    let expected = [
        ("signed_in", firefox),
        ("signed_in", SAFARI_IPHONE),
        ("sign_in_failed", "curl/8.5.0"),
        ("alert_answered", firefox),
        ("other_devices_signed_out", SAFARI_IPHONE),
    ];
    let expected: Vec<(String, String, String)> =
        expected.iter().map(|(k, ua)| (k.to_string(), ua.to_string(), "203.0.113.7".to_owned())).collect();
    assert_eq!(events, expected);
}

async fn failed_changes_write_no_event(app: &TestApp) {
    let mut client = signed_up(app, "nochange@example.com").await;
    let user = app.user_id("nochange@example.com").await;
    let before = app.history_kinds(user).await;
    // Nothing to sign out: no event.
    client.post_form("/api/devices/sign-out-others", "/devices", &[]).await;
    client.post_form("/api/devices/sign-out", "/devices", &[("handle", "nope")]).await;
    // Two-step is off: turning it off changes nothing and records nothing.
    let origin = keycard::core::origin::RequestOrigin::default();
    keycard::two_step::store::disable(&app.state, user, &origin).await.unwrap();
    assert!(!keycard::two_step::store::replace_recovery_codes(&app.state, user, &["x".into()], &origin, app.now())
        .await
        .unwrap());
    assert!(!keycard::two_step::store::use_recovery_code(&app.state, user, "x", &origin, app.now()).await.unwrap());
    // An event recorded in a transaction that is rolled back is gone with the change.
    let mut tx = app.state.db.pool.begin().await.unwrap();
    let event = store::Event {
        user_id: user,
        kind: Kind::PasswordChanged,
        at: app.now(),
        ip: "192.0.2.1".into(),
        user_agent: String::new(),
        detail: String::new(),
        session_public_id: None,
    };
    store::record(&mut tx, &event).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(app.history_kinds(user).await, before);
}

async fn no_sign_in_without_its_event(app: &TestApp) {
    signed_up(app, "atomic@example.com").await;
    let sessions = app.count("SELECT COUNT(*) FROM sessions").await;
    // The event cannot be written: the sign-in must fail as a whole.
    app.exec("ALTER TABLE history_events RENAME TO history_events_away").await;
    let reply = app.client().log_in("atomic@example.com", PASSWORD, false).await;
    assert_eq!(reply.status, 500, "{}", reply.location());
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, sessions);
    app.exec("ALTER TABLE history_events_away RENAME TO history_events").await;
}

async fn pagination_is_stable_while_events_arrive_and_filters_by_kind(app: &TestApp) {
    signed_up(app, "pages@example.com").await;
    let user = app.user_id("pages@example.com").await;
    let add = |kind: Kind, n: usize| async move {
        for _ in 0..n {
            let mut conn = app.state.db.pool.acquire().await.unwrap();
            let event = store::Event {
                user_id: user,
                kind,
                at: app.now(),
                ip: "198.51.100.1".into(),
                user_agent: String::new(),
                detail: String::new(),
                session_public_id: None,
            };
            store::record(&mut conn, &event).await.unwrap();
        }
    };
    add(Kind::SignInFailed, 30).await;
    add(Kind::PasswordChanged, 9).await;
    // 40 events: the sign-up's signed_in and 39 more.
    let (first, next) = store::list(&app.state.db, user, None, None, 15).await.unwrap();
    assert_eq!(first.len(), 15);
    assert!(first.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    add(Kind::SignInFailed, 5).await; // arrive meanwhile
    let (second, next) = store::list(&app.state.db, user, None, next, 15).await.unwrap();
    let (third, next) = store::list(&app.state.db, user, None, next, 15).await.unwrap();
    assert_eq!(next, None);
    let mut ids: Vec<i64> = first.iter().chain(&second).chain(&third).map(|e| e.id).collect();
    assert_eq!(ids.len(), 40);
    ids.dedup();
    assert_eq!(ids.len(), 40, "no event shown twice");
    assert_eq!(third.last().unwrap().kind, Kind::SignedIn);
    let (changed, next) = store::list(&app.state.db, user, Some(Kind::PasswordChanged), None, 25).await.unwrap();
    assert_eq!((changed.len(), next), (9, None));
    // Through the page: the filter and the "Older events" link.
    let mut client = signed_in(app, "pages@example.com", crate::common::FIREFOX_LINUX).await;
    let page = client.get("/history?kind=password_changed").await.body;
    assert_eq!(page.matches("data-kind=\"password_changed\"").count(), 9, "{page}");
    let page = client.get("/history").await.body;
    assert!(page.contains("Older events"));
    let href = page.split("href=\"/history?before=").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let older = client.get(&format!("/history?before={href}")).await;
    assert_eq!(older.status, 200);
    assert_eq!(older.body.matches("class=\"event\"").count(), 21, "46 events, 25 on the first page");
    // The address is read as a browser sends it (percent-encoded), and values no form sends are
    // ignored rather than refused: the first page of every event.
    let encoded = client.get("/history?kind=password%5Fchanged").await.body;
    assert_eq!(encoded.matches("data-kind=\"password_changed\"").count(), 9, "{encoded}");
    let odd = client.get("/history?kind=no-such-kind&before=not-a-number").await;
    assert_eq!(odd.status, 200);
    assert_eq!(odd.body.matches("class=\"event\"").count(), 25, "{}", odd.body);
    assert!(odd.body.contains("Older events"));
}

async fn export_downloads_as_json_and_csv_for_the_signed_in_account_only(app: &TestApp) {
    let mut client = signed_up(app, "export@example.com").await;
    client.user_agent = "=cmd, \"agent\"".into();
    client.log_in("export@example.com", "wrong-password-here", false).await;
    // Like other sensitive actions, the download asks for the password first, then comes back
    // to the download links.
    let reply = client.get("/history/export.csv").await;
    reply.assert_redirect_to("/security/confirm?next=/history%23export");
    assert!(!reply.body.contains("sign_in_failed"));
    client.reauth(PASSWORD, "/history#export").await;
    let csv = client.get("/history/export.csv").await;
    assert_eq!(csv.status, 200);
    let disposition = csv.headers.get("content-disposition").unwrap().to_str().unwrap();
    assert!(disposition.starts_with("attachment;") && disposition.contains("keycard-history.csv"));
    assert!(csv.body.starts_with("id,kind,event,at,at_utc,detail,ip,user_agent,new_device\r\n"));
    assert!(csv.body.contains(",\"'=cmd, \"\"agent\"\"\","), "{}", csv.body);
    let json = client.get("/history/export.json").await;
    assert!(json.headers.get("content-disposition").unwrap().to_str().unwrap().contains("keycard-history.json"));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json.body).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["kind"], "sign_in_failed");
    // Only one's own history, and only when signed in.
    let mut other = signed_up(app, "export-other@example.com").await;
    other.reauth(PASSWORD, "/history#export").await;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&other.get("/history/export.json").await.body).unwrap();
    assert_eq!(rows.len(), 1);
    let reply = app.client().get("/history/export.csv").await;
    reply.assert_redirect_to("/login?next=/history");
}

async fn retention_purges_old_events_in_batches(app: &TestApp) {
    signed_up(app, "retention@example.com").await;
    let user = app.user_id("retention@example.com").await;
    for age_days in [400, 380, 366, 10] {
        let mut conn = app.state.db.pool.acquire().await.unwrap();
        let event = store::Event {
            user_id: user,
            kind: Kind::PasswordChanged,
            at: app.now() - age_days * 24 * 3600,
            ip: String::new(),
            user_agent: String::new(),
            detail: String::new(),
            session_public_id: None,
        };
        store::record(&mut conn, &event).await.unwrap();
    }
    let purged = sweeper::purge_history(&app.state.db, app.now(), 365 * 24 * 3600, 2).await.unwrap();
    assert_eq!(purged, 3);
    assert_eq!(app.count("SELECT COUNT(*) FROM history_events").await, 2);
}

/// Only a session signed in before an alert may answer it: not the session that raised it (a
/// thief dismissing the alert about themselves), nor one started after it. The answer is in the
/// history with the session that gave it.
async fn alerts_answer_only_to_earlier_sessions(app: &TestApp) {
    let mut first = signed_up(app, "earlier@example.com").await;
    let mut thief = signed_in(app, "earlier@example.com", SAFARI_IPHONE).await;
    let user = app.user_id("earlier@example.com").await;
    let alert = open_alert_id(app, user).await.to_string();
    // A session started after the alert (same device as the first: no alert of its own).
    let mut later = signed_in(app, "earlier@example.com", crate::common::FIREFOX_LINUX).await;
    assert!(!later.get("/").await.body.contains("It was me"), "not shown to a later session");
    for client in [&mut thief, &mut later] {
        for path in ["/api/history/alerts/ack", "/api/history/alerts/not-me"] {
            let reply = client.post_form_as_script(path, &[("alert", &alert)]).await;
            assert_eq!(reply.status, axum::http::StatusCode::NOT_FOUND, "{path}: {}", reply.body);
        }
    }
    assert_eq!(open_alert_id(app, user).await.to_string(), alert, "still open");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND stage = 'complete'").await, 3);
    // The first session may; its answer names it.
    first.post_form("/api/history/alerts/ack", "/", &[("alert", &alert)]).await.assert_redirect_to("/history");
    let first_handle: String = sqlx::query_scalar("SELECT public_id FROM sessions WHERE id_hash = $1")
        .bind(first.id_hash())
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let answered: (String, Option<String>) = sqlx::query_as(
        "SELECT detail, session_public_id FROM history_events WHERE user_id = $1 AND kind = 'alert_answered'",
    )
    .bind(user)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(answered, ("It was me".to_owned(), Some(first_handle)));
}
