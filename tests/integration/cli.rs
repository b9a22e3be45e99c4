//! The example client, `keycard-cli`, as a real process against Keycard over real TCP: it asks for
//! a code, the browser approves it, the client stores its tokens, calls the API, refreshes its
//! access token when it has expired, and learns it was signed out when the devices page ends it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use keycard::core::listener::{serve_connections, ConnectionLimits};
use tokio::net::TcpListener;

use crate::common::{unique_name, TestApp};

on_both_databases!(the_example_client_connects_refreshes_and_is_signed_out);

const CLI: &str = env!("CARGO_BIN_EXE_keycard-cli");

struct Cli {
    server: String,
    token_file: std::path::PathBuf,
}

impl Cli {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(CLI);
        command.args(["--server", &self.server]).arg("--token-file").arg(&self.token_file).args(args);
        command.env_remove("KEYCARD_URL").env_remove("KEYCARD_CLI_TOKENS").env_remove("KEYCARD_CLI_POLL_MS");
        command
    }

    /// Runs a command to its end, off the async runtime.
    async fn run(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        tokio::task::spawn_blocking(move || command.output().expect("keycard-cli runs")).await.unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn the_example_client_connects_refreshes_and_is_signed_out(app: &TestApp) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let router = keycard::server::app(app.state.clone());
    let limits = ConnectionLimits { header_read_timeout: Duration::from_secs(30), max_connections: 64 };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_connections(listener, router, limits, async {
        let _ = stopped.await;
    }));
    let dir = std::env::temp_dir().join(unique_name());
    let cli = Cli { server: format!("http://{addr}"), token_file: dir.join("tokens.json") };

    let not_yet = cli.run(&["me"]).await;
    assert_eq!(not_yet.status.code(), Some(3), "{}", text(&not_yet.stderr));

    let mut browser = app.client();
    browser.sign_up("cli@example.com").await.assert_redirect_to("/");
    browser.reauth(crate::common::PASSWORD, "/connect").await;

    // `connect` prints where to go and the code, then polls until the browser approves.
    let mut connecting = cli.command(&["connect"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stdout = connecting.stdout.take().unwrap();
    let (first_tx, first_rx) = tokio::sync::oneshot::channel();
    // Reads every line the client prints: the first goes to the test at once, the rest at the end.
    let printed = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let _ = first_tx.send(lines.next().unwrap_or_default());
        lines.collect::<Vec<_>>().join("\n")
    });
    let first_line = first_rx.await.unwrap();
    let code = first_line
        .trim()
        .strip_prefix("Open http://127.0.0.1:3000/connect and enter ")
        .unwrap_or_else(|| panic!("unexpected first line: {first_line:?}"))
        .to_owned();
    let page = browser.get(&format!("/connect?code={code}")).await;
    assert!(page.body.contains("keycard-cli") && page.body.contains(">Connect<"), "{}", page.body);
    browser
        .post_form("/api/connect/approve", "/connect", &[("code", &code)])
        .await
        .assert_redirect_to("/connect?done=connected");
    let connected = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || connecting.wait_with_output().unwrap()),
    )
    .await
    .expect("connect finishes within its polling interval")
    .unwrap();
    assert!(connected.status.success(), "{}", text(&connected.stderr));
    assert!(printed.await.unwrap().contains("Connected."));
    let saved = std::fs::read_to_string(&cli.token_file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cli.token_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the token file is private");
    }

    let me = cli.run(&["me"]).await;
    assert!(me.status.success(), "{}", text(&me.stderr));
    assert!(text(&me.stdout).contains("cli@example.com"), "{}", text(&me.stdout));
    // Nothing the client prints gives its tokens away.
    let saved: serde_json::Value = serde_json::from_str(&saved).unwrap();
    let access = saved["access_token"].as_str().unwrap();
    assert!(access.starts_with("kca_"));
    assert!(!text(&me.stdout).contains(access) && !text(&me.stderr).contains(access));

    // Its access token expires: the next call refreshes (one refresh token rotated) and works.
    app.clock.advance(15 * 60);
    let me = cli.run(&["me"]).await;
    assert!(me.status.success(), "{}", text(&me.stderr));
    assert_eq!(app.count("SELECT COUNT(*) FROM app_tokens WHERE kind = 'refresh' AND rotated_at IS NOT NULL").await, 1);

    let sessions = cli.run(&["sessions"]).await;
    assert!(text(&sessions.stdout).contains("(this connection)"), "{}", text(&sessions.stdout));

    // Signed out on the devices page: the next call answers 401, the refresh fails, the client says so.
    let devices = browser.get("/devices").await.body;
    assert!(devices.contains("Sign out keycard-cli"), "{devices}");
    let handle: String = sqlx::query_scalar("SELECT public_id FROM sessions WHERE client_name = 'keycard-cli'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    browser.post_form("/api/devices/sign-out", "/devices", &[("handle", &handle)]).await;
    let me = cli.run(&["me"]).await;
    assert_eq!(me.status.code(), Some(3), "{}", text(&me.stderr));
    assert!(text(&me.stderr).contains("Signed out (401)"), "{}", text(&me.stderr));
    assert!(!cli.token_file.exists(), "the client forgets tokens that no longer work");

    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(dir);
}
