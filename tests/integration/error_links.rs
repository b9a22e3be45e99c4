//! Signed error links through the real router: a failed form without JavaScript comes back to its
//! page with a signed error that shows; forged (in any spelling of the parameter names), expired
//! or moved links show nothing.

use crate::common::{local_path, TestApp};
use keycard::core::error_links::signed_location;

on_both_databases!(
    a_failed_sign_in_shows_its_signed_error,
    percent_encoded_names_do_not_bypass_the_check,
    expired_error_links_show_nothing,
    error_links_moved_to_another_page_show_nothing,
);

const MESSAGE: &str = "Email or password is incorrect.";
const FORGED_TEXT: &str = "Call +1 555";

fn forged_err() -> String {
    data_encoding::BASE64URL.encode(br#"{"Invalid":"Your account is locked. Call +1 555 0100."}"#)
}

/// The error link a failed no-JavaScript sign-in redirects to (path and query).
async fn failed_sign_in_link(app: &TestApp) -> String {
    let reply = app.client().log_in("nobody@example.com", "wrong-password-123", false).await;
    assert!(reply.status.is_redirection(), "{} {}", reply.status, reply.body);
    local_path(reply.location()).to_owned()
}

async fn a_failed_sign_in_shows_its_signed_error(app: &TestApp) {
    let link = failed_sign_in_link(app).await;
    assert!(link.starts_with("/login?"), "{link}");
    for name in ["__path=", "__err=", "__exp=", "__sig="] {
        assert_eq!(link.matches(name).count(), 1, "{name} once in {link}");
    }
    let page = app.client().get(&link).await;
    assert_eq!(page.status, 200, "{link}");
    assert!(page.body.contains(MESSAGE), "{}", page.body);
}

/// `%5F%5Ferr` is `__err` once decoded (Leptos decodes it and shows the error): it is checked and
/// dropped like the plain spelling, as are the other spellings of the names.
async fn percent_encoded_names_do_not_bypass_the_check(app: &TestApp) {
    let forged = forged_err();
    let mut client = app.client();
    for query in [
        format!("next=/devices&__path=/api/login&%5F%5Ferr={forged}"),
        format!("next=/devices&%5F%5Fpath=/api/login&%5F%5Ferr={forged}"),
        format!("next=/devices&__path=/api/login&_%5Ferr={forged}"),
        format!("next=/devices&__path=/api/login&%5f_err={forged}&%5F%5Fsig=00ff"),
    ] {
        let reply = client.get(&format!("/login?{query}")).await;
        reply.assert_redirect_to("/login?next=%2Fdevices");
        let page = client.follow(&reply).await;
        assert_eq!(page.status, 200);
        assert!(!page.body.contains(FORGED_TEXT), "{query}: {}", page.body);
    }
    // A genuine link with a second, encoded `__err` appended (the one Leptos would show) is dropped.
    let link = failed_sign_in_link(app).await;
    let reply = client.get(&format!("{link}&%5F%5Ferr={forged}")).await;
    reply.assert_redirect_to("/login");
    let page = client.follow(&reply).await;
    assert!(!page.body.contains(FORGED_TEXT) && !page.body.contains(MESSAGE), "{}", page.body);
}

/// A link signed by this server whose expiry has passed (a replay) shows nothing; so does one
/// whose expiry is further ahead than the server ever signs, or whose `__exp` was changed.
async fn expired_error_links_show_nothing(app: &TestApp) {
    const TEXT: &str = "Signed test error 4711.";
    let err = data_encoding::BASE64URL.encode(format!(r#"{{"Invalid":"{TEXT}"}}"#).as_bytes());
    let unsigned = format!("/login?next=/devices&__path=/api/login&__err={err}");
    let mut client = app.client();
    // Made now: shown.
    let fresh = signed_location(&app.state, &unsigned, app.now()).unwrap();
    let page = client.get(&fresh).await;
    assert_eq!(page.status, 200, "{fresh}");
    assert!(page.body.contains(TEXT), "{}", page.body);
    // Made ten minutes ago: expired five minutes ago.
    let old = signed_location(&app.state, &unsigned, app.now() - 600).unwrap();
    let reply = client.get(&old).await;
    reply.assert_redirect_to("/login?next=%2Fdevices");
    assert!(!client.follow(&reply).await.body.contains(TEXT));
    // Made an hour from now: too far ahead to be this server's.
    let ahead = signed_location(&app.state, &unsigned, app.now() + 3600).unwrap();
    client.get(&ahead).await.assert_redirect_to("/login?next=%2Fdevices");
    // A real link with its expiry pushed back: the signature no longer fits.
    let link = failed_sign_in_link(app).await;
    let exp: i64 = link.split("__exp=").nth(1).unwrap().split('&').next().unwrap().parse().unwrap();
    let pushed = link.replace(&format!("__exp={exp}"), &format!("__exp={}", exp + 60));
    client.get(&pushed).await.assert_redirect_to("/login");
}

/// The signature binds the page: the query of a genuine `/login` error link shows nothing on
/// another page.
async fn error_links_moved_to_another_page_show_nothing(app: &TestApp) {
    let link = failed_sign_in_link(app).await;
    let query = link.split_once('?').unwrap().1;
    let mut client = app.client();
    // Each is sent to itself without the error (and `//login` to this site's `/login`).
    for (page, expected) in [("/signup", "/signup"), ("/login/", "/login/"), ("//login", "/login")] {
        let reply = client.get(&format!("{page}?{query}")).await;
        assert!(reply.status.is_redirection(), "{page}: {} {}", reply.status, reply.body);
        assert_eq!(reply.location(), expected, "{page}");
    }
    let page = client.follow(&client.clone().get(&format!("/signup?{query}")).await).await;
    assert!(!page.body.contains(MESSAGE), "{}", page.body);
    // Still shown where it was made.
    assert!(client.get(&link).await.body.contains(MESSAGE));
}
