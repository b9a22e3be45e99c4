//! Server functions of the forgot-password and reset pages. Thin: check sizes, call
//! [`super::service`], redirect.

use leptos::prelude::*;

use super::ResetLinkView;
use crate::errors::AppError;

/// Whether reset links can be sent (mail is configured).
#[server(prefix = "/api", endpoint = "login/forgot_available")]
pub async fn reset_by_mail_available() -> Result<bool, AppError> {
    Ok(crate::mail::enabled(&crate::core::state::AppState::current()?.config))
}

/// **Send reset link**: the same answer whatever the address.
#[server(prefix = "/api", endpoint = "login/forgot")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    if email.chars().count() > 1024 {
        return Err(AppError::BadRequest);
    }
    let ctx = crate::core::request::RequestContext::current()?;
    super::service::request_link(&ctx.state, &email, ctx.origin).await?;
    leptos_axum::redirect(&format!("{}?sent=1", crate::routes::FORGOT_PASSWORD));
    Ok(())
}

/// Whether the reset page's link works, and whether it must ask for a code.
#[server(prefix = "/api", endpoint = "login/reset_link")]
pub async fn reset_link(token: String) -> Result<ResetLinkView, AppError> {
    super::service::check_link(&crate::core::state::AppState::current()?, &token).await
}

/// **Set new password** through the link; then on to sign-in, where the page says what happened.
#[server(prefix = "/api", endpoint = "login/reset")]
pub async fn set_new_password(token: String, new_password: String, code: Option<String>) -> Result<(), AppError> {
    use crate::accounts::password::MAX_PASSWORD_CHARS;
    if token.len() > 64 || code.as_deref().is_some_and(|c| c.len() > 64) {
        return Err(AppError::BadRequest);
    }
    if new_password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AppError::Invalid(format!("Use at most {MAX_PASSWORD_CHARS} characters for your password.")));
    }
    let ctx = crate::core::request::RequestContext::current()?;
    super::service::reset_password(&ctx.state, &token, &new_password, code.as_deref(), &ctx.origin).await?;
    leptos_axum::redirect(&format!("{}?reset=1", crate::routes::SIGN_IN));
    Ok(())
}
