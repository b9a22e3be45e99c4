//! Security notices by mail: written into the outbox with the change they announce, to the
//! account's proven address only, and carrying no secret.

use crate::common::{TestApp, PASSWORD, SAFARI_IPHONE};
use crate::two_step::{at_code_step, enrolled, submit_code};

on_both_databases!(with crate::common::smtp::with_mail;

    two_step_changes_are_announced_to_a_proven_address,
    device_and_password_changes_are_announced,
    a_second_factor_lock_is_announced,
    a_new_device_is_announced_with_a_link_that_signs_it_out,
    optional_notices_can_be_turned_off_critical_ones_cannot,
    nothing_goes_to_an_unproven_address,
);

/// (subject, recipient, text) of the notices in the outbox (verification mails left out), oldest first.
pub async fn notices(app: &TestApp) -> Vec<(String, String, String)> {
    use sqlx::Row;
    sqlx::query("SELECT subject, to_address, text_body FROM outbox WHERE kind <> 'verify_email' ORDER BY id")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|row| {
            let sealed: String = row.get(2);
            let text = keycard::mail::outbox::open_body(&app.state.secrets, &sealed).expect("a sealed body");
            (row.get(0), row.get(1), text)
        })
        .collect()
}

pub async fn prove_address(app: &TestApp, email: &str) {
    app.exec(&format!("UPDATE users SET email_verified_at = 1 WHERE email = '{email}'")).await;
}

fn subjects(notices: &[(String, String, String)]) -> Vec<&str> {
    notices.iter().map(|(subject, _, _)| subject.as_str()).collect()
}

async fn two_step_changes_are_announced_to_a_proven_address(app: &TestApp) {
    let (mut client, _secret, codes) = enrolled(app, "nina@example.com").await;
    assert!(notices(app).await.is_empty(), "the address was not proven when two-step was turned on");
    prove_address(app, "nina@example.com").await;

    client
        .post_form("/api/two_step_recovery", "/security/two-step", &[])
        .await
        .assert_redirect_to("/security/two-step");
    let fresh = crate::two_step::recovery_codes_in(&client.get("/security/two-step").await.body);
    assert_eq!(fresh.len(), 10);
    // Recovery codes running low: seven marked used, then one used at sign-in leaves two.
    for code in &fresh[..7] {
        let normalised = keycard::two_step::recovery::normalise(code).unwrap();
        let hash = keycard::two_step::recovery::hash(&app.state.secrets, &normalised);
        app.exec(&format!("UPDATE recovery_codes SET used_at = 1 WHERE code_hash = '{hash}'")).await;
    }
    let mut phone = at_code_step(app, "nina@example.com").await;
    submit_code(&mut phone, &fresh[7]).await.assert_redirect_to("/");
    client.post_form("/api/two_step_off", "/security/two-step", &[]).await.assert_redirect_to("/security/two-step");
    let sent = notices(app).await;
    assert_eq!(
        subjects(&sent),
        ["New recovery codes were made", "You are running out of recovery codes", "Two-step sign-in was turned off",],
        "{sent:#?}"
    );
    assert!(sent.iter().all(|(_, to, _)| to == "nina@example.com"));
    assert!(sent[1].2.contains("2 codes are left"), "{}", sent[1].2);
    for (_, _, text) in &sent {
        assert!(!text.contains(PASSWORD), "no password");
        assert!(fresh.iter().chain(codes.iter()).all(|code| !text.contains(code.as_str())), "no recovery code");
        assert!(text.contains("http://127.0.0.1:3000/security"), "a link to the security page: {text}");
    }
}

/// Five wrong codes after the right password lock the account's second factor: the first lock of
/// a series is announced (the owner learns their password is known).
async fn a_second_factor_lock_is_announced(app: &TestApp) {
    let (_owner, _secret, _codes) = enrolled(app, "quin@example.com").await;
    prove_address(app, "quin@example.com").await;
    let mut thief = at_code_step(app, "quin@example.com").await;
    for _ in 0..5 {
        submit_code(&mut thief, "000000").await;
    }
    let sent = notices(app).await;
    assert_eq!(subjects(&sent), ["Someone knew your password but failed the two-step code"], "{sent:#?}");
    assert!(sent[0].2.contains("5 wrong codes"), "{}", sent[0].2);
}

async fn device_and_password_changes_are_announced(app: &TestApp) {
    let mut laptop = app.client();
    laptop.sign_up("omar@example.com").await.assert_redirect_to("/");
    prove_address(app, "omar@example.com").await;
    let mut phone = app.client();
    phone.log_in("omar@example.com", PASSWORD, false).await.assert_redirect_to("/");
    laptop.post_form("/api/devices/sign-out-others", "/devices", &[]).await.assert_redirect_to("/devices");
    laptop.reauth(PASSWORD, "/security/password").await;
    let reply = laptop
        .post_form(
            "/api/security/password",
            "/security/password",
            &[("current_password", PASSWORD), ("new_password", "copper-meadow-violin-8841")],
        )
        .await;
    reply.assert_redirect_to("/security?password=changed");
    let sent = notices(app).await;
    assert_eq!(subjects(&sent), ["All your other devices were signed out", "Your Keycard password was changed"]);
    assert!(sent[0].2.contains("Firefox 133 on Linux at 203.0.113.7"), "{}", sent[0].2);
    assert!(!sent[1].2.contains("copper-meadow-violin-8841") && !sent[1].2.contains(PASSWORD));
}

async fn a_new_device_is_announced_with_a_link_that_signs_it_out(app: &TestApp) {
    let mut laptop = app.client();
    laptop.sign_up("rita@example.com").await.assert_redirect_to("/");
    prove_address(app, "rita@example.com").await;
    assert!(notices(app).await.is_empty(), "the first sign-in is no new device");
    let mut phone = app.client();
    phone.user_agent = SAFARI_IPHONE.into();
    phone.log_in("rita@example.com", PASSWORD, false).await.assert_redirect_to("/");
    let sent = notices(app).await;
    assert_eq!(subjects(&sent), ["New sign-in to your Keycard account"], "{sent:#?}");
    let text = &sent[0].2;
    assert!(text.contains("Safari 17 on iPhone at 203.0.113.7"), "{text}");
    assert!(text.contains("http://127.0.0.1:3000/devices"), "{text}");
    assert!(!text.contains(PASSWORD));
    let link = text.lines().find(|l| l.contains("/login/not-me?token=")).expect("a This wasn't me link").trim();
    let link = crate::common::local_path(link).to_owned();
    let token = link.split("token=").nth(1).unwrap().to_owned();

    // Opening the link changes nothing (mail scanners open links); its button does.
    let mut reader = app.client();
    let page = reader.get(&link).await;
    assert!(page.body.contains(">Sign it out</button>"), "{}", page.body);
    assert_eq!(phone.get("/").await.status, 200);
    let reply = reader.post_form("/api/login/not-me", &link, &[("token", &token)]).await;
    reply.assert_redirect_to("/login/forgot?not_me=1");
    assert!(reader.follow(&reply).await.body.contains(keycard::alerts::NOT_ME_DONE));
    phone.get("/").await.assert_redirect_to("/login?next=/&ended=elsewhere");
    assert_eq!(laptop.get("/").await.status, 200, "only the named session ends");
    app.assert_every_ending_recorded().await;
    // Used once.
    let again = reader.post_form_as_script("/api/login/not-me", &[("token", &token)]).await;
    assert_eq!(again.status, 422);
    assert!(reader.get(&link).await.body.contains(keycard::alerts::NOT_ME_LINK_UNUSABLE));
    let user = app.user_id("rita@example.com").await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM history_events WHERE user_id = {user} AND kind = 'alert_answered' \
             AND detail = 'This wasn''t me (from the mail)'"
        ))
        .await,
        1
    );
}

async fn optional_notices_can_be_turned_off_critical_ones_cannot(app: &TestApp) {
    let mut laptop = app.client();
    laptop.sign_up("sara@example.com").await.assert_redirect_to("/");
    prove_address(app, "sara@example.com").await;
    let page = laptop.get("/security").await;
    assert!(page.body.contains(">Save notice settings</button>"), "{}", page.body);
    assert!(page.body.contains("name=\"new_device\" value=\"on\" checked"), "all on at first: {}", page.body);
    // Only "two-step turned on" stays on; a field naming a critical notice changes nothing.
    let reply = laptop
        .post_form("/api/security/notices", "/security", &[("two_step_on", "on"), ("password_changed", "")])
        .await;
    reply.assert_redirect_to("/security?notices=saved#notices");
    let page = laptop.get("/security?notices=saved").await;
    assert!(page.body.contains("Your notice settings were saved."));
    assert!(page.body.contains("name=\"two_step_on\" value=\"on\" checked"));
    assert!(!page.body.contains("name=\"new_device\" value=\"on\" checked"));

    let mut phone = app.client();
    phone.user_agent = SAFARI_IPHONE.into();
    phone.log_in("sara@example.com", PASSWORD, false).await.assert_redirect_to("/");
    laptop.post_form("/api/devices/sign-out-others", "/devices", &[]).await.assert_redirect_to("/devices");
    assert!(notices(app).await.is_empty(), "new device and devices signed out are turned off");
    laptop.reauth(PASSWORD, "/security/password").await;
    laptop
        .post_form(
            "/api/security/password",
            "/security/password",
            &[("current_password", PASSWORD), ("new_password", "copper-meadow-violin-8841")],
        )
        .await
        .assert_redirect_to("/security?password=changed");
    assert_eq!(subjects(&notices(app).await), ["Your Keycard password was changed"], "critical: always sent");
}

async fn nothing_goes_to_an_unproven_address(app: &TestApp) {
    let mut laptop = app.client();
    laptop.sign_up("pia@example.com").await.assert_redirect_to("/");
    app.client().log_in("pia@example.com", PASSWORD, false).await.assert_redirect_to("/");
    laptop.post_form("/api/devices/sign-out-others", "/devices", &[]).await.assert_redirect_to("/devices");
    assert!(notices(app).await.is_empty());
    let page = laptop.get("/security").await;
    assert!(page.body.contains("Confirm your email address to get security notices by mail"), "{}", page.body);
    prove_address(app, "pia@example.com").await;
    let page = laptop.get("/security").await;
    assert!(page.body.contains("signed-out devices) are mailed to pia@example.com."), "{}", page.body);
}
