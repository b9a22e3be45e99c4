//! Server functions of the re-authentication prompt. Thin: read the principal, call
//! [`super::service`], redirect.

use leptos::prelude::*;

use crate::errors::AppError;

/// Whether the prompt must ask for a code (two-step is on for this account).
#[server(prefix = "/api", endpoint = "reauth_info")]
pub async fn reauth_needs_code() -> Result<bool, AppError> {
    use crate::core::{principal::signed_in, state::AppState};
    let me = signed_in()?;
    Ok(crate::two_step::store::is_enabled(&AppState::current()?.db, me.user_id).await?)
}

/// The prompt's form: on success, back to `next` (a same-site path; the two-step page by default).
#[server(prefix = "/api", endpoint = "reauth")]
pub async fn confirm_identity(password: String, code: Option<String>, next: Option<String>) -> Result<(), AppError> {
    use super::service::{confirm, Confirmation};
    use crate::core::{principal::signed_in, request::RequestContext};
    if password.chars().count() > 1024 || code.as_deref().is_some_and(|c| c.len() > 64) {
        return Err(AppError::BadRequest);
    }
    let me = signed_in()?;
    let request = RequestContext::current()?;
    let confirmation =
        confirm(&request.state, &request.session, &me, &password, code.as_deref(), &request.origin).await?;
    if confirmation == Confirmation::SignedOut {
        leptos_axum::redirect("/login?ended=locked");
        return Ok(());
    }
    let next = super::return_path(next.as_deref());
    leptos_axum::redirect(&next);
    Ok(())
}
