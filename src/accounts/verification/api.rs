//! Server functions of address verification. Thin: read the principal, call
//! [`super::service`], redirect (plain POST forms).

use leptos::prelude::*;

use crate::errors::AppError;

/// **Confirm my email address**: uses the link, then shows the confirmation (or, for the account
/// signed in here, goes home, where the banner is gone).
#[server(prefix = "/api", endpoint = "verify-email")]
pub async fn confirm_email(token: String) -> Result<(), AppError> {
    use crate::core::{principal::signed_in, request::RequestContext};
    use crate::routes::{HOME, VERIFY_EMAIL};
    let RequestContext { state, origin, .. } = RequestContext::current()?;
    let user_id = super::service::confirm(&state.db, &token, &origin, state.db.clock.now()).await?;
    match signed_in() {
        Ok(me) if me.user_id == user_id => leptos_axum::redirect(HOME),
        _ => leptos_axum::redirect(&format!("{VERIFY_EMAIL}?done=1")),
    }
    Ok(())
}

/// Whether the link's token can still be used (read only: the page's GET changes nothing).
#[server(prefix = "/api", endpoint = "verify-email/check")]
pub async fn verification_link_usable(token: String) -> Result<bool, AppError> {
    use crate::core::state::AppState;
    let state = AppState::current()?;
    super::service::link_usable(&state.db, &token, state.db.clock.now()).await
}

/// **Send the link again**, then home, where the banner says it was sent.
#[server(prefix = "/api", endpoint = "verify-email/resend")]
pub async fn send_verification_again() -> Result<(), AppError> {
    use crate::core::{principal::signed_in, state::AppState};
    let me = signed_in()?;
    let state = AppState::current()?;
    super::service::send_again(&state, &me, state.db.clock.now()).await?;
    leptos_axum::redirect(&format!("{}?verification=sent", crate::routes::HOME));
    Ok(())
}
