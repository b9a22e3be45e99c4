//! Changing the account's email address: behind a recent re-authentication, the new address is
//! unverified and gets a link, the old verified address is told, and a taken address changes
//! nothing.

use crate::common::{TestApp, PASSWORD};

on_both_databases!(with crate::common::smtp::with_mail;

    the_new_address_gets_a_link_and_the_old_one_is_told,
    a_taken_or_unconfirmed_change_changes_nothing
);

/// (to, subject) of every mail in the outbox, oldest first.
async fn outbox(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query_as("SELECT to_address, subject FROM outbox ORDER BY id").fetch_all(&app.state.db.pool).await.unwrap()
}

async fn the_new_address_gets_a_link_and_the_old_one_is_told(app: &TestApp) {
    let mut laptop = app.client();
    laptop.sign_up("tom@example.com").await.assert_redirect_to("/");
    app.exec("UPDATE users SET email_verified_at = 1 WHERE email = 'tom@example.com'").await;
    laptop.reauth(PASSWORD, "/security/email").await;
    let page = laptop.get("/security/email").await;
    assert!(page.body.contains(">New email address</label>") && page.body.contains(">Change email address</button>"));
    let before = outbox(app).await.len();
    let reply =
        laptop.post_form("/api/security/email", "/security/email", &[("new_email", " Tomas@Example.org ")]).await;
    reply.assert_redirect_to("/security?email=changed");

    let user = app.user_id("Tomas@Example.org").await;
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM users WHERE id = {user} AND email_verified_at IS NULL")).await,
        1,
        "the new address starts unverified"
    );
    let mails = outbox(app).await;
    assert_eq!(
        mails[before..],
        [
            ("Tomas@Example.org".to_owned(), "Confirm your email address for Keycard".to_owned()),
            ("tom@example.com".to_owned(), "Your Keycard email address was changed".to_owned()),
        ]
    );
    assert!(app.history_kinds(user).await.contains(&"email_changed".to_owned()));
    // The frame shows the new address at once; sign-in takes the new address, not the old.
    assert!(laptop.get("/").await.body.contains("Tomas@Example.org"));
    app.client().log_in("tomas@example.org", PASSWORD, false).await.assert_redirect_to("/");
    assert!(app.client().log_in("tom@example.com", PASSWORD, false).await.location().contains("__err="));
}

async fn a_taken_or_unconfirmed_change_changes_nothing(app: &TestApp) {
    app.client().sign_up("una@example.com").await.assert_redirect_to("/");
    let mut client = app.client();
    client.sign_up("vic@example.com").await.assert_redirect_to("/");
    let rows = "SELECT COUNT(*) FROM users WHERE email IN ('una@example.com', 'vic@example.com')";
    // Without a recent re-authentication: to the prompt, nothing changes.
    app.set_reauth_at(app.now() - 601).await;
    let reply = client.post_form("/api/security/email", "/security/email", &[("new_email", "new@example.com")]).await;
    reply.assert_redirect_to("/security/confirm?next=/security/email");
    assert_eq!(app.count(rows).await, 2);
    // Another account's address (any case): refused, nothing changes.
    client.reauth(PASSWORD, "/security/email").await;
    let before = outbox(app).await.len();
    let reply = client.post_form_as_script("/api/security/email", &[("new_email", "UNA@example.com")]).await;
    assert_eq!(reply.status, 422);
    assert!(reply.body.contains("An account with this email already exists."), "{}", reply.body);
    assert_eq!(app.count(rows).await, 2);
    assert_eq!(outbox(app).await.len(), before, "no mail");
    let user = app.user_id("vic@example.com").await;
    assert!(!app.history_kinds(user).await.contains(&"email_changed".to_owned()));
}
