//! Server functions for accounts. Thin: parse, call the service, start the session, redirect.

use leptos::prelude::*;

use super::HomeView;
use crate::errors::AppError;

/// Form fields longer than this are refused before any work (passwords have their own limit).
#[cfg(feature = "ssr")]
const MAX_FIELD_CHARS: usize = 1024;

#[cfg(feature = "ssr")]
fn check_field_lengths(fields: &[&str]) -> Result<(), AppError> {
    if fields.iter().any(|f| f.chars().count() > MAX_FIELD_CHARS) {
        return Err(AppError::Invalid(format!("Fields are limited to {MAX_FIELD_CHARS} characters.")));
    }
    Ok(())
}

/// The code step, carrying `next` (already checked) along.
#[cfg(feature = "ssr")]
fn code_step_path(next: &str) -> String {
    if next == crate::routes::HOME {
        crate::routes::CODE_STEP.to_owned()
    } else {
        format!("{}?next={}", crate::routes::CODE_STEP, crate::routes::urlencode(next))
    }
}

/// Creates an account, signs it in and goes to the account home.
#[server(prefix = "/api", endpoint = "signup")]
pub async fn sign_up(email: String, password: String) -> Result<(), AppError> {
    use crate::core::request::RequestContext;
    use crate::sessions::sign_in::{start_session, Start};
    check_field_lengths(&[&email, &password])?;
    let ctx = RequestContext::current()?;
    let user_id = super::service::sign_up(&ctx.state, &email, &password, &ctx.origin.ip).await?;
    start_session(&ctx.session, &ctx.state, user_id, Start::SignUp, false, ctx.origin).await?;
    leptos_axum::redirect(crate::routes::HOME);
    Ok(())
}

/// Checks email and password, starts a session under a fresh id and goes to `next` (same-site
/// paths only).
#[server(prefix = "/api", endpoint = "login")]
pub async fn log_in(
    email: String,
    password: String,
    remember: Option<String>,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::core::request::RequestContext;
    use crate::sessions::{keys::SignInMethod, next::safe_next, sign_in::start_session, sign_in::Start};
    check_field_lengths(&[&email, &password, next.as_deref().unwrap_or_default()])?;
    let ctx = RequestContext::current()?;
    let account = super::service::verify_credentials(&ctx.state, &email, &password, &ctx.origin).await?;
    let user_id = account.user_id;
    let remember = remember.is_some();
    let next = safe_next(next.as_deref());
    // With two-step on, the password only gets the session to the code step (5 minutes at most).
    if account.two_step_on {
        start_session(&ctx.session, &ctx.state, user_id, Start::PasswordStep, remember, ctx.origin).await?;
        leptos_axum::redirect(&code_step_path(&next));
        return Ok(());
    }
    let start = Start::SignIn(SignInMethod::Password);
    start_session(&ctx.session, &ctx.state, user_id, start, remember, ctx.origin).await?;
    leptos_axum::redirect(&next);
    Ok(())
}

/// The signed-in account's home data (from the principal: no further read).
#[server(prefix = "/api", endpoint = "home")]
pub async fn account_home() -> Result<HomeView, AppError> {
    home_view()
}

/// The home page's data, read from the request's principal: the page renders it in one
/// synchronous pass (no resource), and [`account_home`] answers the same.
#[cfg(feature = "ssr")]
pub fn home_view() -> Result<HomeView, AppError> {
    let me = crate::core::principal::signed_in_for_page()?;
    Ok(HomeView { email: me.email })
}
