//! Configuration read once from the environment (see README "Configuration").

use std::{net::SocketAddr, path::PathBuf, time::Duration};

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
    /// Peers whose [`Config::client_ip_header`] is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
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
}

/// The header a trusted proxy writes the client address into (`KEYCARD_CLIENT_IP_HEADER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientIpHeader {
    /// `X-Forwarded-For: client, proxy1, …`
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`
    Forwarded,
    /// `X-Real-IP: client` (a single address)
    XRealIp,
}

impl ClientIpHeader {
    /// The header's name, lower case.
    pub fn name(self) -> &'static str {
        match self {
            ClientIpHeader::XForwardedFor => "x-forwarded-for",
            ClientIpHeader::Forwarded => "forwarded",
            ClientIpHeader::XRealIp => "x-real-ip",
        }
    }
}

impl std::str::FromStr for ClientIpHeader {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ClientIpHeader::XForwardedFor),
            "forwarded" => Ok(ClientIpHeader::Forwarded),
            "x-real-ip" => Ok(ClientIpHeader::XRealIp),
            _ => Err(format!("{raw:?} is not one of x-forwarded-for, forwarded, x-real-ip")),
        }
    }
}

fn client_ip_header(raw: Option<&str>) -> Result<Option<ClientIpHeader>, ConfigError> {
    raw.map(|raw| raw.parse().map_err(|problem| ConfigError { name: "KEYCARD_CLIENT_IP_HEADER", problem })).transpose()
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
            .finish()
    }
}

/// A database URL fit for logs: the password of its user part (`postgres://user:pw@host/db`) and
/// any `password=` / `sslpassword=` query parameter read `[redacted]`.
pub fn redact_url_password(url: &str) -> String {
    const HIDDEN: &str = "[redacted]";
    let (before_query, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut out = String::with_capacity(url.len());
    match before_query.split_once("://") {
        Some((scheme, rest)) => {
            out.push_str(scheme);
            out.push_str("://");
            // The last `@` ends the user part, even when an unencoded password holds `/` or `@`.
            match rest.rsplit_once('@') {
                Some((userinfo, host_and_path)) => {
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push(':');
                            out.push_str(HIDDEN);
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push('@');
                    out.push_str(host_and_path);
                }
                None => out.push_str(rest),
            }
        }
        None => out.push_str(before_query),
    }
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.to_ascii_lowercase().contains("password") => {
                    format!("{key}={HIDDEN}")
                }
                _ => pair.to_owned(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
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
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_database_password() {
        let mut config = Config::for_tests(
            "postgres://keycard:s3cr3t-Pa55@db.internal:5432/keycard?sslmode=require&password=other-s3cr3t",
            "data".into(),
        );
        config.secret_key = Some(Redacted("00ff00ff".into()));
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(!printed.contains("00ff00ff"), "{printed}");
        assert!(
            printed.contains("postgres://keycard:[redacted]@db.internal:5432/keycard?sslmode=require"),
            "{printed}"
        );
        // The field itself is still the whole URL for the code that connects.
        assert!(config.database_url.contains("s3cr3t-Pa55"));
    }

    #[test]
    fn redacts_only_passwords() {
        assert_eq!(redact_url_password("postgres://u:p@h/db"), "postgres://u:[redacted]@h/db");
        assert_eq!(redact_url_password("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url_password("postgres://u:p%40x@h:1/db"), "postgres://u:[redacted]@h:1/db");
        assert_eq!(redact_url_password("postgres://u:p@x@h/db"), "postgres://u:[redacted]@h/db");
        assert_eq!(redact_url_password("postgres://u:p/x@h/db"), "postgres://u:[redacted]@h/db");
        assert_eq!(
            redact_url_password("postgres://h/db?user=u&password=p"),
            "postgres://h/db?user=u&password=[redacted]"
        );
        assert_eq!(redact_url_password("sqlite://data/keycard.db?mode=rwc"), "sqlite://data/keycard.db?mode=rwc");
    }

    #[test]
    fn client_ip_header_names() {
        assert_eq!(client_ip_header(None).unwrap(), None);
        assert_eq!(client_ip_header(Some("X-Forwarded-For")).unwrap(), Some(ClientIpHeader::XForwardedFor));
        assert_eq!(client_ip_header(Some(" forwarded ")).unwrap(), Some(ClientIpHeader::Forwarded));
        assert_eq!(client_ip_header(Some("X-REAL-IP")).unwrap(), Some(ClientIpHeader::XRealIp));
        let err = client_ip_header(Some("cf-connecting-ip")).unwrap_err();
        assert!(err.to_string().starts_with("KEYCARD_CLIENT_IP_HEADER: "), "{err}");
    }
}
