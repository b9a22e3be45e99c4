//! Outgoing mail's settings: `KEYCARD_SMTP_URL` (checked at start-up) and `KEYCARD_MAIL_FROM`.

use super::{ConfigError, Redacted};

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

pub(super) fn mail_config(smtp_url: Option<&str>, from: Option<&str>) -> Result<Option<MailConfig>, ConfigError> {
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
