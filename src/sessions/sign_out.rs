//! Signing this browser out, and forgetting a session that already ended.

use tower_sessions::Session;

use super::lifecycle::{end_sessions_now, Sessions};
use super::store::hash_id;
use crate::core::principal::EndReason;
use crate::core::state::AppState;
use crate::errors::AppError;

/// Signs this browser out: its row is ended (reason `signed_out`, with its history event) and
/// the cookie cleared.
pub async fn sign_out(session: &Session, state: &AppState) -> Result<(), AppError> {
    if let Some(id) = session.id() {
        end_sessions_now(&state.db, Sessions::ById(&hash_id(&id)), EndReason::SignedOut).await?;
    }
    forget(session).await
}

/// Clears this browser's cookie and session data without ending anything (its row already ended
/// or is gone).
pub async fn forget(session: &Session) -> Result<(), AppError> {
    Ok(session.flush().await?)
}
