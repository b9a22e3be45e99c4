//! Loading the request's principal.
//!
//! [`load`] runs once per request right inside the session layer: it reads the session (the
//! store's one read of the `sessions` row, joined with the account's email) and puts a
//! [`Principal`] into the request, which the page guard, server functions and handlers read
//! (`crate::core::principal`). Static files and probes skip it.

use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::Response,
};
use tower_sessions::{session::Id, Session};

use super::keys::{AUTH, REAUTH_AT};
use super::lifecycle::end_reason;
use super::store::hash_id;
use crate::core::principal::{Principal, SignedIn};
use crate::core::state::AppState;
use crate::errors::AppError;

/// Puts the request's [`Principal`] into its extensions (pages, server functions, downloads).
pub async fn load(State(state): State<AppState>, session: Session, mut req: Request, next: Next) -> Response {
    if crate::routes::reads_principal(req.uri().path()) {
        let principal = match principal_of(&state, &session, req.headers()).await {
            Ok(principal) => principal,
            Err(err) => return crate::core::web::app_error_page(&err),
        };
        req.extensions_mut().insert(principal);
    }
    next.run(req).await
}

async fn principal_of(
    state: &AppState,
    session: &Session,
    headers: &axum::http::HeaderMap,
) -> Result<Principal, AppError> {
    if let Some(auth) = AUTH.get(session).await? {
        let id_hash = session.id().map(|id| hash_id(&id)).unwrap_or_default();
        return Ok(Principal::Session(SignedIn {
            user_id: auth.user_id,
            email: auth.email,
            email_verified: auth.email_verified,
            open_alerts: auth.open_alerts,
            handle: auth.public_id.unwrap_or_default(),
            stage: auth.stage,
            id_hash,
            remember: auth.remember,
            absolute_expires_at: auth.absolute_expires_at,
            reauth_at: REAUTH_AT.get(session).await?,
        }));
    }
    // A cookie that loads no session: say why it ended, if it did.
    let Some(id) = session_cookie(headers, state.config.cookie_name()) else {
        return Ok(Principal::Anonymous);
    };
    Ok(match end_reason(&state.db, &hash_id(&id)).await? {
        Some(reason) => Principal::Ended(reason),
        None => Principal::Anonymous,
    })
}

/// The session id in the request's cookie, if it parses as one.
fn session_cookie(headers: &axum::http::HeaderMap, cookie_name: &str) -> Option<Id> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie_name)
        .and_then(|(_, value)| value.parse().ok())
}
