//! Server functions for two-step sign-in. Thin: session checks, then [`super::service`].

use leptos::prelude::*;

use super::TwoStepView;
use crate::errors::AppError;

#[cfg(feature = "ssr")]
fn check_code_length(code: &str) -> Result<(), AppError> {
    if code.chars().count() > 64 {
        return Err(AppError::WrongCode);
    }
    Ok(())
}

/// The two-step page's data.
#[server(prefix = "/api", endpoint = "two_step")]
pub async fn two_step_status() -> Result<TwoStepView, AppError> {
    use crate::core::{principal::signed_in_for_page, request::RequestContext};
    let me = signed_in_for_page()?;
    let ctx = RequestContext::current()?;
    super::service::status(&ctx.state, &ctx.session, me.user_id, &me.email).await
}

/// **Turn on two-step sign-in** (needs a recent re-authentication: otherwise a stolen cookie
/// could enrol the thief's authenticator and lock the owner out): makes a secret to scan;
/// two-step stays off until confirmed.
#[server(prefix = "/api", endpoint = "two_step_begin")]
pub async fn turn_on_two_step() -> Result<(), AppError> {
    use crate::core::{principal::require_recent_reauth, principal::signed_in, request::RequestContext};
    let me = signed_in()?;
    let ctx = RequestContext::current()?;
    if !require_recent_reauth(&me, &ctx.state, crate::routes::TWO_STEP) {
        return Ok(());
    }
    super::service::begin_enrolment(&ctx.state, me.user_id).await?;
    leptos_axum::redirect(crate::routes::TWO_STEP);
    Ok(())
}

/// **Confirm** during enrolment (still within the re-authentication window): a current code
/// turns two-step on and makes recovery codes.
#[server(prefix = "/api", endpoint = "two_step_confirm")]
pub async fn confirm_two_step(code: String) -> Result<(), AppError> {
    use crate::core::{principal::require_recent_reauth, principal::signed_in, request::RequestContext};
    check_code_length(&code)?;
    let me = signed_in()?;
    let ctx = RequestContext::current()?;
    if !require_recent_reauth(&me, &ctx.state, crate::routes::TWO_STEP) {
        return Ok(());
    }
    let codes = super::service::confirm_enrolment(&ctx.state, me.user_id, &code, &ctx.origin).await?;
    super::service::stash_fresh_codes(&ctx.state, &ctx.session, me.user_id, &codes).await?;
    leptos_axum::redirect(crate::routes::TWO_STEP);
    Ok(())
}

/// **Regenerate recovery codes** (needs a recent re-authentication).
#[server(prefix = "/api", endpoint = "two_step_recovery")]
pub async fn regenerate_recovery_codes() -> Result<(), AppError> {
    use crate::core::{principal::require_recent_reauth, principal::signed_in, request::RequestContext};
    let me = signed_in()?;
    let ctx = RequestContext::current()?;
    if !require_recent_reauth(&me, &ctx.state, crate::routes::TWO_STEP) {
        return Ok(());
    }
    let codes = super::service::regenerate_recovery_codes(&ctx.state, me.user_id, &ctx.origin).await?;
    super::service::stash_fresh_codes(&ctx.state, &ctx.session, me.user_id, &codes).await?;
    leptos_axum::redirect(crate::routes::TWO_STEP);
    Ok(())
}

/// **Turn off two-step sign-in** (needs a recent re-authentication).
#[server(prefix = "/api", endpoint = "two_step_off")]
pub async fn turn_off_two_step() -> Result<(), AppError> {
    use crate::core::{principal::require_recent_reauth, principal::signed_in, request::RequestContext};
    let me = signed_in()?;
    let ctx = RequestContext::current()?;
    if !require_recent_reauth(&me, &ctx.state, crate::routes::TWO_STEP) {
        return Ok(());
    }
    super::service::disable(&ctx.state, me.user_id, &ctx.origin).await?;
    leptos_axum::redirect(crate::routes::TWO_STEP);
    Ok(())
}

/// The code step after a correct password: a 6-digit code or a recovery code completes sign-in
/// ([`super::service::complete_sign_in`]), then on to `next`; a failure that locks the account's
/// budget sends this browser back to the password.
#[server(prefix = "/api", endpoint = "login_code")]
pub async fn verify_sign_in_code(code: String, next: Option<String>) -> Result<(), AppError> {
    use super::service::{complete_sign_in, CodeStep};
    use crate::core::{principal::code_step, request::RequestContext};
    check_code_length(&code)?;
    let me = code_step()?;
    let ctx = RequestContext::current()?;
    match complete_sign_in(&ctx.state, &ctx.session, &me, &code, ctx.origin).await? {
        CodeStep::SignedIn => leptos_axum::redirect(&crate::sessions::next::safe_next(next.as_deref())),
        CodeStep::LockedOut => leptos_axum::redirect("/login?ended=codes"),
    }
    Ok(())
}
