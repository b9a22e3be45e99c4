//! The one route table: every address Keycard answers besides server functions and static files,
//! whether it is a page, who may open it, and whether its render may be retried. The page guard
//! (`crate::sessions::guard`), the render retry (`crate::core::stalled_renders`), the page nonce
//! (`crate::core::web`) and the router (`crate::server::app`) all read it; `crate::app::App` lists
//! the same pages as Leptos routes, and a test keeps the two lists equal.

/// Who may open an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Anyone,
    /// A fully signed-in session; others go to `/login?next=…`.
    SignedIn,
    /// Only between a correct password and the second step (the code step).
    CodeStep,
}

/// What is at an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A server-rendered Leptos page. Its render has no side effects (a GET), so it may be retried.
    Page,
    /// A file download made by an axum handler, which checks the session itself.
    Download,
    /// Liveness and readiness probes.
    Probe,
    /// A script served from the binary (no session).
    Script,
    /// The OAuth endpoints and the JSON API for apps (`crate::apps`): no session, no cookie.
    AppApi,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub path: &'static str,
    pub kind: Kind,
    pub access: Access,
}

const fn route(path: &'static str, kind: Kind, access: Access) -> Route {
    Route { path, kind, access }
}

pub const HOME: &str = "/";
pub const SIGN_UP: &str = "/signup";
pub const SIGN_IN: &str = "/login";
pub const CODE_STEP: &str = "/login/code";
pub const FORGOT_PASSWORD: &str = "/login/forgot";
pub const RESET_PASSWORD: &str = "/login/reset";
pub const NOT_ME: &str = "/login/not-me";
pub const DEVICES: &str = "/devices";
pub const HISTORY: &str = "/history";
pub const HISTORY_EXPORT_JSON: &str = "/history/export.json";
pub const HISTORY_EXPORT_CSV: &str = "/history/export.csv";
pub const SECURITY: &str = "/security";
pub const TWO_STEP: &str = "/security/two-step";
pub const REAUTH_PROMPT: &str = "/security/confirm";
pub const PASSWORD: &str = "/security/password";
pub const EMAIL: &str = "/security/email";
pub const DELETE_ACCOUNT: &str = "/security/delete";
pub const VERIFY_EMAIL: &str = "/verify-email";
pub const CONNECT: &str = "/connect";
pub const PASSKEYS: &str = "/security/passkeys";
/// The browser script of the passkey ceremonies (`crate::passkeys::script`).
pub const PASSKEYS_SCRIPT: &str = "/passkeys.js";
pub const OAUTH_DEVICE: &str = "/oauth/device";
pub const OAUTH_TOKEN: &str = "/oauth/token";
/// The signing keys apps check ID tokens with (a JWK Set).
pub const OAUTH_JWKS: &str = "/oauth/jwks";
pub const API_ME: &str = "/api/v1/me";
pub const API_SESSIONS: &str = "/api/v1/sessions";
pub const API_SESSION: &str = "/api/v1/sessions/{handle}";
pub const API_OPENAPI: &str = "/api/v1/openapi.json";
/// The app API: bearer tokens only, never a cookie; JSON errors.
pub const APP_API_PREFIX: &str = "/api/v1/";
pub const HEALTHZ: &str = "/healthz";
pub const READYZ: &str = "/readyz";
/// Prometheus metrics: with `KEYCARD_METRICS_TOKEN` only (see `core::metrics`).
pub const METRICS: &str = "/metrics";

pub const ROUTES: &[Route] = &[
    route(HOME, Kind::Page, Access::SignedIn),
    route(SIGN_UP, Kind::Page, Access::Anyone),
    route(SIGN_IN, Kind::Page, Access::Anyone),
    route(CODE_STEP, Kind::Page, Access::CodeStep),
    route(FORGOT_PASSWORD, Kind::Page, Access::Anyone),
    route(RESET_PASSWORD, Kind::Page, Access::Anyone),
    route(NOT_ME, Kind::Page, Access::Anyone),
    route(DEVICES, Kind::Page, Access::SignedIn),
    route(HISTORY, Kind::Page, Access::SignedIn),
    route(HISTORY_EXPORT_JSON, Kind::Download, Access::SignedIn),
    route(HISTORY_EXPORT_CSV, Kind::Download, Access::SignedIn),
    route(SECURITY, Kind::Page, Access::SignedIn),
    route(TWO_STEP, Kind::Page, Access::SignedIn),
    route(REAUTH_PROMPT, Kind::Page, Access::SignedIn),
    route(PASSWORD, Kind::Page, Access::SignedIn),
    route(EMAIL, Kind::Page, Access::SignedIn),
    route(DELETE_ACCOUNT, Kind::Page, Access::SignedIn),
    // The link from the verification mail: opened signed in or not, on any device.
    route(VERIFY_EMAIL, Kind::Page, Access::Anyone),
    route(CONNECT, Kind::Page, Access::SignedIn),
    route(PASSKEYS, Kind::Page, Access::SignedIn),
    route(PASSKEYS_SCRIPT, Kind::Script, Access::Anyone),
    // The OAuth endpoints and the app API authenticate by bearer token, never by cookie.
    route(OAUTH_DEVICE, Kind::AppApi, Access::Anyone),
    route(OAUTH_TOKEN, Kind::AppApi, Access::Anyone),
    route(OAUTH_JWKS, Kind::AppApi, Access::Anyone),
    route(API_ME, Kind::AppApi, Access::Anyone),
    route(API_SESSIONS, Kind::AppApi, Access::Anyone),
    route(API_SESSION, Kind::AppApi, Access::Anyone),
    route(API_OPENAPI, Kind::AppApi, Access::Anyone),
    route(HEALTHZ, Kind::Probe, Access::Anyone),
    route(READYZ, Kind::Probe, Access::Anyone),
    route(METRICS, Kind::Probe, Access::Anyone),
];

/// Server functions live under this prefix.
pub const SERVER_FN_PREFIX: &str = "/api/";
/// The built site's files (wasm, JavaScript, CSS).
pub const ASSETS_PREFIX: &str = "/pkg/";

/// The table's entry for `path`, if any.
pub fn find(path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.path == path)
}

/// Who may open the page at `path` (anyone, for addresses not in the table: they are 404 pages).
pub fn page_access(path: &str) -> Access {
    match find(path) {
        Some(Route { kind: Kind::Page, access, .. }) => *access,
        _ => Access::Anyone,
    }
}

/// Whether a GET or HEAD of `path` renders a Leptos page: a page of the table, or the "not
/// found" page for an address that is none of the others (and does not look like a file).
pub fn renders_page(path: &str) -> bool {
    match find(path) {
        Some(route) => route.kind == Kind::Page,
        None => {
            !path.starts_with(SERVER_FN_PREFIX)
                && !path.starts_with("/oauth/")
                && !path.starts_with(ASSETS_PREFIX)
                && !path.rsplit('/').next().unwrap_or_default().contains('.')
        }
    }
}

/// Whether the page at `path` shows secrets (the setup key, fresh recovery codes): its answer is
/// never compressed (BREACH; `core::web::compression`).
pub fn shows_secrets(path: &str) -> bool {
    path == TWO_STEP
}

/// Whether a request to `path` needs to know who is asking (pages, server functions, downloads);
/// static files and probes do not, so they never read the session.
pub fn reads_principal(path: &str) -> bool {
    renders_page(path)
        || (path.starts_with(SERVER_FN_PREFIX) && !path.starts_with(APP_API_PREFIX))
        || find(path).is_some_and(|route| route.kind == Kind::Download)
}

/// The re-authentication prompt, returning to `return_to` (a same-site path) afterwards.
pub fn reauth_prompt(return_to: &str) -> String {
    format!("{REAUTH_PROMPT}?next={}", urlencode(return_to))
}

/// Percent-encodes everything but unreserved characters and `/`: a path carried in query (`?next=…`).
pub fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_pages_and_renders() {
        assert_eq!(page_access("/devices"), Access::SignedIn);
        assert_eq!(page_access("/security/two-step"), Access::SignedIn);
        assert_eq!(page_access("/login/code"), Access::CodeStep);
        assert_eq!(page_access("/login"), Access::Anyone);
        assert_eq!(page_access("/nowhere"), Access::Anyone);
        for page in ["/", "/devices", "/history", "/security/two-step", "/login", "/nowhere"] {
            assert!(renders_page(page), "{page}");
        }
        for other in [
            "/api/v1/me",
            "/oauth/token",
            "/api/login",
            "/pkg/keycard.wasm",
            "/healthz",
            "/readyz",
            "/history/export.csv",
            "/favicon.ico",
        ] {
            assert!(!renders_page(other), "{other}");
        }
    }

    #[test]
    fn prompt_carries_the_return_path() {
        assert_eq!(reauth_prompt("/history#export"), "/security/confirm?next=/history%23export");
    }
}
