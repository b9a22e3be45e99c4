//! `keycard admin apps …` (issue 31): registering the apps that sign people in through Keycard,
//! through the admin's plain functions, on SQLite and PostgreSQL. The binary's help and exit codes
//! are in `admin_binary.rs`.

use crate::common::TestApp;
use keycard::admin::{AdminCommand, AdminError, NotACommand};
use sha2::{Digest, Sha256};

on_both_databases!(
    a_confidential_app_gets_a_secret_shown_once_and_kept_as_a_hash,
    a_public_app_has_no_secret_and_nothing_to_rotate,
    redirect_uris_are_registered_only_exact_and_safe,
    rotating_replaces_the_secret_and_removing_forgets_the_app,
);

async fn run(app: &TestApp, words: &[&str]) -> Result<String, AdminError> {
    keycard::admin::run(&app.state, &parse(words).unwrap(), || panic!("apps commands read no password")).await
}

fn parse(words: &[&str]) -> Result<AdminCommand, NotACommand> {
    AdminCommand::parse(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
}

/// The value of the output line `name: value`.
fn field<'a>(out: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}: ");
    out.lines().find_map(|line| line.strip_prefix(prefix.as_str())).unwrap_or_else(|| panic!("no {name} in {out}"))
}

async fn stored_secret_hash(app: &TestApp, client_id: &str) -> Option<String> {
    sqlx::query_scalar("SELECT secret_hash FROM oidc_clients WHERE client_id = $1")
        .bind(client_id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

const GRAFANA_CALLBACK: &str = "https://grafana.example/login/generic_oauth";

async fn a_confidential_app_gets_a_secret_shown_once_and_kept_as_a_hash(app: &TestApp) {
    let out = run(
        app,
        &[
            "apps",
            "add",
            "--name",
            "Grafana",
            "--redirect-uri",
            GRAFANA_CALLBACK,
            "--post-logout-redirect-uri=https://grafana.example/login",
            "--backchannel-logout-uri",
            "https://grafana.example/logout/backchannel",
        ],
    )
    .await
    .unwrap();
    let client_id = field(&out, "client_id").to_owned();
    let secret = field(&out, "client_secret").to_owned();
    assert_eq!(client_id.len(), 22, "128 bits, base64url");
    assert!(secret.starts_with("kcs_") && secret.len() == 47, "{secret}");
    assert_eq!(
        out,
        format!(
            "Registered Grafana.\n\nclient_id: {client_id}\nname: Grafana\ntype: confidential (client secret)\n\
             redirect_uri: {GRAFANA_CALLBACK}\npost_logout_redirect_uri: https://grafana.example/login\n\
             backchannel_logout_uri: https://grafana.example/logout/backchannel\nregistered: 2026-12-01 10:00 UTC\n\
             \nclient_secret: {secret}\nThis secret is shown only now: put it in the app's settings. Keycard keeps \
             only its hash;\n`keycard admin apps rotate-secret {client_id}` makes a new one.\n"
        )
    );
    // Only the SHA-256 is stored; nothing shows the secret again.
    assert_eq!(stored_secret_hash(app, &client_id).await, Some(hex::encode(Sha256::digest(secret.as_bytes()))));
    let secret_body = &secret["kcs_".len()..];
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM oidc_clients WHERE secret_hash LIKE '%{secret_body}%' OR name LIKE '%{secret_body}%'"
        ))
        .await,
        0
    );
    let shown = run(app, &["apps", "show", &client_id]).await.unwrap();
    assert!(!shown.contains(secret_body) && shown.contains(GRAFANA_CALLBACK), "{shown}");
    let listed = run(app, &["apps", "list"]).await.unwrap();
    assert_eq!(listed, format!("{client_id}  Grafana  confidential, registered 2026-12-01 10:00 UTC\n1 app(s)\n"));
}

async fn a_public_app_has_no_secret_and_nothing_to_rotate(app: &TestApp) {
    let out =
        run(app, &["apps", "add", "--name", "Phone app", "--public", "--redirect-uri", "com.example.phone:/callback"])
            .await
            .unwrap();
    let client_id = field(&out, "client_id").to_owned();
    assert!(out.contains("type: public (no client secret)\n"), "{out}");
    assert!(out.ends_with("\nA public app: no client secret (it proves its requests with PKCE alone).\n"), "{out}");
    assert!(!out.contains("client_secret"), "{out}");
    assert_eq!(stored_secret_hash(app, &client_id).await, None);
    let refused = run(app, &["apps", "rotate-secret", &client_id]).await.unwrap_err();
    assert_eq!(
        refused.to_string(),
        format!("{client_id} is a public app: it has no client secret to rotate; nothing changed")
    );
    assert_eq!(stored_secret_hash(app, &client_id).await, None);
    // A private-use scheme is a public app's alone.
    let confidential =
        parse(&["apps", "add", "--name", "Other", "--redirect-uri", "com.example.phone:/callback"]).unwrap_err();
    let NotACommand::Usage(text) = confidential else { panic!("a usage error") };
    assert!(text
        .starts_with("--redirect-uri: \"com.example.phone:/callback\": the scheme \"com.example.phone\" is not https"));
}

async fn redirect_uris_are_registered_only_exact_and_safe(app: &TestApp) {
    let refused = [
        (
            "https://Grafana.example/cb",
            "--redirect-uri: write \"https://Grafana.example/cb\" as \"https://grafana.example/cb\"",
        ),
        (
            "https://grafana.example",
            "--redirect-uri: write \"https://grafana.example\" as \"https://grafana.example/\"",
        ),
        ("https://grafana.example:443/cb", "as \"https://grafana.example/cb\""),
        ("https://grafana.example/c%62", ""),
        ("https://grafana.example/cb#done", "has a fragment"),
        ("https://me:pw@grafana.example/cb", "has a user name or password"),
        ("http://grafana.example/cb", "is plain http to another machine; use https"),
        ("http://10.1.2.3/cb", "is plain http to another machine"),
        ("ftp://grafana.example/cb", "the scheme \"ftp\" is not https"),
        ("grafana.example/cb", "is not an absolute URI"),
        ("", "give a URI of at most 2000 characters"),
    ];
    for (uri, why) in refused {
        let result = parse(&["apps", "add", "--name", "Grafana", "--redirect-uri", uri]);
        if why.is_empty() {
            // Percent-encoding that the URL standard keeps is a different URI, kept as written.
            assert!(result.is_ok(), "{uri}");
            continue;
        }
        let Err(NotACommand::Usage(text)) = result else { panic!("{uri} was accepted") };
        assert!(text.lines().next().unwrap().contains(why), "{uri}: {text}");
        assert!(text.contains("usage: keycard admin apps add --name NAME"), "the usage follows: {text}");
    }
    for (words, problem) in [
        (&["apps", "add", "--redirect-uri", GRAFANA_CALLBACK][..], "--name: give the app's name (people see it)"),
        (&["apps", "add", "--name", "Grafana"][..], "--redirect-uri: give at least one"),
        (&["apps", "add", "--name", "A", "--name", "B", "--redirect-uri", GRAFANA_CALLBACK][..], "--name given twice"),
        (&["apps", "add", "--name"][..], "--name needs a value"),
        (
            &["apps", "add", "--name", "G", "--redirect-uri", GRAFANA_CALLBACK, "--wildcard"][..],
            "unknown option --wildcard",
        ),
        (&["apps", "add", "--name", "G", "--redirect-uri", GRAFANA_CALLBACK, "extra"][..], "unexpected \"extra\""),
    ] {
        let Err(NotACommand::Usage(text)) = parse(words) else { panic!("{words:?} was accepted") };
        assert!(text.starts_with(problem), "{words:?}: {text}");
    }
    // Loopback http, other ports and query strings are fine, each kept exactly.
    let out = run(
        app,
        &[
            "apps",
            "add",
            "--name",
            "Local",
            "--redirect-uri",
            "http://127.0.0.1:8400/callback",
            "--redirect-uri",
            "http://localhost:8400/callback?tenant=a",
            "--redirect-uri",
            "http://[::1]:8400/callback",
        ],
    )
    .await
    .unwrap();
    let uris: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("redirect_uri: ")).collect();
    assert_eq!(
        uris,
        ["http://127.0.0.1:8400/callback", "http://localhost:8400/callback?tenant=a", "http://[::1]:8400/callback"]
    );
    // A command built in code is checked again when it runs: nothing is stored.
    let bad = keycard::oidc::clients::NewApp {
        name: "Bad".into(),
        redirect_uris: vec!["http://evil.example/cb".into()],
        post_logout_redirect_uris: Vec::new(),
        backchannel_logout_uri: None,
        public: false,
    };
    let command = AdminCommand::Apps(keycard::admin::apps::AppsCommand::Add(bad));
    let refused = keycard::admin::run(&app.state, &command, || panic!("no password")).await.unwrap_err();
    assert!(refused.to_string().contains("plain http to another machine"), "{refused}");
    assert_eq!(app.count("SELECT COUNT(*) FROM oidc_clients WHERE name = 'Bad'").await, 0);
}

async fn rotating_replaces_the_secret_and_removing_forgets_the_app(app: &TestApp) {
    let out = run(
        app,
        &["apps", "add", "--name", "Gitea", "--redirect-uri", "https://git.example/user/oauth2/keycard/callback"],
    )
    .await
    .unwrap();
    let client_id = field(&out, "client_id").to_owned();
    let first = field(&out, "client_secret").to_owned();
    app.clock.advance(3600);
    let rotated = run(app, &["apps", "rotate-secret", &client_id]).await.unwrap();
    let second = field(&rotated, "client_secret").to_owned();
    assert_ne!(first, second);
    assert_eq!(
        rotated,
        format!(
            "client_secret: {second}\nThe old secret no longer works. This one is shown only now: put it in the app's \
             settings.\n"
        )
    );
    assert_eq!(stored_secret_hash(app, &client_id).await, Some(hex::encode(Sha256::digest(second.as_bytes()))));
    assert!(run(app, &["apps", "show", &client_id]).await.unwrap().ends_with("secret rotated: 2026-12-01 11:00 UTC\n"));

    let unknown = run(app, &["apps", "rotate-secret", "no-such-app"]).await.unwrap_err();
    assert_eq!(unknown.to_string(), "no app has the client id \"no-such-app\" (`keycard admin apps list` shows them)");
    let removed = run(app, &["apps", "remove", &client_id]).await.unwrap();
    assert_eq!(removed, format!("Removed Gitea ({client_id}): it can no longer sign anyone in.\n"));
    assert_eq!(app.count("SELECT COUNT(*) FROM oidc_clients").await, 0);
    assert!(run(app, &["apps", "show", &client_id]).await.is_err());
    assert!(run(app, &["apps", "remove", &client_id]).await.is_err());
    assert_eq!(run(app, &["apps", "list"]).await.unwrap(), "0 app(s)\n");
}
