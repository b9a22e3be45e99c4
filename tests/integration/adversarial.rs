//! Adversarial tests: what an attacker would try against sessions, redirects, forms and pages.
//! (Fixation, cookie flags, expired cookies and replayed codes are also covered where they live:
//! tests/sessions.rs and tests/two_step.rs.)

use crate::common::{TestApp, PASSWORD};

on_both_databases!(
    tampered_and_foreign_cookies_are_signed_out,
    planted_session_ids_are_never_adopted,
    open_redirects_are_refused_everywhere_next_is_read,
    sql_metacharacters_in_every_field_are_plain_data,
    markup_in_emails_and_user_agents_is_rendered_as_text,
    forged_error_links_show_nothing,
);

/// A link that makes a form show an error sentence of the sender's choosing: Keycard drops the
/// error (a redirect to the same page without it); its own error links are signed and shown.
async fn forged_error_links_show_nothing(app: &TestApp) {
    let forged = data_encoding::BASE64URL.encode(br#"{"Invalid":"Your account is locked. Call +1 555 0100."}"#);
    let mut client = app.client();
    let reply = client.get(&format!("/login?next=/devices&__path=/api/login&__err={forged}")).await;
    reply.assert_redirect_to("/login?next=%2Fdevices");
    let page = client.follow(&reply).await;
    assert!(!page.body.contains("Call +1 555"), "{}", page.body);
    // A wrong signature is no better.
    let reply = client.get(&format!("/login?__path=/api/login&__err={forged}&__sig=00ff")).await;
    reply.assert_redirect_to("/login");

    // A genuine failure comes back signed, and its message shows.
    let reply = client.log_in("nobody@example.com", "wrong-password-123", false).await;
    assert!(reply.location().contains("__err=") && reply.location().contains("&__sig="), "{}", reply.location());
    let page = client.follow(&reply).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Email or password is incorrect."), "{}", page.body);
    // Its signature does not fit another error.
    let sig = reply.location().split("__sig=").nth(1).unwrap().to_owned();
    let reply = client.get(&format!("/login?__path=/api/login&__err={forged}&__sig={sig}")).await;
    reply.assert_redirect_to("/login");
}

const SQL_NASTIES: &[&str] = &[
    "' OR '1'='1",
    "'; DROP TABLE users; --",
    "\" OR 1=1 --",
    "1; DELETE FROM sessions",
    "%' UNION SELECT password_hash FROM users --",
    "\\'; SELECT pg_sleep(5); --",
];

async fn tables_intact(app: &TestApp, users: i64) {
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, users);
    app.count("SELECT COUNT(*) FROM sessions").await;
}

async fn tampered_and_foreign_cookies_are_signed_out(app: &TestApp) {
    let mut owner = app.client();
    owner.sign_up("uma@example.com").await;
    let cookie = owner.session_cookie().unwrap();
    // Every single-character change of a valid cookie is a different (unknown) id.
    for i in [0, cookie.len() / 2, cookie.len() - 1] {
        let mut bytes = cookie.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let mut attacker = app.client();
        attacker.cookies.insert("keycard_session".into(), String::from_utf8(bytes).unwrap());
        attacker.get("/").await.assert_redirect_to("/login?next=/");
    }
    // A cookie minted by another Keycard (another database) means nothing here.
    let elsewhere = TestApp::sqlite().await;
    let mut stranger = elsewhere.client();
    stranger.sign_up("uma@example.com").await;
    let mut attacker = app.client();
    attacker.cookies.insert("keycard_session".into(), stranger.session_cookie().unwrap());
    attacker.get("/").await.assert_redirect_to("/login?next=/");
    elsewhere.cleanup().await;
    // The real session is untouched by all of this.
    assert!(owner.get("/").await.body.contains("uma@example.com"));
    // An oversized or binary cookie value is refused without harm.
    let mut attacker = app.client();
    attacker.cookies.insert("keycard_session".into(), "A".repeat(3000));
    attacker.get("/").await.assert_redirect_to("/login?next=/");
}

async fn planted_session_ids_are_never_adopted(app: &TestApp) {
    app.client().sign_up("vic@example.com").await;
    // The attacker picks an id (well-formed, never issued) and plants it in the victim's browser.
    let planted = "AAAAAAAAAAAAAAAAAAAAAA".to_owned();
    let mut victim = app.client();
    victim.cookies.insert("keycard_session".into(), planted.clone());
    victim.log_in("vic@example.com", PASSWORD, false).await.assert_redirect_to("/");
    let issued = victim.session_cookie().unwrap();
    assert_ne!(issued, planted);
    let mut attacker = app.client();
    attacker.cookies.insert("keycard_session".into(), planted);
    attacker.get("/").await.assert_redirect_to("/login?next=/");
}

async fn open_redirects_are_refused_everywhere_next_is_read(app: &TestApp) {
    app.client().sign_up("wes@example.com").await;
    // Each `next` and where it leads: home, or a local path kept as it came (the encoded CR LF is
    // only ever a path here, never a header break).
    let evil = [
        ("https://evil.example/", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/%0d%0aSet-Cookie:x=y", "/%0d%0aSet-Cookie:x=y"),
        ("javascript:alert(document.cookie)", "/"),
        ("http:evil.example", "/"),
    ];
    for (next, expected) in evil {
        let mut client = app.client();
        let reply = client
            .post_form("/api/login", "/login", &[("email", "wes@example.com"), ("password", PASSWORD), ("next", next)])
            .await;
        assert!(reply.status.is_redirection(), "login next {next:?}: {} {}", reply.status, reply.body);
        assert_eq!(reply.location(), expected, "login next {next:?}");
        assert!(!reply.set_cookies().iter().any(|c| c.starts_with("x=")), "login next {next:?} set a cookie");
        // The re-authentication prompt reads `next` too.
        let reply =
            client.post_form("/api/reauth", "/security/confirm", &[("password", PASSWORD), ("next", next)]).await;
        assert!(reply.status.is_redirection(), "reauth next {next:?}: {} {}", reply.status, reply.body);
        assert_eq!(reply.location(), expected, "reauth next {next:?}");
    }
    // A request for `//evil.example/` is a (missing) page of this site: no redirect anywhere.
    let mut client = app.client();
    let reply = client.get("//evil.example/").await;
    assert_eq!(reply.status, 404);
    assert!(reply.headers.get("location").is_none(), "{}", reply.location());
    assert!(reply.body.contains("Page not found"), "{}", reply.body);
}

async fn sql_metacharacters_in_every_field_are_plain_data(app: &TestApp) {
    let mut owner = app.client();
    owner.sign_up("xia@example.com").await;
    for nasty in SQL_NASTIES {
        let mut client = app.client();
        let email = format!("{nasty}@example.com");
        client.post_form("/api/signup", "/signup", &[("email", &email), ("password", nasty)]).await;
        client.post_form("/api/login", "/login", &[("email", nasty), ("password", nasty), ("next", nasty)]).await;
        client.post_form("/api/login", "/login", &[("email", "xia@example.com"), ("password", nasty)]).await;
        // Signed-in forms, from the owner's session.
        owner.post_form("/api/devices/sign-out", "/devices", &[("handle", nasty)]).await;
        owner.post_form("/api/reauth", "/security/confirm", &[("password", nasty), ("code", nasty)]).await;
        owner.post_form("/api/two_step_confirm", "/security/two-step", &[("code", nasty)]).await;
        app.exec("DELETE FROM throttle").await;
    }
    tables_intact(app, 1).await;
    assert!(owner.get("/").await.body.contains("xia@example.com"), "the owner is still signed in");
}

async fn markup_in_emails_and_user_agents_is_rendered_as_text(app: &TestApp) {
    let email = "\"><script>alert(1)</script>@example.com";
    // Such an email is refused at sign-up ('<' and '>' are not allowed in addresses) …
    let mut client = app.client();
    let reply = client.sign_up(email).await;
    assert!(client.follow(&reply).await.body.contains("Enter an email address"));
    // … while quotes and ampersands are allowed and must come back escaped.
    let email = "o\"neil&co'@example.com";
    client.sign_up(email).await.assert_redirect_to("/");
    client.user_agent = "<img src=x onerror=alert(1)> Mozilla/5.0 (X11; Linux x86_64) <script>alert(2)</script>".into();
    client.log_in(email, PASSWORD, false).await.assert_redirect_to("/");
    for path in ["/", "/devices"] {
        let page = client.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains("<script>alert"), "{path} rendered a script from data");
        assert!(!page.body.contains("<img src=x"), "{path} rendered an element from data");
        assert!(!page.body.contains("o\"neil&co"), "{path} shows the email unescaped");
        assert!(page.body.contains("<span class=\"who\">o\"neil&amp;co'@example.com</span>"), "{path}: {}", page.body);
    }
    // The agent is shown (on the devices page) as text, escaped exactly.
    let page = client.get("/devices").await;
    let escaped =
        "&lt;img src=x onerror=alert(1)&gt; Mozilla/5.0 (X11; Linux x86_64) &lt;script&gt;alert(2)&lt;/script&gt;";
    assert!(page.body.contains(&format!("<p class=\"ua help\">{escaped}</p>")), "{}", page.body);
}
