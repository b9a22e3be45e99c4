//! An app proving who it is (issue 31: client secrets, `client_secret_basic` and
//! `client_secret_post`), on SQLite and PostgreSQL: the right secret lets it in, anything else is
//! `invalid_client`, and guessed secrets are limited before they are compared, per address and per
//! app, even when they arrive all at once.

use crate::common::TestApp;
use axum::http::{header, HeaderMap};
use keycard::admin::AdminCommand;
use keycard::oidc::client_auth::{authenticate, presented, AuthError, Presented, Refused};

on_both_databases!(
    the_right_secret_lets_the_app_in_and_anything_else_is_invalid_client,
    guessed_secrets_are_limited_before_they_are_compared,
);

/// Registers an app; returns its client id and secret (`None` for a public app).
async fn register(app: &TestApp, extra: &[&str]) -> (String, Option<String>) {
    let mut words = vec!["apps", "add", "--name", "Grafana", "--redirect-uri", "https://grafana.example/cb"];
    words.extend_from_slice(extra);
    let command = AdminCommand::parse(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>()).unwrap();
    let out = keycard::admin::run(&app.state, &command, || panic!("no password")).await.unwrap();
    let field = |name: &str| out.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned));
    (field("client_id").unwrap(), field("client_secret"))
}

fn basic(client_id: &str, secret: &str) -> Presented {
    let mut headers = HeaderMap::new();
    let value = format!("Basic {}", data_encoding::BASE64.encode(format!("{client_id}:{secret}").as_bytes()));
    headers.insert(header::AUTHORIZATION, value.parse().unwrap());
    presented(&headers, &[]).unwrap()
}

fn posted(client_id: &str, secret: Option<&str>) -> Presented {
    let mut form = vec![("client_id".to_owned(), client_id.to_owned())];
    form.extend(secret.map(|s| ("client_secret".to_owned(), s.to_owned())));
    presented(&HeaderMap::new(), &form).unwrap()
}

async fn outcome(app: &TestApp, presented: &Presented, ip: &str) -> Result<String, Refused> {
    match authenticate(&app.state.db, presented, ip).await {
        Ok(registered) => Ok(registered.client_id),
        Err(AuthError::Refused(refused)) => Err(refused),
        Err(AuthError::Failed(err)) => panic!("failed: {err:?}"),
    }
}

const IP: &str = "203.0.113.7";

async fn the_right_secret_lets_the_app_in_and_anything_else_is_invalid_client(app: &TestApp) {
    let (id, secret) = register(app, &[]).await;
    let secret = secret.unwrap();
    let (phone, none) = register(app, &["--public", "--redirect-uri", "com.example.phone:/cb"]).await;
    assert_eq!(none, None);

    assert_eq!(outcome(app, &basic(&id, &secret), IP).await, Ok(id.clone()));
    assert_eq!(outcome(app, &posted(&id, Some(&secret)), IP).await, Ok(id.clone()));
    assert_eq!(outcome(app, &posted(&phone, None), IP).await, Ok(phone.clone()));
    let wrong = format!("kcs_{}", "A".repeat(43));
    for (presented, what) in [
        (basic(&id, &wrong), "a wrong secret"),
        (basic(&id, "not-even-a-secret"), "a malformed secret"),
        (posted(&id, None), "no secret from a confidential app"),
        (posted(&phone, Some(&secret)), "a secret from a public app"),
        (basic(&phone, &secret), "a secret from a public app, in Basic"),
        (basic("no-such-app", &secret), "an unknown app"),
        (basic(&format!("{id} "), &secret), "the client id with a space after it"),
    ] {
        assert_eq!(outcome(app, &presented, IP).await, Err(Refused::InvalidClient), "{what}");
    }
    // Client ids match exactly: another case is another (unknown) app.
    let other_case: String = id
        .chars()
        .map(|c| if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
        .collect();
    assert_eq!(outcome(app, &basic(&other_case, &secret), IP).await, Err(Refused::InvalidClient));
    // Made-up client ids are counted nowhere: no rows for anyone to fill the table with.
    assert_eq!(app.count("SELECT COUNT(*) FROM throttle WHERE key LIKE 'client-secret%no-such-app%'").await, 0);

    // A rotated secret: the old one stops working at once.
    let command = AdminCommand::parse(&["apps".into(), "rotate-secret".into(), id.clone()]).unwrap();
    let out = keycard::admin::run(&app.state, &command, || panic!("no password")).await.unwrap();
    let new = out.lines().find_map(|l| l.strip_prefix("client_secret: ")).unwrap().to_owned();
    assert_eq!(outcome(app, &basic(&id, &secret), IP).await, Err(Refused::InvalidClient));
    assert_eq!(outcome(app, &basic(&id, &new), IP).await, Ok(id.clone()));
}

async fn guessed_secrets_are_limited_before_they_are_compared(app: &TestApp) {
    let (id, secret) = register(app, &[]).await;
    let secret = secret.unwrap();
    let guesses = (0..30).map(|i| {
        let presented = basic(&id, &format!("kcs_{i:0>43}"));
        async move { outcome(app, &presented, IP).await }
    });
    let outcomes = futures_util::future::join_all(guesses).await;
    let compared = outcomes.iter().filter(|o| **o == Err(Refused::InvalidClient)).count();
    let held = outcomes.iter().filter(|o| matches!(o, Err(Refused::TooManyAttempts { .. }))).count();
    assert_eq!((compared, held), (10, 20), "{outcomes:?}");
    // The guessing address waits, even with the right secret; the app's server elsewhere does not.
    assert_eq!(outcome(app, &basic(&id, &secret), IP).await, Err(Refused::TooManyAttempts { retry_after_secs: 1 }));
    assert_eq!(outcome(app, &basic(&id, &secret), "198.51.100.20").await, Ok(id.clone()));
    // After the wait, the right secret gets in and clears the address's count.
    app.clock.advance(1);
    assert_eq!(outcome(app, &basic(&id, &secret), IP).await, Ok(id.clone()));
    assert_eq!(app.count("SELECT COUNT(*) FROM throttle WHERE key LIKE 'client-secret-ip:%'").await, 0);
}
