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

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::blocking::{Client, Response};
use reqwest::{Method, StatusCode, Url};
use serde::{Deserialize, Serialize};

const DEFAULT_SERVER: &str = "http://127.0.0.1:3000";
const DEFAULT_CLIENT_NAME: &str = "keycard-cli";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Refresh this many seconds before the access token's recorded expiry.
const EXPIRY_MARGIN_SECS: u64 = 10;

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
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn new(code: u8, message: impl Into<String>) -> Self {
        Failure { code, message: message.into() }
    }

    fn error(message: impl Into<String>) -> Self {
        Failure::new(1, message)
    }
}

type Outcome<T> = Result<T, Failure>;

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
struct Context {
    server: String,
    token_file: PathBuf,
    client_name: String,
    http: Client,
}

/// The token file's contents.
#[derive(Serialize, Deserialize)]
struct SavedTokens {
    server: String,
    access_token: String,
    refresh_token: String,
    access_expires_at: u64,
}

impl fmt::Debug for SavedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SavedTokens")
            .field("server", &self.server)
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("access_expires_at", &self.access_expires_at)
            .finish()
    }
}

/// A successful answer from `/oauth/token`.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: String,
    expires_in: u64,
    refresh_token: String,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &"[redacted]")
            .finish()
    }
}

/// The answer from `/oauth/device`.
#[derive(Deserialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    expires_in: u64,
    #[serde(default = "default_interval")]
    interval: u64,
}

fn default_interval() -> u64 {
    5
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("device_code", &"[redacted]")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish()
    }
}

/// An OAuth error body (RFC 6749 section 5.2).
#[derive(Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl OAuthError {
    fn describe(&self) -> String {
        match &self.error_description {
            Some(text) if !text.is_empty() => format!("{}: {}", self.error, text),
            _ => self.error.clone(),
        }
    }
}

#[derive(Deserialize)]
struct SessionList {
    sessions: Vec<SessionItem>,
}

#[derive(Deserialize)]
struct SessionItem {
    #[serde(default)]
    handle: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    last_active_at: String,
    #[serde(default)]
    current: bool,
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
fn print_line(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn usage_error(message: &str) -> Failure {
    Failure::new(2, format!("{message}\n\n{USAGE}"))
}

fn env_nonempty(name: &str) -> Option<String> {
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

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn unreachable_server(ctx: &Context, err: &reqwest::Error) -> Failure {
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
fn unexpected(what: &str, response: Response) -> Failure {
    let status = response.status();
    let body = response.text().unwrap_or_default();
    let body = body.trim();
    if body.is_empty() {
        Failure::error(format!("{what}: unexpected answer {status}"))
    } else {
        Failure::error(format!("{what}: unexpected answer {status}: {body}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Token file

fn load_tokens(ctx: &Context) -> Outcome<SavedTokens> {
    let not_connected = || Failure::new(3, "Not connected: run keycard-cli connect");
    let text = match std::fs::read_to_string(&ctx.token_file) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_connected()),
        Err(e) => return Err(Failure::error(format!("Could not read {}: {e}", ctx.token_file.display()))),
    };
    // Report only the position of a parse error: serde's message could quote part of a token.
    let tokens: SavedTokens = serde_json::from_str(&text).map_err(|e| {
        Failure::error(format!(
            "The token file {} is damaged (line {}, column {}); delete it and run keycard-cli connect",
            ctx.token_file.display(),
            e.line(),
            e.column()
        ))
    })?;
    if tokens.server.trim_end_matches('/') != ctx.server {
        return Err(Failure::new(
            3,
            format!(
                "Not connected to {} (the saved connection is for {}): run keycard-cli connect",
                ctx.server, tokens.server
            ),
        ));
    }
    Ok(tokens)
}

/// Writes the token file atomically: a private temporary file next to it, then a rename.
fn save_tokens(path: &Path, tokens: &SavedTokens) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_private_dir(&dir)?;

    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "tokens".into());
    let temp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let body = serde_json::to_vec_pretty(tokens).map_err(io::Error::other)?;

    let _ = std::fs::remove_file(&temp);
    let result = write_private_file(&temp, &body).and_then(|()| std::fs::rename(&temp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

fn write_private_file(path: &Path, body: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(body)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

fn forget_tokens(ctx: &Context) {
    match std::fs::remove_file(&ctx.token_file) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => eprintln!("Could not delete {}: {e}", ctx.token_file.display()),
    }
}

fn store_token_response(ctx: &Context, answer: TokenResponse) -> Outcome<SavedTokens> {
    let tokens = SavedTokens {
        server: ctx.server.clone(),
        access_token: answer.access_token,
        refresh_token: answer.refresh_token,
        access_expires_at: now_secs().saturating_add(answer.expires_in),
    };
    save_tokens(&ctx.token_file, &tokens).map_err(|e| {
        Failure::error(format!(
            "Could not save the new tokens to {}: {e}; run keycard-cli connect again",
            ctx.token_file.display()
        ))
    })?;
    Ok(tokens)
}

// ---------------------------------------------------------------------------------------------
// Refreshing

/// Exchanges the refresh token for a new pair and saves it before returning.
/// Unless `force` is set, a newer, still-valid pair written meanwhile by another run is used instead.
fn refresh(ctx: &Context, tokens: &mut SavedTokens, force: bool) -> Outcome<()> {
    // Another run of this tool may have refreshed since we read the file; using the refresh token it
    // replaced would end the connection, so pick up the newer pair if there is one.
    if let Ok(latest) = load_tokens(ctx) {
        if latest.refresh_token != tokens.refresh_token {
            *tokens = latest;
            if !force && now_secs().saturating_add(EXPIRY_MARGIN_SECS) < tokens.access_expires_at {
                return Ok(());
            }
        }
    }

    let lost = || Failure::error("The refresh answer was lost; if this keeps failing, run connect again.");
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens.refresh_token.as_str()),
        ("client_id", ctx.client_name.as_str()),
    ];
    let response = match ctx.http.post(format!("{}/oauth/token", ctx.server)).form(&form).send() {
        Ok(response) => response,
        // Nothing reached the server, so the refresh token is still good.
        Err(e) if e.is_connect() => return Err(unreachable_server(ctx, &e)),
        // The server may have rotated the token and the answer went missing: never replay it.
        Err(_) => return Err(lost()),
    };

    match response.status() {
        StatusCode::OK => {
            let answer: TokenResponse = response.json().map_err(|_| lost())?;
            *tokens = store_token_response(ctx, answer)?;
            Ok(())
        }
        StatusCode::BAD_REQUEST => {
            let body = response.text().unwrap_or_default();
            match serde_json::from_str::<OAuthError>(&body) {
                Ok(err) if err.error == "invalid_grant" => {
                    forget_tokens(ctx);
                    Err(Failure::new(3, "Signed out (401): this connection was ended. Run keycard-cli connect again."))
                }
                _ => Err(Failure::error(format!("Refresh failed: unexpected answer 400 Bad Request: {}", body.trim()))),
            }
        }
        _ => Err(unexpected("Refresh failed", response)),
    }
}

// ---------------------------------------------------------------------------------------------
// Calling the API

/// Sends an authenticated API request, refreshing the access token when it is (nearly) expired or
/// when the API rejects it, and retrying at most once.
fn call_api(ctx: &Context, method: Method, url: Url) -> Outcome<Response> {
    let mut tokens = load_tokens(ctx)?;
    if now_secs().saturating_add(EXPIRY_MARGIN_SECS) >= tokens.access_expires_at {
        refresh(ctx, &mut tokens, false)?;
    }
    let send = |tokens: &SavedTokens| {
        ctx.http
            .request(method.clone(), url.clone())
            .bearer_auth(&tokens.access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .map_err(|e| unreachable_server(ctx, &e))
    };
    let response = send(&tokens)?;
    if response.status() != StatusCode::UNAUTHORIZED {
        return Ok(response);
    }
    refresh(ctx, &mut tokens, false)?;
    send(&tokens)
}

fn api_url(ctx: &Context, segments: &[&str]) -> Outcome<Url> {
    let mut url =
        Url::parse(&ctx.server).map_err(|e| Failure::error(format!("Bad server address {}: {e}", ctx.server)))?;
    {
        let mut path =
            url.path_segments_mut().map_err(|()| Failure::error(format!("Bad server address {}", ctx.server)))?;
        path.pop_if_empty();
        path.extend(["api", "v1"]);
        // Each segment is percent-encoded, so a handle cannot escape its place in the path.
        path.extend(segments);
    }
    Ok(url)
}

fn show_me(ctx: &Context) -> Outcome<()> {
    let response = call_api(ctx, Method::GET, api_url(ctx, &["me"])?)?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("Request failed", response));
    }
    let body: serde_json::Value =
        response.json().map_err(|e| Failure::error(format!("The server's answer was not JSON: {e}")))?;
    let pretty = serde_json::to_string_pretty(&body).map_err(|e| Failure::error(e.to_string()))?;
    print_line(&pretty);
    Ok(())
}

fn list_sessions(ctx: &Context) -> Outcome<()> {
    let response = call_api(ctx, Method::GET, api_url(ctx, &["sessions"])?)?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("Request failed", response));
    }
    let list: SessionList =
        response.json().map_err(|e| Failure::error(format!("The server's answer was not understood: {e}")))?;
    for item in list.sessions {
        let marker = if item.current { "  (this connection)" } else { "" };
        print_line(&format!(
            "{}  {}  {}  last active {}{marker}",
            item.handle, item.name, item.ip, item.last_active_at
        ));
    }
    Ok(())
}

fn sign_out(ctx: &Context, handle: &str) -> Outcome<()> {
    let response = call_api(ctx, Method::DELETE, api_url(ctx, &["sessions", handle])?)?;
    match response.status() {
        status if status.is_success() => {
            print_line("Signed out.");
            Ok(())
        }
        StatusCode::NOT_FOUND => Err(Failure::error("No such session.")),
        _ => Err(unexpected("Request failed", response)),
    }
}

// ---------------------------------------------------------------------------------------------
// Connecting (RFC 8628 device authorization grant)

fn connect(ctx: &Context) -> Outcome<()> {
    let response = ctx
        .http
        .post(format!("{}/oauth/device", ctx.server))
        .form(&[("client_id", ctx.client_name.as_str())])
        .send()
        .map_err(|e| unreachable_server(ctx, &e))?;
    let device: DeviceAuthorization = match response.status() {
        StatusCode::OK => {
            response.json().map_err(|e| Failure::error(format!("The server's answer was not understood: {e}")))?
        }
        StatusCode::BAD_REQUEST | StatusCode::TOO_MANY_REQUESTS => {
            let body = response.text().unwrap_or_default();
            return Err(match serde_json::from_str::<OAuthError>(&body) {
                Ok(err) => Failure::error(format!("Could not start connecting: {}", err.describe())),
                Err(_) => Failure::error(format!("Could not start connecting: {}", body.trim())),
            });
        }
        _ => return Err(unexpected("Could not start connecting", response)),
    };

    print_line(&format!("Open {} and enter {}", device.verification_uri, device.user_code));
    print_line(&format!("Or open {}", device.verification_uri_complete));

    let deadline = Instant::now() + Duration::from_secs(device.expires_in);
    let override_ms = env_nonempty("KEYCARD_CLI_POLL_MS").and_then(|v| v.parse::<u64>().ok());
    let mut wait = match override_ms {
        Some(ms) => Duration::from_millis(ms),
        None => Duration::from_secs(device.interval.max(1)),
    };
    let slow_down = |wait: Duration| match override_ms {
        Some(_) => wait.saturating_mul(2),
        None => wait + Duration::from_secs(5),
    };
    let expired = || Failure::new(4, "The code expired; run connect again.");

    let form = [
        ("grant_type", DEVICE_GRANT),
        ("device_code", device.device_code.as_str()),
        ("client_id", ctx.client_name.as_str()),
    ];
    loop {
        if Instant::now() + wait > deadline {
            return Err(expired());
        }
        thread::sleep(wait);

        let response = match ctx.http.post(format!("{}/oauth/token", ctx.server)).form(&form).send() {
            Ok(response) => response,
            Err(e) => {
                // A poll is harmless to repeat; keep going until the code expires.
                eprintln!("Could not reach {} ({e}); still waiting.", ctx.server);
                continue;
            }
        };
        match response.status() {
            StatusCode::OK => {
                let answer: TokenResponse = response
                    .json()
                    .map_err(|e| Failure::error(format!("The server's answer was not understood: {e}")))?;
                store_token_response(ctx, answer)?;
                print_line("Connected.");
                return Ok(());
            }
            StatusCode::BAD_REQUEST | StatusCode::TOO_MANY_REQUESTS => {
                let status = response.status();
                let body = response.text().unwrap_or_default();
                let err = match serde_json::from_str::<OAuthError>(&body) {
                    Ok(err) => err,
                    Err(_) => return Err(Failure::error(format!("Connecting failed: {status}: {}", body.trim()))),
                };
                match err.error.as_str() {
                    "authorization_pending" => {}
                    "slow_down" | "too_many_requests" => wait = slow_down(wait),
                    "access_denied" => return Err(Failure::new(4, "The connection was denied.")),
                    "expired_token" => return Err(expired()),
                    _ => return Err(Failure::error(format!("Connecting failed: {}", err.describe()))),
                }
            }
            _ => return Err(unexpected("Connecting failed", response)),
        }
    }
}

#[cfg(test)]
mod tests {
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
