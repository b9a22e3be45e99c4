//! Configuration read once from the environment (see README "Configuration").

use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// Everything an operator can set. Built by [`Config::from_env`]; tests build it with
/// [`Config::for_tests`].
#[derive(Clone, Debug)]
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
    /// Peers whose `Forwarded` / `X-Forwarded-For` headers are believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
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
}

/// A configuration value that must never reach logs (`Debug` prints `[redacted]`).
#[derive(Clone)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
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
        Some(raw) => raw.trim().parse().map_err(|e: T::Err| ConfigError {
            name,
            problem: format!("cannot parse {raw:?}: {e}"),
        }),
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
        let database_url = var("KEYCARD_DATABASE_URL")
            .unwrap_or_else(|| sqlite_url_in(&data_dir));
        let site_root = var("KEYCARD_SITE_ROOT")
            .or_else(|| var("LEPTOS_SITE_ROOT"))
            .unwrap_or_else(|| "target/site".into());
        Ok(Config {
            addr: parse("KEYCARD_ADDR", addr_default)?,
            data_dir,
            database_url,
            secure_cookies: parse("KEYCARD_SECURE_COOKIES", false)?,
            site_root,
            idle_timeout: seconds("KEYCARD_IDLE_TIMEOUT_SECS", 30 * 60)?,
            absolute_lifetime: seconds("KEYCARD_SESSION_LIFETIME_SECS", 12 * 3600)?,
            remember_lifetime: seconds("KEYCARD_REMEMBER_LIFETIME_SECS", 30 * 24 * 3600)?,
            last_seen_interval: seconds("KEYCARD_LAST_SEEN_INTERVAL_SECS", 60)?,
            max_body_bytes: parse("KEYCARD_MAX_BODY_BYTES", 16 * 1024)?,
            trusted_proxies: trusted_proxies(var("KEYCARD_TRUSTED_PROXIES").as_deref())?,
            session_sweep_interval: seconds("KEYCARD_SESSION_SWEEP_INTERVAL_SECS", 5 * 60)?,
            secret_key: var("KEYCARD_SECRET_KEY").map(Redacted),
            totp_issuer: totp_issuer(var("KEYCARD_TOTP_ISSUER"))?,
            reauth_window: seconds("KEYCARD_REAUTH_WINDOW_SECS", 600)?,
            history_retention_days: match parse("KEYCARD_HISTORY_RETENTION_DAYS", 365u64)? {
                0 => return Err(ConfigError { name: "KEYCARD_HISTORY_RETENTION_DAYS", problem: "must be at least 1 day".into() }),
                days => days,
            },
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
            trusted_proxies: Vec::new(),
            session_sweep_interval: Duration::from_secs(5 * 60),
            secret_key: None,
            totp_issuer: "Keycard".into(),
            reauth_window: Duration::from_secs(600),
            history_retention_days: 365,
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

fn trusted_proxies(raw: Option<&str>) -> Result<Vec<std::net::IpAddr>, ConfigError> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse().map_err(|_| ConfigError {
                name: "KEYCARD_TRUSTED_PROXIES",
                problem: format!("{s:?} is not an IP address"),
            })
        })
        .collect()
}
