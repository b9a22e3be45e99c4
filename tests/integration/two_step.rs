//! Two-step sign-in through the real router, on SQLite and PostgreSQL: enrolment, the code step,
//! single-use codes, recovery codes, throttling, and turning it off behind re-authentication.

use crate::common::{Client, Reply, TestApp, PASSWORD};
use keycard::two_step::totp::{code_for_step, step_at};

on_both_databases!(
    enrolment_needs_a_confirming_code,
    code_step_gates_every_page_until_the_code,
    the_code_step_carries_next_and_expires,
    a_replayed_code_is_refused,
    recovery_codes_work_once,
    five_wrong_codes_end_the_half_signed_in_session,
    turning_off_and_new_recovery_codes_need_re_authentication,
    two_step_changes_are_in_the_history,
    concurrent_wrong_codes_evaluate_at_most_the_free_failures,
    concurrent_correct_codes_yield_one_session,
    the_prompt_shares_the_second_factor_budget,
    re_authentication_rotates_the_session_id,
);

/// The page's text without tags (Leptos adds comment markers around dynamic text).
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// The secret behind the setup key shown on the page, as a person would type it into an app.
fn setup_secret(body: &str) -> Vec<u8> {
    let start = body.find("aria-label=\"Setup key\"").expect("setup key on the page");
    let rest = &body[start..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    let key = text_of(&rest[..rest.find("</code>").unwrap()]).replace(' ', "");
    data_encoding::BASE32_NOPAD.decode(key.as_bytes()).expect("base32 setup key")
}

/// The recovery codes listed on the page (empty when none are shown).
pub(crate) fn recovery_codes_in(body: &str) -> Vec<String> {
    let Some(start) = body.find("aria-label=\"Recovery codes\"") else {
        return Vec::new();
    };
    let list = &body[start..];
    let list = &list[..list.find("</ul>").unwrap()];
    list.split("<code>").skip(1).map(|part| text_of(&part[..part.find("</code>").unwrap()])).collect()
}

/// The code `offset` steps from the clock's current step.
pub(crate) fn code_at(clock: &keycard::core::clock::Clock, secret: &[u8], offset: i64) -> String {
    code_for_step(secret, step_at(clock.now()) + offset)
}

/// Signs up and turns two-step on (confirming with the previous step's code, so the current and
/// next steps stay usable). Returns the client, the secret and the recovery codes.
pub(crate) async fn enrolled(app: &TestApp, email: &str) -> (Client, Vec<u8>, Vec<String>) {
    let mut client = app.client();
    client.sign_up(email).await.assert_redirect_to("/");
    client.reauth(PASSWORD, "/security/two-step").await;
    client.post_form("/api/two_step_begin", "/security/two-step", &[]).await.assert_redirect_to("/security/two-step");
    let page = client.get("/security/two-step").await;
    let secret = setup_secret(&page.body);
    let reply = client
        .post_form("/api/two_step_confirm", "/security/two-step", &[("code", &code_at(&app.clock, &secret, -1))])
        .await;
    reply.assert_redirect_to("/security/two-step");
    let page = client.follow(&reply).await;
    let codes = recovery_codes_in(&page.body);
    assert_eq!(codes.len(), 10, "{}", page.body);
    (client, secret, codes)
}

/// A fresh browser that has entered the right password and now owes the code.
pub(crate) async fn at_code_step(app: &TestApp, email: &str) -> Client {
    let mut client = app.client();
    client.log_in(email, PASSWORD, false).await.assert_redirect_to("/login/code");
    client
}

pub(crate) async fn submit_code(client: &mut Client, code: &str) -> Reply {
    client.post_form("/api/login_code", "/login/code", &[("code", code), ("next", "")]).await
}

async fn enrolment_needs_a_confirming_code(app: &TestApp) {
    let mut client = app.client();
    client.sign_up("amy@example.com").await;
    let home = client.get("/").await;
    assert!(home.body.contains("href=\"/security/two-step\""), "home links to the two-step page");
    let page = client.get("/security/two-step").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Turn on two-step sign-in") && page.body.contains("Two-step sign-in is off."));

    // A cookie alone (a stolen one, say) cannot enrol an authenticator: the password comes first.
    let reply = client.post_form("/api/two_step_begin", "/security/two-step", &[]).await;
    reply.assert_redirect_to("/security/confirm?next=/security/two-step");
    assert_eq!(app.count("SELECT COUNT(*) FROM totp_secrets").await, 0);
    client.reauth(PASSWORD, "/security/two-step").await;
    client.post_form("/api/two_step_begin", "/security/two-step", &[]).await.assert_redirect_to("/security/two-step");
    let page = client.get("/security/two-step").await;
    let secret = setup_secret(&page.body);
    assert_eq!(secret.len(), 20, "160-bit secret");
    assert!(page.body.contains("<svg"), "QR code rendered on the server");
    assert!(page.body.contains("Authentication code") && page.body.contains(">Confirm<"));
    assert!(page.body.contains("otpauth://totp/Keycard:amy%40example.com?secret="), "otpauth link");
    // Encrypted at rest: neither the base32 key nor the raw bytes are in the row.
    let stored: String =
        sqlx::query_scalar("SELECT secret FROM totp_secrets").fetch_one(&app.state.db.pool).await.unwrap();
    let base32 = data_encoding::BASE32_NOPAD.encode(&secret);
    assert!(!stored.to_uppercase().contains(&base32) && !stored.contains(&hex_of(&secret)));
    assert_eq!(app.count("SELECT COUNT(*) FROM totp_secrets WHERE enabled_at IS NULL").await, 1);

    // Walking away leaves it off: the next sign-in needs only the password.
    let mut other = app.client();
    other.log_in("amy@example.com", PASSWORD, false).await.assert_redirect_to("/");

    // A wrong code does not turn it on.
    let reply = client
        .post_form("/api/two_step_confirm", "/security/two-step", &[("code", &code_at(&app.clock, &secret, 5))])
        .await;
    let page = client.follow(&reply).await;
    assert!(page.body.contains("That code is not correct."), "{}", page.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM totp_secrets WHERE enabled_at IS NOT NULL").await, 0);

    // The right one does, and the recovery codes are shown exactly once.
    let reply = client
        .post_form("/api/two_step_confirm", "/security/two-step", &[("code", &code_at(&app.clock, &secret, 0))])
        .await;
    reply.assert_redirect_to("/security/two-step");
    let page = client.follow(&reply).await;
    assert!(page.body.contains("Two-step sign-in is on."));
    let codes = recovery_codes_in(&page.body);
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'), "{codes:?}");
    let again = client.get("/security/two-step").await;
    assert!(recovery_codes_in(&again.body).is_empty(), "shown once");
    assert!(text_of(&again.body).contains("You have 10 recovery codes left."));
    assert!(again.body.contains("Regenerate recovery codes") && again.body.contains("Turn off two-step sign-in"));
    // Stored as keyed hashes only; nothing of them in the session row either.
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT code_hash FROM recovery_codes").fetch_all(&app.state.db.pool).await.unwrap();
    assert_eq!(hashes.len(), 10);
    let sessions: Vec<String> =
        sqlx::query_scalar("SELECT data FROM sessions").fetch_all(&app.state.db.pool).await.unwrap();
    for code in &codes {
        let bare = code.replace('-', "");
        assert!(hashes.iter().all(|h| !h.contains(&bare)));
        assert!(sessions.iter().all(|d| !d.contains(&bare) && !d.contains(code.as_str())));
    }
    // Starting over is refused once it is on: the confirmed secret stays.
    let reply = client.post_form("/api/two_step_begin", "/security/two-step", &[]).await;
    assert!(reply.location().contains("/security/two-step?"), "an error answer: {}", reply.location());
    let after: String =
        sqlx::query_scalar("SELECT secret FROM totp_secrets").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(after, stored);
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn code_step_gates_every_page_until_the_code(app: &TestApp) {
    let (_, secret, _) = enrolled(app, "bea@example.com").await;
    let mut client = at_code_step(app, "bea@example.com").await;
    let half_cookie = client.session_cookie().expect("a half-signed-in session");
    for (path, target) in [
        ("/", "/login/code?next=/"),
        ("/security/two-step", "/login/code?next=/security/two-step"),
        ("/security/confirm", "/login/code?next=/security/confirm"),
    ] {
        client.get(path).await.assert_redirect_to(target);
    }
    // Data server functions answer as to a signed-out browser.
    let page = client.get("/login/code").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Authentication code") && page.body.contains(">Verify<"));
    assert!(!page.body.contains("bea@example.com"), "nothing of the account before the code");
    let row: (String, String, i64, i64) = {
        use sqlx::Row;
        let r = sqlx::query("SELECT stage, method, created_at, absolute_expires_at FROM sessions WHERE ended_at IS NULL AND stage = 'password_verified'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        (r.get(0), r.get(1), r.get(2), r.get(3))
    };
    assert_eq!(row.0, "password_verified");
    assert_eq!(row.3 - row.2, 300, "the half state lasts 5 minutes");

    let reply = submit_code(&mut client, &code_at(&app.clock, &secret, 0)).await;
    reply.assert_redirect_to("/");
    assert_ne!(client.session_cookie().unwrap(), half_cookie, "a new session id after the code");
    let home = client.follow(&reply).await;
    assert!(home.body.contains("Hello, "));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND stage = 'complete' AND method = 'password_and_code'").await,
        1
    );
    client.get("/login/code").await.assert_redirect_to("/");
    // Signed out, the code step is not reachable.
    app.client().get("/login/code").await.assert_redirect_to("/login");
    let mut stale = app.client();
    stale.cookies.insert("keycard_session".into(), half_cookie);
    stale.get("/login/code").await.assert_redirect_to("/login");
}

async fn the_code_step_carries_next_and_expires(app: &TestApp) {
    let (_, secret, _) = enrolled(app, "cal@example.com").await;
    let mut client = app.client();
    client
        .post_form(
            "/api/login",
            "/login?next=/security/two-step",
            &[("email", "cal@example.com"), ("password", PASSWORD), ("next", "/security/two-step"), ("remember", "on")],
        )
        .await
        .assert_redirect_to("/login/code?next=/security/two-step");
    let page = client.get("/login/code?next=/security/two-step").await;
    assert!(page.body.contains("value=\"/security/two-step\""));
    let reply = client
        .post_form(
            "/api/login_code",
            "/login/code?next=/security/two-step",
            &[("code", &code_at(&app.clock, &secret, 0)), ("next", "/security/two-step")],
        )
        .await;
    reply.assert_redirect_to("/security/two-step");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND remember = 1").await,
        1,
        "remember carried over"
    );
    // A half state past its 5 minutes is over.
    let mut late = at_code_step(app, "cal@example.com").await;
    app.clock.advance(5 * 60);
    late.get("/login/code").await.assert_redirect_to("/login?ended=expired");
    let reply = submit_code(&mut late, &code_at(&app.clock, &secret, 1)).await;
    assert!(!reply.location().ends_with("/"), "no sign-in with an expired half state: {}", reply.location());
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND stage = 'complete'").await, 2);
}

async fn a_replayed_code_is_refused(app: &TestApp) {
    let (_, secret, _) = enrolled(app, "dan@example.com").await;
    let code = code_at(&app.clock, &secret, 0);
    let mut first = at_code_step(app, "dan@example.com").await;
    submit_code(&mut first, &code).await.assert_redirect_to("/");
    // The same code again, from another browser (an eavesdropper, say), within its 30 seconds.
    let mut second = at_code_step(app, "dan@example.com").await;
    let reply = submit_code(&mut second, &code).await;
    let page = second.follow(&reply).await;
    assert!(page.body.contains("That code was already used. Wait for the next code."), "{}", page.body);
    // An older step in the window is refused too; the next step's code works.
    let reply = submit_code(&mut second, &code_at(&app.clock, &secret, -1)).await;
    assert!(second.follow(&reply).await.body.contains("That code was already used."));
    submit_code(&mut second, &code_at(&app.clock, &secret, 1)).await.assert_redirect_to("/");
    // Wrong lengths and characters are plainly wrong.
    let mut third = at_code_step(app, "dan@example.com").await;
    for bad in ["12345", "1234567", "abcdef"] {
        let reply = submit_code(&mut third, bad).await;
        assert!(third.follow(&reply).await.body.contains("That code is not correct."), "{bad}");
    }
}

async fn recovery_codes_work_once(app: &TestApp) {
    let (_, _, codes) = enrolled(app, "eve@example.com").await;
    let mut client = at_code_step(app, "eve@example.com").await;
    // Case, spaces and dashes do not matter.
    let typed = codes[3].to_uppercase().replace('-', " ");
    submit_code(&mut client, &typed).await.assert_redirect_to("/");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND method = 'recovery_code'").await, 1);
    let page = client.get("/security/two-step").await;
    assert!(text_of(&page.body).contains("You have 9 recovery codes left."));

    let mut again = at_code_step(app, "eve@example.com").await;
    let reply = submit_code(&mut again, &codes[3]).await;
    let page = again.follow(&reply).await;
    assert!(page.body.contains("That code is not correct."), "a used recovery code is refused");
    submit_code(&mut again, &codes[4]).await.assert_redirect_to("/");
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NOT NULL").await, 2);
}

/// The second factor's budget belongs to the account: wrong codes from any half-signed-in
/// session (any browser, any instance) count together, the fifth locks it and ends every
/// half-signed-in session, and signing in with the password again starts no new round.
async fn five_wrong_codes_end_the_half_signed_in_session(app: &TestApp) {
    let (mut owner, secret, _) = enrolled(app, "fay@example.com").await;
    let budget = "SELECT COALESCE(MAX(failures), 0) FROM throttle WHERE key LIKE 'second-factor:%'";
    let wrong = code_at(&app.clock, &secret, 7);
    // A success clears the count.
    let mut client = at_code_step(app, "fay@example.com").await;
    for _ in 0..3 {
        submit_code(&mut client, &wrong).await;
    }
    assert_eq!(app.count(budget).await, 3);
    submit_code(&mut client, &code_at(&app.clock, &secret, 0)).await.assert_redirect_to("/");
    assert_eq!(app.count(budget).await, 0);

    // Two browsers (or two instances) share it.
    let mut a = at_code_step(app, "fay@example.com").await;
    let mut b = at_code_step(app, "fay@example.com").await;
    for _ in 0..2 {
        let reply = submit_code(&mut a, &wrong).await;
        assert!(a.follow(&reply).await.body.contains("That code is not correct."));
    }
    for _ in 0..2 {
        submit_code(&mut b, &wrong).await;
    }
    let reply = submit_code(&mut b, "00000-00000").await;
    reply.assert_redirect_to("/login?ended=codes");
    let page = b.follow(&reply).await;
    assert!(page.body.contains("Too many wrong codes. Sign in with your password again."), "{}", page.body);
    assert!(b.session_cookie().is_none());
    // Both half-signed-in sessions are over; even the right code no longer helps.
    a.get("/login/code").await.assert_redirect_to("/login");
    let reply = submit_code(&mut a, &code_at(&app.clock, &secret, 1)).await;
    assert!(!reply.location().ends_with("/"), "{}", reply.location());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND stage = 'password_verified'").await,
        0
    );

    // Ending those sessions did not reset the budget: with the password again, the code step
    // refuses even the right code until the wait is over.
    assert_eq!(app.count(budget).await, 5);
    let full_sessions = "SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND stage = 'complete'";
    let before = app.count(full_sessions).await;
    let mut c = at_code_step(app, "fay@example.com").await;
    let reply = submit_code(&mut c, &code_at(&app.clock, &secret, 1)).await;
    let page = c.follow(&reply).await;
    // The wait left is worded from the block set at this very second (the clock stands still).
    assert!(page.body.contains("Too many attempts. Try again in 1 minute."), "{}", page.body);
    assert_eq!(app.count(full_sessions).await, before, "no new full session");

    // The lock is in the history, and the owner's earlier session sees the banner.
    let user = app.user_id("fay@example.com").await;
    assert!(app.history_kinds(user).await.contains(&"second_factor_locked".to_owned()));
    let home = owner.get("/").await;
    assert!(home.body.contains("Someone entered your password but failed the two-step code"), "{}", home.body);
    assert!(home.body.contains("Firefox 133 on Linux") && home.body.contains("href=\"/security/password\""));

    // Once the wait is over (1 minute; here: cleared), the right code works and clears the budget.
    app.exec("UPDATE throttle SET blocked_until = 0").await;
    submit_code(&mut c, &code_at(&app.clock, &secret, 1)).await.assert_redirect_to("/");
    assert_eq!(app.count(budget).await, 0);
}

async fn turning_off_and_new_recovery_codes_need_re_authentication(app: &TestApp) {
    let (mut client, secret, old_codes) = enrolled(app, "gil@example.com").await;
    // The enrolment's re-authentication is long past.
    app.set_reauth_at(app.now() - 601).await;
    // Not re-authenticated: sent to the prompt, nothing changes.
    let reply = client.post_form("/api/two_step_off", "/security/two-step", &[]).await;
    reply.assert_redirect_to("/security/confirm?next=/security/two-step");
    client
        .post_form("/api/two_step_recovery", "/security/two-step", &[])
        .await
        .assert_redirect_to("/security/confirm?next=/security/two-step");
    assert_eq!(app.count("SELECT COUNT(*) FROM totp_secrets WHERE enabled_at IS NOT NULL").await, 1);
    let prompt = client.follow(&reply).await;
    assert_eq!(prompt.status, 200);
    assert!(
        prompt.body.contains(">Password<")
            && prompt.body.contains(">Authentication code<")
            && prompt.body.contains(">Confirm<")
    );

    let referer = "/security/confirm?next=/security/two-step";
    let fields = |password: &'static str, code: String| {
        vec![("password", password.to_owned()), ("code", code), ("next", "/security/two-step".to_owned())]
    };
    let post = |client: &mut Client, f: Vec<(&'static str, String)>| {
        let mut client = client.clone();
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let reply = client.post_form("/api/reauth", referer, &pairs).await;
            (client, reply)
        }
    };
    let (c, reply) = post(&mut client, fields("not-the-password-at-all", code_at(&app.clock, &secret, 0))).await;
    client = c;
    assert!(client.follow(&reply).await.body.contains("That password is not correct."));
    let (c, reply) = post(&mut client, fields(PASSWORD, code_at(&app.clock, &secret, 6))).await;
    client = c;
    assert!(client.follow(&reply).await.body.contains("That code is not correct."));
    let (c, reply) = post(&mut client, fields(PASSWORD, code_at(&app.clock, &secret, 0))).await;
    client = c;
    reply.assert_redirect_to("/security/two-step");

    // Recent enough now: new recovery codes replace the old set.
    let reply = client.post_form("/api/two_step_recovery", "/security/two-step", &[]).await;
    reply.assert_redirect_to("/security/two-step");
    let page = client.follow(&reply).await;
    let new_codes = recovery_codes_in(&page.body);
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !old_codes.contains(c)));
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes").await, 10);
    let mut old = at_code_step(app, "gil@example.com").await;
    let reply = submit_code(&mut old, &old_codes[0]).await;
    assert!(old.follow(&reply).await.body.contains("That code is not correct."), "old codes no longer work");

    // Once the window (10 minutes) has passed, the prompt comes again.
    app.set_reauth_at(app.now() - 601).await;
    client
        .post_form("/api/two_step_off", "/security/two-step", &[])
        .await
        .assert_redirect_to("/security/confirm?next=/security/two-step");
    assert_eq!(app.count("SELECT COUNT(*) FROM totp_secrets WHERE enabled_at IS NOT NULL").await, 1);
    app.set_reauth_at(app.now() - 590).await;
    client.post_form("/api/two_step_off", "/security/two-step", &[]).await.assert_redirect_to("/security/two-step");
    assert_eq!(app.count("SELECT COUNT(*) FROM totp_secrets").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes").await, 0);
    let page = client.get("/security/two-step").await;
    assert!(page.body.contains("Turn on two-step sign-in"));
    app.client().log_in("gil@example.com", PASSWORD, false).await.assert_redirect_to("/");
}

async fn two_step_changes_are_in_the_history(app: &TestApp) {
    let email = "hana@example.com";
    let (mut client, secret, codes) = enrolled(app, email).await;
    let user = app.user_id(email).await;
    assert_eq!(app.history_kinds(user).await, ["signed_in", "two_step_on"]);

    // A wrong code, then a recovery code, at the code step of another browser.
    let mut other = at_code_step(app, email).await;
    submit_code(&mut other, &code_at(&app.clock, &secret, 9)).await;
    submit_code(&mut other, &codes[0]).await.assert_redirect_to("/");
    let kinds = app.history_kinds(user).await;
    assert_eq!(&kinds[2..], ["code_failed", "recovery_code_used", "signed_in"], "{kinds:?}");
    let signed_in_with: String =
        sqlx::query_scalar("SELECT detail FROM history_events WHERE kind = 'signed_in' ORDER BY id DESC")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(signed_in_with, "Recovery code");

    // New recovery codes, then two-step off (after re-authenticating with a code).
    client.reauth_with_code(PASSWORD, &code_at(&app.clock, &secret, 0), "/security/two-step").await;
    client
        .post_form("/api/two_step_recovery", "/security/two-step", &[])
        .await
        .assert_redirect_to("/security/two-step");
    client.post_form("/api/two_step_off", "/security/two-step", &[]).await.assert_redirect_to("/security/two-step");
    let kinds = app.history_kinds(user).await;
    assert_eq!(&kinds[5..], ["recovery_codes_regenerated", "two_step_off"], "{kinds:?}");

    // The History page words each of them.
    let page = text_of(&client.get("/history").await.body);
    for label in [
        "Two-step sign-in turned on",
        "Wrong code at sign-in",
        "Recovery code used",
        "Recovery codes regenerated",
        "Two-step sign-in turned off",
    ] {
        assert!(page.contains(label), "history shows {label}");
    }
}

/// 30 wrong codes at once in one half-signed-in session: each is reserved on the account's
/// budget before it is checked, so at most the free failures (+1) are evaluated.
async fn concurrent_wrong_codes_evaluate_at_most_the_free_failures(app: &TestApp) {
    let (_, secret, _) = enrolled(app, "swarm@example.com").await;
    let user = app.user_id("swarm@example.com").await;
    let client = at_code_step(app, "swarm@example.com").await;
    let wrong = code_at(&app.clock, &secret, 9);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (mut client, wrong) = (client.clone(), wrong.clone());
        tasks.spawn(async move { client.post_form_as_script("/api/login_code", &[("code", &wrong)]).await.status });
    }
    let statuses = tasks.join_all().await;
    let evaluated = app
        .count(&format!("SELECT COUNT(*) FROM history_events WHERE user_id = {user} AND kind = 'code_failed'"))
        .await;
    assert!(evaluated <= 6, "{evaluated} codes were checked: {statuses:?}");
    assert!(app.count("SELECT MAX(failures) FROM throttle WHERE key LIKE 'second-factor:%'").await <= 6);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL AND stage = 'password_verified'").await,
        0,
        "the lock ended the half-signed-in session"
    );
}

/// A code and five recovery codes, all correct, sent at once in one half-signed-in session: the
/// half-signed-in row can be ended only once, so exactly one full session comes of it.
async fn concurrent_correct_codes_yield_one_session(app: &TestApp) {
    let (_, secret, codes) = enrolled(app, "twin@example.com").await;
    let user = app.user_id("twin@example.com").await;
    let full =
        format!("SELECT COUNT(*) FROM sessions WHERE user_id = {user} AND ended_at IS NULL AND stage = 'complete'");
    let before = app.count(&full).await;
    let client = at_code_step(app, "twin@example.com").await;
    let mut answers = vec![code_at(&app.clock, &secret, 0)];
    answers.extend(codes[..5].iter().cloned());
    let mut tasks = tokio::task::JoinSet::new();
    for code in answers {
        let mut client = client.clone();
        tasks.spawn(async move {
            client.post_form("/api/login_code", "/login/code", &[("code", &code), ("next", "")]).await
        });
    }
    let replies = tasks.join_all().await;
    let signed_in = replies.iter().filter(|r| r.location() == "/").count();
    assert_eq!(signed_in, 1, "{:?}", replies.iter().map(|r| r.location().to_owned()).collect::<Vec<_>>());
    assert_eq!(app.count(&full).await, before + 1);
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM history_events WHERE user_id = {user} AND kind = 'signed_in'")).await,
        2,
        "one sign-in by sign-up, one by the code step"
    );
}

/// Wrong codes at the re-authentication prompt count against the same per-account budget as the
/// code step: a thief at the code step and the owner at the prompt share it, and the failure
/// that locks it signs the prompting session out.
async fn the_prompt_shares_the_second_factor_budget(app: &TestApp) {
    let (mut owner, secret, _) = enrolled(app, "share@example.com").await;
    let user = app.user_id("share@example.com").await;
    let mut thief = at_code_step(app, "share@example.com").await;
    let wrong = code_at(&app.clock, &secret, 8);
    for _ in 0..3 {
        submit_code(&mut thief, &wrong).await;
    }
    let referer = "/security/confirm?next=/security/two-step";
    let fields = [("password", PASSWORD), ("code", wrong.as_str()), ("next", "/security/two-step")];
    let reply = owner.post_form("/api/reauth", referer, &fields).await;
    assert!(owner.follow(&reply).await.body.contains("That code is not correct."));
    let reply = owner.post_form("/api/reauth", referer, &fields).await;
    reply.assert_redirect_to("/login?ended=locked");
    assert!(owner.session_cookie().is_none());
    let details: Vec<String> =
        sqlx::query_scalar("SELECT detail FROM history_events WHERE user_id = $1 AND kind = 'code_failed' ORDER BY id")
            .bind(user)
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(details[..3], ["Wrong code"; 3]);
    assert_eq!(details[3..], ["Wrong code when confirming it was you"; 2]);
    assert!(app.history_kinds(user).await.contains(&"second_factor_locked".to_owned()));
    assert_eq!(app.count("SELECT MAX(failures) FROM throttle WHERE key LIKE 'second-factor:%'").await, 5);
}

/// A successful re-authentication gives the session a new id (ASVS 5.0 7.2.4) and keeps the rest:
/// the same device row and handle, no new sign-in event, the remembered cookie's expiry.
async fn re_authentication_rotates_the_session_id(app: &TestApp) {
    let (_, secret, _) = enrolled(app, "rotate@example.com").await;
    let user = app.user_id("rotate@example.com").await;
    let mut client = app.client();
    client.log_in("rotate@example.com", PASSWORD, true).await.assert_redirect_to("/login/code");
    submit_code(&mut client, &code_at(&app.clock, &secret, 0)).await.assert_redirect_to("/");
    let old_cookie = client.session_cookie().unwrap();
    let old_hash = client.id_hash();
    let handle_of = |hash: String| async move {
        sqlx::query_scalar::<_, String>("SELECT public_id FROM sessions WHERE id_hash = $1 AND ended_at IS NULL")
            .bind(hash)
            .fetch_optional(&app.state.db.pool)
            .await
            .unwrap()
    };
    let handle = handle_of(old_hash.clone()).await.expect("live row");
    let kinds_before = app.history_kinds(user).await;

    // 100 s into its 30 days, the new id's cookie keeps what is left of them, to the second.
    app.clock.advance(100);
    let referer = "/security/confirm?next=/security/two-step";
    let reply = client
        .post_form(
            "/api/reauth",
            referer,
            &[("password", PASSWORD), ("code", &code_at(&app.clock, &secret, 1)), ("next", "/security/two-step")],
        )
        .await;
    reply.assert_redirect_to("/security/two-step");
    let new_cookie = client.session_cookie().unwrap();
    assert_ne!(new_cookie, old_cookie, "a new session id");
    assert!(
        reply
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("keycard_session=") && c.split("; ").any(|a| a == "Max-Age=2591900")),
        "still remembered: {:?}",
        reply.set_cookies()
    );
    assert_eq!(handle_of(old_hash).await, None, "the old id is worthless");
    assert_eq!(handle_of(client.id_hash()).await, Some(handle), "the same device row");
    assert_eq!(app.history_kinds(user).await, kinds_before, "no new sign-in event");
    // The old cookie signs nobody in; the new one carries the re-authentication.
    let mut stale = app.client();
    stale.cookies.insert("keycard_session".into(), old_cookie);
    assert!(stale.get("/devices").await.location().starts_with("/login"));
    client
        .post_form("/api/two_step_recovery", "/security/two-step", &[])
        .await
        .assert_redirect_to("/security/two-step");
}
