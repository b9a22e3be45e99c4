//! The `keycard` binary's operator commands as an operator runs them: `keycard admin …` (help,
//! exit codes, the password on standard input) and `keycard backup <file>` while Keycard serves,
//! then restoring that copy into a fresh data directory and signing in with it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::common::{unique_name, TempDir, TestApp, PASSWORD};

on_both_databases!(admin_commands_help_refuse_and_act_through_the_binary);

#[test]
#[ignore = "needs PostgreSQL at 127.0.0.1:5432 (scripts/test runs it)"]
fn backup_refuses_postgres_and_names_pg_dump() {
    crate::common::run(async {
        let app = TestApp::postgres().await;
        crate::common::scenario_on("backup on PostgreSQL", app, backup_is_only_for_sqlite).await;
    });
}

#[test]
fn a_backup_taken_while_serving_restores_and_signs_in() {
    crate::common::run(async {
        let app = TestApp::sqlite().await;
        crate::common::scenario_on("backup on SQLite", app, backup_restores_and_signs_in).await;
    });
}

const KEYCARD: &str = env!("CARGO_BIN_EXE_keycard");

/// `keycard <args>` against `app`'s database and data directory (its secret key file), with
/// `stdin` as standard input; run off the async runtime.
async fn keycard(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(KEYCARD);
    command.args(args).env("KEYCARD_DATABASE_URL", &app.state.config.database_url);
    command.env("KEYCARD_DATA_DIR", &app.state.config.data_dir).env("RUST_LOG", "warn");
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("KEYCARD_") && !["KEYCARD_DATABASE_URL", "KEYCARD_DATA_DIR"].contains(&name.as_str()) {
            command.env_remove(name);
        }
    }
    let stdin = stdin.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "stdout: {}\nstderr: {}", text(&output.stdout), text(&output.stderr));
}

async fn admin_commands_help_refuse_and_act_through_the_binary(app: &TestApp) {
    // The binary runs on the system's clock; the in-process app shares its time.
    app.clock.set(keycard::core::clock::Clock::system().now());
    let help = keycard(app, &["admin", "--help"], "").await;
    assert_exit(&help, 0);
    for command in ["create-user", "users", "reset-two-step", "disable", "enable", "sessions", "purge"] {
        assert!(text(&help.stdout).contains(&format!("  {command} ")), "{command}: {}", text(&help.stdout));
        let one = keycard(app, &["admin", command, "--help"], "").await;
        assert_exit(&one, 0);
        assert!(text(&one.stdout).starts_with(&format!("usage: keycard admin {command}")), "{}", text(&one.stdout));
    }
    let unknown = keycard(app, &["admin", "drop-everything"], "").await;
    assert_exit(&unknown, 2);
    assert!(text(&unknown.stderr).starts_with("unknown command \"drop-everything\""), "{}", text(&unknown.stderr));
    let missing = keycard(app, &["admin", "disable"], "").await;
    assert_exit(&missing, 2);
    assert!(text(&missing.stderr).starts_with("usage: keycard admin disable <email>"), "{}", text(&missing.stderr));

    // The password comes on standard input, never as an argument.
    let weak = keycard(app, &["admin", "create-user", "op@example.com"], "letmein\n").await;
    assert_exit(&weak, 1);
    assert!(text(&weak.stderr).starts_with("keycard admin: "), "{}", text(&weak.stderr));
    let created = keycard(app, &["admin", "create-user", "op@example.com"], &format!("{PASSWORD}\n")).await;
    assert_exit(&created, 0);
    assert_eq!(text(&created.stdout), "created the account op@example.com\n");
    let mut browser = app.client();
    browser.log_in("op@example.com", PASSWORD, false).await.assert_redirect_to("/");

    let users = keycard(app, &["admin", "users"], "").await;
    assert_exit(&users, 0);
    assert!(
        text(&users.stdout).lines().nth(1).is_some_and(|l| l.starts_with("op@example.com")),
        "{}",
        text(&users.stdout)
    );

    let nobody = keycard(app, &["admin", "disable", "nobody@example.com"], "").await;
    assert_exit(&nobody, 1);
    assert_eq!(text(&nobody.stderr), "keycard admin: no account has the email \"nobody@example.com\"\n");
    let disabled = keycard(app, &["admin", "disable", "op@example.com"], "").await;
    assert_exit(&disabled, 0);
    browser.get("/").await.assert_redirect_to("/login?next=/&ended=disabled");
    let purge = keycard(app, &["admin", "purge"], "").await;
    assert_exit(&purge, 0);
    assert!(text(&purge.stdout).starts_with("purged: "), "{}", text(&purge.stdout));

    // The apps that sign people in through Keycard: a group of commands, each with its help.
    assert!(text(&help.stdout).contains("  apps <command> "), "{}", text(&help.stdout));
    let apps = keycard(app, &["admin", "apps", "--help"], "").await;
    assert_exit(&apps, 0);
    assert!(text(&apps.stdout).starts_with("usage: keycard admin apps <command>"), "{}", text(&apps.stdout));
    for command in ["add", "list", "show", "rotate-secret", "remove"] {
        assert!(text(&apps.stdout).contains(&format!("  keycard admin apps {command}")), "{command}");
        let one = keycard(app, &["admin", "apps", command, "--help"], "").await;
        assert_exit(&one, 0);
        assert!(
            text(&one.stdout).starts_with(&format!("usage: keycard admin apps {command}")),
            "{}",
            text(&one.stdout)
        );
    }
    let unsafe_uri = ["admin", "apps", "add", "--name", "Grafana", "--redirect-uri", "http://grafana.example/cb"];
    let refused = keycard(app, &unsafe_uri, "").await;
    assert_exit(&refused, 2);
    assert!(text(&refused.stderr).starts_with("--redirect-uri: \"http://grafana.example/cb\" is plain http"));
    let added = keycard(
        app,
        &["admin", "apps", "add", "--name", "Grafana", "--redirect-uri", "https://grafana.example/cb"],
        "",
    )
    .await;
    assert_exit(&added, 0);
    assert!(text(&added.stdout).starts_with("Registered Grafana.\n"), "{}", text(&added.stdout));
    let listed = keycard(app, &["admin", "apps", "list"], "").await;
    assert_exit(&listed, 0);
    let listed = text(&listed.stdout);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].contains("  Grafana  confidential, registered "), "{listed}");
    assert_eq!(lines[1], "1 app(s)");
}

async fn backup_is_only_for_sqlite(app: &TestApp) {
    let file = std::env::temp_dir().join(format!("{}.db", unique_name()));
    let refused = keycard(app, &["backup", file.to_str().unwrap()], "").await;
    assert_exit(&refused, 1);
    assert!(text(&refused.stderr).contains("use pg_dump"), "{}", text(&refused.stderr));
    assert!(!file.exists(), "no file is left behind");
}

async fn backup_restores_and_signs_in(app: &TestApp) {
    let (_owner, secret, _codes) = crate::two_step::enrolled(app, "kept@example.com").await;
    // Keycard keeps serving (and writing) while the copy is taken.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, mut client) = (stop.clone(), app.client());
        async move {
            // One address may sign up 10 times an hour (one went to the enrolled account): past 8
            // accounts the writer signs in and out again, which writes sessions and history, however
            // long the copy takes on a busy machine.
            let mut signed_up = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if signed_up < 8 {
                    client.sign_up(&format!("busy{signed_up}@example.com")).await.assert_redirect_to("/");
                    signed_up += 1;
                } else {
                    client.log_in("busy0@example.com", PASSWORD, false).await.assert_redirect_to("/");
                }
                client.post_form("/api/logout", "/", &[]).await;
            }
            signed_up
        }
    };
    let dir = TempDir(std::env::temp_dir().join(unique_name()));
    std::fs::create_dir_all(&dir.0).unwrap();
    let file = dir.0.join("keycard.db");
    let backup = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let output = keycard(app, &["backup", file.to_str().unwrap()], "").await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        output
    };
    let (signed_up, output) = tokio::join!(writer, backup);
    assert_exit(&output, 0);
    assert!(text(&output.stdout).contains("The secret key is not in this copy"), "{}", text(&output.stdout));
    assert!(signed_up > 0, "the server kept writing while the copy was taken");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let again = keycard(app, &["backup", file.to_str().unwrap()], "").await;
    assert_exit(&again, 1);
    assert!(text(&again.stderr).contains("must not exist yet"), "{}", text(&again.stderr));

    // Restore: the copy and, kept apart, the secret key, into a fresh data directory.
    std::fs::copy(app.state.config.data_dir.join("secret.key"), dir.0.join("secret.key")).unwrap();
    let url = keycard::core::config::sqlite_url_in(&dir.0);
    let config = keycard::core::config::Config::for_tests(&url, dir.0.clone());
    let restored = TestApp::start(config, TempDir(dir.0.join("unused")), None, "sqlite").await;
    let copied = restored.count("SELECT COUNT(*) FROM users").await;
    assert!(copied >= 1 && copied <= 1 + signed_up, "{copied} accounts in the copy");
    let integrity: String =
        sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&restored.state.db.pool).await.unwrap();
    assert_eq!(integrity, "ok");
    let mut browser = restored.client();
    browser.log_in("kept@example.com", PASSWORD, false).await.assert_redirect_to("/login/code");
    // The two-step secret decrypts with the key that was kept apart.
    let code = crate::two_step::code_at(&restored.clock, &secret, 0);
    crate::two_step::submit_code(&mut browser, &code).await.assert_redirect_to("/");
    assert_eq!(browser.get("/devices").await.status, 200);
    restored.cleanup().await;
}
