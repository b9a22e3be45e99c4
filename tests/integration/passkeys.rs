//! Passkeys through the server functions the browser script calls, with a software authenticator
//! (webauthn-authenticator-rs' `SoftPasskey`) in place of the browser's: adding one, signing in
//! with it alone and at the code step, and the ceremony state's handling (single use, expiry,
//! wrong origin, wrong user, replayed assertions, cloned authenticators, limits).

use axum::http::StatusCode;
use keycard::passkeys::api::CeremonyReply;
use keycard::passkeys::ceremony::{context, Binding, Purpose, STALE};
use keycard::passkeys::service::{CLONED, NOT_ACCEPTED, UNKNOWN_PASSKEY};
use webauthn_authenticator_rs::{softpasskey::SoftPasskey, WebauthnAuthenticator};
use webauthn_rs::prelude::{CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse, Url};

use crate::common::{Client, Reply, TestApp, PASSWORD};
use crate::two_step::{at_code_step, code_at, enrolled, submit_code};

on_both_databases!(
    a_passkey_is_added_and_signs_in_alone,
    adding_and_removing_need_a_recent_confirmation,
    rename_and_remove_only_touch_your_own_passkeys,
    a_ceremony_state_is_used_once_even_at_once,
    an_expired_or_foreign_ceremony_state_is_refused,
    answers_for_another_origin_are_refused_and_counted,
    a_passkey_names_only_its_own_account,
    a_replayed_assertion_is_refused,
    a_counter_going_backwards_is_refused_and_raised,
    a_passkey_works_at_the_code_step_instead_of_a_code,
    failures_at_the_code_step_share_the_codes_budget,
    concurrent_bad_passkeys_are_reserved_before_checking,
    a_passkey_confirms_it_is_you,
);

/// Where Keycard's passkeys live in tests (`Config::for_tests` listens at 127.0.0.1:3000).
fn origin() -> Url {
    Url::parse("http://localhost:3000").unwrap()
}

type Authenticator = WebauthnAuthenticator<SoftPasskey>;

fn authenticator() -> Authenticator {
    // `true`: the software key claims user verification, as a fingerprint reader would.
    WebauthnAuthenticator::new(SoftPasskey::new(true))
}

fn ceremony_reply(reply: &Reply) -> CeremonyReply {
    serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {} {}", reply.status, reply.body))
}

/// Asks for the options of `endpoint`; returns the sealed state and the options.
async fn start(client: &mut Client, endpoint: &str) -> (String, String) {
    let reply = client.post_form_as_script(endpoint, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let reply = ceremony_reply(&reply);
    (reply.ceremony.expect("a ceremony"), reply.options.expect("options"))
}

/// Creates a passkey on `key` for the signed-in `client` (which confirmed recently) and sends it.
async fn add_passkey_at(client: &mut Client, key: &mut Authenticator, name: &str, at: &Url) -> Reply {
    let (ceremony, options) = start(client, "/api/passkey_add_options").await;
    let credential = key.do_registration(at.clone(), creation_options(&options)).expect("the software key registers");
    let credential = serde_json::to_string(&credential).unwrap();
    client
        .post_form_as_script(
            "/api/passkey_add",
            &[("ceremony", &ceremony), ("credential", &credential), ("name", name)],
        )
        .await
}

/// The options as the software key can follow them. Keycard asks for a discoverable credential
/// with user verification (checked here); the software key cannot keep one, so it is asked for a
/// plain one and the tests hand the user handle back themselves (see [`assert_with`]).
fn creation_options(options: &str) -> CreationChallengeResponse {
    let mut options: serde_json::Value = serde_json::from_str(options).unwrap();
    let selection = &mut options["publicKey"]["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required");
    assert_eq!(selection["requireResidentKey"], true);
    assert_eq!(selection["userVerification"], "required");
    selection["residentKey"] = "discouraged".into();
    selection["requireResidentKey"] = false.into();
    serde_json::from_value(options).unwrap()
}

async fn add_passkey(client: &mut Client, key: &mut Authenticator, name: &str) {
    let reply = add_passkey_at(client, key, name, &origin()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(ceremony_reply(&reply).redirect.as_deref(), Some("/security/passkeys"));
}

/// A signed-up account with one passkey named "Laptop"; returns its browser.
async fn account_with_passkey(app: &TestApp, email: &str, key: &mut Authenticator) -> Client {
    let mut client = app.client();
    client.sign_up(email).await.assert_redirect_to("/");
    client.reauth(PASSWORD, "/security/passkeys").await;
    add_passkey(&mut client, key, "Laptop").await;
    client
}

/// The account's passkey user handle (what a discoverable passkey hands back).
async fn user_handle(app: &TestApp, email: &str) -> Vec<u8> {
    let text: String = sqlx::query_scalar("SELECT passkey_user_handle FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    webauthn_rs::prelude::Uuid::parse_str(&text).unwrap().as_bytes().to_vec()
}

async fn credential_ids(app: &TestApp, email: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT p.credential_id FROM passkeys p JOIN users u ON u.id = p.user_id WHERE u.email = $1 ORDER BY p.id",
    )
    .bind(email)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

/// The browser's part of a sign-in with a passkey alone: the software key signs the options
/// (told which of its keys to use: it cannot search by site as a platform authenticator does),
/// and the answer carries the user handle, as a discoverable passkey's does.
fn assert_with(
    key: &mut Authenticator,
    options: &str,
    credential_id: &str,
    handle: Option<&[u8]>,
    at: &Url,
) -> PublicKeyCredential {
    let mut options: serde_json::Value = serde_json::from_str(options).unwrap();
    options["publicKey"]["allowCredentials"] = serde_json::json!([{ "type": "public-key", "id": credential_id }]);
    let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let mut credential = key.do_authentication(at.clone(), options).expect("the software key signs");
    credential.response.user_handle = handle.map(|h| h.to_vec().into());
    credential
}

async fn finish_sign_in(client: &mut Client, ceremony: &str, credential: &PublicKeyCredential) -> Reply {
    let credential = serde_json::to_string(credential).unwrap();
    client.post_form_as_script("/api/passkey_sign_in", &[("ceremony", ceremony), ("credential", &credential)]).await
}

/// A whole sign-in with a passkey alone from a fresh browser.
async fn sign_in_with_passkey(app: &TestApp, key: &mut Authenticator, email: &str) -> (Client, Reply) {
    let mut browser = app.client();
    let (ceremony, options) = start(&mut browser, "/api/passkey_sign_in_options").await;
    let id = credential_ids(app, email).await.remove(0);
    let credential = assert_with(key, &options, &id, Some(&user_handle(app, email).await), &origin());
    let reply = finish_sign_in(&mut browser, &ceremony, &credential).await;
    (browser, reply)
}

fn error_of(reply: &Reply) -> String {
    ceremony_reply(reply).error.unwrap_or_else(|| panic!("an error: {} {}", reply.status, reply.body))
}

async fn a_passkey_is_added_and_signs_in_alone(app: &TestApp) {
    let mut key = authenticator();
    let mut owner = account_with_passkey(app, "pia@example.com", &mut key).await;
    // Discoverable and user-verifying: what the browser was asked for.
    let page = owner.get("/security/passkeys").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Laptop") && page.body.contains("never used yet"), "{}", page.body);
    assert!(page.body.contains(">Remove<") && page.body.contains("Passkey name"), "{}", page.body);
    let user_id = app.user_id("pia@example.com").await;
    assert!(app.history_kinds(user_id).await.contains(&"passkey_added".to_owned()));

    let (mut browser, reply) = sign_in_with_passkey(app, &mut key, "pia@example.com").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(ceremony_reply(&reply).redirect.as_deref(), Some("/"));
    assert_eq!(browser.get("/").await.status, 200, "signed in");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE user_id = {user_id} AND method = 'passkey' AND ended_at IS NULL"
        ))
        .await,
        1
    );
    let devices = owner.get("/devices").await;
    assert!(devices.body.contains("Passkey"), "the devices page names the method");
    let signed_in: String = sqlx::query_scalar(
        "SELECT detail FROM history_events WHERE user_id = $1 AND kind = 'signed_in' ORDER BY id DESC LIMIT 1",
    )
    .bind(user_id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(signed_in, "Passkey");
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys WHERE last_used_at IS NOT NULL").await, 1);
    // The checkup counts it.
    let security = owner.get("/security").await;
    assert!(security.body.contains("1 passkey."), "{}", security.body);
}

async fn adding_and_removing_need_a_recent_confirmation(app: &TestApp) {
    let mut client = app.client();
    client.sign_up("ada@example.com").await;
    let security = client.get("/security").await;
    assert!(security.body.contains("No passkeys yet: add one"), "the checkup recommends one");
    // Signing up proves nothing a stolen cookie could not: the prompt first, nothing written.
    let reply = client.post_form_as_script("/api/passkey_add_options", &[]).await;
    assert_eq!(ceremony_reply(&reply).redirect.as_deref(), Some("/security/confirm?next=/security/passkeys"));
    assert!(ceremony_reply(&reply).ceremony.is_none());
    client.reauth(PASSWORD, "/security/passkeys").await;
    let mut key = authenticator();
    add_passkey(&mut client, &mut key, "Phone").await;

    // The confirmation lapses; removing asks again (the same prompt as turning two-step off).
    app.set_reauth_at(app.now() - 3600).await;
    let id = app.count("SELECT id FROM passkeys").await.to_string();
    let reply = client.post_form("/api/passkey_remove", "/security/passkeys", &[("id", &id)]).await;
    reply.assert_redirect_to("/security/confirm?next=/security/passkeys");
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 1);
    // Finishing an add that started before the lapse is refused too.
    let reply = client.post_form_as_script("/api/passkey_add", &[("ceremony", "x"), ("credential", "{}")]).await;
    assert_eq!(ceremony_reply(&reply).redirect.as_deref(), Some("/security/confirm?next=/security/passkeys"));

    client.reauth(PASSWORD, "/security/passkeys").await;
    let reply = client.post_form("/api/passkey_remove", "/security/passkeys", &[("id", &id)]).await;
    reply.assert_redirect_to("/security/passkeys");
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 0);
    let user_id = app.user_id("ada@example.com").await;
    assert!(app.history_kinds(user_id).await.contains(&"passkey_removed".to_owned()));
    // Signed out, the page sends the browser to sign in.
    let reply = app.client().get("/security/passkeys").await;
    reply.assert_redirect_to("/login?next=/security/passkeys");
}

async fn rename_and_remove_only_touch_your_own_passkeys(app: &TestApp) {
    let mut key = authenticator();
    let mut owner = account_with_passkey(app, "own@example.com", &mut key).await;
    let id = app.count("SELECT id FROM passkeys").await.to_string();
    let reply =
        owner.post_form("/api/passkey_rename", "/security/passkeys", &[("id", &id), ("name", "  Work laptop ")]).await;
    reply.assert_redirect_to("/security/passkeys");
    let name: String = sqlx::query_scalar("SELECT name FROM passkeys").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(name, "Work laptop");
    let user_id = app.user_id("own@example.com").await;
    assert!(app.history_kinds(user_id).await.contains(&"passkey_renamed".to_owned()));
    // Too long, or with control characters: refused, unchanged.
    let long = "x".repeat(65);
    for bad in [long.as_str(), "tab\there"] {
        let reply = owner.post_form_as_script("/api/passkey_rename", &[("id", &id), ("name", bad)]).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    }

    // Another account cannot rename or remove it, even confirmed.
    let mut other = app.client();
    other.sign_up("other@example.com").await;
    other.reauth(PASSWORD, "/security/passkeys").await;
    let reply = other.post_form_as_script("/api/passkey_rename", &[("id", &id), ("name", "mine")]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = other.post_form_as_script("/api/passkey_remove", &[("id", &id)]).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let reply = other.post_form_as_script("/api/passkey_remove", &[("id", "not-a-number")]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys WHERE name = 'Work laptop'").await, 1);
}

async fn a_ceremony_state_is_used_once_even_at_once(app: &TestApp) {
    let mut key = authenticator();
    account_with_passkey(app, "once@example.com", &mut key).await;
    let mut browser = app.client();
    let (ceremony, options) = start(&mut browser, "/api/passkey_sign_in_options").await;
    let id = credential_ids(app, "once@example.com").await.remove(0);
    let credential = assert_with(&mut key, &options, &id, Some(&user_handle(app, "once@example.com").await), &origin());
    // Ten browsers send the same state and answer at once: one signs in.
    let replies = futures_util::future::join_all((0..10).map(|_| {
        let mut copy = app.client();
        let (ceremony, credential) = (ceremony.clone(), credential.clone());
        async move { finish_sign_in(&mut copy, &ceremony, &credential).await }
    }))
    .await;
    let signed_in = replies.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(signed_in, 1, "{:?}", replies.iter().map(|r| &r.body).collect::<Vec<_>>());
    for refused in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(error_of(refused), STALE);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE method = 'passkey'").await, 1);
}

async fn an_expired_or_foreign_ceremony_state_is_refused(app: &TestApp) {
    let mut key = authenticator();
    let mut owner = account_with_passkey(app, "exp@example.com", &mut key).await;
    let handle = user_handle(app, "exp@example.com").await;
    let id = credential_ids(app, "exp@example.com").await.remove(0);

    // A sign-in state past its five minutes: the same state re-sealed with an earlier expiry.
    let mut browser = app.client();
    let (ceremony, options) = start(&mut browser, "/api/passkey_sign_in_options").await;
    let aad = context(Purpose::SignIn, &Binding::Nobody);
    let mut envelope: serde_json::Value =
        serde_json::from_slice(&app.state.secrets.open(&aad, &ceremony).unwrap()).unwrap();
    envelope["expires_at"] = serde_json::json!(app.now() - 1);
    let expired = app.state.secrets.seal(&aad, envelope.to_string().as_bytes());
    let credential = assert_with(&mut key, &options, &id, Some(&handle), &origin());
    let reply = finish_sign_in(&mut browser, &expired, &credential).await;
    assert_eq!(error_of(&reply), STALE);
    // Tampered or made up: the seal does not open.
    let reply = finish_sign_in(&mut browser, &format!("{}00", &ceremony[..ceremony.len() - 2]), &credential).await;
    assert_eq!(error_of(&reply), STALE);
    let reply = finish_sign_in(&mut browser, "not-hex", &credential).await;
    assert_eq!(error_of(&reply), STALE);

    // A registration state belongs to the session that started it: another account's session
    // (confirmed too) cannot finish it, nor can a sign-in use it.
    let (add_ceremony, add_options) = start(&mut owner, "/api/passkey_add_options").await;
    let mut other = app.client();
    other.sign_up("thief@example.com").await;
    other.reauth(PASSWORD, "/security/passkeys").await;
    let mut other_key = authenticator();
    let created =
        serde_json::to_string(&other_key.do_registration(origin(), creation_options(&add_options)).unwrap()).unwrap();
    let reply =
        other.post_form_as_script("/api/passkey_add", &[("ceremony", &add_ceremony), ("credential", &created)]).await;
    assert_eq!(error_of(&reply), STALE);
    let reply = finish_sign_in(&mut app.client(), &add_ceremony, &credential).await;
    assert_eq!(error_of(&reply), STALE);
    // The owner's own session still can (the foreign attempts did not use it up).
    let reply =
        owner.post_form_as_script("/api/passkey_add", &[("ceremony", &add_ceremony), ("credential", &created)]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 2);
    // Malformed answers: a clear 400, nothing written.
    let (ceremony, _) = start(&mut browser, "/api/passkey_sign_in_options").await;
    let reply =
        browser.post_form_as_script("/api/passkey_sign_in", &[("ceremony", &ceremony), ("credential", "{")]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    let huge = "x".repeat(40 * 1024);
    let reply = browser.post_form_as_script("/api/passkey_sign_in", &[("ceremony", &huge), ("credential", "{}")]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE method = 'passkey'").await, 0);
}

async fn answers_for_another_origin_are_refused_and_counted(app: &TestApp) {
    // Registration made on another origin (a phishing page relaying Keycard's options).
    let mut client = app.client();
    client.sign_up("orly@example.com").await;
    client.reauth(PASSWORD, "/security/passkeys").await;
    let mut key = authenticator();
    let phishing = Url::parse("http://localhost:4000").unwrap();
    let reply = add_passkey_at(&mut client, &mut key, "Phished", &phishing).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    assert_eq!(error_of(&reply), NOT_ACCEPTED);
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 0);

    // A real passkey, whose assertion a phishing page got signed for its own origin.
    add_passkey(&mut client, &mut key, "Laptop").await;
    let user_id = app.user_id("orly@example.com").await;
    let handle = user_handle(app, "orly@example.com").await;
    let id = credential_ids(app, "orly@example.com").await.remove(0);
    let mut browser = app.client();
    let (ceremony, options) = start(&mut browser, "/api/passkey_sign_in_options").await;
    let credential = assert_with(&mut key, &options, &id, Some(&handle), &phishing);
    let reply = finish_sign_in(&mut browser, &ceremony, &credential).await;
    assert_eq!(error_of(&reply), NOT_ACCEPTED);
    assert!(browser.session_cookie().is_none());
    let failed = format!(
        "SELECT COUNT(*) FROM history_events WHERE user_id = {user_id} AND kind = 'sign_in_failed' \
         AND detail = 'Passkey not accepted'"
    );
    assert_eq!(app.count(&failed).await, 1, "recorded like other failed sign-ins");
    assert_eq!(
        app.count(&format!("SELECT failures FROM throttle WHERE key = 'second-factor:user:{user_id}'")).await,
        1,
        "counted against the account"
    );
    assert_eq!(app.count("SELECT failures FROM throttle WHERE key = 'signin-ip:203.0.113.7'").await, 1);
}

async fn a_passkey_names_only_its_own_account(app: &TestApp) {
    let mut key_a = authenticator();
    let mut key_b = authenticator();
    account_with_passkey(app, "a@example.com", &mut key_a).await;
    account_with_passkey(app, "b@example.com", &mut key_b).await;
    // A's passkey presented with B's user handle: no such pair, whoever's signature it is.
    let mut browser = app.client();
    let (ceremony, options) = start(&mut browser, "/api/passkey_sign_in_options").await;
    let a_id = credential_ids(app, "a@example.com").await.remove(0);
    let b_handle = user_handle(app, "b@example.com").await;
    let credential = assert_with(&mut key_a, &options, &a_id, Some(&b_handle), &origin());
    let reply = finish_sign_in(&mut browser, &ceremony, &credential).await;
    assert_eq!(error_of(&reply), UNKNOWN_PASSKEY);
    // No handle at all (not a discoverable answer).
    let (ceremony, options) = start(&mut browser, "/api/passkey_sign_in_options").await;
    let credential = assert_with(&mut key_a, &options, &a_id, None, &origin());
    assert_eq!(error_of(&finish_sign_in(&mut browser, &ceremony, &credential).await), UNKNOWN_PASSKEY);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE method = 'passkey'").await, 0);
}

async fn a_replayed_assertion_is_refused(app: &TestApp) {
    let mut key = authenticator();
    account_with_passkey(app, "rex@example.com", &mut key).await;
    let mut browser = app.client();
    let (ceremony, options) = start(&mut browser, "/api/passkey_sign_in_options").await;
    let id = credential_ids(app, "rex@example.com").await.remove(0);
    let handle = user_handle(app, "rex@example.com").await;
    let credential = assert_with(&mut key, &options, &id, Some(&handle), &origin());
    assert_eq!(finish_sign_in(&mut browser, &ceremony, &credential).await.status, StatusCode::OK);
    // The same signed answer with a fresh state: its challenge is not this one's.
    let mut thief = app.client();
    let (fresh, _) = start(&mut thief, "/api/passkey_sign_in_options").await;
    let reply = finish_sign_in(&mut thief, &fresh, &credential).await;
    assert_eq!(error_of(&reply), NOT_ACCEPTED);
    assert!(thief.session_cookie().is_none());
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE method = 'passkey'").await, 1);
}

async fn a_counter_going_backwards_is_refused_and_raised(app: &TestApp) {
    let mut key = authenticator();
    account_with_passkey(app, "clo@example.com", &mut key).await;
    let (_, reply) = sign_in_with_passkey(app, &mut key, "clo@example.com").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // The server has seen a higher count than this key will now send: a copy was used meanwhile.
    let stored: String =
        sqlx::query_scalar("SELECT credential FROM passkeys").fetch_one(&app.state.db.pool).await.unwrap();
    let mut stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    stored["cred"]["counter"] = serde_json::json!(100);
    sqlx::query("UPDATE passkeys SET credential = $1")
        .bind(stored.to_string())
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let (browser, reply) = sign_in_with_passkey(app, &mut key, "clo@example.com").await;
    assert_eq!(error_of(&reply), CLONED);
    assert!(browser.session_cookie().is_none());
    let user_id = app.user_id("clo@example.com").await;
    let raised = format!(
        "SELECT COUNT(*) FROM history_events WHERE user_id = {user_id} AND kind = 'passkey_counter_anomaly' AND alert = 1"
    );
    assert_eq!(app.count(&raised).await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE method = 'passkey'").await, 1, "only the first");

    // A passkey whose backup state changed (synced since, or no longer): accepted, and noted.
    stored["cred"]["counter"] = serde_json::json!(0);
    stored["cred"]["backup_state"] = serde_json::json!(true);
    sqlx::query("UPDATE passkeys SET credential = $1")
        .bind(stored.to_string())
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let (_, reply) = sign_in_with_passkey(app, &mut key, "clo@example.com").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let noted = format!(
        "SELECT COUNT(*) FROM history_events WHERE user_id = {user_id} AND kind = 'passkey_backup_changed' \
         AND detail = 'Laptop is no longer backed up'"
    );
    assert_eq!(app.count(&noted).await, 1);
}

/// The code step's passkey: options name the account's passkeys; the answer completes sign-in.
async fn code_step_with_passkey(client: &mut Client, key: &mut Authenticator, id: &str) -> Reply {
    let (ceremony, options) = start(client, "/api/passkey_code_step_options").await;
    let credential = assert_with(key, &options, id, None, &origin());
    let credential = serde_json::to_string(&credential).unwrap();
    client
        .post_form_as_script(
            "/api/passkey_code_step",
            &[("ceremony", &ceremony), ("credential", &credential), ("next", "/devices")],
        )
        .await
}

async fn a_passkey_works_at_the_code_step_instead_of_a_code(app: &TestApp) {
    let (mut owner, secret, _) = enrolled(app, "cody@example.com").await;
    owner.reauth_with_code(PASSWORD, &code_at(&app.clock, &secret, 0), "/security/passkeys").await;
    let mut key = authenticator();
    add_passkey(&mut owner, &mut key, "Laptop").await;
    let id = credential_ids(app, "cody@example.com").await.remove(0);

    let mut browser = at_code_step(app, "cody@example.com").await;
    let page = browser.get("/login/code").await;
    assert!(page.body.contains("data-passkey=\"code-step\"") && page.body.contains("needs JavaScript"));
    let reply = code_step_with_passkey(&mut browser, &mut key, &id).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(ceremony_reply(&reply).redirect.as_deref(), Some("/devices"));
    assert_eq!(browser.get("/devices").await.status, 200);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE method = 'password_and_passkey' AND ended_at IS NULL").await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions WHERE stage = 'password_verified' AND ended_at IS NULL").await,
        0
    );

    // Signed out, or still at the password: no options.
    let reply = app.client().post_form_as_script("/api/passkey_code_step_options", &[]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // An account without passkeys at the code step is told to use a code.
    let (_, _, _) = enrolled(app, "nopk@example.com").await;
    let mut plain = at_code_step(app, "nopk@example.com").await;
    let reply = plain.post_form_as_script("/api/passkey_code_step_options", &[]).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    // Another account's passkey at this code step is not accepted (its options name only this
    // account's passkeys; the software key is told to use its own anyway).
    let mut other_key = authenticator();
    let (mut other, other_secret, _) = enrolled(app, "eve@example.com").await;
    other.reauth_with_code(PASSWORD, &code_at(&app.clock, &other_secret, 0), "/security/passkeys").await;
    add_passkey(&mut other, &mut other_key, "Eve's").await;
    let eve_id = credential_ids(app, "eve@example.com").await.remove(0);
    let mut victim = at_code_step(app, "cody@example.com").await;
    let reply = code_step_with_passkey(&mut victim, &mut other_key, &eve_id).await;
    assert_eq!(error_of(&reply), NOT_ACCEPTED);
    let user_id = app.user_id("cody@example.com").await;
    let failed = format!(
        "SELECT COUNT(*) FROM history_events WHERE user_id = {user_id} AND kind = 'code_failed' AND detail = 'Passkey not accepted'"
    );
    assert_eq!(app.count(&failed).await, 1);
}

async fn failures_at_the_code_step_share_the_codes_budget(app: &TestApp) {
    let (mut owner, secret, _) = enrolled(app, "bud@example.com").await;
    owner.reauth_with_code(PASSWORD, &code_at(&app.clock, &secret, 0), "/security/passkeys").await;
    let mut key = authenticator();
    add_passkey(&mut owner, &mut key, "Laptop").await;
    let id = credential_ids(app, "bud@example.com").await.remove(0);
    let phishing = Url::parse("http://localhost:4000").unwrap();
    // Four wrong codes, then a passkey answer made for another origin: the fifth failure.
    let mut browser = at_code_step(app, "bud@example.com").await;
    for _ in 0..4 {
        assert_eq!(submit_code(&mut browser, "000000").await.status, StatusCode::FOUND);
    }
    let (ceremony, options) = start(&mut browser, "/api/passkey_code_step_options").await;
    let credential = serde_json::to_string(&assert_with(&mut key, &options, &id, None, &phishing)).unwrap();
    let reply = browser
        .post_form_as_script("/api/passkey_code_step", &[("ceremony", &ceremony), ("credential", &credential)])
        .await;
    // That failure locked the account's second factor: this browser starts again with its password.
    assert_eq!(ceremony_reply(&reply).redirect.as_deref(), Some("/login?ended=codes"), "{}", reply.body);
    // Now even a good passkey waits, at any code step of the account.
    let mut again = at_code_step(app, "bud@example.com").await;
    let (ceremony, options) = start(&mut again, "/api/passkey_code_step_options").await;
    let credential = serde_json::to_string(&assert_with(&mut key, &options, &id, None, &origin())).unwrap();
    let reply = again
        .post_form_as_script("/api/passkey_code_step", &[("ceremony", &ceremony), ("credential", &credential)])
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{}", reply.body);
    assert!(reply.headers.get("retry-after").is_some());
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE method = 'password_and_passkey'").await, 0);
}

/// Twelve answers signed for a phishing origin, sent at once for one account: each attempt is
/// reserved in the account's second-factor budget before its signature is checked, so at most the
/// free five (+1 that locks) are evaluated; the rest are refused unchecked.
async fn concurrent_bad_passkeys_are_reserved_before_checking(app: &TestApp) {
    let mut key = authenticator();
    account_with_passkey(app, "many@example.com", &mut key).await;
    let id = credential_ids(app, "many@example.com").await.remove(0);
    let handle = user_handle(app, "many@example.com").await;
    let phishing = Url::parse("http://localhost:4000").unwrap();
    let mut attempts = Vec::new();
    for _ in 0..12 {
        let (ceremony, options) = start(&mut app.client(), "/api/passkey_sign_in_options").await;
        attempts.push((ceremony, assert_with(&mut key, &options, &id, Some(&handle), &phishing)));
    }
    let replies = futures_util::future::join_all(attempts.into_iter().map(|(ceremony, credential)| {
        let mut browser = app.client();
        async move { finish_sign_in(&mut browser, &ceremony, &credential).await }
    }))
    .await;
    let statuses: Vec<StatusCode> = replies.iter().map(|r| r.status).collect();
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(checked + refused, 12, "{statuses:?}");
    assert!((1..=6).contains(&checked), "{statuses:?}");
    let user_id = app.user_id("many@example.com").await;
    let failed = format!("SELECT COUNT(*) FROM history_events WHERE user_id = {user_id} AND kind = 'sign_in_failed'");
    assert_eq!(app.count(&failed).await, checked as i64);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE method = 'passkey'").await, 0);
}

/// The re-authentication prompt accepts a passkey of the account instead of the password (and
/// code), within the account's second-factor budget; the session then runs on under a new id.
async fn a_passkey_confirms_it_is_you(app: &TestApp) {
    let mut key = authenticator();
    let mut owner = account_with_passkey(app, "conf@example.com", &mut key).await;
    let id = credential_ids(app, "conf@example.com").await.remove(0);
    let row = app.count("SELECT id FROM passkeys").await.to_string();
    app.set_reauth_at(app.now() - 3600).await;
    let page = owner.get("/security/confirm?next=/security/passkeys").await;
    assert!(page.body.contains("data-passkey=\"reauth\""), "{}", page.body);

    // An answer signed for another origin: refused, recorded, counted.
    let (ceremony, options) = start(&mut owner, "/api/passkey_reauth_options").await;
    let phishing = Url::parse("http://localhost:4000").unwrap();
    let credential = serde_json::to_string(&assert_with(&mut key, &options, &id, None, &phishing)).unwrap();
    let fields = [("ceremony", ceremony.as_str()), ("credential", credential.as_str()), ("next", "/security/passkeys")];
    let reply = owner.post_form_as_script("/api/passkey_reauth", &fields).await;
    assert_eq!(error_of(&reply), NOT_ACCEPTED);
    let user_id = app.user_id("conf@example.com").await;
    let failed = format!(
        "SELECT COUNT(*) FROM history_events WHERE user_id = {user_id} AND kind = 'code_failed' \
         AND detail = 'Passkey not accepted when confirming it was you'"
    );
    assert_eq!(app.count(&failed).await, 1);
    // A state made for signing in does not confirm anything here.
    let (sign_in_state, sign_in_options) = start(&mut app.client(), "/api/passkey_sign_in_options").await;
    let credential = serde_json::to_string(&assert_with(&mut key, &sign_in_options, &id, None, &origin())).unwrap();
    let fields = [("ceremony", sign_in_state.as_str()), ("credential", credential.as_str())];
    assert_eq!(error_of(&owner.post_form_as_script("/api/passkey_reauth", &fields).await), STALE);
    let reply = owner.post_form("/api/passkey_remove", "/security/passkeys", &[("id", &row)]).await;
    reply.assert_redirect_to("/security/confirm?next=/security/passkeys");

    // The passkey itself: confirmed, a new session id, and the removal goes through.
    let before = owner.session_cookie();
    let (ceremony, options) = start(&mut owner, "/api/passkey_reauth_options").await;
    let credential = serde_json::to_string(&assert_with(&mut key, &options, &id, None, &origin())).unwrap();
    let fields = [("ceremony", ceremony.as_str()), ("credential", credential.as_str()), ("next", "/security/passkeys")];
    let reply = owner.post_form_as_script("/api/passkey_reauth", &fields).await;
    assert_eq!(ceremony_reply(&reply).redirect.as_deref(), Some("/security/passkeys"), "{}", reply.body);
    assert_ne!(owner.session_cookie(), before, "the session id changes at a re-authentication");
    let reply = owner.post_form("/api/passkey_remove", "/security/passkeys", &[("id", &row)]).await;
    reply.assert_redirect_to("/security/passkeys");
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 0);
    // Signed out, there is nothing to confirm.
    let reply = app.client().post_form_as_script("/api/passkey_reauth_options", &[]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}
