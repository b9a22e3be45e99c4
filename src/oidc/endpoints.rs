//! The provider's public endpoints, outside the session layer like the other OAuth endpoints:
//! so far the key set apps check Keycard's signatures with (`/oauth/jwks`).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::keys;
use crate::apps::rest::ApiError;
use crate::core::state::AppState;
use crate::errors::AppError;

/// `GET /oauth/jwks`: the published signing keys (RFC 7517 JWK Set). The first request makes the
/// first key (once; concurrent first requests may make two, both published). Answered `no-store`
/// like everything but static files: client libraries keep the set themselves and fetch it again
/// when they meet an unknown `kid`, which is how a rotated key reaches them.
pub async fn jwks(State(state): State<AppState>) -> Response {
    match key_set(&state).await {
        Ok(body) => ([(header::CONTENT_TYPE, "application/jwk-set+json")], body).into_response(),
        Err(err) => ApiError::Internal(err).into_response(),
    }
}

/// One read once a key exists; the first request makes one (without opening any key).
async fn key_set(state: &AppState) -> Result<String, AppError> {
    let now = state.db.clock.now();
    let mut set = keys::published(&state.db, now).await?;
    if set["keys"].as_array().is_none_or(|keys| keys.is_empty()) {
        keys::ensure_signing_key(&state.db, &state.secrets).await?;
        set = keys::published(&state.db, now).await?;
    }
    Ok(set.to_string())
}
