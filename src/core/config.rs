//! Configuration read once from the environment (every setting: docs/configuration.md).

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

/// Outgoing mail: the SMTP server and the sender.
#[derive(Clone, Debug)]
pub struct MailConfig {
    pub smtp: SmtpServer,
    /// `KEYCARD_MAIL_FROM`: the `From` of every mail, e.g. `Keycard <keycard@example.com>`.
    pub from: lettre::message::Mailbox,
}

/// The SMTP server of `KEYCARD_SMTP_URL`, checked at start-up. `Debug` hides the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// User name and password for SMTP AUTH, from the URL's user part (percent-decoded).
    pub credentials: Option<(String, Redacted)>,
    /// The name given in `EHLO`: the URL's path (`smtp://host/keycard.example.com`), else the
    /// machine's host name.
    pub hello_name: Option<String>,
}

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtp://` (or `?tls=required`): STARTTLS, and the mail is not sent if the server does not
    /// offer it or its certificate is not trusted. Default port 587.
    StartTls,
    /// `smtps://`: TLS from the first byte. Default port 465.
    ImplicitTls,
    /// `smtp://…?tls=none`: no encryption, allowed only to a loopback host (a local relay).
    /// Default port 25.
    Plain,
}

impl SmtpServer {
    /// Parses `KEYCARD_SMTP_URL`. Error messages never repeat the URL: it may hold a password.
    pub fn parse(raw: &str) -> Result<SmtpServer, String> {
        use url::Host;
        let url = url::Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
        let mut tls = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "tls" if tls.is_none() => tls = Some(value.into_owned()),
                _ => return Err(format!("unknown or repeated parameter {key:?} (only tls= is read)")),
            }
        }
        let (host, loopback) = match url.host() {
            // smtp: is not a scheme the URL standard knows, so an IPv4 address arrives as a name.
            Some(Host::Domain(name)) => {
                let loopback = match name.parse::<std::net::Ipv4Addr>() {
                    Ok(ip) => ip.is_loopback(),
                    Err(_) => name.eq_ignore_ascii_case("localhost"),
                };
                (name.to_owned(), loopback)
            }
            Some(Host::Ipv4(ip)) => (ip.to_string(), ip.is_loopback()),
            Some(Host::Ipv6(ip)) => (ip.to_string(), ip.is_loopback()),
            None => return Err("no host".into()),
        };
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtp", None | Some("required")) => SmtpSecurity::StartTls,
            ("smtps", None) => SmtpSecurity::ImplicitTls,
            // Mail carries sign-in and reset links: in clear text only to a relay on this machine.
            ("smtp", Some("none")) if loopback => SmtpSecurity::Plain,
            ("smtp", Some("none")) => {
                return Err("plain SMTP (tls=none) is allowed only to a loopback host (127.0.0.1, ::1, localhost); \
                            use smtp:// (STARTTLS) or smtps:// (TLS)"
                    .into())
            }
            ("smtp", Some("opportunistic")) => {
                return Err("tls=opportunistic falls back to clear text when STARTTLS is stripped; use smtp:// \
                            (STARTTLS required) or smtps://"
                    .into())
            }
            ("smtp" | "smtps", Some(other)) => {
                return Err(format!("tls={other:?} is not one of required, none (smtps:// takes no tls=)"))
            }
            (scheme, _) => return Err(format!("scheme {scheme:?} is not smtp or smtps")),
        };
        let port = url.port().unwrap_or(match security {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::ImplicitTls => 465,
            SmtpSecurity::Plain => 25,
        });
        let decode = |part: &str| {
            percent_encoding::percent_decode_str(part)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| "the user part is not UTF-8 once percent-decoded".to_owned())
        };
        let credentials = match url.password() {
            Some(password) => Some((decode(url.username())?, Redacted(decode(password)?))),
            None if url.username().is_empty() => None,
            None => return Err("a user name without a password (write user:password@host)".into()),
        };
        let hello_name = Some(url.path().trim_matches('/')).filter(|p| !p.is_empty()).map(str::to_owned);
        Ok(SmtpServer { host, port, security, credentials, hello_name })
    }
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
#[derive(Clone, PartialEq, Eq)]
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

fn mail_config(smtp_url: Option<&str>, from: Option<&str>) -> Result<Option<MailConfig>, ConfigError> {
    let from = from
        .map(|raw| {
            raw.trim().parse::<lettre::message::Mailbox>().map_err(|e| ConfigError {
                name: "KEYCARD_MAIL_FROM",
                problem: format!("{raw:?} is not an address like `Keycard <keycard@example.com>` ({e})"),
            })
        })
        .transpose()?;
    let Some(smtp_url) = smtp_url else {
        return Ok(None);
    };
    let smtp = SmtpServer::parse(smtp_url).map_err(|problem| ConfigError { name: "KEYCARD_SMTP_URL", problem })?;
    let from = from.ok_or_else(|| ConfigError {
        name: "KEYCARD_MAIL_FROM",
        problem: "required when KEYCARD_SMTP_URL is set (the sender of Keycard's mail)".into(),
    })?;
    Ok(Some(MailConfig { smtp, from }))
}

/// Who passkeys are for (WebAuthn's relying party): a domain, and the origin browsers must show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelyingParty {
    pub id: String,
    pub origin: url::Url,
}

impl RelyingParty {
    /// The origin as people type it (`https://id.example.com`, `http://localhost:3000`).
    pub fn origin_text(&self) -> String {
        self.origin.as_str().trim_end_matches('/').to_owned()
    }
}

impl Config {
    /// From `KEYCARD_PUBLIC_URL` (or the listen address): its host is the id; its scheme, host and
    /// port the origin. Browsers refuse passkeys for an IP address, so a local run at
    /// `http://127.0.0.1:3000` ties passkeys to `http://localhost:3000` (the same server).
    pub fn relying_party(&self) -> RelyingParty {
        relying_party(&self.public_url)
    }
}

fn relying_party(public_url: &str) -> RelyingParty {
    let mut url = url::Url::parse(public_url).unwrap_or_else(|_| url::Url::parse("http://localhost").expect("a URL"));
    url.set_path("");
    if matches!(url.host(), Some(url::Host::Ipv4(_)) | Some(url::Host::Ipv6(_))) {
        let _ = url.set_host(Some("localhost"));
    }
    let id = url.host_str().unwrap_or("localhost").to_owned();
    RelyingParty { id, origin: url }
}

/// `KEYCARD_PUBLIC_URL`: an `http(s)://` origin with an optional path, kept without its trailing
/// slash so that links are written as `{public_url}/path`.
fn public_url(raw: Option<&str>, addr: SocketAddr) -> Result<String, ConfigError> {
    let Some(raw) = raw else {
        return Ok(format!("http://{addr}"));
    };
    let error = |problem: String| ConfigError { name: "KEYCARD_PUBLIC_URL", problem };
    let url = url::Url::parse(raw.trim()).map_err(|e| error(format!("{raw:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(error(format!("{raw:?} is not an http:// or https:// address")));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(error(format!("{raw:?}: give only the scheme, host, port and path")));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `https://app.example, http://localhost:5173`: each an origin (scheme, host, optional port, no path).
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

fn cors_origins(raw: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    raw.split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let problem = || ConfigError {
                name: "KEYCARD_CORS_ORIGINS",
                problem: format!("{origin:?} is not an origin like https://app.example"),
            };
            let url = url::Url::parse(origin).map_err(|_| problem())?;
            let bare = matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some()
                && url.path() == "/"
                && !origin.ends_with('/')
                && url.query().is_none()
                && url.username().is_empty();
            bare.then(|| origin.to_owned()).ok_or_else(problem)
        })
        .collect()
}

fn trusted_proxies(raw: Option<&str>) -> Result<Vec<ProxyRange>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|problem| ConfigError { name: "KEYCARD_TRUSTED_PROXIES", problem }))
        .collect()
}

/// One entry of `KEYCARD_TRUSTED_PROXIES`: an address (`10.0.0.7`, `2001:db8::7`) or a range in
/// CIDR notation (`172.28.0.0/24`, `2001:db8::/64`), for proxies whose address is not fixed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ProxyRange {
    network: std::net::IpAddr,
    prefix: u8,
}

impl ProxyRange {
    /// Whether `ip` is in the range (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl From<std::net::IpAddr> for ProxyRange {
    /// Just this address.
    fn from(ip: std::net::IpAddr) -> ProxyRange {
        let network = ip.to_canonical();
        ProxyRange { network, prefix: if network.is_ipv4() { 32 } else { 128 } }
    }
}

impl std::str::FromStr for ProxyRange {
    type Err = String;

    fn from_str(text: &str) -> Result<ProxyRange, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: std::net::IpAddr =
            address.parse().map_err(|_| format!("{text:?} is not an IP address or a range like 10.0.0.0/24"))?;
        let network = network.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(ProxyRange { network, prefix })
    }
}

impl std::fmt::Debug for ProxyRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
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
        config.metrics_token = Some(Redacted("metrics-token-0123456789".into()));
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(!printed.contains("00ff00ff"), "{printed}");
        assert!(!printed.contains("metrics-token-0123456789"), "{printed}");
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
    fn smtp_urls() {
        let server = SmtpServer::parse("smtp://mailer:p%40ss@mail.example.com").unwrap();
        assert_eq!(server.host, "mail.example.com");
        assert_eq!(server.port, 587);
        assert_eq!(server.security, SmtpSecurity::StartTls);
        assert_eq!(server.credentials, Some(("mailer".into(), Redacted("p@ss".into()))));
        let server = SmtpServer::parse("smtp://mail.example.com:2525?tls=required").unwrap();
        assert_eq!((server.port, server.security, server.credentials), (2525, SmtpSecurity::StartTls, None));
        let server = SmtpServer::parse("smtps://mail.example.com/keycard.example.com").unwrap();
        assert_eq!((server.port, server.security), (465, SmtpSecurity::ImplicitTls));
        assert_eq!(server.hello_name.as_deref(), Some("keycard.example.com"));
        for local in ["smtp://127.0.0.1:1025?tls=none", "smtp://[::1]:1025?tls=none", "smtp://localhost?tls=none"] {
            assert_eq!(SmtpServer::parse(local).unwrap().security, SmtpSecurity::Plain, "{local}");
        }
        assert_eq!(SmtpServer::parse("smtp://localhost?tls=none").unwrap().port, 25);
        let refused = SmtpServer::parse("smtp://u:hunter2@mail.example.com?tls=none").unwrap_err();
        assert!(refused.contains("loopback"), "{refused}");
        assert!(!refused.contains("hunter2"), "{refused}");
        assert!(SmtpServer::parse("smtp://10.0.0.5:25?tls=none").unwrap_err().contains("loopback"));
        assert!(SmtpServer::parse("smtp://mail.example.com?tls=opportunistic").is_err());
        assert!(SmtpServer::parse("smtps://mail.example.com?tls=none").is_err());
        assert!(SmtpServer::parse("http://mail.example.com").is_err());
        assert!(SmtpServer::parse("smtp://mail.example.com?tls=required&x=1").is_err());
        assert!(SmtpServer::parse("smtp://user@mail.example.com").is_err());
    }

    #[test]
    fn mail_settings() {
        assert!(mail_config(None, None).unwrap().is_none());
        let err = mail_config(Some("smtp://mail.example.com"), None).unwrap_err();
        assert!(err.to_string().starts_with("KEYCARD_MAIL_FROM: required"), "{err}");
        let err = mail_config(None, Some("not an address")).unwrap_err();
        assert!(err.to_string().starts_with("KEYCARD_MAIL_FROM: "), "{err}");
        let mail =
            mail_config(Some("smtp://u:s3cr3t@mail.example.com"), Some("Keycard <kc@example.com>")).unwrap().unwrap();
        assert_eq!(mail.from.email.to_string(), "kc@example.com");
        let mut config = Config::for_tests("sqlite::memory:", "data".into());
        config.mail = Some(mail);
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(printed.contains("mail.example.com"), "{printed}");
    }

    #[test]
    fn passkeys_belong_to_the_public_address() {
        let rp = relying_party("https://id.example.com/keycard");
        assert_eq!(rp.id, "id.example.com");
        assert_eq!(rp.origin_text(), "https://id.example.com");
        let local = relying_party("http://127.0.0.1:3000");
        assert_eq!(local.id, "localhost");
        assert_eq!(local.origin_text(), "http://localhost:3000");
        assert_eq!(relying_party("http://[::1]:8080").origin_text(), "http://localhost:8080");
        assert_eq!(relying_party("https://example.com:8443").origin_text(), "https://example.com:8443");
    }

    #[test]
    fn public_urls() {
        let addr: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(public_url(None, addr).unwrap(), "http://0.0.0.0:8080");
        assert_eq!(public_url(Some("https://id.example.com/"), addr).unwrap(), "https://id.example.com");
        assert_eq!(public_url(Some("https://example.com/keycard/"), addr).unwrap(), "https://example.com/keycard");
        assert!(public_url(Some("ftp://example.com"), addr).is_err());
        assert!(public_url(Some("https://example.com/?a=b"), addr).is_err());
        assert!(public_url(Some("example.com"), addr).is_err());
    }

    #[test]
    fn cors_origin_lists() {
        assert_eq!(cors_origins(None).unwrap(), Vec::<String>::new());
        assert_eq!(
            cors_origins(Some("https://app.example, http://localhost:5173")).unwrap(),
            vec!["https://app.example".to_owned(), "http://localhost:5173".to_owned()]
        );
        for bad in ["*", "app.example", "https://app.example/", "https://app.example/path", "ftp://x.example"] {
            assert!(cors_origins(Some(bad)).is_err(), "{bad}");
        }
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

    #[test]
    fn metrics_token_and_log_format_are_checked() {
        assert!(metrics_token(None).unwrap().is_none());
        assert!(metrics_token(Some("short".into())).is_err());
        assert_eq!(metrics_token(Some(" 0123456789abcdef ".into())).unwrap().unwrap().0, "0123456789abcdef");
        assert_eq!(log_format(None).unwrap(), LogFormat::Text);
        assert_eq!(log_format(Some("JSON")).unwrap(), LogFormat::Json);
        assert!(log_format(Some("xml")).is_err());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let ranges = trusted_proxies(Some("10.0.0.7, 172.28.0.0/24,2001:db8::/64")).unwrap();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let trusted = |s: &str| ranges.iter().any(|r| r.contains(ip(s)));
        assert!(trusted("10.0.0.7") && !trusted("10.0.0.8"));
        assert!(trusted("172.28.0.1") && trusted("172.28.0.255") && !trusted("172.28.1.1"));
        assert!(trusted("::ffff:172.28.0.9"), "an IPv4-mapped peer counts as its IPv4 address");
        assert!(trusted("2001:db8::1234") && !trusted("2001:db8:0:1::1"));
        assert_eq!(format!("{:?}", ranges[1]), "172.28.0.0/24");
        for bad in ["10.0.0.0/33", "proxy.local", "10.0.0.1/x", "2001:db8::/129"] {
            assert!(trusted_proxies(Some(bad)).is_err(), "{bad}");
        }
        let everything: ProxyRange = "0.0.0.0/0".parse().unwrap();
        assert!(everything.contains(ip("203.0.113.1")));
    }
}
