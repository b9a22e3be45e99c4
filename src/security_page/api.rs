//! Server functions of the Security page, the password page and account deletion. Thin: check
//! the session (and a recent re-authentication for sensitive changes), call the plain functions
//! in [`super::checkup`] and `crate::accounts`, redirect.

use leptos::prelude::*;

use super::{SecurityView, SensitivePageView};
use crate::errors::AppError;

pub const SECURITY_PATH: &str = "/security";
pub const PASSWORD_PATH: &str = "/security/password";
pub const DELETE_PATH: &str = "/security/delete";

/// The Security page's checkup.
#[server(prefix = "/api", endpoint = "security")]
pub async fn security_checkup() -> Result<SecurityView, AppError> {
    use crate::core::{db::now, server::RequestContext};
    use crate::sessions::devices::relative;
    let ctx = RequestContext::get().await?;
    let auth = crate::sessions::auth::require_signed_in_for_page(&ctx.session, &ctx.state).await?;
    let current = ctx.session.id().map(|id| crate::sessions::store::hash_id(&id)).ok_or(AppError::NotSignedIn)?;
    let t = now();
    let checkup = super::checkup::compute(&ctx.state.db, auth.user_id, &current, t)
        .await
        .map_err(AppError::internal)?
        .ok_or(AppError::NotSignedIn)?;
    Ok(SecurityView {
        password_age: relative(checkup.password_changed_at, t),
        password_old: t - checkup.password_changed_at > super::OLD_PASSWORD_SECS,
        last_failed: checkup.last_failed_at.map(|at| relative(at, t)),
        checkup,
    })
}

/// Data of a page that performs a sensitive change (`return_to`): without a recent
/// re-authentication the browser is sent to the prompt, which comes back here.
#[cfg(feature = "ssr")]
async fn sensitive_page(return_to: &str) -> Result<SensitivePageView, AppError> {
    use crate::core::server::RequestContext;
    let ctx = RequestContext::get().await?;
    let auth = crate::sessions::auth::require_signed_in_for_page(&ctx.session, &ctx.state).await?;
    let account = crate::accounts::store::account_by_id(&ctx.state.db, auth.user_id)
        .await
        .map_err(AppError::internal)?
        .ok_or(AppError::NotSignedIn)?;
    let confirmed = crate::sessions::reauth::require_recent(&ctx.session, &ctx.state, return_to).await?;
    Ok(SensitivePageView { confirmed, email: account.email })
}

/// The password page's data (sends a session without recent re-authentication to the prompt).
#[server(prefix = "/api", endpoint = "security/password-page")]
pub async fn password_page() -> Result<SensitivePageView, AppError> {
    sensitive_page(PASSWORD_PATH).await
}

/// The deletion page's data (sends a session without recent re-authentication to the prompt).
#[server(prefix = "/api", endpoint = "security/delete-page")]
pub async fn delete_page() -> Result<SensitivePageView, AppError> {
    sensitive_page(DELETE_PATH).await
}

/// **Sign out** sessions unused for more than 30 days.
#[server(prefix = "/api", endpoint = "security/sign-out-stale")]
pub async fn sign_out_stale_sessions() -> Result<(), AppError> {
    use crate::core::{db::now, server::RequestContext};
    let ctx = RequestContext::get().await?;
    let auth = crate::sessions::auth::require_signed_in(&ctx.session).await?;
    let current = ctx.session.id().map(|id| crate::sessions::store::hash_id(&id)).ok_or(AppError::NotSignedIn)?;
    super::checkup::sign_out_stale(&ctx.state.db, auth.user_id, &current, now()).await.map_err(AppError::internal)?;
    leptos_axum::redirect(SECURITY_PATH);
    Ok(())
}

/// **Change password**: needs a recent re-authentication and the current password; signs out
/// every other session and keeps this one under a fresh id.
#[server(prefix = "/api", endpoint = "security/password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    use crate::accounts::password::MAX_PASSWORD_CHARS;
    use crate::accounts::password_change::PasswordChange;
    use crate::core::{db::now, server::RequestContext};
    if current_password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AppError::Invalid(crate::accounts::password_change::WRONG_CURRENT_PASSWORD.into()));
    }
    if new_password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AppError::Invalid(format!("Use at most {MAX_PASSWORD_CHARS} characters for your password.")));
    }
    let ctx = RequestContext::get().await?;
    let auth = crate::sessions::auth::require_signed_in(&ctx.session).await?;
    if !crate::sessions::reauth::require_recent(&ctx.session, &ctx.state, PASSWORD_PATH).await? {
        return Ok(());
    }
    let current = ctx.session.id().map(|id| crate::sessions::store::hash_id(&id)).ok_or(AppError::NotSignedIn)?;
    let change = crate::accounts::password_change::change_password(
        &ctx.state,
        auth.user_id,
        &current,
        &current_password,
        &new_password,
        &ctx.origin.ip,
        now(),
    )
    .await?;
    if change == PasswordChange::Locked {
        crate::sessions::auth::sign_out(&ctx.session, &ctx.state.sessions).await?;
        leptos_axum::redirect("/login?ended=locked");
        return Ok(());
    }
    // A fresh id for this browser, keeping the rest of the session.
    crate::sessions::auth::rotate_id(&ctx.session).await?;
    leptos_axum::redirect("/security?password=changed");
    Ok(())
}

/// **Delete account**: needs a recent re-authentication and the account's email typed out;
/// removes everything, signs this browser out and says so on the sign-in page.
#[server(prefix = "/api", endpoint = "security/delete")]
pub async fn delete_account(confirm_email: String) -> Result<(), AppError> {
    use crate::core::server::RequestContext;
    if confirm_email.chars().count() > 1024 {
        return Err(AppError::BadRequest);
    }
    let ctx = RequestContext::get().await?;
    let auth = crate::sessions::auth::require_signed_in(&ctx.session).await?;
    if !crate::sessions::reauth::require_recent(&ctx.session, &ctx.state, DELETE_PATH).await? {
        return Ok(());
    }
    let account = crate::accounts::store::account_by_id(&ctx.state.db, auth.user_id)
        .await
        .map_err(AppError::internal)?
        .ok_or(AppError::NotSignedIn)?;
    if !crate::accounts::deletion::confirms_email(&confirm_email, &account.email) {
        return Err(AppError::Invalid("Type your account's email address exactly to confirm.".into()));
    }
    crate::accounts::deletion::delete_account(&ctx.state.db, auth.user_id).await.map_err(AppError::internal)?;
    // The row is gone; flushing clears the cookie and the session data.
    ctx.session.flush().await.map_err(AppError::internal)?;
    leptos_axum::redirect("/login?deleted=1");
    Ok(())
}
