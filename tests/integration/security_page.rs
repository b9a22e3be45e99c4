//! The Security page through the real router and its plain functions, on SQLite and PostgreSQL:
//! the checkup computed from the account's data, signing out stale sessions, the re-authentication
//! window in front of the password and deletion pages, password change, account deletion.

use crate::common::{Client, TestApp, PASSWORD, SAFARI_IPHONE};
use keycard::security_page::checkup;

const NEW_PASSWORD: &str = "amber-falcon-meadow-4821";
const DAY: i64 = 24 * 3600;

on_both_databases!(
    checkup_reflects_the_account_data,
    stale_sessions_show_and_can_be_signed_out,
    sensitive_pages_need_a_recent_re_authentication,
    the_password_page_is_its_own_re_authentication,
    password_change_signs_out_other_sessions,
    account_deletion_removes_everything,
    deleting_a_user_row_cascades,
);

async fn checkup_reflects_the_account_data(app: &TestApp) {
    let mut client = app.client();
    client.sign_up("cora@example.com").await.assert_redirect_to("/");
    let uid = app.user_id("cora@example.com").await;
    let t = app.now();
    let checkup_of = |client: &Client| {
        let client = client.clone();
        async move {
            let handle = app.handle_of(&client).await;
            checkup::compute(&app.state.db, uid, &handle, app.now()).await.unwrap().unwrap()
        }
    };
    let c = checkup_of(&client).await;
    assert!(!c.two_step_on);
    assert_eq!(
        (c.recovery_codes_left, c.stale_sessions, c.failed_sign_ins, c.last_failed_at, c.open_alerts),
        (0, 0, 0, None, 0)
    );
    assert_eq!(c.password_changed_at, t);
    let handle = app.handle_of(&client).await;
    assert!(checkup::compute(&app.state.db, uid + 1000, &handle, t).await.unwrap().is_none());

    // Two wrong passwords with this email (from another browser).
    for _ in 0..2 {
        app.client().log_in("cora@example.com", "wrong-password-here", false).await;
    }
    let c = checkup_of(&client).await;
    assert_eq!(c.failed_sign_ins, 2);
    assert_eq!(c.last_failed_at, Some(t));

    // A new visit (signing in again) still sees the failures since the previous visit; the visit
    // after that no longer does.
    let mut second_visit = app.client();
    second_visit.log_in("cora@example.com", PASSWORD, false).await.assert_redirect_to("/");
    assert_eq!(checkup_of(&second_visit).await.failed_sign_ins, 2);
    let mut third_visit = app.client();
    third_visit.log_in("cora@example.com", PASSWORD, false).await.assert_redirect_to("/");
    assert_eq!(
        (checkup_of(&third_visit).await.failed_sign_ins, checkup_of(&third_visit).await.last_failed_at),
        (0, None)
    );

    // A sign-in from a device never seen on the account is an open alert for the other sessions,
    // not for the new one itself, until it is acknowledged.
    let mut phone = app.client();
    phone.user_agent = SAFARI_IPHONE.into();
    phone.log_in("cora@example.com", PASSWORD, false).await.assert_redirect_to("/");
    assert_eq!(checkup_of(&client).await.open_alerts, 1);
    assert_eq!(checkup_of(&phone).await.open_alerts, 0);
    let page = client.get("/security").await;
    assert!(
        page.body.contains("1 new sign-in from a device not seen before is waiting for you to check."),
        "{}",
        page.body
    );
    assert!(page.body.contains("href=\"/security#something-wrong\""), "the alert links to the guidance");
    let alert = app.count("SELECT id FROM history_events WHERE alert = 1").await;
    client.post_form("/api/history/alerts/ack", "/security", &[("alert", &alert.to_string())]).await;
    assert_eq!(checkup_of(&client).await.open_alerts, 0);

    // Two-step on with 2 unused codes of 3: on, and a low-codes warning on the page.
    app.exec(&format!(
        "INSERT INTO totp_secrets (user_id, secret, enabled_at, created_at) VALUES ({uid}, 'x', {t}, {t})"
    ))
    .await;
    for (code, used) in [("a", "NULL"), ("b", "NULL"), ("c", &t.to_string()[..])] {
        app.exec(&format!("INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) VALUES ({uid}, '{code}', {t}, {used})")).await;
    }
    let c = checkup_of(&client).await;
    assert!(c.two_step_on);
    assert_eq!(c.recovery_codes_left, 2);

    // Another account's data never counts.
    let mut other = app.client();
    other.sign_up("dan@example.com").await.assert_redirect_to("/");
    let dan = app.user_id("dan@example.com").await;
    let c2 = checkup::compute(&app.state.db, dan, &app.handle_of(&other).await, app.now()).await.unwrap().unwrap();
    assert!(!c2.two_step_on && c2.recovery_codes_left == 0 && c2.failed_sign_ins == 0 && c2.open_alerts == 0);

    let page = client.get("/security").await;
    assert_eq!(page.status, 200);
    for text in [
        "Security checkup",
        "Two-step sign-in is on.",
        "2 recovery codes left.",
        "Needs attention",
        "2 failed sign-ins to your account since your last visit",
        "No new sign-ins waiting for you to check.",
        "Aegis",
        "password manager",
        "address bar",
        "Sign out all other devices",
        "Sign out",
    ] {
        assert!(page.body.contains(text), "security page shows {text}");
    }
    // Reachable from the home page.
    assert!(client.get("/").await.body.contains("href=\"/security\""));
    // Signed out: sent to sign-in.
    app.client().get("/security").await.assert_redirect_to("/login?next=/security");
}

async fn stale_sessions_show_and_can_be_signed_out(app: &TestApp) {
    let mut me = app.client();
    me.sign_up("eve@example.com").await.assert_redirect_to("/");
    let mut old = app.client();
    old.log_in("eve@example.com", PASSWORD, true).await.assert_redirect_to("/");
    let mut recent = app.client();
    recent.log_in("eve@example.com", PASSWORD, false).await.assert_redirect_to("/");
    let uid = app.user_id("eve@example.com").await;
    let t = app.now();
    // The remembered browser was last used 31 days ago (and its lifetime runs on).
    app.exec(&format!(
        "UPDATE sessions SET last_seen_at = {}, idle_expires_at = {}, absolute_expires_at = {} WHERE id_hash = '{}'",
        t - 31 * DAY,
        t + DAY,
        t + 10 * DAY,
        old.id_hash()
    ))
    .await;
    // An already expired old row does not count (it no longer works anyway).
    app.exec(&format!(
        "INSERT INTO sessions (id_hash, user_id, data, stage, method, remember, created_at, last_seen_at, \
         idle_expires_at, absolute_expires_at, ip, user_agent) VALUES ('expired', {uid}, '{{}}', 'complete', \
         'password', 0, {0}, {0}, {1}, {1}, '', '')",
        t - 90 * DAY,
        t - 60 * DAY
    ))
    .await;
    let my_handle = app.handle_of(&me).await;
    let c = checkup::compute(&app.state.db, uid, &my_handle, app.now()).await.unwrap().unwrap();
    assert_eq!(c.stale_sessions, 1);
    let page = me.get("/security").await;
    assert!(
        page.body.contains("1 session unused for more than 30 days.") && page.body.contains("Sign out unused sessions")
    );

    me.post_form("/api/security/sign-out-unused", "/security", &[]).await.assert_redirect_to("/security");
    assert_eq!(checkup::compute(&app.state.db, uid, &my_handle, app.now()).await.unwrap().unwrap().stale_sessions, 0);
    // The sign-out is in the history, recorded with it.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM history_events WHERE user_id = {uid} AND kind = 'unused_sessions_signed_out' \
            AND detail = '1 unused session signed out'"
        ))
        .await,
        1,
        "{:?}",
        sqlx::query_scalar::<_, String>("SELECT kind || ': ' || detail FROM history_events")
            .fetch_all(&app.state.db.pool)
            .await
    );
    old.get("/").await.assert_redirect_to("/login?next=/&ended=elsewhere");
    assert_eq!(recent.get("/").await.status, 200, "recently used sessions stay");
    assert_eq!(me.get("/").await.status, 200);
    assert!(me.get("/security").await.body.contains("No sessions unused for more than 30 days."));
}

async fn sensitive_pages_need_a_recent_re_authentication(app: &TestApp) {
    let mut client = app.client();
    client.sign_up("fay@example.com").await.assert_redirect_to("/");
    // A fresh session has not re-authenticated: the deletion page and action go to the prompt.
    client.get("/security/delete").await.assert_redirect_to("/security/confirm?next=/security/delete");
    client
        .post_form("/api/security/delete", "/security/delete", &[("confirm_email", "fay@example.com")])
        .await
        .assert_redirect_to("/security/confirm?next=/security/delete");
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);

    // The prompt returns to the page that sent the person there.
    let prompt = client.get("/security/confirm?next=/security/delete").await;
    assert!(prompt.body.contains(">Password<") && prompt.body.contains(">Confirm<"));
    client.reauth(PASSWORD, "/security/delete").await;
    assert!(client.get("/security/delete").await.body.contains(">Delete account<"));

    // Within the window (10 minutes by default) it stays open; past it, the prompt again.
    app.set_reauth_at(app.now() - 590).await;
    assert_eq!(client.get("/security/delete").await.status, 200);
    app.set_reauth_at(app.now() - 601).await;
    client.get("/security/delete").await.assert_redirect_to("/security/confirm?next=/security/delete");

    // A complete sign-in (unlike the sign-up above) is as fresh a proof as the prompt.
    let mut again = app.client();
    again.log_in("fay@example.com", PASSWORD, false).await.assert_redirect_to("/");
    assert!(again.get("/security/delete").await.body.contains(">Delete account<"));
    app.set_reauth_at(app.now() - 601).await;
    again.get("/security/delete").await.assert_redirect_to("/security/confirm?next=/security/delete");
}

/// The password page never sends anyone to the prompt first: its current-password field is the
/// re-authentication (with a code beside it when two-step is on and none was proven recently).
async fn the_password_page_is_its_own_re_authentication(app: &TestApp) {
    use crate::two_step::{code_at, enrolled};
    let change = |current: &'static str, new: &'static str, code: Option<String>| {
        let mut fields = vec![("current_password", current.to_owned()), ("new_password", new.to_owned())];
        fields.extend(code.map(|code| ("code", code)));
        fields
    };
    let post = |client: &Client, fields: Vec<(&'static str, String)>| {
        let mut client = client.clone();
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let reply = client.post_form("/api/security/password", "/security/password", &fields).await;
            (client, reply)
        }
    };

    // Two-step off, no recent proof: the form asks the current password only, and it is enough.
    let mut plain = app.client();
    plain.sign_up("gil@example.com").await.assert_redirect_to("/");
    let page = plain.get("/security/password").await;
    assert_eq!(page.status, 200, "no prompt before the page");
    assert!(page.body.contains(">Current password<") && !page.body.contains(">Authentication code<"));
    let (_, reply) = post(&plain, change(PASSWORD, NEW_PASSWORD, None)).await;
    reply.assert_redirect_to("/security?password=changed");

    // Two-step on and the last proof older than the window: the form asks a code too.
    let (client, secret, _) = enrolled(app, "hal@example.com").await;
    let uid = app.user_id("hal@example.com").await;
    app.set_reauth_at(app.now() - 601).await;
    let mut client = client;
    let page = client.get("/security/password").await;
    assert_eq!(page.status, 200, "no prompt before the page");
    assert!(page.body.contains(">Current password<") && page.body.contains(">Authentication code<"));
    // No code, or a wrong one: refused, the password stays.
    let before = app
        .count(&format!(
            "SELECT COUNT(*) FROM history_events WHERE user_id = {uid} AND detail = 'Wrong code on the password page'"
        ))
        .await;
    let (c, reply) = post(&client, change(PASSWORD, NEW_PASSWORD, None)).await;
    client = c;
    assert!(client.follow(&reply).await.body.contains("That code is not correct."));
    let (c, reply) = post(&client, change(PASSWORD, NEW_PASSWORD, Some("000000".into()))).await;
    client = c;
    assert!(client.follow(&reply).await.body.contains("That code is not correct."));
    let after = app
        .count(&format!(
            "SELECT COUNT(*) FROM history_events WHERE user_id = {uid} AND detail = 'Wrong code on the password page'"
        ))
        .await;
    assert_eq!(after, before + 1, "the wrong code is recorded like any other (the missing one is not counted)");
    let mut fresh = app.client();
    fresh.log_in("hal@example.com", PASSWORD, false).await.assert_redirect_to("/login/code");
    // The password with a current code: changed, and it counts as a re-authentication.
    let (c, reply) = post(&client, change(PASSWORD, NEW_PASSWORD, Some(code_at(&app.clock, &secret, 0)))).await;
    client = c;
    reply.assert_redirect_to("/security?password=changed");
    assert_eq!(client.get("/security/delete").await.status, 200, "proven just now: no prompt");
    // Within the window the code is not asked again.
    let page = client.get("/security/password").await;
    assert!(page.body.contains(">Current password<") && !page.body.contains(">Authentication code<"));
}

async fn password_change_signs_out_other_sessions(app: &TestApp) {
    let mut me = app.client();
    me.sign_up("gus@example.com").await.assert_redirect_to("/");
    me.log_in("gus@example.com", PASSWORD, true).await.assert_redirect_to("/");
    let mut other = app.client();
    other.log_in("gus@example.com", PASSWORD, false).await.assert_redirect_to("/");
    let uid = app.user_id("gus@example.com").await;
    app.exec(&format!("UPDATE users SET password_changed_at = 1000 WHERE id = {uid}")).await;
    let post = |client: &mut Client, current: &'static str, new: &'static str| {
        let mut client = client.clone();
        async move {
            let reply = client
                .post_form(
                    "/api/security/password",
                    "/security/password",
                    &[("current_password", current), ("new_password", new)],
                )
                .await;
            (client, reply)
        }
    };
    // Wrong current password; weak new password: refused, nothing changes.
    let (c, reply) = post(&mut me, "not-my-password-at-all", NEW_PASSWORD).await;
    me = c;
    assert!(me.follow(&reply).await.body.contains("Your current password is not correct."));
    let (c, reply) = post(&mut me, PASSWORD, "password123").await;
    me = c;
    assert!(me.follow(&reply).await.body.contains("too easy to guess"));
    assert_eq!(other.get("/").await.status, 200);
    assert_eq!(app.count(&format!("SELECT password_changed_at FROM users WHERE id = {uid}")).await, 1000);

    let old_cookie = me.session_cookie().unwrap();
    let (c, reply) = post(&mut me, PASSWORD, NEW_PASSWORD).await;
    me = c;
    reply.assert_redirect_to("/security?password=changed");
    assert!(me.follow(&reply).await.body.contains("Your password was changed."));
    let new_cookie = me.session_cookie().unwrap();
    assert_ne!(old_cookie, new_cookie, "this browser continues under a fresh session id");
    assert!(app.count(&format!("SELECT password_changed_at FROM users WHERE id = {uid}")).await > 1000);
    // The change is in the account's history, written with it; failed attempts wrote none.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM history_events WHERE user_id = {uid} AND kind = 'password_changed' \
            AND detail = '1 other session signed out'"
        ))
        .await,
        1
    );
    // This session keeps how it signed in and being remembered.
    assert_eq!(app.count(&format!("SELECT remember FROM sessions WHERE id_hash = '{}'", me.id_hash())).await, 1);
    // Every other session: signed out, with the reason.
    other.get("/").await.assert_redirect_to("/login?next=/&ended=elsewhere");
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM sessions WHERE user_id = {uid} AND ended_at IS NULL")).await,
        1
    );
    let mut stale = me.clone();
    stale.cookies.insert("keycard_session".into(), old_cookie);
    stale.get("/").await.assert_redirect_to("/login?next=/");
    // The old password no longer works; the new one does.
    assert!(
        app.client().log_in("gus@example.com", PASSWORD, false).await.location().contains("__err="),
        "old password refused"
    );
    app.client().log_in("gus@example.com", NEW_PASSWORD, false).await.assert_redirect_to("/");
    app.assert_every_ending_recorded().await;
}

async fn account_deletion_removes_everything(app: &TestApp) {
    let mut me = app.client();
    me.sign_up("hal@example.com").await.assert_redirect_to("/");
    let mut other = app.client();
    other.log_in("hal@example.com", PASSWORD, false).await.assert_redirect_to("/");
    let mut keep = app.client();
    keep.sign_up("ida@example.com").await.assert_redirect_to("/");
    let uid = app.user_id("hal@example.com").await;
    let t = app.now();
    app.exec(&format!("INSERT INTO totp_secrets (user_id, secret, created_at) VALUES ({uid}, 'x', {t})")).await;
    app.exec(&format!("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ({uid}, 'h', {t})")).await;
    me.reauth(PASSWORD, "/security/delete").await;
    let old_cookie = me.session_cookie().unwrap();

    // The email must be typed to confirm.
    let reply =
        me.post_form("/api/security/delete", "/security/delete", &[("confirm_email", "someone@example.com")]).await;
    assert!(me.follow(&reply).await.body.contains("email address exactly to confirm."));
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 2);

    let reply =
        me.post_form("/api/security/delete", "/security/delete", &[("confirm_email", " HAL@example.com ")]).await;
    reply.assert_redirect_to("/login?deleted=1");
    assert!(me.session_cookie().is_none(), "this browser is signed out");
    assert!(me.follow(&reply).await.body.contains("Your account was deleted."));
    for table in
        ["users WHERE id", "sessions WHERE user_id", "totp_secrets WHERE user_id", "recovery_codes WHERE user_id"]
    {
        assert_eq!(app.count(&format!("SELECT COUNT(*) FROM {table} = {uid}")).await, 0, "{table}");
    }
    // Its sessions stop working at once; the old cookie is useless.
    other.get("/").await.assert_redirect_to("/login?next=/");
    let mut stale = me.clone();
    stale.cookies.insert("keycard_session".into(), old_cookie);
    stale.get("/").await.assert_redirect_to("/login?next=/");
    assert!(
        app.client().log_in("hal@example.com", PASSWORD, false).await.location().contains("__err="),
        "old password refused"
    );
    // Other accounts are untouched.
    assert_eq!(keep.get("/").await.status, 200);
    // The address can be used again.
    app.client().sign_up("hal@example.com").await.assert_redirect_to("/");
}

/// The schema itself removes child rows with the account (ON DELETE CASCADE on both databases).
async fn deleting_a_user_row_cascades(app: &TestApp) {
    let mut client = app.client();
    client.sign_up("jo@example.com").await.assert_redirect_to("/");
    let uid = app.user_id("jo@example.com").await;
    let t = app.now();
    app.exec(&format!("INSERT INTO totp_secrets (user_id, secret, created_at) VALUES ({uid}, 'x', {t})")).await;
    app.exec(&format!("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ({uid}, 'h', {t})")).await;
    app.exec(&format!("DELETE FROM users WHERE id = {uid}")).await;
    for table in ["sessions", "totp_secrets", "recovery_codes"] {
        assert_eq!(app.count(&format!("SELECT COUNT(*) FROM {table} WHERE user_id = {uid}")).await, 0, "{table}");
    }
    assert!(!keycard::accounts::deletion::delete_account(&app.state.db, uid).await.unwrap());
}
