//! Connected apps through the real router, on SQLite and PostgreSQL: the device flow (RFC 8628)
//! with every answer of the token endpoint, refresh-token rotation and reuse detection, the
//! bearer API and its errors, every path that ends sessions ending app connections too (on
//! another instance as well), the guessing and volume limits under concurrent requests, and CORS.

use crate::common::{Client, Reply, TestApp, PASSWORD};
use axum::http::StatusCode;
use serde_json::Value;

on_both_databases!(
    device_flow_connects_an_app,
    denied_expired_and_unknown_codes,
    refresh_rotates_and_reuse_ends_the_whole_connection,
    concurrent_uses_of_one_refresh_token_are_reuse,
    every_way_sessions_end_ends_app_connections,
    approval_by_a_session_that_ended_is_not_redeemed,
    api_errors_are_json_and_cookies_are_ignored,
    sessions_api_lists_and_signs_out_browsers_and_apps,
    expired_tokens_and_connections_stop_working,
    pairing_code_guesses_are_limited_per_account_even_concurrently,
    token_endpoint_and_pairing_requests_are_limited,
    openapi_document_describes_every_route_and_real_answers,
    connecting_needs_a_recent_re_authentication,
    expired_tokens_and_pairing_requests_are_purged,
    pairing_code_guesses_are_limited_per_address_across_accounts,
    client_names_are_shown_as_text,
);
on_both_databases!(with super::allow_app_origin; cors_answers_only_configured_origins);
on_both_databases!(with crate::common::smtp::with_mail; connecting_and_reuse_are_announced_by_mail);

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const CLI_AGENT: &str = "keycard-cli/0.1 (linux)";

fn allow_app_origin(config: &mut keycard::core::config::Config) {
    config.cors_origins = vec!["https://app.example".into()];
}

fn json(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|err| panic!("JSON expected ({err}): {}", reply.body))
}

#[track_caller]
fn assert_oauth_error(reply: &Reply, code: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert_eq!(json(reply)["error"], code, "{}", reply.body);
}

/// An app's client: no cookies, its own user agent.
fn app_client(app: &TestApp) -> Client {
    let mut client = app.client();
    client.user_agent = CLI_AGENT.into();
    client
}

pub(crate) struct Pairing {
    device_code: String,
    user_code: String,
}

pub(crate) async fn ask(app: &TestApp, name: &str) -> Pairing {
    let reply = app_client(app).app_request("POST", "/oauth/device", None, Some(&[("client_id", name)])).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = json(&reply);
    let user_code = body["user_code"].as_str().unwrap().to_owned();
    assert_eq!(body["verification_uri"], "http://127.0.0.1:3000/connect");
    assert_eq!(body["verification_uri_complete"], format!("http://127.0.0.1:3000/connect?code={user_code}"));
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["interval"], 5);
    Pairing { device_code: body["device_code"].as_str().unwrap().to_owned(), user_code }
}

pub(crate) async fn poll(app: &TestApp, device_code: &str) -> Reply {
    let fields = [("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", "keycard-cli")];
    app_client(app).app_request("POST", "/oauth/token", None, Some(&fields)).await
}

/// Waits out the polling interval: the clock moves to when the next poll is due.
pub(crate) async fn poll_due(app: &TestApp) {
    let due = app.count("SELECT MAX(next_poll_at) FROM device_grants").await;
    app.clock.set(due.max(app.now()));
}

pub(crate) async fn refresh(app: &TestApp, refresh_token: &str) -> Reply {
    let fields = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    app_client(app).app_request("POST", "/oauth/token", None, Some(&fields)).await
}

pub(crate) async fn call(app: &TestApp, method: &str, path: &str, access_token: &str) -> Reply {
    app_client(app).app_request(method, path, Some(access_token), None).await
}

/// **Connect** on `/connect` for `user_code` in `browser`, after the confirmation step.
pub(crate) async fn approve(browser: &mut Client, user_code: &str) -> Reply {
    let page = browser.get(&format!("/connect?code={user_code}")).await;
    assert!(page.body.contains(">Connect<"), "{}", page.body);
    browser.post_form("/api/connect/approve", &format!("/connect?code={user_code}"), &[("code", user_code)]).await
}

#[derive(Clone, Debug)]
pub(crate) struct Tokens {
    pub(crate) access: String,
    pub(crate) refresh: String,
}

#[track_caller]
pub(crate) fn tokens_of(reply: &Reply) -> Tokens {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let body = json(reply);
    assert_eq!(body["token_type"], "Bearer");
    Tokens {
        access: body["access_token"].as_str().unwrap().into(),
        refresh: body["refresh_token"].as_str().unwrap().into(),
    }
}

/// Signs `email` up in a browser and connects an app named `name` from it.
pub(crate) async fn connected(app: &TestApp, email: &str, name: &str) -> (Client, Tokens) {
    let mut browser = app.client();
    browser.sign_up(email).await.assert_redirect_to("/");
    browser.reauth(PASSWORD, "/connect").await;
    let tokens = connect_from(app, &mut browser, name).await;
    (browser, tokens)
}

pub(crate) async fn connect_from(app: &TestApp, browser: &mut Client, name: &str) -> Tokens {
    let pairing = ask(app, name).await;
    approve(browser, &pairing.user_code).await.assert_redirect_to("/connect?done=connected");
    poll_due(app).await;
    tokens_of(&poll(app, &pairing.device_code).await)
}

#[track_caller]
fn assert_unauthorized(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    let challenge = reply.headers.get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert_eq!(json(reply)["error"], "invalid_token");
}

async fn device_flow_connects_an_app(app: &TestApp) {
    let mut browser = app.client();
    browser.sign_up("ana@example.com").await.assert_redirect_to("/");
    browser.reauth(PASSWORD, "/connect").await;
    let pairing = ask(app, "keycard-cli").await;
    assert!(regex_like_user_code(&pairing.user_code), "{}", pairing.user_code);

    // Before anyone answers: pending; polling again at once: slow down (and the interval grows).
    assert_oauth_error(&poll(app, &pairing.device_code).await, "authorization_pending");
    assert_oauth_error(&poll(app, &pairing.device_code).await, "slow_down");
    assert_eq!(app.count("SELECT poll_interval FROM device_grants").await, 10);

    // The person types the code in lower case with a space; the page says which app asks, from where.
    let typed = pairing.user_code.to_lowercase().replace('-', " ");
    let page = browser.get(&format!("/connect?code={}", typed.replace(' ', "+"))).await;
    assert_eq!(page.status, 200);
    for expected in ["keycard-cli", "wants to connect", "203.0.113.7", CLI_AGENT, ">Connect<", ">Deny<", ">Code<"] {
        assert!(page.body.contains(expected), "{expected}: {}", page.body);
    }
    let reply = browser.post_form("/api/connect/approve", "/connect", &[("code", &typed)]).await;
    reply.assert_redirect_to("/connect?done=connected");
    assert!(browser.follow(&reply).await.body.contains("Connected. You can go back to your app."));

    poll_due(app).await;
    let reply = poll(app, &pairing.device_code).await;
    assert_eq!(reply.headers.get("cache-control").unwrap(), "no-store");
    let tokens = tokens_of(&reply);
    assert_eq!(json(&reply)["expires_in"], 900);
    assert!(tokens.access.starts_with("kca_") && tokens.refresh.starts_with("kcr_"));
    // Single use: the same device code gets nothing more.
    poll_due(app).await;
    assert_oauth_error(&poll(app, &pairing.device_code).await, "invalid_grant");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE client_name = 'keycard-cli'").await, 1);

    // Only hashes are stored: no column of any row holds a token or a code.
    for secret in [&tokens.access, &tokens.refresh, &pairing.device_code, &pairing.user_code] {
        for (table, columns) in [
            ("app_tokens", "token_hash || session_id_hash"),
            ("device_grants", "device_code_hash || user_code_hash"),
            ("sessions", "id_hash || data"),
        ] {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE {columns} LIKE '%{secret}%'");
            assert_eq!(app.count(&sql).await, 0, "{table} holds a secret");
        }
    }

    let me = call(app, "GET", "/api/v1/me", &tokens.access).await;
    assert_eq!(me.status, 200, "{}", me.body);
    let me = json(&me);
    assert_eq!(me["email"], "ana@example.com");
    assert_eq!(me["two_step_enabled"], false);
    assert_eq!(me["connection"]["client_name"], "keycard-cli");

    // The devices page lists the app beside the browser, with its own Sign out button.
    let devices = browser.get("/devices").await.body;
    for expected in
        ["keycard-cli", "Connected app", "Sign out keycard-cli", "This device", "Connected from", "Last used"]
    {
        assert!(devices.contains(expected), "{expected}: {devices}");
    }
    let user = app.user_id("ana@example.com").await;
    assert_eq!(app.history_kinds(user).await, ["signed_in", "app_connected"]);
}

fn regex_like_user_code(code: &str) -> bool {
    let alphabet = "BCDFGHJKLMNPQRSTVWXZ";
    code.len() == 9 && code.chars().enumerate().all(|(i, c)| if i == 4 { c == '-' } else { alphabet.contains(c) })
}

async fn denied_expired_and_unknown_codes(app: &TestApp) {
    let mut browser = app.client();
    browser.sign_up("bo@example.com").await.assert_redirect_to("/");
    browser.reauth(PASSWORD, "/connect").await;
    // Deny: the app hears access_denied; the history says so.
    let denied = ask(app, "unknown-tool").await;
    browser.get(&format!("/connect?code={}", denied.user_code)).await;
    browser
        .post_form("/api/connect/deny", "/connect", &[("code", &denied.user_code)])
        .await
        .assert_redirect_to("/connect?done=denied");
    poll_due(app).await;
    assert_oauth_error(&poll(app, &denied.device_code).await, "access_denied");
    // A decided code cannot be decided again.
    let again = browser.post_form("/api/connect/approve", "/connect", &[("code", &denied.user_code)]).await;
    assert!(browser.follow(&again).await.body.contains("That code is not valid"));

    // Expired: the app hears expired_token; the page refuses the code.
    let expired = ask(app, "slow-tool").await;
    app.clock.advance(keycard::apps::CODE_LIFETIME_SECS);
    assert_oauth_error(&poll(app, &expired.device_code).await, "expired_token");
    let page = browser.get(&format!("/connect?code={}", expired.user_code)).await;
    assert!(page.body.contains("That code is not valid") && !page.body.contains(">Connect<"), "{}", page.body);

    // Unknown and malformed codes: the page asks again; a made-up device code is invalid_grant.
    for typed in ["BCDF-GHJK", "not a code", "x"] {
        let page = browser.get(&format!("/connect?code={}", typed.replace(' ', "+"))).await;
        assert!(page.body.contains("That code is not valid") && page.body.contains(">Continue<"), "{typed}");
    }
    assert_oauth_error(&poll(app, "kcd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await, "invalid_grant");
    assert_oauth_error(&poll(app, "whatever").await, "invalid_grant");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE client_name IS NOT NULL").await, 0);
    let user = app.user_id("bo@example.com").await;
    assert_eq!(app.history_kinds(user).await, ["signed_in", "app_connection_denied"]);

    // Signed out, /connect sends to sign-in and keeps the code for afterwards.
    app.client().get("/connect?code=BCDF-GHJK").await.assert_redirect_to("/login?next=/connect%3Fcode%3DBCDF-GHJK");
}

async fn refresh_rotates_and_reuse_ends_the_whole_connection(app: &TestApp) {
    let (mut browser, first) = connected(app, "cy@example.com", "keycard-cli").await;
    let second = tokens_of(&refresh(app, &first.refresh).await);
    assert_ne!(second.refresh, first.refresh);
    assert_ne!(second.access, first.access);
    assert_eq!(call(app, "GET", "/api/v1/me", &second.access).await.status, 200);
    let third = tokens_of(&refresh(app, &second.refresh).await);

    // A thief replays the first refresh token: the whole family ends, whoever holds which token.
    assert_oauth_error(&refresh(app, &first.refresh).await, "invalid_grant");
    for access in [&first.access, &second.access, &third.access] {
        assert_unauthorized(&call(app, "GET", "/api/v1/me", access).await);
    }
    assert_oauth_error(&refresh(app, &third.refresh).await, "invalid_grant");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE client_name IS NOT NULL AND end_reason = 'token_reused'").await,
        1
    );
    let user = app.user_id("cy@example.com").await;
    assert_eq!(app.history_kinds(user).await, ["signed_in", "app_connected", "session_ended", "refresh_token_reused"]);
    // The account is alerted, on the browser that was signed in before.
    let home = browser.get("/").await.body;
    assert!(home.contains("refresh token"), "{home}");
    // A second replay changes nothing more.
    assert_oauth_error(&refresh(app, &first.refresh).await, "invalid_grant");
    assert_eq!(app.history_kinds(user).await.len(), 4);
    app.assert_every_ending_recorded().await;
}

async fn concurrent_uses_of_one_refresh_token_are_reuse(app: &TestApp) {
    let (_browser, tokens) = connected(app, "dee@example.com", "keycard-cli").await;
    let replies = futures_util::future::join_all((0..12).map(|_| refresh(app, &tokens.refresh))).await;
    let issued = replies.iter().filter(|r| r.status == StatusCode::OK).count();
    assert!(issued <= 1, "a refresh token works once, however many race: {issued} pairs issued");
    for reply in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_oauth_error(reply, "invalid_grant");
    }
    // Any loser of the race is a second use: the family is ended, the winner's tokens too.
    for reply in replies.iter().filter(|r| r.status == StatusCode::OK) {
        assert_unauthorized(&call(app, "GET", "/api/v1/me", &tokens_of(reply).access).await);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE end_reason = 'token_reused'").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM history_events WHERE kind = 'refresh_token_reused'").await, 1);
}

async fn every_way_sessions_end_ends_app_connections(app: &TestApp) {
    let second_instance = app.second_instance().await;
    let (mut browser, tokens) = connected(app, "eve@example.com", "keycard-cli").await;
    let on_other_instance = |access: String| {
        let mut client = app.client_of(second_instance.clone());
        async move { client.app_request("GET", "/api/v1/me", Some(&access), None).await }
    };
    assert_eq!(on_other_instance(tokens.access.clone()).await.status, 200);

    // 1. "Sign out all other devices" on one instance: the next call on the other answers 401.
    browser.post_form("/api/devices/sign-out-others", "/devices", &[]).await;
    assert_unauthorized(&on_other_instance(tokens.access.clone()).await);
    assert_oauth_error(&refresh(app, &tokens.refresh).await, "invalid_grant");

    // 2. Sign out on the devices page, by the connection's handle.
    let tokens = connect_from(app, &mut browser, "keycard-cli").await;
    let sessions = json(&call(app, "GET", "/api/v1/sessions", &tokens.access).await);
    let own = sessions["sessions"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap()["handle"]
        .as_str()
        .unwrap()
        .to_owned();
    browser.post_form("/api/devices/sign-out", "/devices", &[("handle", &own)]).await;
    assert_unauthorized(&call(app, "GET", "/api/v1/me", &tokens.access).await);

    // 3. A password change.
    let tokens = connect_from(app, &mut browser, "keycard-cli").await;
    browser.reauth(PASSWORD, "/security/password").await;
    browser
        .post_form(
            "/api/security/password",
            "/security/password",
            &[("current_password", PASSWORD), ("new_password", "another-quiet-harbor-2024")],
        )
        .await;
    assert_unauthorized(&call(app, "GET", "/api/v1/me", &tokens.access).await);

    // 4. An administrator.
    let tokens = connect_from(app, &mut browser, "keycard-cli").await;
    keycard::admin::run(&app.state, &keycard::admin::AdminCommand::SignOut { email: "eve@example.com".into() }, || {
        panic!("no password is read")
    })
    .await
    .unwrap();
    assert_unauthorized(&call(app, "GET", "/api/v1/me", &tokens.access).await);

    // 5. Deleting the account.
    let mut browser = app.client();
    browser.log_in("eve@example.com", "another-quiet-harbor-2024", false).await.assert_redirect_to("/");
    browser.reauth("another-quiet-harbor-2024", "/connect").await;
    let tokens = connect_from(app, &mut browser, "keycard-cli").await;
    browser.reauth("another-quiet-harbor-2024", "/security/delete").await;
    browser.post_form("/api/security/delete", "/security/delete", &[("confirm_email", "eve@example.com")]).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
    assert_unauthorized(&call(app, "GET", "/api/v1/me", &tokens.access).await);
    assert_oauth_error(&refresh(app, &tokens.refresh).await, "invalid_grant");
    assert_eq!(app.count("SELECT COUNT(*) FROM app_tokens").await, 0, "tokens go with the account");
}

async fn approval_by_a_session_that_ended_is_not_redeemed(app: &TestApp) {
    // Someone with a stolen cookie approves a code; the owner changes the password (ending every
    // session) before the app polls: the approval goes with the session that gave it.
    let mut owner = app.client();
    owner.sign_up("fin@example.com").await.assert_redirect_to("/");
    owner.reauth(PASSWORD, "/connect").await;
    let mut thief = app.client();
    thief.log_in("fin@example.com", PASSWORD, false).await.assert_redirect_to("/");
    thief.reauth(PASSWORD, "/connect").await;
    let pairing = ask(app, "thief-tool").await;
    approve(&mut thief, &pairing.user_code).await.assert_redirect_to("/connect?done=connected");
    owner.post_form("/api/devices/sign-out-others", "/devices", &[]).await;
    poll_due(app).await;
    assert_oauth_error(&poll(app, &pairing.device_code).await, "invalid_grant");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE client_name IS NOT NULL").await, 0);
}

async fn api_errors_are_json_and_cookies_are_ignored(app: &TestApp) {
    let (mut browser, tokens) = connected(app, "gil@example.com", "keycard-cli").await;
    // No token, a malformed one, an unknown one, a refresh token used as an access token.
    let mut anonymous = app_client(app);
    assert_unauthorized(&anonymous.app_request("GET", "/api/v1/me", None, None).await);
    for bad in ["nonsense", "kca_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &tokens.refresh, &"a".repeat(5000)] {
        assert_unauthorized(&call(app, "GET", "/api/v1/me", bad).await);
    }
    // The browser's session cookie is worth nothing here (no CSRF through the API).
    assert!(browser.session_cookie().is_some());
    assert_unauthorized(&browser.app_request("GET", "/api/v1/me", None, None).await);
    assert_unauthorized(&browser.app_request("DELETE", "/api/v1/sessions/whatever", None, None).await);
    // Unknown handle and unknown address: JSON 404s.
    let reply = call(app, "DELETE", "/api/v1/sessions/0123456789abcdef", &tokens.access).await;
    assert_eq!((reply.status, json(&reply)["error"].clone()), (StatusCode::NOT_FOUND, Value::from("not_found")));
    let reply = call(app, "GET", "/api/v1/nothing-here", &tokens.access).await;
    assert_eq!((reply.status, json(&reply)["error"].clone()), (StatusCode::NOT_FOUND, Value::from("not_found")));

    // A method an address does not take: JSON too, with Allow.
    let reply = app_client(app).app_request("GET", "/oauth/token", None, None).await;
    assert_eq!(
        (reply.status, json(&reply)["error"].clone()),
        (StatusCode::METHOD_NOT_ALLOWED, Value::from("method_not_allowed"))
    );
    assert_eq!(reply.headers.get("allow").unwrap(), "POST");
    let reply = call(app, "PUT", "/api/v1/me", &tokens.access).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json(&reply)["error"], "method_not_allowed");

    // The token endpoint: wrong content type, missing fields, unknown grant, bad client names.
    let mut client = app_client(app);
    let req = axum::http::Request::post("/oauth/token")
        .header("host", "127.0.0.1:3000")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(r#"{"grant_type":"refresh_token"}"#))
        .unwrap();
    assert_oauth_error(&client.send(req).await, "invalid_request");
    assert_oauth_error(&client.app_request("POST", "/oauth/token", None, Some(&[])).await, "invalid_request");
    let fields = [("grant_type", "refresh_token")];
    assert_oauth_error(&client.app_request("POST", "/oauth/token", None, Some(&fields)).await, "invalid_request");
    let fields = [("grant_type", "password"), ("username", "gil@example.com")];
    assert_oauth_error(
        &client.app_request("POST", "/oauth/token", None, Some(&fields)).await,
        "unsupported_grant_type",
    );
    for name in ["", "tab\there", &"x".repeat(65)] {
        let reply = client.app_request("POST", "/oauth/device", None, Some(&[("client_id", name)])).await;
        assert_oauth_error(&reply, "invalid_client");
    }
    assert_oauth_error(&client.app_request("POST", "/oauth/device", None, Some(&[])).await, "invalid_client");
    // A huge body is refused before it is read.
    let big = "x".repeat(64 * 1024);
    let reply = client.app_request("POST", "/oauth/device", None, Some(&[("client_id", &big)])).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.count("SELECT COUNT(*) FROM device_grants").await, 1, "only the good request made a code");
    // The document describing all of this is served.
    let doc = app_client(app).app_request("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(doc.status, 200);
    assert_eq!(json(&doc)["openapi"], "3.1.0");
}

async fn sessions_api_lists_and_signs_out_browsers_and_apps(app: &TestApp) {
    let (mut browser, tokens) = connected(app, "hal@example.com", "keycard-cli").await;
    let list = json(&call(app, "GET", "/api/v1/sessions", &tokens.access).await);
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{list}");
    let app_item = sessions.iter().find(|s| s["kind"] == "app").unwrap();
    let browser_item = sessions.iter().find(|s| s["kind"] == "browser").unwrap();
    assert_eq!(app_item["name"], "keycard-cli");
    assert_eq!(app_item["current"], true);
    assert_eq!(app_item["method"], "Connected app");
    assert_eq!(browser_item["name"], "Firefox 133 on Linux");
    assert_eq!(browser_item["current"], false);
    assert_eq!(browser_item["ip"], "203.0.113.7");
    // Signing the browser out through the API: its next request finds itself signed out.
    let handle = browser_item["handle"].as_str().unwrap();
    assert_eq!(call(app, "DELETE", &format!("/api/v1/sessions/{handle}"), &tokens.access).await.status, 204);
    browser.get("/devices").await.assert_redirect_to("/login?next=/devices&ended=elsewhere");
    assert_eq!(call(app, "DELETE", &format!("/api/v1/sessions/{handle}"), &tokens.access).await.status, 404);
    // Another account's session is not found either.
    let (_other_browser, other_tokens) = connected(app, "ida@example.com", "other-cli").await;
    let theirs = json(&call(app, "GET", "/api/v1/sessions", &other_tokens.access).await);
    let their_handle = theirs["sessions"][0]["handle"].as_str().unwrap().to_owned();
    assert_eq!(call(app, "DELETE", &format!("/api/v1/sessions/{their_handle}"), &tokens.access).await.status, 404);
    assert_eq!(call(app, "GET", "/api/v1/me", &other_tokens.access).await.status, 200);
    // An app signs itself out ("log out" in a CLI).
    let own = app_item["handle"].as_str().unwrap();
    assert_eq!(call(app, "DELETE", &format!("/api/v1/sessions/{own}"), &tokens.access).await.status, 204);
    assert_unauthorized(&call(app, "GET", "/api/v1/me", &tokens.access).await);
    app.assert_every_ending_recorded().await;
}

async fn expired_tokens_and_connections_stop_working(app: &TestApp) {
    let (_browser, tokens) = connected(app, "jo@example.com", "keycard-cli").await;
    // The access token's 15 minutes are over: 401, and the refresh token still gets a new pair.
    app.clock.advance(15 * 60);
    assert_unauthorized(&call(app, "GET", "/api/v1/me", &tokens.access).await);
    let fresh = tokens_of(&refresh(app, &tokens.refresh).await);
    assert_eq!(call(app, "GET", "/api/v1/me", &fresh.access).await.status, 200);
    // Idle for 30 days: the connection is over.
    app.clock.advance(30 * 24 * 3600);
    assert_unauthorized(&call(app, "GET", "/api/v1/me", &fresh.access).await);
    assert_oauth_error(&refresh(app, &fresh.refresh).await, "invalid_grant");
    // The absolute lifetime bounds every refresh: a refresh never extends past it.
    let (_browser, tokens) = connected(app, "kim@example.com", "keycard-cli").await;
    let absolute = app.now() + 100;
    app.exec(&format!(
        "UPDATE sessions SET absolute_expires_at = {absolute} WHERE client_name IS NOT NULL AND ended_at IS NULL"
    ))
    .await;
    tokens_of(&refresh(app, &tokens.refresh).await);
    assert_eq!(
        app.count("SELECT MAX(idle_expires_at) FROM sessions WHERE client_name IS NOT NULL AND ended_at IS NULL").await,
        absolute
    );
}

async fn pairing_code_guesses_are_limited_per_account_even_concurrently(app: &TestApp) {
    let mut browser = app.client();
    browser.sign_up("lu@example.com").await.assert_redirect_to("/");
    browser.reauth(PASSWORD, "/connect").await;
    let pairing = ask(app, "keycard-cli").await;
    // 30 wrong codes at once from one account: 10 are looked up, the rest refused unread.
    let guesses = (0..30).map(|i| {
        let mut browser = browser.clone();
        async move {
            let code = format!("BCDF-GH{}{}", ["J", "K", "L", "M", "N"][i % 5], ["P", "Q", "R", "S", "T", "V"][i % 6]);
            browser.post_form_as_script("/api/connect/look-up", &[("code", &code)]).await
        }
    });
    let replies = futures_util::future::join_all(guesses).await;
    let looked_up = replies.iter().filter(|r| r.status == StatusCode::OK).count();
    let refused = replies.iter().filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((looked_up, refused), (10, 20), "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    // Now even the right code waits: the budget belongs to the account, not the code.
    let page = browser.get(&format!("/connect?code={}", pairing.user_code)).await;
    assert!(page.body.contains("Too many attempts") && !page.body.contains(">Connect<"), "{}", page.body);
    let reply = browser.post_form_as_script("/api/connect/approve", &[("code", &pairing.user_code)]).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    // A new session of the same account starts no new round.
    let mut again = app.client();
    again.log_in("lu@example.com", PASSWORD, false).await.assert_redirect_to("/");
    again.reauth(PASSWORD, "/connect").await;
    let reply = again.post_form_as_script("/api/connect/look-up", &[("code", &pairing.user_code)]).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
}

async fn token_endpoint_and_pairing_requests_are_limited(app: &TestApp) {
    // Made-up device codes and refresh tokens from one address, all at once: 30 answered, then 429
    // with Retry-After for as long as the first (1 s) block lasts; the clock stands still meanwhile.
    let attempts = (0..40).map(|i| async move {
        if i % 2 == 0 {
            poll(app, &format!("kcd_{:0>43}", i)).await
        } else {
            refresh(app, &format!("kcr_{:0>43}", i)).await
        }
    });
    let replies = futures_util::future::join_all(attempts).await;
    let refused: Vec<&Reply> = replies.iter().filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS).collect();
    assert_eq!(refused.len(), 10, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(refused.iter().all(|r| r.headers["retry-after"] == "1" && json(r)["error"] == "too_many_requests"));
    // One second later the block has lapsed: the next made-up code is judged (and is wrong).
    app.clock.advance(1);
    let judged = poll(app, &format!("kcd_{:0>43}", 99)).await;
    assert_eq!((judged.status, json(&judged)["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    // New pairing requests: 30 an hour from one address, however fast they come.
    let asks = (0..35).map(|_| async move {
        app_client(app).app_request("POST", "/oauth/device", None, Some(&[("client_id", "flood")])).await
    });
    let replies = futures_util::future::join_all(asks).await;
    let made = replies.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(made, 30);
    assert_eq!(app.count("SELECT COUNT(*) FROM device_grants").await, 30);
}

async fn cors_answers_only_configured_origins(app: &TestApp) {
    let preflight = |origin: &'static str| async move {
        let req = axum::http::Request::builder()
            .method("OPTIONS")
            .uri("/api/v1/me")
            .header("host", "127.0.0.1:3000")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .body(axum::body::Body::empty())
            .unwrap();
        app_client(app).send(req).await
    };
    let allowed = preflight("https://app.example").await;
    assert_eq!(allowed.headers.get("access-control-allow-origin").unwrap(), "https://app.example");
    assert!(allowed.headers.get("access-control-allow-credentials").is_none(), "never with cookies");
    let other = preflight("https://evil.example").await;
    assert!(other.headers.get("access-control-allow-origin").is_none());
    // Pages are never opened to other origins.
    let req = axum::http::Request::get("/devices")
        .header("host", "127.0.0.1:3000")
        .header("origin", "https://app.example")
        .body(axum::body::Body::empty())
        .unwrap();
    assert!(app_client(app).send(req).await.headers.get("access-control-allow-origin").is_none());
}

/// One real answer, as `openapi_check.py` reads it.
fn sample(method: &str, path: &str, reply: &Reply) -> Value {
    let body = if reply.body.is_empty() { Value::Null } else { json(reply) };
    serde_json::json!({ "method": method, "path": path, "status": reply.status.as_u16(), "body": body })
}

async fn openapi_document_describes_every_route_and_real_answers(app: &TestApp) {
    // Every app API route of the route table is documented, and nothing else.
    let served = app_client(app).app_request("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(served.headers.get("content-type").unwrap(), "application/json");
    let doc = json(&served);
    let mut documented: Vec<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let mut routes: Vec<String> = keycard::routes::ROUTES
        .iter()
        .filter(|route| route.kind == keycard::routes::Kind::AppApi)
        .map(|route| route.path.to_owned())
        .collect();
    documented.sort();
    routes.sort();
    assert_eq!(documented, routes);

    // Real answers of every documented kind, checked against the document's schemas.
    let mut samples = vec![sample("GET", "/api/v1/openapi.json", &served)];
    let mut client = app_client(app);
    let bad_name = client.app_request("POST", "/oauth/device", None, Some(&[("client_id", "")])).await;
    samples.push(sample("POST", "/oauth/device", &bad_name));
    let big = "x".repeat(64 * 1024);
    let too_big = client.app_request("POST", "/oauth/device", None, Some(&[("client_id", &big)])).await;
    samples.push(sample("POST", "/oauth/device", &too_big));
    let asked = client.app_request("POST", "/oauth/device", None, Some(&[("client_id", "keycard-cli")])).await;
    samples.push(sample("POST", "/oauth/device", &asked));
    let device_code = json(&asked)["device_code"].as_str().unwrap().to_owned();
    let user_code = json(&asked)["user_code"].as_str().unwrap().to_owned();
    samples.push(sample("POST", "/oauth/token", &poll(app, &device_code).await));
    let mut browser = app.client();
    browser.sign_up("oas@example.com").await.assert_redirect_to("/");
    browser.reauth(PASSWORD, "/connect").await;
    approve(&mut browser, &user_code).await.assert_redirect_to("/connect?done=connected");
    poll_due(app).await;
    let issued = poll(app, &device_code).await;
    samples.push(sample("POST", "/oauth/token", &issued));
    let refreshed = refresh(app, &tokens_of(&issued).refresh).await;
    samples.push(sample("POST", "/oauth/token", &refreshed));
    let tokens = tokens_of(&refreshed);
    samples.push(sample("GET", "/api/v1/me", &call(app, "GET", "/api/v1/me", &tokens.access).await));
    let listed = call(app, "GET", "/api/v1/sessions", &tokens.access).await;
    samples.push(sample("GET", "/api/v1/sessions", &listed));
    let browser_handle = json(&listed)["sessions"].as_array().unwrap().iter().find(|s| s["kind"] == "browser").unwrap()
        ["handle"]
        .as_str()
        .unwrap()
        .to_owned();
    let template = "/api/v1/sessions/{handle}";
    let path = format!("/api/v1/sessions/{browser_handle}");
    samples.push(sample("DELETE", template, &call(app, "DELETE", &path, &tokens.access).await));
    samples.push(sample("DELETE", template, &call(app, "DELETE", &path, &tokens.access).await));
    for (method, path, template) in [
        ("GET", "/api/v1/me", "/api/v1/me"),
        ("GET", "/api/v1/sessions", "/api/v1/sessions"),
        ("DELETE", &path, template),
    ] {
        samples.push(sample(method, template, &call(app, method, path, "kca_wrong").await));
    }
    // Enough unusable refresh tokens to be limited: the 429 is documented too.
    let mut limited = None;
    for i in 0..40 {
        let reply = refresh(app, &format!("kcr_{i:0>43}")).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(reply);
            break;
        }
    }
    samples.push(sample("POST", "/oauth/token", &limited.expect("the token endpoint limits bad refresh tokens")));
    samples.push(sample("GET", "/oauth/jwks", &client.app_request("GET", "/oauth/jwks", None, None).await));
    let statuses: Vec<u64> = samples.iter().map(|s| s["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [200, 400, 413, 200, 400, 200, 200, 200, 200, 204, 404, 401, 401, 401, 429, 200]);

    let document = concat!(env!("CARGO_MANIFEST_DIR"), "/src/apps/openapi.json");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/integration/common/openapi_check.py");
    let input = serde_json::to_vec(&samples).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg(document)
            .env("PYTHONPATH", crate::common::smtp::python_path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs (scripts/setup --tests installs the validator)");
        child.stdin.take().unwrap().write_all(&input).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}{}\n(the validator comes with scripts/setup --tests)",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(printed.lines().filter(|line| line.ends_with("ok") || line.ends_with("ok (no body)")).count(), 16);
}

async fn connecting_needs_a_recent_re_authentication(app: &TestApp) {
    // A stolen cookie alone (no password) cannot connect an app, nor even look codes up.
    let mut cookie_thief = app.client();
    cookie_thief.sign_up("mo@example.com").await.assert_redirect_to("/");
    let pairing = ask(app, "thief-tool").await;
    let back = format!("/connect?code={}", pairing.user_code);
    assert_eq!(cookie_thief.get("/connect").await.status, 200, "the page itself opens");
    cookie_thief
        .get(&back)
        .await
        .assert_redirect_to(&format!("/security/confirm?next=/connect%3Fcode%3D{}", pairing.user_code));
    let reply = cookie_thief.post_form("/api/connect/approve", &back, &[("code", &pairing.user_code)]).await;
    reply.assert_redirect_to(&format!("/security/confirm?next=/connect%3Fcode%3D{}", pairing.user_code));
    assert_eq!(app.count("SELECT COUNT(*) FROM device_grants WHERE decision IS NOT NULL").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM throttle WHERE key LIKE 'pairing-code%'").await, 0, "no look-up ran");
    // With the password, the prompt returns to the code's page and the app can be connected.
    cookie_thief.reauth(PASSWORD, &back).await;
    assert!(cookie_thief.get(&back).await.body.contains(">Connect<"));
    // A re-authentication older than the window asks again.
    app.set_reauth_at(app.now() - 601).await;
    cookie_thief
        .get(&back)
        .await
        .assert_redirect_to(&format!("/security/confirm?next=/connect%3Fcode%3D{}", pairing.user_code));
}

async fn connecting_and_reuse_are_announced_by_mail(app: &TestApp) {
    let mut browser = app.client();
    browser.sign_up("ned@example.com").await.assert_redirect_to("/");
    crate::notices::prove_address(app, "ned@example.com").await;
    browser.reauth(PASSWORD, "/connect").await;
    let first = connect_from(app, &mut browser, "keycard-cli").await;
    tokens_of(&refresh(app, &first.refresh).await);
    assert_oauth_error(&refresh(app, &first.refresh).await, "invalid_grant");
    let notices = crate::notices::notices(app).await;
    let subjects: Vec<&str> = notices.iter().map(|(subject, _, _)| subject.as_str()).collect();
    assert_eq!(subjects, ["An app was connected to your account", "An app's connection to your account was ended"]);
    assert!(notices.iter().all(|(_, to, _)| to == "ned@example.com"));
    assert!(notices[0].2.contains("keycard-cli"), "{}", notices[0].2);
    for (_, _, text) in &notices {
        assert!(!text.contains(&first.refresh) && !text.contains(&first.access), "no token in a mail");
    }
}

async fn expired_tokens_and_pairing_requests_are_purged(app: &TestApp) {
    let (_browser, first) = connected(app, "pat@example.com", "keycard-cli").await;
    let second = tokens_of(&refresh(app, &first.refresh).await);
    ask(app, "never-approved").await;
    // 2 access + 2 refresh tokens (one rotated), 2 pairing requests (one redeemed).
    assert_eq!(app.count("SELECT COUNT(*) FROM app_tokens").await, 4);
    let t = app.now();
    assert_eq!(
        keycard::apps::service::purge_expired(&mut app.state.db.pool.acquire().await.unwrap(), t).await.unwrap(),
        0,
        "nothing is due yet"
    );
    // Past the access tokens' 15 minutes: they go; refresh tokens stay (a rotated one to recognise its reuse).
    let later = t + 16 * 60;
    assert_eq!(
        keycard::apps::service::purge_expired(&mut app.state.db.pool.acquire().await.unwrap(), later).await.unwrap(),
        2
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM app_tokens WHERE kind = 'refresh'").await, 2);
    // A day past the codes' 10 minutes, the pairing requests go too.
    assert_eq!(
        keycard::apps::service::purge_expired(&mut app.state.db.pool.acquire().await.unwrap(), t + 24 * 3600 + 700)
            .await
            .unwrap(),
        2
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM device_grants").await, 0);
    // Reuse of the rotated token is still recognised after the purge.
    assert_oauth_error(&refresh(app, &first.refresh).await, "invalid_grant");
    assert_oauth_error(&refresh(app, &second.refresh).await, "invalid_grant");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE end_reason = 'token_reused'").await, 1);
}

async fn pairing_code_guesses_are_limited_per_address_across_accounts(app: &TestApp) {
    // Someone spreading guesses over several accounts from one address: 20 wrong codes in all, then that
    // address waits, whichever account asks (each account alone would still have guesses left).
    let mut refused_at = None;
    'accounts: for n in 0..3 {
        let mut browser = app.client();
        browser.sign_up(&format!("guesser{n}@example.com")).await.assert_redirect_to("/");
        browser.reauth(PASSWORD, "/connect").await;
        for i in 0..8 {
            let reply = browser.post_form_as_script("/api/connect/look-up", &[("code", "BCDF-GHJK")]).await;
            if reply.status == StatusCode::TOO_MANY_REQUESTS {
                refused_at = Some(n * 8 + i);
                break 'accounts;
            }
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        }
    }
    assert_eq!(refused_at, Some(20), "the 21st wrong code from one address waits");
}

async fn client_names_are_shown_as_text(app: &TestApp) {
    // An app chooses its own name: it reaches the pages only as escaped text.
    let name = "<img src=x onerror=alert(1)>";
    let (mut browser, _tokens) = connected(app, "quin@example.com", name).await;
    for page in ["/devices", "/history"] {
        let body = browser.get(page).await.body;
        assert!(!body.contains(name), "{page} shows the name unescaped");
        assert!(body.contains("&lt;img src=x onerror=alert(1)&gt;"), "{page}: {body}");
    }
}
