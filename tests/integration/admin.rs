//! `keycard admin`: the operator's commands, through their plain functions, on SQLite and
//! PostgreSQL. Ending sessions works on the next request, with a history event per account.

use crate::common::{TestApp, PASSWORD, SAFARI_IPHONE};
use keycard::admin::{run, AdminCommand};

on_both_databases!(admin_lists_and_signs_out_one_account, admin_signs_out_everyone);

async fn admin_lists_and_signs_out_one_account(app: &TestApp) {
    let mut laptop = app.client();
    laptop.sign_up("ops@example.com").await.assert_redirect_to("/");
    let mut phone = app.client();
    phone.user_agent = SAFARI_IPHONE.into();
    phone.log_in("ops@example.com", PASSWORD, false).await.assert_redirect_to("/");
    let mut bystander = app.client();
    bystander.sign_up("bystander@example.com").await.assert_redirect_to("/");

    let listing = run(&app.state.db, &AdminCommand::Sessions { email: " OPS@example.com".into() }).await.unwrap();
    assert!(listing.starts_with("2 live session(s) of  OPS@example.com"), "{listing}");
    assert!(listing.contains("Firefox 133 on Linux") && listing.contains("Safari 17 on iPhone"), "{listing}");
    assert!(!listing.contains(&laptop.id_hash()), "never the id hash");

    let unknown = run(&app.state.db, &AdminCommand::SignOut { email: "nobody@example.com".into() }).await;
    assert!(unknown.unwrap_err().to_string().contains("no account has the email"));

    let out = run(&app.state.db, &AdminCommand::SignOut { email: "ops@example.com".into() }).await.unwrap();
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
    let out = run(&app.state.db, &AdminCommand::SignOutEveryone).await.unwrap();
    assert_eq!(out, "signed out 2 session(s) of 2 account(s)\n");
    for client in [&mut a, &mut b] {
        client.get("/").await.assert_redirect_to("/login?next=/&ended=elsewhere");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM history_events WHERE kind = 'signed_out_by_admin'").await, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL").await, 0);
    // Nothing left to end: nothing more is recorded.
    assert_eq!(
        run(&app.state.db, &AdminCommand::SignOutEveryone).await.unwrap(),
        "signed out 0 session(s) of 0 account(s)\n"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM history_events WHERE kind = 'signed_out_by_admin'").await, 2);
    app.assert_every_ending_recorded().await;
}
