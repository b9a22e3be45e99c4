//! Server functions for the session itself: who is signed in, and signing out.

use leptos::prelude::*;

use crate::errors::AppError;

/// The signed-in email for the page frame, or `None` when signed out.
#[server(prefix = "/api", endpoint = "whoami")]
pub async fn signed_in_email() -> Result<Option<String>, AppError> {
    use crate::core::server::RequestContext;
    let ctx = RequestContext::get().await?;
    let Ok(auth) = super::auth::require_signed_in(&ctx.session).await else {
        return Ok(None);
    };
    let account =
        crate::accounts::store::account_by_id(&ctx.state.db, auth.user_id).await.map_err(AppError::internal)?;
    Ok(account.map(|a| a.email))
}

/// Signs this session out (the row is ended, the cookie cleared) and goes to sign-in.
#[server(prefix = "/api", endpoint = "logout")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::core::server::RequestContext;
    let ctx = RequestContext::get().await?;
    super::auth::sign_out(&ctx.session, &ctx.state.sessions).await?;
    leptos_axum::redirect("/login");
    Ok(())
}
