//! What a server function reads from its request besides the principal
//! ([`super::principal`]): the shared state, the session (to sign in or out) and where the request
//! came from ([`RequestOrigin`], which it hands to the services it calls).

use axum::http::request::Parts;
use tower_sessions::Session;

use super::origin::RequestOrigin;
use super::state::AppState;
use crate::errors::AppError;

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
