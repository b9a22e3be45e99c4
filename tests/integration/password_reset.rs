//! "Forgot your password?" through the real router and a real SMTP server on loopback: the link
//! arrives by mail and works once; the answer is the same for unknown addresses; requests are
//! throttled; two-step accounts still need a code; a reset signs everything out and is announced.

use keycard::mail::{metrics::MailMetrics, transport::Transport, worker};

use crate::common::smtp::{mail_config, Received, SmtpSink};
use crate::common::{local_path, Client, TestApp, PASSWORD};

const NEW_PASSWORD: &str = "copper-meadow-violin-8841";

on_both_databases!(with crate::common::smtp::with_mail;

    a_reset_link_arrives_works_once_and_signs_everything_out,
    unknown_addresses_get_the_same_answer_and_no_mail,
    reset_requests_are_throttled_per_address,
    concurrent_reset_requests_get_at_most_the_free_mails,
    two_step_accounts_need_a_code_to_reset,
    concurrent_uses_of_one_link_reset_once,
    expired_and_forged_links_change_nothing,
);
on_both_databases!(without_mail_the_page_says_so_and_nothing_is_written);

/// Password mails written so far (sign-up's verification mails left out).
const PASSWORD_MAILS: &str = "SELECT COUNT(*) FROM outbox WHERE kind IN ('password_reset', 'password_reset_done')";

/// Sends what the outbox holds to `sink`, once the detached work of the reset requests is done,
/// and returns the password mails received so far.
async fn deliver(app: &TestApp, sink: &SmtpSink, expected_rows: i64) -> Vec<Received> {
    app.state.detached.settled().await;
    assert!(app.count(PASSWORD_MAILS).await >= expected_rows, "the reset requests wrote their mails");
    let transport = Transport::new(&mail_config(sink.port), app.state.secrets.clone()).unwrap();
    worker::pass(&app.state.db, &transport, app.now(), worker::BATCH, &MailMetrics::new()).await.unwrap();
    sink.received().into_iter().filter(|mail| mail.subject.contains("password")).collect()
}

/// The reset link in a mail's plain text.
fn link_in(mail: &Received) -> String {
    let url = mail.text.lines().find(|line| line.contains("/login/reset?token=")).expect("a reset link").trim();
    local_path(url).to_owned()
}

async fn ask_for_link(client: &mut Client, email: &str) {
    client
        .post_form("/api/login/forgot", "/login/forgot", &[("email", email)])
        .await
        .assert_redirect_to("/login/forgot?sent=1");
}

async fn set_new_password(client: &mut Client, link: &str, fields: &[(&str, &str)]) -> crate::common::Reply {
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let mut all = vec![("token", token.as_str())];
    all.extend_from_slice(fields);
    client.post_form("/api/login/reset", link, &all).await
}

async fn a_reset_link_arrives_works_once_and_signs_everything_out(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let mut owner = app.client();
    owner.sign_up("rosa@example.com").await.assert_redirect_to("/");
    let mut stranger = app.client();
    let page = stranger.get("/login").await;
    assert!(page.body.contains("href=\"/login/forgot\">Forgot your password?</a>"));
    ask_for_link(&mut stranger, "ROSA@example.com ").await;
    let page = stranger.get("/login/forgot?sent=1").await;
    assert!(page.body.contains(keycard::password_reset::LINK_SENT), "{}", page.body);

    let mails = deliver(app, &sink, 1).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    // The link reached the mail server, but the database never held it in the clear.
    let clear = "SELECT COUNT(*) FROM outbox WHERE text_body LIKE '%token=%' OR html_body LIKE '%token=%' \
                 OR text_body LIKE '%Reset your%' OR html_body LIKE '%password%'";
    assert_eq!(app.count(clear).await, 0);
    let mail = &mails[0];
    assert_eq!(mail.rcpt_tos, ["rosa@example.com"]);
    assert_eq!(mail.subject, "Reset your Keycard password");
    assert!(!mail.text.contains(PASSWORD) && !mail.html.contains(PASSWORD), "no password in mail");
    assert!(!mail.html.contains("<img"), "no tracking pixel");
    let link = link_in(mail);
    assert!(mail.html.contains(&link.replace('&', "&amp;")), "the HTML part has the same link");

    let page = stranger.get(&link).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(">New password</label>") && page.body.contains(">Set new password</button>"));
    assert!(!page.body.contains("Authentication code"), "two-step is off: no code asked");

    let reply = set_new_password(&mut stranger, &link, &[("new_password", NEW_PASSWORD)]).await;
    reply.assert_redirect_to("/login?reset=1");
    let page = stranger.follow(&reply).await;
    assert!(page.body.contains(keycard::errors::PASSWORD_RESET_DONE));
    // Every session of the account ended; the old password is gone, the new one works.
    owner.get("/").await.assert_redirect_to("/login?next=/&ended=elsewhere");
    assert!(app.client().log_in("rosa@example.com", PASSWORD, false).await.location().contains("__err="));
    app.client().log_in("rosa@example.com", NEW_PASSWORD, false).await.assert_redirect_to("/");
    let user = app.user_id("rosa@example.com").await;
    assert_eq!(
        app.history_kinds(user).await,
        ["signed_in", "password_reset_requested", "session_ended", "password_reset", "sign_in_failed", "signed_in"]
    );
    app.assert_every_ending_recorded().await;
    // The link proved the address: the notice of the reset goes to it.
    let mails = deliver(app, &sink, 2).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(mails[1].subject, "Your Keycard password was reset");
    assert_eq!(mails[1].rcpt_tos, ["rosa@example.com"]);
    assert!(!mails[1].text.contains("token="), "the notice carries no link to reset");

    // Used once: the same link again changes nothing.
    let page = stranger.get(&link).await;
    assert!(page.body.contains(keycard::password_reset::LINK_NOT_VALID), "{}", page.body);
    let again = set_new_password(&mut stranger, &link, &[("new_password", "another-long-passphrase-77")]).await;
    assert!(again.location().contains("__err="), "{}", again.location());
    app.client().log_in("rosa@example.com", NEW_PASSWORD, false).await.assert_redirect_to("/");
}

async fn unknown_addresses_get_the_same_answer_and_no_mail(app: &TestApp) {
    let mut client = app.client();
    client.sign_up("known@example.com").await;
    let mut asker = app.client();
    let known = asker.post_form("/api/login/forgot", "/login/forgot", &[("email", "known@example.com")]).await;
    let unknown = asker.post_form("/api/login/forgot", "/login/forgot", &[("email", "nobody@example.com")]).await;
    assert_eq!((known.status, known.location()), (unknown.status, unknown.location()));
    assert_eq!(known.body, unknown.body);
    // Every request's detached mail work has finished: what is written is all there will be.
    app.state.detached.settled().await;
    assert_eq!(app.count(PASSWORD_MAILS).await, 1, "a mail for the known address only");
    assert_eq!(app.count("SELECT COUNT(*) FROM email_links WHERE purpose = 'reset_password'").await, 1);
    // A malformed address is a form error, not an answer about an account.
    let reply = asker.post_form_as_script("/api/login/forgot", &[("email", "not an address")]).await;
    assert_eq!(reply.status, 422);
}

async fn reset_requests_are_throttled_per_address(app: &TestApp) {
    for email in ["lena@example.com", "ghost@example.com"] {
        let mut client = app.client();
        for i in 0..3 {
            // A different address each time: the per-address limit is what stops the fourth.
            client.extra_headers = vec![("x-forwarded-for", format!("198.51.100.{i}"))];
            ask_for_link(&mut client, email).await;
        }
        let reply = client.post_form_as_script("/api/login/forgot", &[("email", email)]).await;
        assert_eq!(reply.status, 429, "{email}: {}", reply.body);
        assert!(reply.headers.contains_key("retry-after"));
    }
}

/// Ten requests at once for one address, each from another IP: the per-address limit is reserved
/// before any work, so exactly three are answered and seven refused, and three links are made.
async fn concurrent_reset_requests_get_at_most_the_free_mails(app: &TestApp) {
    app.client().sign_up("xena@example.com").await;
    let requests = (0..10).map(|i| {
        let mut client = app.client();
        client.extra_headers = vec![("x-forwarded-for", format!("198.51.100.{i}"))];
        async move { client.post_form_as_script("/api/login/forgot", &[("email", "xena@example.com")]).await.status }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert_eq!(statuses.iter().filter(|s| s.as_u16() == 429).count(), 7, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| s.is_success() || s.is_redirection()).count(), 3, "{statuses:?}");
    // Every request's detached mail work has finished: what is written is all there will be.
    app.state.detached.settled().await;
    assert_eq!(app.count(PASSWORD_MAILS).await, 3);
}

async fn two_step_accounts_need_a_code_to_reset(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let (_owner, _secret, recovery) = crate::two_step::enrolled(app, "tess@example.com").await;
    let mut client = app.client();
    ask_for_link(&mut client, "tess@example.com").await;
    let link = link_in(&deliver(app, &sink, 1).await[0]);
    let page = client.get(&link).await;
    assert!(page.body.contains(">Authentication code</label>"), "{}", page.body);
    // Without a code, or with a wrong one: refused, and the link still works.
    let token = link.split("token=").nth(1).unwrap();
    let reply =
        client.post_form_as_script("/api/login/reset", &[("token", token), ("new_password", NEW_PASSWORD)]).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    let wrong = set_new_password(&mut client, &link, &[("new_password", NEW_PASSWORD), ("code", "000000")]).await;
    assert!(wrong.location().contains("__err="), "{}", wrong.location());
    let user = app.user_id("tess@example.com").await;
    assert!(app.history_kinds(user).await.contains(&"code_failed".to_owned()), "counted like any wrong code");
    // A recovery code works as at sign-in.
    let reply = set_new_password(&mut client, &link, &[("new_password", NEW_PASSWORD), ("code", &recovery[0])]).await;
    reply.assert_redirect_to("/login?reset=1");
    let reply = app.client().log_in("tess@example.com", NEW_PASSWORD, false).await;
    assert!(reply.location().starts_with("/login/code"), "two-step stays on: {}", reply.location());
}

async fn concurrent_uses_of_one_link_reset_once(app: &TestApp) {
    let sink = SmtpSink::start().await;
    app.client().sign_up("uma@example.com").await;
    let mut client = app.client();
    ask_for_link(&mut client, "uma@example.com").await;
    let link = link_in(&deliver(app, &sink, 1).await[0]);
    let attempts = (0..10).map(|i| {
        let mut client = app.client();
        let link = link.clone();
        async move {
            let password = format!("{NEW_PASSWORD}-{i}");
            set_new_password(&mut client, &link, &[("new_password", &password)]).await
        }
    });
    let replies = futures_util::future::join_all(attempts).await;
    let succeeded = replies.iter().filter(|r| r.location() == "/login?reset=1").count();
    assert_eq!(succeeded, 1, "{:?}", replies.iter().map(|r| r.location().to_owned()).collect::<Vec<_>>());
    let user = app.user_id("uma@example.com").await;
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM history_events WHERE user_id = {user} AND kind = 'password_reset'"))
            .await,
        1
    );
}

async fn expired_and_forged_links_change_nothing(app: &TestApp) {
    let sink = SmtpSink::start().await;
    app.client().sign_up("vera@example.com").await;
    let mut client = app.client();
    ask_for_link(&mut client, "vera@example.com").await;
    let link = link_in(&deliver(app, &sink, 1).await[0]);
    // Its 30 minutes are over.
    app.clock.advance(30 * 60);
    for target in
        [link.clone(), "/login/reset?token=forged".to_owned(), format!("/login/reset?token={}", "A".repeat(500))]
    {
        let page = client.get(&target).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(keycard::password_reset::LINK_NOT_VALID), "{target}: {}", page.body);
    }
    let reply = set_new_password(&mut client, &link, &[("new_password", NEW_PASSWORD)]).await;
    assert!(reply.location().contains("__err="), "{}", reply.location());
    app.client().log_in("vera@example.com", PASSWORD, false).await.assert_redirect_to("/");
    // A verification link is no reset link.
    let user = app.user_id("vera@example.com").await;
    let mut tx = app.state.db.pool.begin().await.unwrap();
    let token = keycard::mail::links::issue(
        &mut tx,
        keycard::mail::links::Purpose::VerifyEmail,
        user,
        "vera@example.com",
        app.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let page = client.get(&format!("/login/reset?token={}", token.0)).await;
    assert!(page.body.contains(keycard::password_reset::LINK_NOT_VALID));
    // A day after the reset link expired, the sweeper's tidying deletes it and keeps the live one.
    app.clock.advance(24 * 3600 + 1);
    let links = "SELECT COUNT(*) FROM email_links";
    let before = app.count(links).await;
    assert_eq!(
        keycard::mail::links::purge_expired(&mut app.state.db.pool.acquire().await.unwrap(), app.now() - 86_400)
            .await
            .unwrap(),
        1
    );
    assert_eq!(app.count(links).await, before - 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM email_links WHERE purpose = 'reset_password'").await, 0);
}

async fn without_mail_the_page_says_so_and_nothing_is_written(app: &TestApp) {
    let mut client = app.client();
    client.sign_up("walt@example.com").await;
    let page = app.client().get("/login/forgot").await;
    assert!(page.body.contains(keycard::password_reset::NO_MAIL), "{}", page.body);
    let page = client.get("/security").await;
    assert!(page.body.contains("This Keycard has no mail set up: security notices"), "{}", page.body);
    let reply = app.client().post_form_as_script("/api/login/forgot", &[("email", "walt@example.com")]).await;
    assert_eq!(reply.status, 422);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM email_links").await, 0);
}
