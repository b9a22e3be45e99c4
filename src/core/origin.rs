//! Where a request came from: its client address and browser, as a plain value. Server functions
//! and handlers read it from the request and hand it down; the services and the history that
//! record it never read the request themselves.

use axum::http::{header, request::Parts};

use super::web::ClientIp;

/// Longest user-agent text kept with a session or an event.
pub const MAX_USER_AGENT: usize = 512;

/// Where a request came from: its client address and browser.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    pub ip: String,
    pub user_agent: String,
}

impl RequestOrigin {
    pub fn from_parts(parts: &Parts) -> RequestOrigin {
        let ip = parts.extensions.get::<ClientIp>().map(|ClientIp(ip)| ip.to_string()).unwrap_or_default();
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(MAX_USER_AGENT)
            .collect();
        RequestOrigin { ip, user_agent }
    }
}

/// Handlers outside Leptos (the OAuth endpoints, the app API) take the origin as an extractor.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestOrigin::from_parts(parts))
    }
}
