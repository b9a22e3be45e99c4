//! Configuration read once from the environment (every setting: docs/configuration.md).
//!
//! This file holds [`Config`] and how it is read; the settings that need more than a number or a
//! flag are parsed beside it: outgoing mail (`mail.rs`), where Keycard is reached (`origins.rs`),
//! trusted proxies (`proxies.rs`), and what must never be logged (`redact.rs`).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

mod mail;
mod origins;
mod proxies;
mod redact;
#[cfg(test)]
mod tests;

pub use mail::{MailConfig, SmtpSecurity, SmtpServer};
pub use origins::RelyingParty;
pub use proxies::{ClientIpHeader, ProxyRange};
pub use redact::{redact_url_password, Redacted};

use mail::mail_config;
use origins::{cors_origins, public_url};
use proxies::{client_ip_header, trusted_proxies};

/// Everything an operator can set. Built by [`Config::from_env`]; tests build it with
/// [`Config::for_tests`]. Its `Debug` output hides secrets (the database password, the key).
#[derive(Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    pub secure_cookies: bool,
    pub site_root: String,
    /// Signed-in sessions end after this long without a request.
    pub idle_timeout: Duration,
    /// Sessions end this long after sign-in, whatever their activity.
    pub absolute_lifetime: Duration,
    /// Absolute lifetime when "Remember this device" was ticked.
    pub remember_lifetime: Duration,
    /// "Last active" is written at most this often per session.
    pub last_seen_interval: Duration,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// `KEYCARD_HEADER_TIMEOUT_SECS`: a connection that has not sent a whole request head (request
    /// line and headers) this long after it opened, or after its previous response, is closed.
    pub header_read_timeout: Duration,
    /// `KEYCARD_REQUEST_TIMEOUT_SECS`: a request (reading its body and computing the answer) that
    /// takes longer is answered 503.
    pub request_timeout: Duration,
    /// `KEYCARD_RENDER_RETRY` (default `true`): page renders that stall are abandoned and rendered
    /// again ([`super::stalled_renders`]). `false` only to measure how often renders stall.
    pub render_retry: bool,
    /// `KEYCARD_MAX_CONNECTIONS`: open connections at most; further clients wait to be accepted.
    pub max_connections: usize,
    /// Peers whose [`Config::client_ip_header`] is believed: addresses or ranges.
    pub trusted_proxies: Vec<ProxyRange>,
    /// `KEYCARD_CLIENT_IP_HEADER`: the one header the proxy writes the client address into; none
    /// means the client address is always the TCP peer.
    pub client_ip_header: Option<ClientIpHeader>,
    /// How often expired sessions are marked ended and old ended ones deleted.
    pub session_sweep_interval: Duration,
    /// `KEYCARD_SECRET_KEY`: the key that encrypts secrets at rest; when unset, the key file in
    /// the data directory is used (see [`crate::core::secrets`]).
    pub secret_key: Option<Redacted>,
    /// `KEYCARD_TOTP_ISSUER`: the name authenticator apps show next to the account.
    pub totp_issuer: String,
    /// `KEYCARD_REAUTH_WINDOW_SECS`: how long a re-authentication allows sensitive changes.
    pub reauth_window: Duration,
    /// `KEYCARD_HISTORY_RETENTION_DAYS`: security history older than this is purged.
    pub history_retention_days: u64,
    /// `KEYCARD_SMTP_URL` and `KEYCARD_MAIL_FROM`: outgoing mail. `None` (no SMTP URL) means no mail
    /// is written or sent, and Keycard shows its notices in the app only.
    pub mail: Option<MailConfig>,
    /// `KEYCARD_PUBLIC_URL`: the address people reach Keycard at, for links in mail; no trailing
    /// slash. Defaults to `http://` and the listen address.
    pub public_url: String,
    /// `KEYCARD_ACCESS_TOKEN_SECS`: how long an app's access token works (default 15 minutes).
    pub access_token_lifetime: Duration,
    /// `KEYCARD_REFRESH_IDLE_SECS`: an app connection not refreshed for this long ends (30 days).
    pub refresh_idle_lifetime: Duration,
    /// `KEYCARD_REFRESH_LIFETIME_SECS`: an app connection ends this long after it was made,
    /// however used (90 days); then the app connects again.
    pub refresh_absolute_lifetime: Duration,
    /// `KEYCARD_CORS_ORIGINS`: comma-separated origins (`https://app.example`) whose scripts may
    /// call the OAuth endpoints and the API; none by default.
    pub cors_origins: Vec<String>,
    /// `KEYCARD_METRICS_TOKEN`: `/metrics` answers requests carrying `Authorization: Bearer` with
    /// this token; unset (and no [`Config::metrics_addr`]), there are no metrics.
    pub metrics_token: Option<Redacted>,
    /// `KEYCARD_METRICS_ADDR`: a separate listen address serving only `/metrics`, without a token
    /// (for a private network or loopback).
    pub metrics_addr: Option<SocketAddr>,
    /// `KEYCARD_LOG_FORMAT`: `text` (default) or `json` (one object per line, for log shippers).
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured so that a new field cannot be added without deciding how it is printed.
        let Config {
            addr,
            data_dir,
            database_url,
            secure_cookies,
            site_root,
            idle_timeout,
            absolute_lifetime,
            remember_lifetime,
            last_seen_interval,
            max_body_bytes,
            header_read_timeout,
            request_timeout,
            render_retry,
            max_connections,
            trusted_proxies,
            client_ip_header,
            session_sweep_interval,
            secret_key,
            totp_issuer,
            reauth_window,
            history_retention_days,
            mail,
            public_url,
            access_token_lifetime,
            refresh_idle_lifetime,
            refresh_absolute_lifetime,
            cors_origins,
            metrics_token,
            metrics_addr,
            log_format,
        } = self;
        f.debug_struct("Config")
            .field("addr", addr)
            .field("data_dir", data_dir)
            .field("database_url", &redact_url_password(database_url))
            .field("secure_cookies", secure_cookies)
            .field("site_root", site_root)
            .field("idle_timeout", idle_timeout)
            .field("absolute_lifetime", absolute_lifetime)
            .field("remember_lifetime", remember_lifetime)
            .field("last_seen_interval", last_seen_interval)
            .field("max_body_bytes", max_body_bytes)
            .field("header_read_timeout", header_read_timeout)
            .field("request_timeout", request_timeout)
            .field("render_retry", render_retry)
            .field("max_connections", max_connections)
            .field("trusted_proxies", trusted_proxies)
            .field("client_ip_header", client_ip_header)
            .field("session_sweep_interval", session_sweep_interval)
            .field("secret_key", secret_key)
            .field("totp_issuer", totp_issuer)
            .field("reauth_window", reauth_window)
            .field("history_retention_days", history_retention_days)
            .field("mail", mail)
            .field("public_url", public_url)
            .field("access_token_lifetime", access_token_lifetime)
            .field("refresh_idle_lifetime", refresh_idle_lifetime)
            .field("refresh_absolute_lifetime", refresh_absolute_lifetime)
            .field("cors_origins", cors_origins)
            .field("metrics_token", metrics_token)
            .field("metrics_addr", metrics_addr)
            .field("log_format", log_format)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    name: &'static str,
    problem: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(raw) => {
            raw.trim().parse().map_err(|e: T::Err| ConfigError { name, problem: format!("cannot parse {raw:?}: {e}") })
        }
    }
}

fn seconds(name: &'static str, default: u64) -> Result<Duration, ConfigError> {
    let value = parse(name, default)?;
    if value == 0 {
        return Err(ConfigError { name, problem: "must be at least 1 second".into() });
    }
    Ok(Duration::from_secs(value))
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let addr_default: SocketAddr = var("LEPTOS_SITE_ADDR")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| "127.0.0.1:3000".parse().expect("valid default address"));
        let data_dir: PathBuf = var("KEYCARD_DATA_DIR").unwrap_or_else(|| "./data".into()).into();
        let database_url = var("KEYCARD_DATABASE_URL").unwrap_or_else(|| sqlite_url_in(&data_dir));
        let site_root =
            var("KEYCARD_SITE_ROOT").or_else(|| var("LEPTOS_SITE_ROOT")).unwrap_or_else(|| "target/site".into());
        let addr = parse("KEYCARD_ADDR", addr_default)?;
        Ok(Config {
            addr,
            data_dir,
            database_url,
            secure_cookies: parse("KEYCARD_SECURE_COOKIES", false)?,
            site_root,
            idle_timeout: seconds("KEYCARD_IDLE_TIMEOUT_SECS", 30 * 60)?,
            absolute_lifetime: seconds("KEYCARD_SESSION_LIFETIME_SECS", 12 * 3600)?,
            remember_lifetime: seconds("KEYCARD_REMEMBER_LIFETIME_SECS", 30 * 24 * 3600)?,
            last_seen_interval: seconds("KEYCARD_LAST_SEEN_INTERVAL_SECS", 60)?,
            max_body_bytes: parse("KEYCARD_MAX_BODY_BYTES", 16 * 1024)?,
            header_read_timeout: seconds("KEYCARD_HEADER_TIMEOUT_SECS", 30)?,
            request_timeout: seconds("KEYCARD_REQUEST_TIMEOUT_SECS", 30)?,
            render_retry: parse("KEYCARD_RENDER_RETRY", true)?,
            max_connections: match parse("KEYCARD_MAX_CONNECTIONS", 1024usize)? {
                0 => return Err(ConfigError { name: "KEYCARD_MAX_CONNECTIONS", problem: "must be at least 1".into() }),
                n => n,
            },
            trusted_proxies: trusted_proxies(var("KEYCARD_TRUSTED_PROXIES").as_deref())?,
            client_ip_header: client_ip_header(var("KEYCARD_CLIENT_IP_HEADER").as_deref())?,
            session_sweep_interval: seconds("KEYCARD_SESSION_SWEEP_INTERVAL_SECS", 5 * 60)?,
            secret_key: var("KEYCARD_SECRET_KEY").map(Redacted),
            totp_issuer: totp_issuer(var("KEYCARD_TOTP_ISSUER"))?,
            reauth_window: seconds("KEYCARD_REAUTH_WINDOW_SECS", 600)?,
            history_retention_days: match parse("KEYCARD_HISTORY_RETENTION_DAYS", 365u64)? {
                0 => {
                    return Err(ConfigError {
                        name: "KEYCARD_HISTORY_RETENTION_DAYS",
                        problem: "must be at least 1 day".into(),
                    })
                }
                days => days,
            },
            mail: mail_config(var("KEYCARD_SMTP_URL").as_deref(), var("KEYCARD_MAIL_FROM").as_deref())?,
            public_url: public_url(var("KEYCARD_PUBLIC_URL").as_deref(), addr)?,
            access_token_lifetime: seconds("KEYCARD_ACCESS_TOKEN_SECS", 15 * 60)?,
            refresh_idle_lifetime: seconds("KEYCARD_REFRESH_IDLE_SECS", 30 * 24 * 3600)?,
            refresh_absolute_lifetime: seconds("KEYCARD_REFRESH_LIFETIME_SECS", 90 * 24 * 3600)?,
            cors_origins: cors_origins(var("KEYCARD_CORS_ORIGINS").as_deref())?,
            metrics_token: metrics_token(var("KEYCARD_METRICS_TOKEN"))?,
            metrics_addr: var("KEYCARD_METRICS_ADDR")
                .map(|raw| {
                    raw.trim().parse().map_err(|e| ConfigError {
                        name: "KEYCARD_METRICS_ADDR",
                        problem: format!("cannot parse {raw:?}: {e}"),
                    })
                })
                .transpose()?,
            log_format: log_format(var("KEYCARD_LOG_FORMAT").as_deref())?,
        })
    }

    /// Defaults with the given database; used by the integration tests.
    pub fn for_tests(database_url: &str, data_dir: PathBuf) -> Self {
        Config {
            addr: "127.0.0.1:0".parse().expect("valid address"),
            data_dir,
            database_url: database_url.to_owned(),
            secure_cookies: false,
            site_root: "target/site".into(),
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_lifetime: Duration::from_secs(12 * 3600),
            remember_lifetime: Duration::from_secs(30 * 24 * 3600),
            last_seen_interval: Duration::from_secs(60),
            max_body_bytes: 16 * 1024,
            header_read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            render_retry: true,
            max_connections: 1024,
            trusted_proxies: Vec::new(),
            client_ip_header: None,
            session_sweep_interval: Duration::from_secs(5 * 60),
            secret_key: None,
            totp_issuer: "Keycard".into(),
            reauth_window: Duration::from_secs(600),
            history_retention_days: 365,
            mail: None,
            // The host the test client sends.
            public_url: "http://127.0.0.1:3000".into(),
            access_token_lifetime: Duration::from_secs(15 * 60),
            refresh_idle_lifetime: Duration::from_secs(30 * 24 * 3600),
            refresh_absolute_lifetime: Duration::from_secs(90 * 24 * 3600),
            cors_origins: Vec::new(),
            metrics_token: None,
            metrics_addr: None,
            log_format: LogFormat::Text,
        }
    }

    /// The session cookie's name; `__Host-` requires Secure, Path=/ and no Domain.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-keycard_session"
        } else {
            "keycard_session"
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// The default database: a file in the data directory, created on first run.
pub fn sqlite_url_in(data_dir: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("keycard.db").display())
}

/// The issuer goes into `otpauth://` URIs, where a colon would split the label.
fn totp_issuer(raw: Option<String>) -> Result<String, ConfigError> {
    let issuer = raw.map(|s| s.trim().to_owned()).unwrap_or_else(|| "Keycard".into());
    if issuer.contains(':') || issuer.chars().any(char::is_control) || issuer.chars().count() > 64 {
        return Err(ConfigError {
            name: "KEYCARD_TOTP_ISSUER",
            problem: "use at most 64 characters, without colons".into(),
        });
    }
    Ok(issuer)
}

/// Shortest metrics token accepted: it is a password for the metrics page.
pub const MIN_METRICS_TOKEN_CHARS: usize = 16;

fn metrics_token(raw: Option<String>) -> Result<Option<Redacted>, ConfigError> {
    match raw.map(|raw| raw.trim().to_owned()) {
        Some(token) if token.chars().count() < MIN_METRICS_TOKEN_CHARS => Err(ConfigError {
            name: "KEYCARD_METRICS_TOKEN",
            problem: format!("must be at least {MIN_METRICS_TOKEN_CHARS} characters (e.g. `openssl rand -hex 32`)"),
        }),
        token => Ok(token.map(Redacted)),
    }
}

/// `KEYCARD_LOG_FORMAT`, also read by [`super::telemetry::init`] before the rest.
pub fn log_format(raw: Option<&str>) -> Result<LogFormat, ConfigError> {
    match raw.map(|raw| raw.trim().to_ascii_lowercase()).as_deref() {
        None | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => {
            Err(ConfigError { name: "KEYCARD_LOG_FORMAT", problem: format!("{other:?} is not text or json") })
        }
    }
}
