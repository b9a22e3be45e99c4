//! The reset rules as plain functions (tests call them directly).
//!
//! - Asking for a link: the email is checked for form only; the per-address and per-IP limits are
//!   reserved first, and the answer is the same whether or not an account uses the address — in
//!   content and in time, because the look-up and the mail happen after the answer, in a task of
//!   their own.
//! - Using a link: the same password rules as sign-up; with two-step on, a code within the
//!   account's second-factor budget (the same budget as sign-in); then one transaction uses the
//!   link (exactly once, whatever the concurrency), sets the password, marks the address proven,
//!   ends every session of the account, and writes the history event and the notice.

use super::LINK_NOT_VALID;
use crate::accounts::new_password::{commit_new_password, NewPassword};
use crate::accounts::password::{check_new_password_for, hash_password};
use crate::accounts::{service::parse_email, store};
use crate::core::origin::RequestOrigin;
use crate::core::state::AppState;
use crate::core::throttle::{self, Limit};
use crate::errors::AppError;
use crate::history::{store as history, Kind};
use crate::mail::links::{self, Purpose};
use crate::mail::notices;
use crate::sessions::lifecycle::Sessions;
use crate::two_step::service::{check_factor_within_budget, Attempt, StepOutcome};

/// `/login/forgot`: a link for the account using `raw_email`, if there is one. Returns as soon
/// as the limits allow the request; the rest happens in the background.
pub async fn request_link(state: &AppState, raw_email: &str, origin: RequestOrigin) -> Result<(), AppError> {
    if !crate::mail::enabled(&state.config) {
        return Err(AppError::Invalid(super::NO_MAIL.into()));
    }
    let email = parse_email(raw_email)?;
    let permits =
        throttle::reserve(&state.db, &[Limit::reset_mail_email(&email.key), Limit::reset_mail_ip(&origin.ip)]).await?;
    permits.succeeded(&state.db).await?;
    let detached = state.detached.clone();
    let state = state.clone();
    detached.spawn(async move {
        if let Err(err) = send_link(&state, &email.key, &origin, state.db.clock.now()).await {
            tracing::error!(error = %err, "could not prepare a password-reset mail");
        }
    });
    Ok(())
}

/// Writes the link and its mail (and the history event) for the account with `email_key`, if any.
pub async fn send_link(state: &AppState, email_key: &str, origin: &RequestOrigin, now: i64) -> Result<(), AppError> {
    let Some(credentials) = store::credentials_by_email_key(&state.db, email_key).await? else {
        return Ok(());
    };
    let Some(account) = store::account_by_id(&state.db, credentials.user_id).await? else {
        return Ok(());
    };
    let mut tx = state.db.pool.begin().await?;
    // Only the newest link works.
    links::retire(&mut tx, Purpose::ResetPassword, account.id, now).await?;
    let token = links::issue(&mut tx, Purpose::ResetPassword, account.id, &account.email, now).await?;
    let url = format!("{}{}?token={}", state.config.public_url, crate::routes::RESET_PASSWORD, token.0);
    let asked_from = notices::origin_words(&origin.ip, &origin.user_agent, now);
    let mail = crate::mail::compose(
        &account.email,
        "password_reset",
        "Reset your Keycard password",
        &[
            &format!("Someone asked to reset the password of your Keycard account{asked_from}."),
            "If it was you, choose a new password with the link below. It works once, for 30 minutes.",
            "If it was not you, ignore this message: your password stays as it is.",
        ],
        Some(("Choose a new password", &url)),
    );
    crate::mail::enqueue(&mut tx, &state.secrets, &mail, now).await?;
    let event = history::Event {
        user_id: account.id,
        kind: Kind::PasswordResetRequested,
        at: now,
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.clone(),
        detail: String::new(),
        session_public_id: None,
    };
    history::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether `token` is a usable reset link, and what its page must ask for.
pub async fn check_link(state: &AppState, token: &str) -> Result<super::ResetLinkView, AppError> {
    let Some((user_id, _)) = links::peek(&state.db, Purpose::ResetPassword, token, state.db.clock.now()).await? else {
        return Err(AppError::Invalid(LINK_NOT_VALID.into()));
    };
    Ok(super::ResetLinkView { needs_code: crate::two_step::store::is_enabled(&state.db, user_id).await? })
}

/// Sets a new password through the link `token`. Returns how many sessions were signed out.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new_password: &str,
    code: Option<&str>,
    origin: &RequestOrigin,
) -> Result<u64, AppError> {
    let Some((user_id, address)) = links::peek(&state.db, Purpose::ResetPassword, token, state.db.clock.now()).await?
    else {
        return Err(AppError::Invalid(LINK_NOT_VALID.into()));
    };
    let email_key = parse_email(&address).map(|e| e.key).unwrap_or_else(|_| address.to_lowercase());
    let new_password = check_new_password_for(&email_key, new_password).await?;
    if crate::two_step::store::is_enabled(&state.db, user_id).await? {
        let code = code.map(str::trim).filter(|c| !c.is_empty()).ok_or(AppError::WrongCode)?;
        let attempt = Attempt {
            session_public_id: None,
            origin,
            failure_detail: "Wrong code when resetting the password",
            failure_kind: crate::history::Kind::CodeFailed,
        };
        match check_factor_within_budget(state, user_id, code, attempt).await? {
            StepOutcome::Passed(_) => {}
            StepOutcome::Refused(err) => return Err(err),
            StepOutcome::LockedOut => return Err(AppError::WrongCode),
        }
    }
    let hash = state.hashing.admit()?.run(move |_| hash_password(&new_password)).await??;
    let at = state.db.clock.now();
    let mut tx = state.db.pool.begin().await?;
    // Used exactly once: a concurrent use of the same link finds it used and changes nothing.
    let used = links::consume(&mut tx, Purpose::ResetPassword, token, at).await?;
    if used.map(|link| (link.user_id, link.email)) != Some((user_id, address.clone())) {
        tx.rollback().await?;
        return Err(AppError::Invalid(LINK_NOT_VALID.into()));
    }
    store::set_email_verified(&mut tx, user_id, &address, at).await?;
    links::retire(&mut tx, Purpose::ResetPassword, user_id, at).await?;
    let ends = Sessions::Account(user_id);
    let new = NewPassword { user_id, hash: &hash, ends, kind: Kind::PasswordReset, origin, at };
    let ended = commit_new_password(&mut tx, state, new).await?;
    tx.commit().await?;
    Ok(ended)
}
