//! `keycard admin`: the operator's commands, through their plain functions, on SQLite and
//! PostgreSQL. Ending sessions works on the next request, with a history event per account; each
//! change is one transaction. The binary's own handling (help, exit codes, the password on
//! standard input) is in `admin_binary.rs`.

use crate::common::{TestApp, PASSWORD, SAFARI_IPHONE};
use keycard::admin::{AdminCommand, AdminError};

on_both_databases!(
    admin_lists_and_signs_out_one_account,
    admin_signs_out_everyone,
    create_user_follows_the_sign_up_rules,
    users_lists_two_step_last_sign_in_and_status,
    reset_two_step_turns_it_off_with_an_event_and_ends_the_code_step,
    disable_ends_everything_and_refuses_sign_in_until_enabled,
    a_sign_in_racing_disable_never_leaves_a_live_session,
    purge_deletes_what_is_due_in_one_go,
);
on_both_databases!(with crate::common::smtp::with_mail; reset_two_step_is_announced_by_mail);

/// Runs a command that reads no password.
async fn run(state: &keycard::core::state::AppState, command: &AdminCommand) -> Result<String, AdminError> {
    keycard::admin::run(state, command, || panic!("this command must not read a password")).await
}

fn cmd(words: &[&str]) -> AdminCommand {
    AdminCommand::parse(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>()).unwrap()
}

async fn admin_lists_and_signs_out_one_account(app: &TestApp) {
    let mut laptop = app.client();
    laptop.sign_up("ops@example.com").await.assert_redirect_to("/");
    let mut phone = app.client();
    phone.user_agent = SAFARI_IPHONE.into();
    phone.log_in("ops@example.com", PASSWORD, false).await.assert_redirect_to("/");
    let mut bystander = app.client();
    bystander.sign_up("bystander@example.com").await.assert_redirect_to("/");

    let listing = run(&app.state, &AdminCommand::Sessions { email: " OPS@example.com".into() }).await.unwrap();
    assert!(listing.starts_with("2 live session(s) of  OPS@example.com"), "{listing}");
    assert!(listing.contains("Firefox 133 on Linux") && listing.contains("Safari 17 on iPhone"), "{listing}");
    assert!(!listing.contains(&laptop.id_hash()), "never the id hash");

    let unknown = run(&app.state, &AdminCommand::SignOut { email: "nobody@example.com".into() }).await;
    assert!(unknown.unwrap_err().to_string().contains("no account has the email"));

    let out = run(&app.state, &AdminCommand::SignOut { email: "ops@example.com".into() }).await.unwrap();
    assert_eq!(out, "signed out 2 session(s) of ops@example.com\n");
    laptop.get("/").await.assert_redirect_to("/login?next=/&ended=elsewhere");
    phone.get("/devices").await.assert_redirect_to("/login?next=/devices&ended=elsewhere");
    assert_eq!(bystander.get("/").await.status, 200, "other accounts keep their sessions");
    let user = app.user_id("ops@example.com").await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM history_events WHERE user_id = {user} AND kind = 'signed_out_by_admin' \
            AND detail = '2 sessions signed out'"
        ))
        .await,
        1
    );
    // Each session ended is recorded like any other ending, then the administrator's action.
    assert_eq!(
        app.history_kinds(user).await,
        ["signed_in", "signed_in", "session_ended", "session_ended", "signed_out_by_admin"]
    );
    app.assert_every_ending_recorded().await;
}

async fn admin_signs_out_everyone(app: &TestApp) {
    let mut a = app.client();
    a.sign_up("first@example.com").await.assert_redirect_to("/");
    let mut b = app.client();
    b.sign_up("second@example.com").await.assert_redirect_to("/");
    let out = run(&app.state, &AdminCommand::SignOutEveryone).await.unwrap();
    assert_eq!(out, "signed out 2 session(s) of 2 account(s)\n");
    for client in [&mut a, &mut b] {
        client.get("/").await.assert_redirect_to("/login?next=/&ended=elsewhere");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM history_events WHERE kind = 'signed_out_by_admin'").await, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL").await, 0);
    // Nothing left to end: nothing more is recorded.
    assert_eq!(
        run(&app.state, &AdminCommand::SignOutEveryone).await.unwrap(),
        "signed out 0 session(s) of 0 account(s)\n"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM history_events WHERE kind = 'signed_out_by_admin'").await, 2);
    app.assert_every_ending_recorded().await;
}

async fn create_user_follows_the_sign_up_rules(app: &TestApp) {
    let command = cmd(&["create-user", "Nia@Example.com"]);
    let create =
        |password: &'static str| keycard::admin::run(&app.state, &command, move || Ok(format!("{password}\n")));
    let weak = create("password1").await.unwrap_err().to_string();
    assert_eq!(
        weak,
        "This password is too easy to guess: This is a very common password. Add another word or two. Uncommon words \
         are better. Try a longer phrase of unrelated words."
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0, "a refused password creates nothing");
    assert_eq!(create(PASSWORD).await.unwrap(), "created the account Nia@Example.com\n");
    let again = create(PASSWORD).await.unwrap_err().to_string();
    assert!(again.contains("already exists"), "{again}");
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
    // The trailing newline of a piped password is not part of it.
    let mut browser = app.client();
    browser.log_in("nia@example.com", PASSWORD, false).await.assert_redirect_to("/");
    let bad_email =
        keycard::admin::run(&app.state, &cmd(&["create-user", "not-an-email"]), || Ok(PASSWORD.into())).await;
    assert!(bad_email.unwrap_err().to_string().contains("Enter an email address"));
}

async fn users_lists_two_step_last_sign_in_and_status(app: &TestApp) {
    let (_client, _secret, codes) = crate::two_step::enrolled(app, "two@example.com").await;
    assert_eq!(codes.len(), 10);
    app.exec("UPDATE recovery_codes SET used_at = 1 WHERE code_hash IN (SELECT code_hash FROM recovery_codes LIMIT 3)")
        .await;
    let mut plain = app.client();
    plain.sign_up("plain@example.com").await.assert_redirect_to("/");
    app.exec("DELETE FROM history_events WHERE kind = 'signed_in' AND user_id = (SELECT id FROM users WHERE email = 'plain@example.com')").await;
    run(&app.state, &cmd(&["disable", "plain@example.com"])).await.unwrap();

    let listing = run(&app.state, &cmd(&["users"])).await.unwrap();
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 4, "{listing}");
    assert!(lines[0].starts_with("EMAIL") && lines[0].contains("TWO-STEP") && lines[0].contains("LAST SIGN-IN"));
    assert!(lines[1].starts_with("two@example.com"), "{listing}");
    assert!(lines[1].contains("on, 7 recovery codes left") && lines[1].ends_with("active"), "{listing}");
    assert!(lines[1].contains(" UTC"), "a last sign-in time: {listing}");
    assert!(lines[2].starts_with("plain@example.com") && lines[2].contains(" off "), "{listing}");
    assert!(lines[2].contains(" never ") && lines[2].contains("disabled since"), "{listing}");
    assert_eq!(lines[3], "2 account(s)");
    // Columns line up: the third column starts at the same place on every row.
    let at = |line: &str, word: &str| line.find(word).unwrap();
    assert_eq!(at(lines[0], "TWO-STEP"), at(lines[1], "on, 7"));
    assert_eq!(at(lines[0], "TWO-STEP"), at(lines[2], "off"));
}

async fn reset_two_step_turns_it_off_with_an_event_and_ends_the_code_step(app: &TestApp) {
    let (mut owner, _secret, _codes) = crate::two_step::enrolled(app, "lost@example.com").await;
    let waiting = crate::two_step::at_code_step(app, "lost@example.com").await;
    let user = app.user_id("lost@example.com").await;

    let out = run(&app.state, &cmd(&["reset-two-step", "LOST@example.com"])).await.unwrap();
    assert!(out.starts_with("two-step sign-in is off for LOST@example.com"), "{out}");
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM totp_secrets WHERE user_id = {user}")).await, 0);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM recovery_codes WHERE user_id = {user}")).await, 0);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM history_events WHERE user_id = {user} AND kind = 'two_step_reset_by_admin'"
        ))
        .await,
        1
    );
    // The sign-in that was waiting for a code cannot finish; a new one needs only the password.
    let mut waiting = waiting;
    assert_ne!(waiting.get("/login/code").await.status, 200);
    let mut fresh = app.client();
    fresh.log_in("lost@example.com", PASSWORD, false).await.assert_redirect_to("/");
    assert_eq!(owner.get("/").await.status, 200, "the owner's own sessions stay");
    let history = owner.get("/history").await.body;
    assert!(history.contains("Two-step sign-in turned off by an administrator"), "{history}");

    // Nothing to reset: refused, nothing recorded.
    let again = run(&app.state, &cmd(&["reset-two-step", "lost@example.com"])).await.unwrap_err();
    assert_eq!(again.to_string(), "two-step sign-in is not on for lost@example.com; nothing changed");
    let unknown = run(&app.state, &cmd(&["reset-two-step", "nobody@example.com"])).await.unwrap_err();
    assert!(matches!(unknown, AdminError::UnknownAccount(_)));
    assert_eq!(app.count("SELECT COUNT(*) FROM history_events WHERE kind = 'two_step_reset_by_admin'").await, 1);
}

async fn reset_two_step_is_announced_by_mail(app: &TestApp) {
    crate::two_step::enrolled(app, "told@example.com").await;
    crate::notices::prove_address(app, "told@example.com").await;
    run(&app.state, &cmd(&["reset-two-step", "told@example.com"])).await.unwrap();
    let notices = crate::notices::notices(app).await;
    let reset: Vec<_> = notices.iter().filter(|(subject, _, _)| subject.contains("by an administrator")).collect();
    assert_eq!(reset.len(), 1, "{notices:?}");
    let (subject, to, text) = reset[0];
    assert_eq!(subject, "Two-step sign-in was turned off by an administrator");
    assert_eq!(to, "told@example.com");
    assert!(text.contains("your password alone now signs in"), "{text}");
}

async fn disable_ends_everything_and_refuses_sign_in_until_enabled(app: &TestApp) {
    let (mut browser, tokens) = crate::apps::connected(app, "gone@example.com", "keycard-cli").await;
    assert_eq!(crate::apps::call(app, "GET", "/api/v1/me", &tokens.access).await.status, 200);
    let mut bystander = app.client();
    bystander.sign_up("stays@example.com").await.assert_redirect_to("/");
    let user = app.user_id("gone@example.com").await;

    let out = run(&app.state, &cmd(&["disable", "gone@example.com"])).await.unwrap();
    assert_eq!(out, "disabled gone@example.com; 2 sessions signed out\n");
    browser.get("/devices").await.assert_redirect_to("/login?next=/devices&ended=disabled");
    let notice = app.client().get("/login?ended=disabled").await.body;
    assert!(notice.contains("This account is disabled. Ask your Keycard administrator for help."), "{notice}");
    assert_eq!(crate::apps::call(app, "GET", "/api/v1/me", &tokens.access).await.status, 401);
    assert_eq!(crate::apps::refresh(app, &tokens.refresh).await.status, 400, "the app connection ended too");
    assert_eq!(bystander.get("/").await.status, 200, "other accounts are untouched");

    // The right password learns it is disabled; a wrong one gets the usual answer; neither signs in.
    let mut someone = app.client();
    let right = someone.log_in("gone@example.com", PASSWORD, false).await;
    assert!(someone.session_cookie().is_none());
    let page = someone.follow(&right).await;
    assert!(page.body.contains("This account is disabled."), "{}", page.body);
    let wrong = someone.log_in("gone@example.com", "not-the-password-9", false).await;
    let page = someone.follow(&wrong).await;
    assert!(page.body.contains("Email or password is incorrect.") && !page.body.contains("disabled"), "{}", page.body);
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM sessions WHERE user_id = {user} AND ended_at IS NULL")).await,
        0
    );
    // With JavaScript (the server function's JSON answer): 403 and the same words.
    let scripted = someone
        .post_form_as_script("/api/login", &[("email", "gone@example.com"), ("password", PASSWORD), ("next", "")])
        .await;
    assert_eq!(scripted.status, 403, "{}", scripted.body);
    assert_eq!(scripted.body, "\"AccountDisabled\"", "the error the page words as above");

    let again = run(&app.state, &cmd(&["disable", "gone@example.com"])).await.unwrap_err();
    assert_eq!(again.to_string(), "gone@example.com is already disabled; nothing changed");

    assert_eq!(
        run(&app.state, &cmd(&["enable", "gone@example.com"])).await.unwrap(),
        "enabled gone@example.com; they can sign in again\n"
    );
    someone.log_in("gone@example.com", PASSWORD, false).await.assert_redirect_to("/");
    let kinds = app.history_kinds(user).await;
    let tail: Vec<&str> = kinds.iter().map(String::as_str).filter(|k| k.starts_with("account_")).collect();
    assert_eq!(tail, ["account_disabled", "account_enabled"]);
    let not_disabled = run(&app.state, &cmd(&["enable", "gone@example.com"])).await.unwrap_err();
    assert_eq!(not_disabled.to_string(), "gone@example.com is not disabled; nothing changed");
    app.assert_every_ending_recorded().await;
}

/// Twelve sign-ins in flight while the account is disabled: whichever commit first, no session of
/// the account is live afterwards (each either finished before and was ended, or was refused).
async fn a_sign_in_racing_disable_never_leaves_a_live_session(app: &TestApp) {
    let mut first = app.client();
    first.sign_up("race@example.com").await.assert_redirect_to("/");
    let user = app.user_id("race@example.com").await;
    let sign_ins = (0..12).map(|_| {
        let mut client = app.client();
        async move { client.log_in("race@example.com", PASSWORD, false).await.status }
    });
    let disable = async {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        run(&app.state, &cmd(&["disable", "race@example.com"])).await.unwrap()
    };
    let (statuses, _) = tokio::join!(futures_util::future::join_all(sign_ins), disable);
    // Each either signed in (and was then ended) or was refused: never a server error.
    assert!(statuses.iter().all(|s| s.is_redirection() || s.as_u16() == 503), "{statuses:?}");
    let live = app.count(&format!("SELECT COUNT(*) FROM sessions WHERE user_id = {user} AND ended_at IS NULL")).await;
    assert_eq!(live, 0, "a session started after (or while) the account was disabled");
}

async fn purge_deletes_what_is_due_in_one_go(app: &TestApp) {
    let t = app.now();
    let mut old = app.client();
    old.sign_up("old@example.com").await.assert_redirect_to("/");
    let mut live = app.client();
    live.sign_up("live@example.com").await.assert_redirect_to("/");
    // One session past its lifetime but never ended; one ended long ago; old history; a lapsed limit.
    app.exec(&format!(
        "UPDATE sessions SET idle_expires_at = {} WHERE user_id = (SELECT id FROM users WHERE email = 'old@example.com')",
        t - 10
    ))
    .await;
    let retention = app.state.config.history_retention_days as i64 * 24 * 3600;
    app.exec(&format!("UPDATE history_events SET at = {} WHERE kind = 'signed_in' AND user_id = (SELECT id FROM users WHERE email = 'live@example.com')", t - retention - 60)).await;
    app.exec(&format!(
        "INSERT INTO throttle (key, failures, last_failure_at, blocked_until, lapses_at) VALUES ('x', 1, 0, 0, {})",
        t - 5
    ))
    .await;
    let report = keycard::admin::purge::purge_now(&app.state, t).await.unwrap();
    assert_eq!(report.sessions_expired, 1);
    assert_eq!(report.history_events, 1);
    assert!(report.throttle_rows >= 1, "{report:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE end_reason = 'expired'").await, 1);
    assert_eq!(live.get("/").await.status, 200, "live sessions stay");
    // Ended sessions are kept 30 days for the devices page, then deleted.
    let later = keycard::admin::purge::purge_now(&app.state, t + 31 * 24 * 3600).await.unwrap();
    assert!(later.sessions_deleted >= 1, "{later:?}");
    let out = run(&app.state, &cmd(&["purge"])).await.unwrap();
    assert!(out.starts_with("purged: 0 session(s) expired"), "{out}");
}
