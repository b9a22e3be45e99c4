//! `keycard-cli`: a small command-line client for a Keycard server.
//!
//! Usage: `keycard-cli [--server URL] [--token-file PATH] [--client-name NAME] <command>`
//!
//! Commands:
//! - `connect`: link this machine to your account with the device flow (RFC 8628): the tool prints an
//!   address and a short code, you approve the connection in a signed-in browser, and the tool stores
//!   the tokens it receives.
//! - `me`: print the account this connection belongs to (JSON).
//! - `sessions`: list the account's browser sessions and connected apps.
//! - `sign-out <handle>`: end one browser session or app connection.
//! - `refresh`: exchange the refresh token for a new token pair now.
//!
//! Defaults: the server is `$KEYCARD_URL` or `http://127.0.0.1:3000`; the token file is
//! `$KEYCARD_CLI_TOKENS` or `$HOME/.config/keycard-cli/tokens.json` (written with mode 0600 by
//! writing a temporary file and renaming it); the client name is `keycard-cli`.
//!
//! Tokens: the access token is short-lived and is refreshed automatically shortly before it expires,
//! or once after the API answers 401. Refresh tokens rotate: every refresh returns a new pair, which
//! is saved before the new access token is used. A refresh token works only once, and presenting an
//! already-used one makes the server end the whole connection. So when the answer to a refresh is lost
//! on the network, this tool does not retry with the same refresh token; it reports the loss and exits,
//! and if the connection was ended as a result, run `connect` again. When the server refuses the
//! refresh token (`invalid_grant`) the token file is deleted and the tool exits with status 3.
//! Tokens are never printed.
//!
//! Exit status: 0 success, 1 error, 2 bad usage, 3 not connected or signed out, 4 connection denied
//! or code expired.

mod api;
mod connect;
mod tokens;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::blocking::{Client, Response};
use reqwest::Url;
use serde::Deserialize;

use api::{list_sessions, show_me, sign_out};
use connect::connect;
use tokens::{load_tokens, refresh};

const DEFAULT_SERVER: &str = "http://127.0.0.1:3000";
const DEFAULT_CLIENT_NAME: &str = "keycard-cli";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

const USAGE: &str = "\
Usage: keycard-cli [--server URL] [--token-file PATH] [--client-name NAME] <command>

Commands:
  connect             connect this machine to your Keycard account
  me                  show the account this connection belongs to
  sessions            list browser sessions and connected apps
  sign-out <handle>   end a browser session or app connection
  refresh             get a new access token now

Options:
  --server URL        Keycard server (default: $KEYCARD_URL or http://127.0.0.1:3000)
  --token-file PATH   where tokens are kept (default: $KEYCARD_CLI_TOKENS or
                      $HOME/.config/keycard-cli/tokens.json)
  --client-name NAME  name shown for this connection (default: keycard-cli)
  -h, --help          show this help";

/// Why the program stops early: an exit status and a message for stderr.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    fn new(code: u8, message: impl Into<String>) -> Self {
        Failure { code, message: message.into() }
    }

    fn error(message: impl Into<String>) -> Self {
        Failure::new(1, message)
    }
}

pub(crate) type Outcome<T> = Result<T, Failure>;

enum Command {
    Connect,
    Me,
    Sessions,
    SignOut(String),
    Refresh,
}

struct Settings {
    server: String,
    token_file: PathBuf,
    client_name: String,
    command: Command,
}

/// What the command line asked for.
enum Invocation {
    Help,
    Run(Settings),
}

/// Everything a command needs: settings plus a configured HTTP client.
pub(crate) struct Context {
    pub(crate) server: String,
    pub(crate) token_file: PathBuf,
    pub(crate) client_name: String,
    pub(crate) http: Client,
}

/// An OAuth error body (RFC 6749 section 5.2).
#[derive(Deserialize)]
pub(crate) struct OAuthError {
    pub(crate) error: String,
    #[serde(default)]
    pub(crate) error_description: Option<String>,
}

impl OAuthError {
    fn describe(&self) -> String {
        match &self.error_description {
            Some(text) if !text.is_empty() => format!("{}: {}", self.error, text),
            _ => self.error.clone(),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match parse_args(&args) {
        Ok(Invocation::Help) => {
            print_line(USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Invocation::Run(settings)) => settings,
        Err(failure) => return report(failure),
    };
    match run(settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(failure),
    }
}

fn report(failure: Failure) -> ExitCode {
    if !failure.message.is_empty() {
        eprintln!("{}", failure.message);
    }
    ExitCode::from(failure.code)
}

/// Writes one line to stdout and flushes it; a closed stdout is not worth a panic.
pub(crate) fn print_line(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn usage_error(message: &str) -> Failure {
    Failure::new(2, format!("{message}\n\n{USAGE}"))
}

pub(crate) fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn parse_args(args: &[String]) -> Outcome<Invocation> {
    let mut server = None;
    let mut token_file = None;
    let mut client_name = None;
    let mut words = Vec::new();

    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if arg.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let slot = match flag {
            "-h" | "--help" => return Ok(Invocation::Help),
            "--server" => &mut server,
            "--token-file" => &mut token_file,
            "--client-name" => &mut client_name,
            "--" => {
                words.extend(iter.by_ref().cloned());
                break;
            }
            other if other.starts_with('-') && other.len() > 1 => {
                return Err(usage_error(&format!("Unknown option {other}")));
            }
            _ => {
                words.push(arg.clone());
                continue;
            }
        };
        let value = match inline {
            Some(value) => value,
            None => iter.next().cloned().ok_or_else(|| usage_error(&format!("{flag} needs a value")))?,
        };
        *slot = Some(value);
    }

    let command = match words.as_slice() {
        [] => return Err(usage_error("No command given")),
        [cmd] if cmd == "connect" => Command::Connect,
        [cmd] if cmd == "me" => Command::Me,
        [cmd] if cmd == "sessions" => Command::Sessions,
        [cmd] if cmd == "refresh" => Command::Refresh,
        [cmd, handle] if cmd == "sign-out" && !handle.is_empty() => Command::SignOut(handle.clone()),
        [cmd] if cmd == "sign-out" => return Err(usage_error("sign-out needs a session handle")),
        [cmd, ..] => return Err(usage_error(&format!("Unknown command or extra arguments after {cmd}"))),
    };

    let server = server.or_else(|| env_nonempty("KEYCARD_URL")).unwrap_or_else(|| DEFAULT_SERVER.to_string());
    let server = server.trim_end_matches('/').to_string();
    match Url::parse(&server) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {}
        _ => return Err(usage_error(&format!("Not a usable server address: {server}"))),
    }

    let token_file = match token_file.or_else(|| env_nonempty("KEYCARD_CLI_TOKENS")) {
        Some(path) => PathBuf::from(path),
        None => default_token_file()?,
    };

    let client_name = client_name.unwrap_or_else(|| DEFAULT_CLIENT_NAME.to_string());
    if client_name.is_empty() {
        return Err(usage_error("--client-name must not be empty"));
    }

    Ok(Invocation::Run(Settings { server, token_file, client_name, command }))
}

fn default_token_file() -> Outcome<PathBuf> {
    let home = env_nonempty("HOME").or_else(|| env_nonempty("USERPROFILE")).ok_or_else(|| {
        usage_error("Cannot tell where your home directory is; use --token-file or set KEYCARD_CLI_TOKENS")
    })?;
    Ok(Path::new(&home).join(".config").join("keycard-cli").join("tokens.json"))
}

fn run(settings: Settings) -> Outcome<()> {
    let user_agent = format!("keycard-cli/{} ({})", env!("CARGO_PKG_VERSION"), std::env::consts::OS);
    let http = Client::builder()
        .user_agent(user_agent)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| Failure::error(format!("Could not set up the HTTP client: {e}")))?;
    let ctx =
        Context { server: settings.server, token_file: settings.token_file, client_name: settings.client_name, http };
    match settings.command {
        Command::Connect => connect(&ctx),
        Command::Me => show_me(&ctx),
        Command::Sessions => list_sessions(&ctx),
        Command::SignOut(handle) => sign_out(&ctx, &handle),
        Command::Refresh => {
            let mut tokens = load_tokens(&ctx)?;
            refresh(&ctx, &mut tokens, true)?;
            print_line("Refreshed.");
            Ok(())
        }
    }
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A JSON answer read as `T`.
pub(crate) fn read_answer<T: serde::de::DeserializeOwned>(response: Response) -> Outcome<T> {
    response.json().map_err(|e| Failure::error(format!("The server's answer was not understood: {e}")))
}

pub(crate) fn unreachable_server(ctx: &Context, err: &reqwest::Error) -> Failure {
    // reqwest's own message is terse ("error sending request"); the underlying causes say why.
    let mut message = format!("Could not reach {}: {err}", ctx.server);
    let mut cause = std::error::Error::source(err);
    while let Some(inner) = cause {
        message.push_str(&format!(": {inner}"));
        cause = inner.source();
    }
    Failure::error(message)
}

/// Reads a response body for an error message; the body of an error answer never carries tokens.
pub(crate) fn unexpected(what: &str, response: Response) -> Failure {
    let status = response.status();
    let body = response.text().unwrap_or_default();
    let body = body.trim();
    if body.is_empty() {
        Failure::error(format!("{what}: unexpected answer {status}"))
    } else {
        Failure::error(format!("{what}: unexpected answer {status}: {body}"))
    }
}

#[cfg(test)]
mod tests {
    use super::api::api_url;
    use super::tokens::{save_tokens, SavedTokens};
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_options_and_command() {
        let parsed = parse_args(&args(&[
            "--server",
            "http://example.test:8080/",
            "--token-file=/tmp/t.json",
            "sign-out",
            "abc",
        ]));
        let Ok(Invocation::Run(settings)) = parsed else { panic!("expected settings") };
        assert_eq!(settings.server, "http://example.test:8080");
        assert_eq!(settings.token_file, PathBuf::from("/tmp/t.json"));
        assert_eq!(settings.client_name, "keycard-cli");
        assert!(matches!(settings.command, Command::SignOut(ref h) if h == "abc"));
    }

    #[test]
    fn rejects_bad_usage() {
        for bad in [&[][..], &["bogus"], &["me", "extra"], &["sign-out"], &["--server"], &["--nope", "me"]] {
            match parse_args(&args(bad)) {
                Err(failure) => assert_eq!(failure.code, 2, "{bad:?}"),
                Ok(_) => panic!("accepted {bad:?}"),
            }
        }
    }

    #[test]
    fn debug_redacts_tokens() {
        let tokens = SavedTokens {
            server: "http://x".into(),
            access_token: "secret-access".into(),
            refresh_token: "secret-refresh".into(),
            access_expires_at: 1,
        };
        let shown = format!("{tokens:?}");
        assert!(!shown.contains("secret"));
    }

    #[test]
    fn api_url_encodes_handle() {
        let ctx = Context {
            server: "http://h:1/prefix".into(),
            token_file: PathBuf::from("t"),
            client_name: "c".into(),
            http: Client::new(),
        };
        let Ok(url) = api_url(&ctx, &["sessions", "a/../b"]) else { panic!("url") };
        assert_eq!(url.as_str(), "http://h:1/prefix/api/v1/sessions/a%2F..%2Fb");
    }

    #[test]
    fn save_writes_private_file() {
        let dir = std::env::temp_dir().join(format!("keycard-cli-test-{}", std::process::id()));
        let path = dir.join("nested").join("tokens.json");
        let tokens = SavedTokens {
            server: "s".into(),
            access_token: "a".into(),
            refresh_token: "r".into(),
            access_expires_at: 5,
        };
        assert!(save_tokens(&path, &tokens).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let Ok(meta) = std::fs::metadata(&path) else { panic!("metadata") };
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
