//! Verified addresses, with mail on and a real SMTP server on loopback: sign-up mails one link,
//! its page confirms the address only through the form's POST, the banner goes, and every link
//! that must not work (used, expired, another purpose, unknown, replaced) changes nothing. Sending
//! the link again is throttled. With mail off, nothing of it exists.

use axum::http::StatusCode;
use keycard::accounts::verification::{service::SUBJECT, CONFIRMED, LINK_UNUSABLE};
use keycard::core::config::Config;
use keycard::mail::links::{self, Purpose};
use keycard::mail::metrics::MailMetrics;
use keycard::mail::transport::Transport;
use keycard::mail::worker::{self, PassReport};

use crate::common::smtp::{free_port, mail_config, SmtpSink};
use crate::common::{Client, TestApp, PASSWORD};

const BANNER: &str = "Confirm your email address: we sent a link to";
const BUTTON: &str = "Confirm my email address";
const LINK_PREFIX: &str = "http://127.0.0.1:3000/verify-email?token=";

/// Mail on, to a loopback SMTP port the scenario starts its sink on ([`sink_port`]).
fn with_mail(config: &mut Config) {
    config.mail = Some(mail_config(free_port()));
}

fn sink_port(app: &TestApp) -> u16 {
    app.state.config.mail.as_ref().expect("mail on").smtp.port
}

/// The token of the link in a mail's text.
fn token_in(text: &str) -> String {
    let start = text.find(LINK_PREFIX).unwrap_or_else(|| panic!("no link in {text:?}")) + LINK_PREFIX.len();
    text[start..].split_whitespace().next().unwrap().to_owned()
}

/// The token of the newest verification mail in the outbox for `email`.
async fn newest_token(app: &TestApp, email: &str) -> String {
    let text: String = sqlx::query_scalar(
        "SELECT text_body FROM outbox WHERE to_address = $1 AND kind = 'verify_email' ORDER BY id DESC LIMIT 1",
    )
    .bind(email)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    token_in(&keycard::mail::outbox::open_body(&app.state.secrets, &text).expect("a sealed body"))
}

async fn verified_at(app: &TestApp, user_id: i64) -> Option<i64> {
    sqlx::query_scalar("SELECT email_verified_at FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

async fn verified_email(app: &TestApp, user_id: i64) -> Option<String> {
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    keycard::mail::notices::verified_address(&mut conn, user_id).await.unwrap()
}

async fn events(app: &TestApp, user_id: i64) -> usize {
    app.history_kinds(user_id).await.iter().filter(|k| *k == "email_verified").count()
}

fn page(token: &str) -> String {
    format!("/verify-email?token={token}")
}

/// Posts the page's form as a browser without JavaScript does.
async fn press_confirm(client: &mut Client, token: &str) -> crate::common::Reply {
    client.post_form("/api/verify-email", &page(token), &[("token", token)]).await
}

/// Asserts that `token` is refused on the page and by the form, as a script sees it (422) and as a
/// browser does (back to the page, which says why).
async fn assert_refused(client: &mut Client, token: &str) {
    let shown = client.get(&page(token)).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains(LINK_UNUSABLE), "{}", shown.body);
    assert!(!shown.body.contains(BUTTON), "a button for a link that cannot work");
    let reply = client.post_form_as_script("/api/verify-email", &[("token", token)]).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    assert!(reply.body.contains(LINK_UNUSABLE), "{}", reply.body);
    let reply = press_confirm(client, token).await;
    assert!(reply.location().contains("__err="), "{}", reply.location());
    let back = client.follow(&reply).await;
    assert!(back.body.contains(LINK_UNUSABLE), "{}", back.body);
}

async fn sign_up_mails_one_link_that_confirms_the_address(app: &TestApp) {
    let sink = SmtpSink::start_on(sink_port(app)).await;
    let mut ada = app.client();
    ada.sign_up("ada@example.com").await.assert_redirect_to("/");
    let user = app.user_id("ada@example.com").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM email_links WHERE purpose = 'verify_email'").await, 1);
    let home = ada.get("/").await;
    assert!(home.body.contains(&format!("{BANNER} ada@example.com.")), "{}", home.body);
    assert!(home.body.contains("Send the link again"));
    assert_eq!(verified_email(app, user).await, None);

    let transport = Transport::new(app.state.config.mail.as_ref().unwrap(), app.state.secrets.clone()).unwrap();
    let report = worker::pass(&app.state.db, &transport, app.now(), worker::BATCH, &MailMetrics::new()).await.unwrap();
    assert_eq!(report, PassReport { claimed: 1, sent: 1, ..PassReport::default() });
    let received = sink.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let mail = &received[0];
    assert_eq!(mail.rcpt_tos, ["ada@example.com"]);
    assert_eq!(mail.subject, SUBJECT);
    let token = token_in(&mail.text);
    assert_eq!(token.len(), 43, "256 random bits, URL-safe");
    assert!(mail.html.contains(&format!("{LINK_PREFIX}{token}")), "{}", mail.html);
    // No secret but the link: not the password, nor the session's cookie or its hash.
    let cookie = ada.session_cookie().unwrap();
    for secret in [PASSWORD, cookie.as_str(), ada.id_hash().as_str()] {
        assert!(!mail.text.contains(secret) && !mail.html.contains(secret), "the mail carries {secret:?}");
    }
    let stored_hash: String =
        sqlx::query_scalar("SELECT token_hash FROM email_links").fetch_one(&app.state.db.pool).await.unwrap();
    assert_ne!(stored_hash, token, "the token is stored hashed");

    // Opened on another device, signed out: the GET shows the button and changes nothing (mail
    // scanners open links too).
    let mut phone = app.client();
    for _ in 0..2 {
        let shown = phone.get(&page(&token)).await;
        assert_eq!(shown.status, StatusCode::OK);
        assert!(shown.body.contains(BUTTON), "{}", shown.body);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM email_links WHERE used_at IS NULL").await, 1);
    assert_eq!(verified_at(app, user).await, None);

    let reply = press_confirm(&mut phone, &token).await;
    reply.assert_redirect_to("/verify-email?done=1");
    let done = phone.follow(&reply).await;
    assert!(done.body.contains(CONFIRMED), "{}", done.body);
    let at = verified_at(app, user).await.expect("verified");
    assert_eq!(verified_email(app, user).await.as_deref(), Some("ada@example.com"));
    assert_eq!(events(app, user).await, 1);
    let history = ada.get("/history").await;
    assert!(history.body.contains("Email address confirmed"), "{}", history.body);
    // The banner is gone from the signed-in session's next page.
    let home = ada.get("/").await;
    assert!(!home.body.contains(BANNER), "{}", home.body);
    // The flag is read with the session each time, never kept in its stored data.
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE data LIKE '%email_verified%'").await, 0);

    // The same link again: refused, and nothing changes.
    assert_refused(&mut phone, &token).await;
    assert_refused(&mut ada, &token).await;
    assert_eq!(verified_at(app, user).await, Some(at));
    assert_eq!(events(app, user).await, 1);
    assert_eq!(sink.received().len(), 1);
}

async fn links_that_must_not_work_change_nothing(app: &TestApp) {
    let mut bob = app.client();
    bob.sign_up("bob@example.com").await.assert_redirect_to("/");
    let user = app.user_id("bob@example.com").await;
    let token = newest_token(app, "bob@example.com").await;

    // Another purpose's link, unknown, over-long, empty and malformed tokens.
    let mut conn = app.state.db.pool.acquire().await.unwrap();
    let reset = links::issue(&mut conn, Purpose::ResetPassword, user, "bob@example.com", app.now()).await.unwrap();
    drop(conn);
    let unknown = "A".repeat(43);
    let long = "A".repeat(5000);
    for bad in [reset.0.as_str(), unknown.as_str(), long.as_str(), "", "../../etc?x=1&y"] {
        let reply = bob.post_form_as_script("/api/verify-email", &[("token", bad)]).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}: {}", reply.body);
        assert!(reply.body.contains(LINK_UNUSABLE), "{}", reply.body);
    }
    assert_refused(&mut bob, &reset.0).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM email_links WHERE used_at IS NOT NULL").await, 0, "a link was used");

    // Expired: a day has passed.
    app.clock.advance(24 * 3600);
    // (Bob's session idled out meanwhile: he signs in again.)
    bob.log_in("bob@example.com", PASSWORD, false).await.assert_redirect_to("/");
    assert_refused(&mut app.client(), &token).await;
    assert_refused(&mut bob, &token).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM email_links WHERE used_at IS NOT NULL").await, 0);
    assert_eq!(verified_at(app, user).await, None);
    assert_eq!(events(app, user).await, 0);
    assert!(bob.get("/").await.body.contains(BANNER), "still unverified");
}

async fn simultaneous_uses_of_one_link_confirm_once(app: &TestApp) {
    let mut cyd = app.client();
    cyd.sign_up("cyd@example.com").await.assert_redirect_to("/");
    let user = app.user_id("cyd@example.com").await;
    let token = newest_token(app, "cyd@example.com").await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let mut client = app.client();
            let token = token.clone();
            tokio::spawn(async move { press_confirm(&mut client, &token).await.location().to_owned() })
        })
        .collect();
    let mut confirmed = 0;
    for task in tasks {
        let location = task.await.unwrap();
        if location == "/verify-email?done=1" {
            confirmed += 1;
        } else {
            assert!(location.contains("__err="), "{location}");
        }
    }
    assert_eq!(confirmed, 1);
    assert!(verified_at(app, user).await.is_some());
    assert_eq!(events(app, user).await, 1);
}

/// Ten "Send the link again" at once from one account: the account's limit is reserved before any
/// work, so exactly three mails are written and seven requests refused.
async fn concurrent_requests_to_send_again_get_at_most_the_free_mails(app: &TestApp) {
    let mut yan = app.client();
    yan.sign_up("yan@example.com").await.assert_redirect_to("/");
    let requests = (0..10).map(|_| {
        let mut client = yan.clone();
        async move { client.post_form_as_script("/api/verify-email/resend", &[]).await.status }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 7, "{statuses:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE to_address = 'yan@example.com'").await, 1 + 3);
}

async fn sending_again_is_throttled_and_replaces_the_link(app: &TestApp) {
    let mut dee = app.client();
    dee.sign_up("dee@example.com").await.assert_redirect_to("/");
    let user = app.user_id("dee@example.com").await;
    let mut tokens = vec![newest_token(app, "dee@example.com").await];
    for n in 1..=3 {
        let reply = dee.post_form("/api/verify-email/resend", "/", &[]).await;
        reply.assert_redirect_to("/?verification=sent");
        if n == 1 {
            let home = dee.follow(&reply).await;
            assert!(home.body.contains("A new link is on its way"), "{}", home.body);
            assert!(home.body.contains(BANNER), "{}", home.body);
        }
        tokens.push(newest_token(app, "dee@example.com").await);
        // Each new link retires the one before.
        assert_refused(&mut app.client(), &tokens[n - 1]).await;
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE to_address = 'dee@example.com'").await, 4);
    assert_eq!(app.count("SELECT COUNT(*) FROM email_links WHERE used_at IS NULL").await, 1);

    // The fourth within the hour is refused, and nothing is written.
    let reply = dee.post_form_as_script("/api/verify-email/resend", &[]).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{}", reply.body);
    let retry: i64 = reply.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((3500..=3600).contains(&retry), "Retry-After {retry}");
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE to_address = 'dee@example.com'").await, 4);
    let last = tokens.last().unwrap();
    assert!(dee.get(&page(last)).await.body.contains(BUTTON), "a refused request retired the link");

    // The newest link confirms; signed in as its account, the browser goes home, banner gone.
    press_confirm(&mut dee, last).await.assert_redirect_to("/");
    let home = dee.get("/").await;
    assert!(!home.body.contains(BANNER), "{}", home.body);
    assert_eq!(events(app, user).await, 1);
    // Verified: sending again does nothing (and is not counted).
    dee.post_form("/api/verify-email/resend", "/", &[]).await.assert_redirect_to("/?verification=sent");
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE to_address = 'dee@example.com'").await, 4);
}

async fn without_mail_there_is_no_link_and_no_banner(app: &TestApp) {
    assert!(!keycard::mail::enabled(&app.state.config));
    let mut eve = app.client();
    eve.sign_up("eve@example.com").await.assert_redirect_to("/");
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM email_links").await, 0);
    let home = eve.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(!home.body.contains(BANNER), "{}", home.body);
    let reply = eve.post_form_as_script("/api/verify-email/resend", &[]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 0);
    assert_eq!(verified_email(app, app.user_id("eve@example.com").await).await, None);
}

on_both_databases!(
    with super::with_mail;
    sign_up_mails_one_link_that_confirms_the_address,
    links_that_must_not_work_change_nothing,
    simultaneous_uses_of_one_link_confirm_once,
    sending_again_is_throttled_and_replaces_the_link,
    concurrent_requests_to_send_again_get_at_most_the_free_mails,
);

on_both_databases!(without_mail_there_is_no_link_and_no_banner);
