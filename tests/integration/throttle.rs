//! Throttling of sign-in (by email and by IP) and sign-up (by IP), shared across instances.

use crate::common::{TestApp, PASSWORD};
use axum::http::StatusCode;

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
        // Past the free five, each failure doubles the wait (1 s after the fifth). Wait out each
        // block and fail again, five more times: the block is then 2^5 = 32 seconds.
        for doubling in 0..5 {
            let wait = 1 << doubling;
            app.clock.advance(wait - 1);
            let reply = client.log_in(email, PASSWORD, false).await;
            assert!(client.follow(&reply).await.body.contains("Too many attempts. Try again in 1 second."));
            app.clock.advance(1);
            client.log_in(email, "wrong-password-123", false).await;
        }
        // Blocked now: even the right password is not checked.
        let reply = client.log_in(email, PASSWORD, false).await;
        assert!(client.session_cookie().is_none());
        let page = client.follow(&reply).await;
        assert!(page.body.contains("Too many attempts. Try again in 32 seconds."), "{}", page.body);
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
    // rae's 32 s block began before ghost's five waits (31 s): 1 s is left.
    assert_eq!(reply.headers["retry-after"], "1");
    // The block ends by itself (no permanent lock); a correct password then clears the count.
    app.clock.advance(1);
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
    // Both instances counted into the one row of the shared database.
    let key = "signin-email:sam@example.com";
    assert_eq!(app.count(&format!("SELECT failures FROM throttle WHERE key = '{key}'")).await, 5);
    // The block after the fifth failure lasts a second (the clock stands still): the second
    // instance refuses the next request.
    let mut client = app.client_of(second);
    let reply = client.log_in("sam@example.com", PASSWORD, false).await;
    assert!(client.follow(&reply).await.body.contains("Too many attempts"));
}

async fn an_ip_trying_many_emails_is_slowed(app: &TestApp) {
    let mut client = app.client();
    for i in 0..20 {
        client.log_in(&format!("spray{i}@example.com"), "wrong-password-123", false).await;
    }
    // The twentieth failure blocked the address for a second.
    let key = "signin-ip:203.0.113.7";
    let blocked = format!("SELECT blocked_until FROM throttle WHERE key = '{key}'");
    assert_eq!(app.count(&blocked).await, app.now() + 1, "twenty failures from one address block it");
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

on_both_databases!(
    concurrent_wrong_passwords_evaluate_at_most_the_free_failures,
    sign_ups_count_whether_or_not_the_email_exists,
    a_full_hashing_pool_answers_503_and_counts_nothing,
    wrong_passwords_at_the_prompt_count_and_sign_the_session_out,
);

/// 30 wrong passwords at once for one account: each attempt is reserved in one statement before
/// argon2 runs, so no more than the free failures (+1) are ever evaluated; the rest are refused.
async fn concurrent_wrong_passwords_evaluate_at_most_the_free_failures(app: &TestApp) {
    app.client().sign_up("race@example.com").await.assert_redirect_to("/");
    let user = app.user_id("race@example.com").await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let mut client = app.client();
        tasks.spawn(async move {
            client
                .post_form_as_script("/api/login", &[("email", "race@example.com"), ("password", "wrong-password-123")])
                .await
                .status
        });
    }
    let statuses = tasks.join_all().await;
    let evaluated = app
        .count(&format!("SELECT COUNT(*) FROM history_events WHERE user_id = {user} AND kind = 'sign_in_failed'"))
        .await;
    assert!(evaluated <= 6, "{evaluated} passwords were checked: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count() as i64, evaluated, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE
        ]
        .contains(s)),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    assert!(app.count("SELECT failures FROM throttle WHERE key = 'signin-email:race@example.com'").await <= 6);
}

/// The "already exists" answer must not be a free oracle: every sign-up attempt counts.
async fn sign_ups_count_whether_or_not_the_email_exists(app: &TestApp) {
    app.client().sign_up("taken@example.com").await.assert_redirect_to("/");
    for _ in 0..9 {
        let mut client = app.client();
        let reply = client.sign_up("taken@example.com").await;
        assert!(client.follow(&reply).await.body.contains("An account with this email already exists."));
    }
    let mut client = app.client();
    let reply = client.sign_up("fresh@example.com").await;
    assert!(client.follow(&reply).await.body.contains("Too many attempts"));
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
}

/// With every place for password hashing taken, a sign-in is answered 503 with Retry-After at
/// once, and nothing is counted against the account.
async fn a_full_hashing_pool_answers_503_and_counts_nothing(app: &TestApp) {
    use keycard::core::hashing::HashingPool;
    app.client().sign_up("busy@example.com").await.assert_redirect_to("/");
    let state = app.state.with(|shared| shared.hashing = HashingPool::new(1, 0));
    let router = keycard::server::app(state.clone())
        .layer(axum::extract::connect_info::MockConnectInfo(std::net::SocketAddr::from(([203, 0, 113, 7], 5555))));
    let held = state.hashing.admit().expect("the one place");
    let mut client = app.client_of(router);
    let reply =
        client.post_form_as_script("/api/login", &[("email", "busy@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{}", reply.body);
    assert!(reply.headers.get("retry-after").is_some());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM throttle WHERE key LIKE 'signin-%'").await,
        0,
        "a busy answer is no failure"
    );
    drop(held);
    let reply =
        client.post_form_as_script("/api/login", &[("email", "busy@example.com"), ("password", PASSWORD)]).await;
    // Signed in: a script client gets 200 with where to go, and a session cookie.
    assert_eq!((reply.status, reply.location(), reply.body.as_str()), (StatusCode::OK, "/", "null"));
    assert!(client.session_cookie().is_some());
}

/// Someone holding a stolen cookie gets no more password guesses at the prompt than at sign-in:
/// failures count against the account's email, are in its history, and the one that locks the
/// limit signs the session out.
async fn wrong_passwords_at_the_prompt_count_and_sign_the_session_out(app: &TestApp) {
    let mut client = app.client();
    client.sign_up("prompt@example.com").await.assert_redirect_to("/");
    let user = app.user_id("prompt@example.com").await;
    let referer = "/security/confirm?next=/security/password";
    for _ in 0..4 {
        let reply = client
            .post_form("/api/reauth", referer, &[("password", "wrong-password-123"), ("next", "/security/password")])
            .await;
        assert!(client.follow(&reply).await.body.contains("That password is not correct."));
    }
    assert_eq!(app.count("SELECT failures FROM throttle WHERE key = 'signin-email:prompt@example.com'").await, 4);
    let reply = client
        .post_form("/api/reauth", referer, &[("password", "wrong-password-123"), ("next", "/security/password")])
        .await;
    reply.assert_redirect_to("/login?ended=locked");
    assert!(client.session_cookie().is_none());
    let page = client.follow(&reply).await;
    assert!(page.body.contains("Too many wrong attempts to confirm it was you"), "{}", page.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL").await, 0);
    let details: Vec<String> =
        sqlx::query_scalar("SELECT detail FROM history_events WHERE user_id = $1 AND kind = 'sign_in_failed'")
            .bind(user)
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(details, vec!["Wrong password when confirming it was you"; 5]);
    // The same budget as sign-in: the right password is not even checked now (the first block
    // lasts a second, and the clock stands still).
    let blocked = "SELECT blocked_until FROM throttle WHERE key = 'signin-email:prompt@example.com'";
    assert_eq!(app.count(blocked).await, app.now() + 1, "the prompt's failures blocked the email's sign-in budget");
    let mut again = app.client();
    let reply = again.log_in("prompt@example.com", PASSWORD, false).await;
    assert!(again.follow(&reply).await.body.contains("Too many attempts"));
}
