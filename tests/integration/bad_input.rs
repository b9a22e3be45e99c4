//! Bad input gets a clear 4xx answer and changes nothing.

use crate::common::{TestApp, PASSWORD};
use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};

on_both_databases!(
    oversized_bodies_are_refused,
    wrong_content_types_are_refused,
    malformed_forms_are_refused,
    over_long_fields_are_refused,
    unknown_routes_and_wrong_methods_get_pages,
    cross_site_posts_are_refused,
    health_and_readiness_answer,
    sql_metacharacters_are_plain_data,
);

fn post(path: &str, content_type: &str, body: impl Into<String>) -> Request<Body> {
    let body: String = body.into();
    Request::builder()
        .header(header::CONTENT_LENGTH, body.len())
        .method("POST")
        .uri(path)
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT, "application/json")
        .body(Body::from(body))
        .unwrap()
}

async fn oversized_bodies_are_refused(app: &TestApp) {
    let mut client = app.client();
    let big = format!("email=a%40example.com&password={}", "a".repeat(64 * 1024));
    let reply = client.send(post("/api/signup", "application/x-www-form-urlencoded", big)).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply.body.contains("too large"), "{}", reply.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

async fn wrong_content_types_are_refused(app: &TestApp) {
    let mut client = app.client();
    let json = format!(r#"{{"email":"a@example.com","password":"{PASSWORD}"}}"#);
    let reply = client.send(post("/api/signup", "application/json", json)).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(reply.body.contains("accepts only form submissions"));
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

async fn malformed_forms_are_refused(app: &TestApp) {
    let mut client = app.client();
    for body in ["email=a%40example.com", "%%%=&&=", "password[]=x&email[a]=b"] {
        let reply = client.send(post("/api/signup", "application/x-www-form-urlencoded", body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}: {}", reply.body);
        // Script clients get the error as JSON (the hydrated page shows its message).
        assert_eq!(reply.body, r#""BadRequest""#);
    }
    // The same from a browser without JavaScript: back to the form with the message.
    let reply = client.post_form("/api/login", "/login", &[("email", "x@example.com")]).await;
    let page = client.follow(&reply).await;
    assert!(page.body.contains("The form could not be read"), "{}", page.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

async fn over_long_fields_are_refused(app: &TestApp) {
    let mut client = app.client();
    let long_email = format!("{}@example.com", "a".repeat(300));
    let body = serde_urlencoded::to_string([("email", long_email.as_str()), ("password", PASSWORD)]).unwrap();
    let reply = client.send(post("/api/signup", "application/x-www-form-urlencoded", body)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    // 312 characters: within the field limit, but longer than an address can be.
    assert_eq!(reply.body, r#"{"Invalid":"Enter an email address like name@example.com."}"#);
    let long_next = format!("/{}", "a".repeat(2000));
    let body = serde_urlencoded::to_string([("email", "a@example.com"), ("password", PASSWORD), ("next", &long_next)])
        .unwrap();
    let reply = client.send(post("/api/login", "application/x-www-form-urlencoded", body)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.body, r#"{"Invalid":"Fields are limited to 1024 characters."}"#);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}

async fn unknown_routes_and_wrong_methods_get_pages(app: &TestApp) {
    let mut client = app.client();
    let reply = client.get("/no/such/page").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("Page not found"));
    let reply = client.post_form("/login", "/login", &[("email", "a@example.com")]).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(reply.body.contains("does not accept this kind of request"), "{}", reply.body);
    let reply = client.get("/api/login").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}

async fn cross_site_posts_are_refused(app: &TestApp) {
    let mut victim = app.client();
    victim.sign_up("pia@example.com").await;
    let req = Request::builder()
        .method("POST")
        .uri("/api/logout")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ORIGIN, "http://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("keycard_session={}", victim.session_cookie().unwrap()))
        .body(Body::empty())
        .unwrap();
    let reply = victim.send(req).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL").await, 1);
    assert!(victim.get("/").await.body.contains("pia@example.com"));
}

async fn health_and_readiness_answer(app: &TestApp) {
    let mut client = app.client();
    let reply = client.get("/healthz").await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "ok"));
    let reply = client.get("/readyz").await;
    assert_eq!(reply.status, StatusCode::OK);
    app.state.db.pool.close().await;
    assert_eq!(client.get("/readyz").await.status, StatusCode::SERVICE_UNAVAILABLE);
}

async fn sql_metacharacters_are_plain_data(app: &TestApp) {
    let mut client = app.client();
    let email = "o'brien\"--;@example.com";
    client.sign_up(email).await.assert_redirect_to("/");
    let mut again = app.client();
    again.log_in(email, PASSWORD, false).await.assert_redirect_to("/");
    let home = again.get("/").await;
    // Quotes need no escaping in text; shown exactly as typed.
    assert!(home.body.contains("<span class=\"who\">o'brien\"--;@example.com</span>"), "{}", home.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
}
