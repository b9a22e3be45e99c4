//! Server functions of the page frame: who is signed in, and signing out.

use leptos::prelude::*;

use crate::errors::AppError;

/// The signed-in email for the page frame, or `None` when signed out.
#[server(prefix = "/api", endpoint = "whoami")]
pub async fn signed_in_email() -> Result<Option<String>, AppError> {
    Ok(crate::core::principal::signed_in().ok().map(|me| me.email))
}

/// **Sign out**: this session's row is ended, the cookie cleared, and on to sign-in.
#[server(prefix = "/api", endpoint = "logout")]
pub async fn sign_out() -> Result<(), AppError> {
    let request = crate::core::request::RequestContext::current()?;
    super::principal::sign_out(&request.session, &request.state).await?;
    leptos_axum::redirect(crate::routes::SIGN_IN);
    Ok(())
}
