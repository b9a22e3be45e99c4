//! Server functions of the page frame: signing out.

use leptos::prelude::*;

use crate::errors::AppError;

/// **Sign out**: this session's row is ended, the cookie cleared, and on to sign-in.
#[server(prefix = "/api", endpoint = "logout")]
pub async fn sign_out() -> Result<(), AppError> {
    let request = crate::core::request::RequestContext::current()?;
    super::sign_out::sign_out(&request.session, &request.state).await?;
    leptos_axum::redirect(crate::routes::SIGN_IN);
    Ok(())
}
