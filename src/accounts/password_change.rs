//! Changing the password of a signed-in account: the current password, the sign-up strength
//! rules, then in one transaction the new hash, `password_changed_at`, and the end of every other
//! session (`crate::sessions::lifecycle::end_sessions`: on their next request they learn
//! "You were signed out from another device.").
//! The caller then rotates this session's id.
//!
//! The current password is checked like every other password (see
//! [`super::service::verify_account_password`]): within the account's and the IP's limits, with a
//! history event when wrong.

use super::password::{check_new_password_for, hash_password};
use super::service::{verify_account_password, PasswordCheck};
use super::store;
use crate::core::principal::EndReason;
use crate::core::state::AppState;
use crate::errors::AppError;
use crate::history::{store as history, Kind};
use crate::sessions::lifecycle::{end_sessions, Sessions};

/// What a password change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordChange {
    /// Changed; this many other sessions were signed out.
    Changed { other_sessions_ended: u64 },
    /// The wrong current password locked the account's password limit: the caller signs this
    /// session out.
    Locked,
}

/// The code asked beside the current password when two-step is on and the session has not proved
/// itself recently: the password page is its own re-authentication, never a second prompt.
#[derive(Clone, Copy, Debug)]
pub struct SecondFactor<'a> {
    /// An authentication code or a recovery code.
    pub code: &'a str,
    /// The public handle of the session typing it (the history names it).
    pub session_handle: &'a str,
}

/// Shown when the current password typed on the password page is wrong.
pub const WRONG_CURRENT_PASSWORD: &str = "Your current password is not correct.";

/// Changes the password of `user_id`; `current_hash` is the id hash of the session asking (it
/// stays), `ip` the address asking (for the limits). `second_factor`, when asked, is checked after
/// the current password and within the same per-account budget as sign-in and the prompt.
#[allow(clippy::too_many_arguments)]
pub async fn change_password(
    state: &AppState,
    user_id: i64,
    current_hash: &str,
    current_password: &str,
    second_factor: Option<SecondFactor<'_>>,
    new_password: &str,
    ip: &str,
    at: i64,
) -> Result<PasswordChange, AppError> {
    let account = store::account_by_id(&state.db, user_id).await?.ok_or(AppError::NotSignedIn)?;
    if new_password == current_password {
        return Err(AppError::Invalid("Choose a new password that differs from your current one.".into()));
    }
    let email_key =
        super::service::parse_email(&account.email).map(|e| e.key).unwrap_or_else(|_| account.email.to_lowercase());
    // The same rules as sign-up.
    let new_password = check_new_password_for(&email_key, new_password).await?;
    match verify_account_password(state, user_id, current_password, ip, "Wrong current password on the password page")
        .await?
    {
        PasswordCheck::Correct => {}
        PasswordCheck::Wrong { locked: false } => return Err(AppError::Invalid(WRONG_CURRENT_PASSWORD.into())),
        PasswordCheck::Wrong { locked: true } => return Ok(PasswordChange::Locked),
    }
    if let Some(factor) = second_factor {
        use crate::two_step::service::{check_factor_within_budget, Attempt, StepOutcome};
        let attempt = Attempt {
            session_public_id: Some(factor.session_handle),
            failure_detail: "Wrong code on the password page",
            failure_kind: crate::history::Kind::CodeFailed,
        };
        match check_factor_within_budget(state, user_id, factor.code, attempt).await? {
            StepOutcome::Passed(_) => {}
            StepOutcome::Refused(err) => return Err(err),
            StepOutcome::LockedOut => return Ok(PasswordChange::Locked),
        }
    }
    let hash = state.hashing.admit()?.run(move |_| hash_password(&new_password)).await??;

    let mut tx = state.db.pool.begin().await?;
    store::set_password_hash(&mut tx, user_id, &hash, at).await?;
    let others = Sessions::OthersOf { user_id, except_id_hash: current_hash, unused_since: None };
    let ended = end_sessions(&mut tx, others, EndReason::SignedOutElsewhere, at).await?.len() as u64;
    // The change and its history event commit together.
    let detail = match ended {
        0 => "No other session was signed in".to_owned(),
        n => crate::history::sessions_signed_out(n, "other "),
    };
    let event = history::Event::by_current_request(user_id, Kind::PasswordChanged, at, &detail);
    history::record(&mut tx, &event).await?;
    let from = crate::mail::notices::origin_words(&event.ip, &event.user_agent, at);
    crate::mail::notices::notify(
        &mut tx,
        state,
        user_id,
        "password_changed",
        "Your Keycard password was changed",
        &[
            &format!("The password of your Keycard account was changed{from}."),
            &format!("{detail}."),
            "If this was not you, use \"Forgot your password?\" on the sign-in page to choose a new one, and sign out devices you do not recognise.",
        ],
        at,
    )
    .await?;
    tx.commit().await?;
    Ok(PasswordChange::Changed { other_sessions_ended: ended })
}
