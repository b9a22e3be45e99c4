//! Server functions for two-step sign-in. Thin: session checks, then [`super::service`].

use leptos::prelude::*;

use super::TwoStepView;
use crate::errors::AppError;

/// Where the two-step page lives.
pub const TWO_STEP_PATH: &str = "/security/two-step";

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
    use crate::core::server::RequestContext;
    let ctx = RequestContext::get().await?;
    let auth = crate::sessions::auth::require_signed_in(&ctx.session).await?;
    let account = crate::accounts::store::account_by_id(&ctx.state.db, auth.user_id)
        .await
        .map_err(AppError::internal)?
        .ok_or(AppError::NotSignedIn)?;
    super::service::status(&ctx.state, &ctx.session, auth.user_id, &account.email).await
}

/// **Turn on two-step sign-in** (needs a recent re-authentication: otherwise a stolen cookie
/// could enrol the thief's authenticator and lock the owner out): makes a secret to scan;
/// two-step stays off until confirmed.
#[server(prefix = "/api", endpoint = "two_step_begin")]
pub async fn turn_on_two_step() -> Result<(), AppError> {
    use crate::core::server::RequestContext;
    let ctx = RequestContext::get().await?;
    let auth = crate::sessions::auth::require_signed_in(&ctx.session).await?;
    if !crate::sessions::reauth::require_recent(&ctx.session, &ctx.state, TWO_STEP_PATH).await? {
        return Ok(());
    }
    super::service::begin_enrolment(&ctx.state, auth.user_id).await?;
    leptos_axum::redirect(TWO_STEP_PATH);
    Ok(())
}

/// **Confirm** during enrolment (still within the re-authentication window): a current code
/// turns two-step on and makes recovery codes.
#[server(prefix = "/api", endpoint = "two_step_confirm")]
pub async fn confirm_two_step(code: String) -> Result<(), AppError> {
    use crate::core::server::RequestContext;
    check_code_length(&code)?;
    let ctx = RequestContext::get().await?;
    let auth = crate::sessions::auth::require_signed_in(&ctx.session).await?;
    if !crate::sessions::reauth::require_recent(&ctx.session, &ctx.state, TWO_STEP_PATH).await? {
        return Ok(());
    }
    let codes = super::service::confirm_enrolment(&ctx.state, auth.user_id, &code).await?;
    super::service::stash_fresh_codes(&ctx.state, &ctx.session, auth.user_id, &codes).await?;
    leptos_axum::redirect(TWO_STEP_PATH);
    Ok(())
}

/// **Regenerate recovery codes** (needs a recent re-authentication).
#[server(prefix = "/api", endpoint = "two_step_recovery")]
pub async fn regenerate_recovery_codes() -> Result<(), AppError> {
    use crate::core::server::RequestContext;
    let ctx = RequestContext::get().await?;
    let auth = crate::sessions::auth::require_signed_in(&ctx.session).await?;
    if !crate::sessions::reauth::require_recent(&ctx.session, &ctx.state, TWO_STEP_PATH).await? {
        return Ok(());
    }
    let codes = super::service::regenerate_recovery_codes(&ctx.state, auth.user_id).await?;
    super::service::stash_fresh_codes(&ctx.state, &ctx.session, auth.user_id, &codes).await?;
    leptos_axum::redirect(TWO_STEP_PATH);
    Ok(())
}

/// **Turn off two-step sign-in** (needs a recent re-authentication).
#[server(prefix = "/api", endpoint = "two_step_off")]
pub async fn turn_off_two_step() -> Result<(), AppError> {
    use crate::core::server::RequestContext;
    let ctx = RequestContext::get().await?;
    let auth = crate::sessions::auth::require_signed_in(&ctx.session).await?;
    if !crate::sessions::reauth::require_recent(&ctx.session, &ctx.state, TWO_STEP_PATH).await? {
        return Ok(());
    }
    super::service::disable(&ctx.state, auth.user_id).await?;
    leptos_axum::redirect(TWO_STEP_PATH);
    Ok(())
}

/// The code step after a correct password: a 6-digit code or a recovery code, within the account's
/// second-factor budget, completes sign-in: the half-signed-in row is ended (exactly once, so
/// concurrent correct codes yield one session) and a full session starts under a fresh id, then
/// on to `next`. A failure that locks the budget ends every half-signed-in session of the
/// account: back to the password (and then a wait).
#[server(prefix = "/api", endpoint = "login_code")]
pub async fn verify_sign_in_code(code: String, next: Option<String>) -> Result<(), AppError> {
    use super::service::{check_factor_within_budget, Attempt, Factor, StepOutcome};
    use crate::core::server::RequestContext;
    use crate::sessions::auth::{current_auth, start_session, SignInMethod, Stage};
    use crate::sessions::next::safe_next;
    check_code_length(&code)?;
    let ctx = RequestContext::get().await?;
    let auth = match current_auth(&ctx.session).await? {
        Some(auth) if auth.stage == Stage::PasswordVerified => auth,
        _ => return Err(AppError::NotSignedIn),
    };
    let id_hash = ctx.session.id().map(|id| crate::sessions::store::hash_id(&id)).ok_or(AppError::NotSignedIn)?;
    let attempt = Attempt { session_public_id: auth.public_id.as_deref(), failure_detail: "Wrong code" };
    match check_factor_within_budget(&ctx.state, auth.user_id, &code, attempt).await? {
        StepOutcome::Passed(factor) => {
            if !ctx.state.sessions.finish_password_step(&id_hash).await? {
                return Err(AppError::NotSignedIn);
            }
            let method = match factor {
                Factor::Code => SignInMethod::PasswordAndCode,
                Factor::RecoveryCode => SignInMethod::RecoveryCode,
            };
            start_session(&ctx.session, &ctx.state, auth.user_id, Stage::Complete, method, auth.remember, ctx.origin)
                .await?;
            leptos_axum::redirect(&safe_next(next.as_deref()));
            Ok(())
        }
        StepOutcome::Refused(err) => Err(err),
        StepOutcome::LockedOut => {
            super::store::end_code_step_sessions(&ctx.state.db, auth.user_id, crate::core::db::now()).await?;
            ctx.session.flush().await.map_err(AppError::internal)?;
            leptos_axum::redirect("/login?ended=codes");
            Ok(())
        }
    }
}
