//! The devices page through the real router, on SQLite and PostgreSQL: listing an account's
//! sessions, signing out one or all others, expiry, the sweeper, and the client IP shown.

use crate::common::{local_path, Client, TestApp, FIREFOX_LINUX, PASSWORD, SAFARI_IPHONE};
use keycard::devices::service as devices;
use keycard::sessions::sweeper;
use sqlx::Row;

on_both_databases!(
    lists_each_session_and_marks_this_device,
    newest_activity_first,
    raw_user_agents_are_escaped_and_unknown_ones_fall_back,
    signing_out_another_device_ends_it_on_its_next_request,
    another_accounts_session_answers_404_and_nothing_changes,
    sign_out_all_other_devices_leaves_only_this_one,
    expired_sessions_are_not_listed_nor_revocable,
    last_active_is_written_at_most_once_per_interval,
    sweeper_marks_expired_and_purges_old_rows_in_batches,
);

const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
Chrome/131.0.0.0 Safari/537.36";

/// Signs `email` up in one client (Firefox on Linux) and returns it.
async fn first_device(app: &TestApp, email: &str) -> Client {
    let mut client = app.client();
    client.sign_up(email).await.assert_redirect_to("/");
    client
}

/// Signs `email` in from another browser with `user_agent`.
async fn other_device(app: &TestApp, email: &str, user_agent: &str, remember: bool) -> Client {
    let mut client = app.client();
    client.user_agent = user_agent.into();
    client.log_in(email, PASSWORD, remember).await.assert_redirect_to("/");
    client
}

async fn handle_of(app: &TestApp, client: &Client) -> String {
    sqlx::query("SELECT public_id FROM sessions WHERE id_hash = $1")
        .bind(client.id_hash())
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .get(0)
}

async fn live_sessions(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL").await
}

async fn lists_each_session_and_marks_this_device(app: &TestApp) {
    let mut laptop = first_device(app, "ana@example.com").await;
    let phone = other_device(app, "ana@example.com", SAFARI_IPHONE, true).await;
    let home = laptop.get("/").await;
    assert!(home.body.contains("href=\"/devices\""), "home links to Devices");
    let page = laptop.get("/devices").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for text in [
        "Firefox 133 on Linux",
        "Safari 17 on iPhone",
        "Computer",
        "Phone",
        "203.0.113.7",
        "This device",
        "Password",
        "Remembered",
        "aria-label=\"Sign out Safari 17 on iPhone\"",
        "Sign out all other devices",
        "just now",
    ] {
        assert!(page.body.contains(text), "devices page lacks {text:?}");
    }
    assert_eq!(page.body.matches(">This device<").count(), 1, "only this session is marked");
    assert!(!page.body.contains("aria-label=\"Sign out Firefox 133 on Linux\""), "no revoke button for this session");
    // The browser sees opaque handles, never the id hash (nor the cookie).
    let handle = handle_of(app, &phone).await;
    assert_eq!(handle.len(), 32);
    assert!(page.body.contains(&handle));
    for secret in [phone.id_hash(), laptop.id_hash(), phone.session_cookie().unwrap()] {
        assert!(!page.body.contains(&secret), "the page leaks a session secret");
    }
    assert_ne!(handle, handle_of(app, &laptop).await);
}

async fn newest_activity_first(app: &TestApp) {
    let laptop = first_device(app, "bea@example.com").await;
    let phone = other_device(app, "bea@example.com", SAFARI_IPHONE, false).await;
    let desktop = other_device(app, "bea@example.com", CHROME_WINDOWS, false).await;
    let t = app.now();
    for (client, ago) in [(&laptop, 600), (&phone, 60), (&desktop, 3 * 3600)] {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(t - ago)
            .bind(client.id_hash())
            .execute(&app.state.db.pool)
            .await
            .unwrap();
    }
    let uid = app.user_id("bea@example.com").await;
    let view = devices::list(&app.state.db, uid, &laptop.id_hash(), t).await.unwrap();
    let names: Vec<&str> = view.active.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Safari 17 on iPhone", "Firefox 133 on Linux", "Chrome 131 on Windows 10"]);
    assert_eq!(view.active[0].last_active.relative, "1 minute ago");
    assert_eq!(view.active[1].last_active.relative, "10 minutes ago");
    assert_eq!(view.active[2].last_active.relative, "3 hours ago");
    assert!(view.active[1].current && !view.active[0].current && !view.active[2].current);
    assert!(view.active[2].last_active.exact.ends_with(" UTC"));
    assert!(view.recent.is_empty());
}

async fn raw_user_agents_are_escaped_and_unknown_ones_fall_back(app: &TestApp) {
    let mut laptop = first_device(app, "cy@example.com").await;
    other_device(app, "cy@example.com", "<script>alert(1)</script><img src=x onerror=alert(2)>", false).await;
    let page = laptop.get("/devices").await;
    assert!(page.body.contains("Unknown browser on unknown system"));
    assert!(!page.body.contains("<script>alert(1)"), "raw agent reached the page unescaped");
    assert!(!page.body.contains("<img src=x"), "raw agent reached the page unescaped");
    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;";
    assert!(page.body.contains(&format!("<p class=\"ua help\">{escaped}</p>")), "raw agent shown as text");
}

async fn signing_out_another_device_ends_it_on_its_next_request(app: &TestApp) {
    let mut laptop = first_device(app, "dan@example.com").await;
    let mut phone = other_device(app, "dan@example.com", SAFARI_IPHONE, false).await;
    let handle = handle_of(app, &phone).await;
    let reply = laptop.post_form("/api/devices/sign-out", "/devices", &[("handle", &handle)]).await;
    reply.assert_redirect_to("/devices");
    let reason: String = sqlx::query("SELECT end_reason FROM sessions WHERE public_id = $1")
        .bind(&handle)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason, "signed_out_elsewhere");
    // The very next request of the revoked browser is signed out, with the reason: a page load is
    // sent to sign-in; a page's data loaded by a client-side navigation answers why.
    let mut navigating = phone.clone();
    let reply = post_without_referer(&mut navigating, "/api/devices", &[]).await;
    assert_eq!(reply.status, 401);
    assert!(reply.body.contains("SignedOutElsewhere"), "{}", reply.body);
    let reply = post_without_referer(&mut phone.clone(), "/api/home", &[]).await;
    assert!(reply.body.contains("SignedOutElsewhere"), "{}", reply.body);
    let reply = phone.get("/devices").await;
    reply.assert_redirect_to("/login?next=/devices&ended=elsewhere");
    let login = phone.follow(&reply).await;
    assert!(login.body.contains("You were signed out from another device."));
    // Its server functions refuse it too, and it cannot act on the account.
    let reply = phone.post_form("/api/devices/sign-out-others", "/devices", &[]).await;
    // Back to the page with the signed "NotSignedIn" error.
    assert_eq!((reply.status.as_u16(), reply.body.as_str()), (302, r#""NotSignedIn""#));
    let not_signed_in = "/devices?__path=%2Fapi%2Fdevices%2Fsign-out-others&__err=Ik5vdFNpZ25lZEluIg%3D%3D&__exp=";
    assert!(local_path(reply.location()).starts_with(not_signed_in), "{}", reply.location());
    assert_eq!(live_sessions(app).await, 1);
    // The revoking browser still works and lists it under "Recently signed out".
    let reply = laptop.post_form("/api/devices/sign-out", "/devices", &[("handle", "x")]).await;
    let page = laptop.follow(&reply).await;
    assert!(page.body.contains("That was not found."), "the no-JS form shows the error");
    let page = laptop.get("/devices").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<summary>Recently signed out</summary>"));
    assert!(page.body.contains("Signed out from another device"));
    assert!(!page.body.contains("aria-label=\"Sign out Safari 17 on iPhone\""), "no longer listed as active");
    // Signing out here ends this session as "signed out".
    laptop.post_form("/api/logout", "/devices", &[]).await.assert_redirect_to("/login");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE end_reason = 'signed_out'").await, 1);
    app.assert_every_ending_recorded().await;
}

async fn another_accounts_session_answers_404_and_nothing_changes(app: &TestApp) {
    let mut eve = first_device(app, "eve@example.com").await;
    let mut fay = first_device(app, "fay@example.com").await;
    let fay_handle = handle_of(app, &fay).await;
    let eve_handle = handle_of(app, &eve).await;
    let before: Vec<(String, Option<i64>)> = snapshot(app).await;
    // Without a Referer (script or JS client) the status is the answer.
    for handle in [fay_handle.as_str(), eve_handle.as_str(), "00000000000000000000000000000000", ""] {
        let reply = post_without_referer(&mut eve, "/api/devices/sign-out", &[("handle", handle)]).await;
        assert_eq!(reply.status, 404, "{handle:?}: {}", reply.body);
    }
    assert_eq!(snapshot(app).await, before, "nothing changed");
    assert_eq!(fay.get("/devices").await.status, 200, "the other account stays signed in");
    assert_eq!(eve.get("/devices").await.status, 200, "revoking its own session by handle is refused");
    // Listing shows only the account's own sessions.
    let page = eve.get("/devices").await;
    assert!(!page.body.contains(&fay_handle));
    // Signed out: no listing, no revoking.
    let mut stranger = app.client();
    stranger.get("/devices").await.assert_redirect_to("/login?next=/devices");
    let reply = post_without_referer(&mut stranger, "/api/devices/sign-out", &[("handle", &fay_handle)]).await;
    assert_eq!(reply.status, 401);
    let reply = post_without_referer(&mut stranger, "/api/devices", &[]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(snapshot(app).await, before);
}

async fn snapshot(app: &TestApp) -> Vec<(String, Option<i64>)> {
    sqlx::query("SELECT id_hash, ended_at FROM sessions ORDER BY id_hash")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

async fn post_without_referer(client: &mut Client, path: &str, fields: &[(&str, &str)]) -> crate::common::Reply {
    use axum::{
        body::Body,
        http::{header, Request},
    };
    let mut req = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::USER_AGENT, &client.user_agent);
    if let Some(cookie) = client.session_cookie() {
        req = req.header(header::COOKIE, format!("keycard_session={cookie}"));
    }
    client.send(req.body(Body::from(serde_urlencoded::to_string(fields).unwrap())).unwrap()).await
}

async fn sign_out_all_other_devices_leaves_only_this_one(app: &TestApp) {
    let mut laptop = first_device(app, "gil@example.com").await;
    let mut phone = other_device(app, "gil@example.com", SAFARI_IPHONE, true).await;
    let mut desktop = other_device(app, "gil@example.com", CHROME_WINDOWS, false).await;
    let mut bystander = first_device(app, "hu@example.com").await;
    laptop.post_form("/api/devices/sign-out-others", "/devices", &[]).await.assert_redirect_to("/devices");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE end_reason = 'signed_out_elsewhere'").await, 2);
    for other in [&mut phone, &mut desktop] {
        other.get("/").await.assert_redirect_to("/login?next=/&ended=elsewhere");
    }
    assert_eq!(bystander.get("/").await.status, 200, "another account is untouched");
    let page = laptop.get("/devices").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body.matches("<li class=\"device current\"").count(), 1);
    let uid = app.user_id("gil@example.com").await;
    let view = devices::list(&app.state.db, uid, &laptop.id_hash(), app.now()).await.unwrap();
    assert_eq!(view.active.len(), 1);
    assert!(view.active[0].current);
    assert_eq!(view.recent.len(), 2);
    assert!(view.recent.iter().all(|d| d.ended.as_ref().unwrap().1 == "Signed out from another device"));
    app.assert_every_ending_recorded().await;
}

async fn expired_sessions_are_not_listed_nor_revocable(app: &TestApp) {
    let mut laptop = first_device(app, "ivy@example.com").await;
    let mut idle = other_device(app, "ivy@example.com", SAFARI_IPHONE, false).await;
    let mut old = other_device(app, "ivy@example.com", CHROME_WINDOWS, false).await;
    let (idle_handle, old_handle) = (handle_of(app, &idle).await, handle_of(app, &old).await);
    // Past their limits but not yet swept: still "live" rows in the table.
    sqlx::query("UPDATE sessions SET idle_expires_at = $1 WHERE public_id = $2")
        .bind(app.now() - 5)
        .bind(&idle_handle)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE sessions SET absolute_expires_at = $1 WHERE public_id = $2")
        .bind(app.now() - 5)
        .bind(&old_handle)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let uid = app.user_id("ivy@example.com").await;
    let view = devices::list(&app.state.db, uid, &laptop.id_hash(), app.now()).await.unwrap();
    assert_eq!(view.active.len(), 1, "expired sessions are not listed as active");
    assert_eq!(view.recent.len(), 2);
    assert!(view.recent.iter().all(|d| d.ended.as_ref().unwrap().1 == "Expired"));
    for handle in [&idle_handle, &old_handle] {
        let reply = post_without_referer(&mut laptop, "/api/devices/sign-out", &[("handle", handle)]).await;
        assert_eq!(reply.status, 404);
    }
    let reply = post_without_referer(&mut idle.clone(), "/api/devices", &[]).await;
    assert!(reply.body.contains("SessionExpired"), "{}", reply.body);
    idle.get("/").await.assert_redirect_to("/login?next=/&ended=expired");
    old.get("/").await.assert_redirect_to("/login?next=/&ended=expired");
    let page = laptop.get("/devices").await;
    assert!(page.body.contains("Expired"));
}

async fn last_active_is_written_at_most_once_per_interval(app: &TestApp) {
    let mut laptop = first_device(app, "jay@example.com").await;
    let hash = laptop.id_hash();
    let seen = |app: &'_ TestApp| {
        let hash = hash.clone();
        let pool = app.state.db.pool.clone();
        async move {
            sqlx::query("SELECT last_seen_at FROM sessions WHERE id_hash = $1")
                .bind(hash)
                .fetch_one(&pool)
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };
    let before = seen(app).await;
    app.clock.advance(59);
    for _ in 0..3 {
        assert_eq!(laptop.get("/devices").await.status, 200);
    }
    assert_eq!(seen(app).await, before, "within the interval: not written");
    app.clock.advance(1);
    laptop.get("/devices").await;
    assert_eq!(seen(app).await, before + 60, "after the interval: written once more");
}

async fn sweeper_marks_expired_and_purges_old_rows_in_batches(app: &TestApp) {
    let laptop = first_device(app, "kai@example.com").await;
    let mut expired = Vec::new();
    for agent in [SAFARI_IPHONE, CHROME_WINDOWS, FIREFOX_LINUX, SAFARI_IPHONE, CHROME_WINDOWS] {
        expired.push(other_device(app, "kai@example.com", agent, false).await);
    }
    let mut recent_ended = other_device(app, "kai@example.com", SAFARI_IPHONE, false).await;
    recent_ended.post_form("/api/logout", "/", &[]).await;
    let t = app.now();
    for (i, client) in expired.iter().enumerate() {
        let column = if i % 2 == 0 { "idle_expires_at" } else { "absolute_expires_at" };
        sqlx::query(&format!("UPDATE sessions SET {column} = $1 WHERE id_hash = $2"))
            .bind(t - 10)
            .bind(client.id_hash())
            .execute(&app.state.db.pool)
            .await
            .unwrap();
    }
    // Three rows ended long ago (past the 30-day window), one ended yesterday.
    let uid = app.user_id("kai@example.com").await;
    for (i, ended_at) in [(0, t - 31 * 86_400), (1, t - 40 * 86_400), (2, t - 365 * 86_400), (3, t - 86_400)] {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, data, stage, method, remember, created_at, last_seen_at, \
             idle_expires_at, absolute_expires_at, ip, user_agent, ended_at, end_reason, public_id) \
             VALUES ($1, $2, '{}', 'complete', 'password', 0, $3, $3, $3, $3, '192.0.2.1', 'x', $3, 'signed_out', $4)",
        )
        .bind(format!("old{i}"))
        .bind(uid)
        .bind(ended_at)
        .bind(format!("handle{i}"))
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    }
    let report = sweeper::sweep_once(&app.state.db, t, 2).await.unwrap();
    assert_eq!(report, sweeper::SweepReport { expired: 5, purged: 3 });
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE end_reason = 'expired'").await, 5);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE ended_at = 0 OR id_hash LIKE 'old%'").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL").await, 1, "only the live one");
    let expired_at: i64 = app.count("SELECT MAX(ended_at) FROM sessions WHERE end_reason = 'expired'").await;
    assert_eq!(expired_at, t - 10, "ended at the moment it expired");
    // A second pass has nothing to do; the live session still works.
    assert_eq!(sweeper::sweep_once(&app.state.db, t, 500).await.unwrap(), sweeper::SweepReport::default());
    let mut laptop = laptop;
    assert_eq!(laptop.get("/devices").await.status, 200);
    // Their next request is refused as expired (the row says why).
    expired[0].get("/").await.assert_redirect_to("/login?next=/&ended=expired");
}

/// The IP shown comes from the socket, or from a forwarded header only when the peer is trusted.
async fn forwarded_headers_only_from_trusted_proxies(untrusted: &TestApp, trusted: &TestApp) {
    for (app, expected) in [(untrusted, "203.0.113.7"), (trusted, "198.51.100.20")] {
        let mut client = app.client();
        client.extra_headers.push(("x-forwarded-for", "198.51.100.20".into()));
        client.sign_up("lou@example.com").await.assert_redirect_to("/");
        let ip: String = sqlx::query("SELECT ip FROM sessions").fetch_one(&app.state.db.pool).await.unwrap().get(0);
        assert_eq!(ip, expected, "{}", app.backend);
        let page = client.get("/devices").await;
        assert!(page.body.contains(expected));
        let mut other = app.client();
        other.extra_headers.push(("x-forwarded-for", "2001:db8::5".into()));
        other.log_in("lou@example.com", PASSWORD, false).await;
        let count = app.count("SELECT COUNT(*) FROM sessions WHERE ip = '2001:db8::5'").await;
        assert_eq!(count, if expected == "203.0.113.7" { 0 } else { 1 });
    }
}

/// With `KEYCARD_CLIENT_IP_HEADER=forwarded` and the peer trusted, the client address comes from
/// `Forwarded` alone: `X-Forwarded-For` and `X-Real-IP` are ignored (a client could write them
/// when the proxy does not overwrite them). From a peer that is not a trusted proxy, even the
/// configured header is ignored.
async fn only_the_configured_header_from_a_trusted_proxy(trusted: &TestApp, untrusted: &TestApp) {
    let mut client = trusted.client();
    client.extra_headers.push(("x-forwarded-for", "198.51.100.30".into()));
    client.extra_headers.push(("forwarded", "for=198.51.100.31;proto=https".into()));
    client.sign_up("mo@example.com").await.assert_redirect_to("/");
    let mut other = trusted.client();
    other.extra_headers.push(("x-forwarded-for", "198.51.100.32".into()));
    other.extra_headers.push(("x-real-ip", "198.51.100.33".into()));
    other.log_in("mo@example.com", PASSWORD, false).await.assert_redirect_to("/");
    let ips: Vec<String> =
        sqlx::query_scalar("SELECT ip FROM sessions ORDER BY ip").fetch_all(&trusted.state.db.pool).await.unwrap();
    assert_eq!(ips, ["198.51.100.31", "203.0.113.7"], "{}", trusted.backend);

    let mut client = untrusted.client();
    client.extra_headers.push(("x-forwarded-for", "198.51.100.40".into()));
    client.sign_up("mo@example.com").await.assert_redirect_to("/");
    let ips: Vec<String> =
        sqlx::query_scalar("SELECT ip FROM sessions").fetch_all(&untrusted.state.db.pool).await.unwrap();
    assert_eq!(ips, ["203.0.113.7"], "{}", untrusted.backend);
}

/// The test peer is a trusted proxy that writes `Forwarded`.
fn trust_test_peer_forwarded(config: &mut keycard::core::config::Config) {
    config.trusted_proxies = vec!["203.0.113.7".parse().unwrap()];
    config.client_ip_header = Some(keycard::core::config::ClientIpHeader::Forwarded);
}

/// `X-Forwarded-For` is configured, but only another address is a trusted proxy.
fn trust_another_peer(config: &mut keycard::core::config::Config) {
    config.trusted_proxies = vec!["192.0.2.1".parse().unwrap()];
    config.client_ip_header = Some(keycard::core::config::ClientIpHeader::XForwardedFor);
}

mod configured_client_ip_header {
    use super::*;
    use crate::common::scenario_on_two;

    #[test]
    fn sqlite() {
        crate::common::run(async {
            let apps =
                (TestApp::sqlite_with(trust_test_peer_forwarded).await, TestApp::sqlite_with(trust_another_peer).await);
            scenario_on_two(
                "configured_client_ip_header on SQLite",
                apps,
                only_the_configured_header_from_a_trusted_proxy,
            )
            .await;
        });
    }

    #[test]
    #[ignore = "needs PostgreSQL at 127.0.0.1:5432 (scripts/test runs it)"]
    fn postgres() {
        crate::common::run(async {
            let trusted = TestApp::postgres_with(trust_test_peer_forwarded).await;
            let untrusted = TestApp::postgres_with(trust_another_peer).await;
            scenario_on_two(
                "configured_client_ip_header on PostgreSQL",
                (trusted, untrusted),
                only_the_configured_header_from_a_trusted_proxy,
            )
            .await;
        });
    }
}

fn trust_test_peer(config: &mut keycard::core::config::Config) {
    config.trusted_proxies = vec!["203.0.113.7".parse().unwrap()];
    config.client_ip_header = Some(keycard::core::config::ClientIpHeader::XForwardedFor);
}

mod forwarded_headers {
    use super::*;
    use crate::common::scenario_on_two;

    #[test]
    fn sqlite() {
        crate::common::run(async {
            let apps = (TestApp::sqlite().await, TestApp::sqlite_with(trust_test_peer).await);
            scenario_on_two("forwarded_headers on SQLite", apps, forwarded_headers_only_from_trusted_proxies).await;
        });
    }

    #[test]
    #[ignore = "needs PostgreSQL at 127.0.0.1:5432 (scripts/test runs it)"]
    fn postgres() {
        crate::common::run(async {
            let untrusted = TestApp::postgres().await;
            let trusted = TestApp::postgres_with(trust_test_peer).await;
            scenario_on_two(
                "forwarded_headers on PostgreSQL",
                (untrusted, trusted),
                forwarded_headers_only_from_trusted_proxies,
            )
            .await;
        });
    }
}

/// The background sweeper runs a pass at once, then on its interval, and stops when told.
#[test]
fn sweeper_task_sweeps_and_stops_on_shutdown() {
    crate::common::run(sweeper_task_sweeps_and_stops_on_shutdown_body());
}

async fn sweeper_task_sweeps_and_stops_on_shutdown_body() {
    let app = TestApp::sqlite().await;
    let mut client = app.client();
    client.sign_up("mo@example.com").await;
    // Expired a moment ago (an expiry long past would be ended and then purged in the same pass).
    app.clock.advance(30 * 60 + 5);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = sweeper::spawn(app.state.db.clone(), std::time::Duration::from_secs(3600), stopped);
    // Real time: sqlx times pool acquires with tokio timers, which a paused clock fires early while SQLite works.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.count("SELECT COUNT(*) FROM sessions WHERE end_reason = 'expired'").await == 0 {
        assert!(std::time::Instant::now() < deadline, "the first pass runs at start");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), task).await.expect("stops promptly").unwrap();
    app.cleanup().await;
}

/// Revocation on one instance is effective on the very next request served by another instance
/// sharing the database (no in-process session cache).
#[test]
fn revocation_is_effective_on_another_instance() {
    crate::common::run(revocation_is_effective_on_another_instance_body());
}

async fn revocation_is_effective_on_another_instance_body() {
    let app = TestApp::sqlite().await;
    let mut laptop = first_device(&app, "noa@example.com").await;
    let phone_here = other_device(&app, "noa@example.com", SAFARI_IPHONE, false).await;
    let mut phone = app.client_of(app.second_instance().await);
    phone.cookies = phone_here.cookies.clone();
    assert_eq!(phone.get("/devices").await.status, 200, "the other instance serves the phone");
    let handle = handle_of(&app, &phone_here).await;
    laptop.post_form("/api/devices/sign-out", "/devices", &[("handle", &handle)]).await.assert_redirect_to("/devices");
    phone.get("/devices").await.assert_redirect_to("/login?next=/devices&ended=elsewhere");
    app.cleanup().await;
}
