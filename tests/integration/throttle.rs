//! Throttling of sign-in (by email and by IP) and sign-up (by IP), shared across instances.


use axum::http::StatusCode;
use crate::common::{TestApp, PASSWORD};

on_both_databases!(
    repeated_failures_back_off_for_known_and_unknown_emails_alike,
    failures_count_across_instances,
    an_ip_trying_many_emails_is_slowed,
    sign_ups_per_ip_are_limited,
);

async fn repeated_failures_back_off_for_known_and_unknown_emails_alike(app: &TestApp) {
    app.client().sign_up("rae@example.com").await;
    for email in ["rae@example.com", "ghost@example.com"] {
        let mut client = app.client();
        for _ in 0..5 {
            let reply = client.log_in(email, "wrong-password-123", false).await;
            assert!(client.follow(&reply).await.body.contains("Email or password is incorrect."));
        }
        // Past the free five, each failure doubles the wait. Wait out (here: clear) each block
        // and fail again, five more times: the block is then 2^5 = 32 seconds.
        for _ in 0..5 {
            app.exec(&format!("UPDATE throttle SET blocked_until = 0 WHERE key = 'signin-email:{email}'")).await;
            client.log_in(email, "wrong-password-123", false).await;
        }
        // Blocked now: even the right password is not checked.
        let reply = client.log_in(email, PASSWORD, false).await;
        assert!(client.session_cookie().is_none());
        let page = client.follow(&reply).await;
        assert!(page.body.contains("Too many attempts. Try again in"), "{}", page.body);
    }
    // Script clients get 429 with Retry-After.
    let mut script = app.client();
    let body = serde_urlencoded::to_string([("email", "rae@example.com"), ("password", PASSWORD)]).unwrap();
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/login")
        .header("host", "127.0.0.1:3000")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(axum::body::Body::from(body))
        .unwrap();
    let reply = script.send(req).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = reply.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((2..=32).contains(&retry), "{retry}");
    // The block ends by itself (no permanent lock); a correct password then clears the count.
    app.exec("UPDATE throttle SET blocked_until = 0").await;
    let mut client = app.client();
    client.log_in("rae@example.com", PASSWORD, false).await.assert_redirect_to("/");
    assert_eq!(app.count("SELECT COUNT(*) FROM throttle WHERE key = 'signin-email:rae@example.com'").await, 0);
}

async fn failures_count_across_instances(app: &TestApp) {
    app.client().sign_up("sam@example.com").await;
    let second = app.second_instance().await;
    for i in 0..5 {
        let mut client = if i % 2 == 0 { app.client() } else { app.client_of(second.clone()) };
        client.log_in("sam@example.com", "wrong-password-123", false).await;
    }
    let mut client = app.client_of(second);
    let reply = client.log_in("sam@example.com", PASSWORD, false).await;
    assert!(client.follow(&reply).await.body.contains("Too many attempts"));
}

async fn an_ip_trying_many_emails_is_slowed(app: &TestApp) {
    let mut client = app.client();
    for i in 0..20 {
        client.log_in(&format!("spray{i}@example.com"), "wrong-password-123", false).await;
    }
    let reply = client.log_in("another@example.com", "wrong-password-123", false).await;
    assert!(client.follow(&reply).await.body.contains("Too many attempts"));
}

async fn sign_ups_per_ip_are_limited(app: &TestApp) {
    for i in 0..10 {
        app.client().sign_up(&format!("new{i}@example.com")).await.assert_redirect_to("/");
    }
    let mut client = app.client();
    let reply = client.sign_up("new10@example.com").await;
    assert!(client.follow(&reply).await.body.contains("Too many attempts"));
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 10);
}
