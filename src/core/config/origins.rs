//! Where Keycard is reached: its public address (`KEYCARD_PUBLIC_URL`), the relying party
//! passkeys are tied to, and the other origins that may call its API (`KEYCARD_CORS_ORIGINS`).

use std::net::SocketAddr;

use super::{Config, ConfigError};

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

pub(super) fn relying_party(public_url: &str) -> RelyingParty {
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
pub(super) fn public_url(raw: Option<&str>, addr: SocketAddr) -> Result<String, ConfigError> {
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

/// `KEYCARD_CORS_ORIGINS`: `https://app.example, http://localhost:5173`, each an origin (scheme,
/// host, optional port, no path).
pub(super) fn cors_origins(raw: Option<&str>) -> Result<Vec<String>, ConfigError> {
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
