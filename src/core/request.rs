//! What a server function reads from its request besides the principal
//! ([`super::principal`]): the shared state, the session (to sign in or out) and where the request
//! came from.

use axum::http::{header, request::Parts};
use tower_sessions::Session;

use super::state::AppState;
use super::web::ClientIp;
use crate::errors::AppError;

/// Longest user-agent text kept with a session or an event.
pub const MAX_USER_AGENT: usize = 512;

/// The current request's head, inside a server function or a page render.
pub fn parts() -> Result<Parts, AppError> {
    leptos::prelude::use_context::<Parts>().ok_or_else(|| AppError::internal("request parts missing"))
}

/// For server functions that start, change or end this browser's session.
pub struct RequestContext {
    pub state: AppState,
    pub session: Session,
    pub origin: RequestOrigin,
}

impl RequestContext {
    pub fn current() -> Result<RequestContext, AppError> {
        let parts = parts()?;
        let session =
            parts.extensions.get::<Session>().cloned().ok_or_else(|| AppError::internal("session layer missing"))?;
        Ok(RequestContext { state: AppState::current()?, session, origin: RequestOrigin::from_parts(&parts) })
    }
}

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
