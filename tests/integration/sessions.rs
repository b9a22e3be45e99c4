//! Server-side sessions through the real router, on SQLite and PostgreSQL.

use crate::common::{TestApp, PASSWORD};
use keycard::sessions::store::hash_id;
use sqlx::Row;

on_both_databases!(
    session_row_holds_only_a_hash_and_the_device,
    cookie_flags_and_lifetimes,
    remember_this_device_lasts_thirty_days,
    each_sign_in_gets_a_new_session_id,
    sign_out_ends_the_row_and_the_copied_cookie_stops_working,
    protected_pages_redirect_to_sign_in_and_back,
    forged_and_malformed_cookies_are_signed_out,
    expired_sessions_are_refused_with_a_message,
    visitors_who_never_sign_in_get_no_session_row,
    last_seen_is_written_at_most_once_per_interval,
);

async fn session_row_holds_only_a_hash_and_the_device(app: &TestApp) {
    let mut client = app.client();
    client.sign_up("gus@example.com").await;
    let cookie = client.session_cookie().expect("cookie");
    let id: tower_sessions::session::Id = cookie.parse().unwrap();
    let row = sqlx::query("SELECT id_hash, ip, user_agent, method, stage, remember, data FROM sessions")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let id_hash: String = row.get(0);
    assert_eq!(id_hash, hash_id(&id));
    assert_ne!(id_hash, cookie);
    assert_eq!(row.get::<String, _>(1), "203.0.113.7");
    assert!(row.get::<String, _>(2).contains("Firefox/133.0"));
    assert_eq!(row.get::<String, _>(3), "password");
    assert_eq!(row.get::<String, _>(4), "complete");
    assert_eq!(row.get::<i64, _>(5), 0);
    let data: String = row.get(6);
    assert!(!data.contains(&cookie) && !data.contains(PASSWORD));
}

async fn cookie_flags_and_lifetimes(app: &TestApp) {
    let mut client = app.client();
    let reply = client.sign_up("hal@example.com").await;
    let cookie = reply.set_cookies().into_iter().find(|c| c.starts_with("keycard_session=")).expect("cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(!cookie.contains("Max-Age") && !cookie.contains("Expires"), "browser-session cookie: {cookie}");
    let (created, absolute, idle): (i64, i64, i64) = {
        let row = sqlx::query("SELECT created_at, absolute_expires_at, idle_expires_at FROM sessions")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!((created, absolute, idle), (app.now(), app.now() + 12 * 3600, app.now() + 30 * 60));
}

async fn remember_this_device_lasts_thirty_days(app: &TestApp) {
    app.client().sign_up("ida@example.com").await;
    let mut client = app.client();
    let reply = client.log_in("ida@example.com", PASSWORD, true).await;
    reply.assert_redirect_to("/");
    let cookie = reply.set_cookies().into_iter().find(|c| c.starts_with("keycard_session=")).unwrap();
    let max_age: i64 =
        cookie.split(';').find_map(|a| a.trim().strip_prefix("Max-Age=")).expect("persistent cookie").parse().unwrap();
    assert_eq!(max_age, 30 * 24 * 3600);
    let row = sqlx::query("SELECT created_at, absolute_expires_at FROM sessions WHERE remember = 1")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(row.get::<i64, _>(1) - row.get::<i64, _>(0), 30 * 24 * 3600);
}

async fn each_sign_in_gets_a_new_session_id(app: &TestApp) {
    app.client().sign_up("jo@example.com").await;
    let mut client = app.client();
    client.log_in("jo@example.com", PASSWORD, false).await;
    let first = client.session_cookie().unwrap();
    // Signing in again from a browser that already has a session (or a planted id) never keeps it.
    client.log_in("jo@example.com", PASSWORD, false).await;
    let second = client.session_cookie().unwrap();
    assert_ne!(first, second);
    let first_id: tower_sessions::session::Id = first.parse().unwrap();
    let live: i64 = sqlx::query("SELECT COUNT(*) FROM sessions WHERE id_hash = $1 AND ended_at IS NULL")
        .bind(hash_id(&first_id))
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(live, 0, "the replaced session no longer works");
    let mut planted = app.client();
    planted.cookies.insert("keycard_session".into(), first.clone());
    planted.log_in("jo@example.com", PASSWORD, false).await;
    assert_ne!(planted.session_cookie().unwrap(), first);
}

async fn sign_out_ends_the_row_and_the_copied_cookie_stops_working(app: &TestApp) {
    let mut client = app.client();
    client.sign_up("kim@example.com").await;
    let copied = client.clone();
    let reply = client.post_form("/api/logout", "/", &[]).await;
    reply.assert_redirect_to("/login");
    assert!(
        reply.set_cookies().iter().any(|c| c.starts_with("keycard_session=") && c.contains("Max-Age=0")),
        "cookie cleared: {:?}",
        reply.set_cookies()
    );
    assert!(client.session_cookie().is_none());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NOT NULL AND end_reason = 'signed_out'").await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL").await, 0);
    let mut copied = copied;
    copied.get("/").await.assert_redirect_to("/login?next=/");
    let whoami = copied.get("/login").await;
    assert!(!whoami.body.contains("kim@example.com"));
}

async fn protected_pages_redirect_to_sign_in_and_back(app: &TestApp) {
    let mut client = app.client();
    client.get("/").await.assert_redirect_to("/login?next=/");
    client.get("/security/two-step").await.assert_redirect_to("/login?next=/security/two-step");
    let login = client.get("/login?next=/security/two-step").await;
    assert_eq!(login.status, 200);
    assert!(login.body.contains("value=\"/security/two-step\""), "next carried in the form");
    client.sign_up("lee@example.com").await;
    let mut other = app.client();
    other
        .post_form(
            "/api/login",
            "/login?next=/security/two-step",
            &[("email", "lee@example.com"), ("password", PASSWORD), ("next", "/security/two-step")],
        )
        .await
        .assert_redirect_to("/security/two-step");
}

async fn forged_and_malformed_cookies_are_signed_out(app: &TestApp) {
    app.client().sign_up("max@example.com").await;
    for forged in ["AAAAAAAAAAAAAAAAAAAAAA", "not-a-session-id", "'; DROP TABLE sessions; --"] {
        let mut client = app.client();
        client.cookies.insert("keycard_session".into(), forged.into());
        client.get("/").await.assert_redirect_to("/login?next=/");
        let login = client.get("/login").await;
        assert_eq!(login.status, 200);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 1);
}

async fn expired_sessions_are_refused_with_a_message(app: &TestApp) {
    let mut idle = app.client();
    idle.sign_up("ned@example.com").await;
    // 30 minutes untouched: at that second the session has expired.
    app.clock.advance(30 * 60);
    let reply = idle.get("/").await;
    reply.assert_redirect_to("/login?next=/&ended=expired");
    let page = idle.follow(&reply).await;
    assert!(page.body.contains("Your session expired. Please sign in again."));
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE end_reason = 'expired'").await, 1);

    let mut old = app.client();
    old.log_in("ned@example.com", PASSWORD, false).await;
    // Used every 29 minutes it never idles out, but 12 hours after sign-in it ends all the same.
    for _ in 0..24 {
        app.clock.advance(29 * 60);
        assert_eq!(old.get("/").await.status, 200);
    }
    app.clock.advance(12 * 3600 - 24 * 29 * 60 - 1);
    assert_eq!(old.get("/").await.status, 200, "a second before its end");
    app.clock.advance(1);
    old.get("/").await.assert_redirect_to("/login?next=/&ended=expired");
}

async fn visitors_who_never_sign_in_get_no_session_row(app: &TestApp) {
    let mut client = app.client();
    for path in ["/login", "/signup", "/", "/nowhere", "/healthz"] {
        let reply = client.get(path).await;
        assert!(reply.set_cookies().is_empty(), "{path} set a cookie");
    }
    client.log_in("nobody@example.com", PASSWORD, false).await;
    assert!(client.cookies.is_empty());
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
}

async fn last_seen_is_written_at_most_once_per_interval(app: &TestApp) {
    let mut client = app.client();
    client.sign_up("ola@example.com").await;
    let signed_up = app.now();
    app.clock.advance(59);
    client.get("/").await;
    assert_eq!(app.count("SELECT last_seen_at FROM sessions").await, signed_up, "within the interval: no write");
    app.clock.advance(1);
    client.get("/").await;
    assert_eq!(app.count("SELECT last_seen_at FROM sessions").await, signed_up + 60, "after the interval: written");
}
