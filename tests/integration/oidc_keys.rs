//! The keys Keycard signs with and the key set it publishes (issue 31), through the router and
//! `keycard admin keys …`, on SQLite and PostgreSQL: what Keycard signs verifies with the
//! published key (checked by jsonwebtoken, not Keycard's code), the private key is stored sealed,
//! and a replaced key stays published exactly a day.

use crate::common::TestApp;
use jsonwebtoken::{decode, encode, jwk::Jwk, Algorithm, DecodingKey, Validation};
use keycard::admin::AdminCommand;
use serde_json::{json, Value};

on_both_databases!(
    the_published_keys_check_what_keycard_signs_and_a_replaced_key_stays_a_day,
    racing_first_requests_make_one_key,
);

async fn admin(app: &TestApp, words: &[&str]) -> String {
    let command = AdminCommand::parse(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>()).unwrap();
    keycard::admin::run(&app.state, &command, || panic!("no password")).await.unwrap()
}

async fn key_set(app: &TestApp) -> Vec<Value> {
    let reply = app.client().get("/oauth/jwks").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["content-type"], "application/jwk-set+json");
    assert_eq!(reply.headers["cache-control"], "no-store");
    let set: Value = serde_json::from_str(&reply.body).unwrap();
    set["keys"].as_array().unwrap().clone()
}

/// Signs a token with the key that signs now.
async fn signed(app: &TestApp) -> (String, String) {
    let key = keycard::oidc::keys::current(&app.state.db, &app.state.secrets).await.unwrap();
    let claims = json!({ "iss": "http://127.0.0.1:3000", "sub": "someone", "exp": app.now() + 300 });
    (key.kid.clone(), encode(&key.header(), &claims, &key.encoding_key()).unwrap())
}

/// Whether `token` verifies with the published key `jwk` (jsonwebtoken's own ES256 check).
fn verifies(token: &str, jwk: &Value) -> bool {
    let jwk: Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    // The test clock is not the system's: only the signature is in question here.
    validation.validate_exp = false;
    decode::<Value>(token, &DecodingKey::from_jwk(&jwk).unwrap(), &validation).is_ok()
}

async fn the_published_keys_check_what_keycard_signs_and_a_replaced_key_stays_a_day(app: &TestApp) {
    // The first request makes the first key.
    let keys = key_set(app).await;
    assert_eq!(keys.len(), 1);
    let first = &keys[0];
    for (field, value) in [("kty", "EC"), ("crv", "P-256"), ("alg", "ES256"), ("use", "sig")] {
        assert_eq!(first[field], value, "{first}");
    }
    assert!(first.get("d").is_none(), "never the private part: {first}");
    let (kid, token) = signed(app).await;
    assert_eq!(first["kid"], kid.as_str());
    assert!(verifies(&token, first));
    assert_eq!(key_set(app).await.len(), 1, "later requests make no new key");

    // Stored sealed: it opens only with this server's secret key, and its plain form is nowhere.
    let stored: String = sqlx::query_scalar("SELECT private_key FROM oidc_signing_keys WHERE kid = $1")
        .bind(&kid)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let pkcs8 = app.state.secrets.open(&format!("oidc-signing-key:{kid}"), &stored).unwrap();
    assert!(!stored.contains(&hex::encode(&pkcs8)));
    assert!(app.state.secrets.open("oidc-signing-key:another", &stored).is_err());

    // Rotation: a new key signs; the old one stays published, newest first.
    app.clock.advance(60);
    let rotated = admin(app, &["keys", "rotate"]).await;
    let (new_kid, new_token) = signed(app).await;
    assert_ne!(new_kid, kid);
    assert_eq!(
        rotated,
        format!(
            "new signing key {new_kid}: it signs from now on; the keys it replaces stay published for 24 hours, so \
             that the tokens they signed can still be checked\n"
        )
    );
    let keys = key_set(app).await;
    let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, [new_kid.as_str(), kid.as_str()]);
    assert!(verifies(&new_token, &keys[0]) && verifies(&token, &keys[1]));
    assert!(!verifies(&new_token, &keys[1]), "each token checks only with its own key");
    assert_eq!(
        admin(app, &["keys", "list"]).await,
        format!(
            "{new_kid}  made 2026-12-01 10:01 UTC  signs\n{kid}  made 2026-12-01 10:00 UTC  replaced 2026-12-01 10:01 \
             UTC, published until 2026-12-02 10:01 UTC\n2 key(s)\n"
        )
    );

    // Published for exactly a day after it was replaced.
    app.clock.advance(24 * 3600 - 1);
    assert_eq!(key_set(app).await.len(), 2);
    app.clock.advance(1);
    let keys = key_set(app).await;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"], new_kid.as_str());
    assert!(admin(app, &["keys", "list"]).await.contains("replaced 2026-12-01 10:01 UTC, no longer published\n"));
    // The purge then deletes it (the periodic one does the same work).
    let report = keycard::admin::purge::purge_now(&app.state, app.now()).await.unwrap();
    assert_eq!(report.signing_keys, 1);
    assert_eq!(admin(app, &["keys", "list"]).await, format!("{new_kid}  made 2026-12-01 10:01 UTC  signs\n1 key(s)\n"));
}

/// Anyone may fetch the key set, so the first key must not be made once per racing request.
async fn racing_first_requests_make_one_key(app: &TestApp) {
    let fetches = (0..20).map(|_| async { app.client().get("/oauth/jwks").await });
    let replies = futures_util::future::join_all(fetches).await;
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status.as_u16()).collect();
    assert_eq!(statuses, vec![200; 20], "{:?}", replies.iter().map(|r| &r.body).collect::<Vec<_>>());
    assert_eq!(app.count("SELECT COUNT(*) FROM oidc_signing_keys").await, 1);
    let sets: std::collections::BTreeSet<&str> = replies.iter().map(|reply| reply.body.as_str()).collect();
    assert_eq!(sets.len(), 1, "every request saw the same one key: {sets:?}");
}
