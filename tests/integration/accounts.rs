//! Sign-up and sign-in through the real router, on SQLite and PostgreSQL.

use crate::common::{Client, TestApp, PASSWORD};

on_both_databases!(
    sign_up_creates_account_and_signs_in,
    emails_are_unique_case_insensitively,
    weak_and_invalid_passwords_are_refused_with_reason,
    wrong_password_and_unknown_email_get_the_same_answer,
    password_is_stored_as_argon2id,
    sign_in_lands_on_next_only_when_same_site,
);

async fn sign_up_creates_account_and_signs_in(app: &TestApp) {
    let mut client = app.client();
    let reply = client.sign_up("  Alice@Example.com ").await;
    reply.assert_redirect_to("/");
    assert!(client.session_cookie().is_some(), "signed in after sign-up");
    let home = client.follow(&reply).await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Hello, "), "{}", home.body);
    assert!(home.body.contains("Alice@Example.com"));
    assert!(home.body.contains("Sign out"));
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email_key = 'alice@example.com'").await, 1);
}

async fn emails_are_unique_case_insensitively(app: &TestApp) {
    app.client().sign_up("bob@example.com").await.assert_redirect_to("/");
    let mut other = app.client();
    let reply = other.sign_up(" BOB@example.COM").await;
    assert!(reply.location().starts_with("http://127.0.0.1:3000/signup?"), "{}", reply.location());
    let page = other.follow(&reply).await;
    assert!(page.body.contains("An account with this email already exists"), "{}", page.body);
    assert!(other.session_cookie().is_none());
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
}

async fn weak_and_invalid_passwords_are_refused_with_reason(app: &TestApp) {
    let mut client = app.client();
    for (password, expected) in [
        ("password1", "This password is too easy to guess"),
        ("carol@example.com", "This password is too easy to guess"),
        ("short", "at least 8 characters"),
    ] {
        let reply =
            client.post_form("/api/signup", "/signup", &[("email", "carol@example.com"), ("password", password)]).await;
        let page = client.follow(&reply).await;
        assert!(page.body.contains(expected), "{password}: {}", page.body);
    }
    let too_long = "a".repeat(1025);
    let reply =
        client.post_form("/api/signup", "/signup", &[("email", "carol@example.com"), ("password", &too_long)]).await;
    assert!(client.follow(&reply).await.body.contains("limited to 1024 characters"));
    let reply = client.post_form("/api/signup", "/signup", &[("email", "not-an-email"), ("password", PASSWORD)]).await;
    assert!(client.follow(&reply).await.body.contains("Enter an email address"));
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
}

async fn wrong_password_and_unknown_email_get_the_same_answer(app: &TestApp) {
    app.client().sign_up("dora@example.com").await;
    let sessions_before = app.count("SELECT COUNT(*) FROM sessions").await;
    let mut answers = Vec::new();
    for (email, password) in [("dora@example.com", "wrong-password-123"), ("nobody@example.com", PASSWORD)] {
        let mut client = app.client();
        let reply = client.log_in(email, password, false).await;
        assert!(client.session_cookie().is_none());
        let page = client.follow(&reply).await;
        assert!(page.body.contains("Email or password is incorrect."), "{}", page.body);
        answers.push((reply.status, unsigned(&reply.location().replace(email, ""))));
    }
    // The error link is signed with an expiry in whole seconds, so the two answers may differ in `__exp`/`__sig`
    // alone when the requests straddle a second; everything a reader can tell apart must be equal.
    assert_eq!(answers[0], answers[1], "both failures answer identically");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, sessions_before);
    // Correct password, any case of the email, signs in.
    let mut client = app.client();
    client.log_in("DORA@example.com", PASSWORD, false).await.assert_redirect_to("/");
    assert!(client.get("/").await.body.contains("dora@example.com"));
}

/// The location without the time-dependent signature of its error link (which must be there).
#[track_caller]
fn unsigned(location: &str) -> String {
    let kept: Vec<&str> =
        location.split(['?', '&']).filter(|part| !part.starts_with("__exp=") && !part.starts_with("__sig=")).collect();
    assert_eq!(kept.len() + 2, location.split(['?', '&']).count(), "a signed error link: {location}");
    kept.join("&")
}

async fn password_is_stored_as_argon2id(app: &TestApp) {
    app.client().sign_up("erin@example.com").await;
    use sqlx::Row;
    let hash: String =
        sqlx::query("SELECT password_hash FROM users").fetch_one(&app.state.db.pool).await.unwrap().get(0);
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
}

async fn sign_in_lands_on_next_only_when_same_site(app: &TestApp) {
    app.client().sign_up("fay@example.com").await;
    for (next, expected) in
        [("/devices", "/devices"), ("https://evil.example/", "/"), ("//evil.example/x", "/"), ("/\\evil.example", "/")]
    {
        let mut client = Client::clone(&app.client());
        let reply = client
            .post_form("/api/login", "/login", &[("email", "fay@example.com"), ("password", PASSWORD), ("next", next)])
            .await;
        reply.assert_redirect_to(expected);
    }
}
