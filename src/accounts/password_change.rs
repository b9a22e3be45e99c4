//! Changing the password of a signed-in account: the current password, the sign-up strength
//! rules, then in one transaction the new hash, `password_changed_at`, and the end of every other
//! session (`crate::sessions::lifecycle::end_sessions`: on their next request they learn
//! "You were signed out from another device.").
//! The caller then rotates this session's id.
//!
//! The current password is checked like every other password (see
//! [`super::service::check_credentials`]): within the account's and the IP's limits, with a
//! history event when wrong.

use super::new_password::{commit_new_password, NewPassword};
use super::password::{check_new_password_for, hash_password};
use super::service::{check_credentials, PasswordCheck};
use super::store;
use crate::core::origin::RequestOrigin;
use crate::core::state::AppState;
use crate::errors::AppError;
use crate::history::Kind;
use crate::sessions::lifecycle::Sessions;

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

/// Who asks for a password change, and from where.
#[derive(Clone, Copy, Debug)]
pub struct Asker<'a> {
    pub user_id: i64,
    /// The id hash of the session asking: it stays signed in, every other one ends.
    pub session_id_hash: &'a str,
    pub origin: &'a RequestOrigin,
}

/// What the password page sent.
#[derive(Clone, Copy)]
pub struct PasswordChangeForm<'a> {
    pub current_password: &'a str,
    pub new_password: &'a str,
    /// When asked: checked after the current password, within the same per-account budget as
    /// sign-in and the prompt.
    pub second_factor: Option<SecondFactor<'a>>,
}

/// Changes the password of the asking account: the current password (and code) checked, the new
/// one held to the sign-up rules, then committed ([`commit_new_password`]).
pub async fn change_password(
    state: &AppState,
    asker: Asker<'_>,
    form: PasswordChangeForm<'_>,
) -> Result<PasswordChange, AppError> {
    let user_id = asker.user_id;
    if form.new_password == form.current_password {
        return Err(AppError::Invalid("Choose a new password that differs from your current one.".into()));
    }
    // The account, read once: its email's key for the strength rules and the limits, and its hash.
    let (email_key, credentials) = store::credentials_by_id(&state.db, user_id).await?.ok_or(AppError::NotSignedIn)?;
    // The same rules as sign-up.
    let new_password = check_new_password_for(&email_key, form.new_password).await?;
    let detail = "Wrong current password on the password page";
    match check_credentials(state, &email_key, credentials, form.current_password, asker.origin, detail).await? {
        PasswordCheck::Correct => {}
        PasswordCheck::Wrong { locked: false } => return Err(AppError::Invalid(WRONG_CURRENT_PASSWORD.into())),
        PasswordCheck::Wrong { locked: true } => return Ok(PasswordChange::Locked),
    }
    if let Some(factor) = form.second_factor {
        use crate::two_step::service::{check_factor_within_budget, Attempt, StepOutcome};
        let attempt = Attempt {
            session_public_id: Some(factor.session_handle),
            origin: asker.origin,
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
    let at = state.db.clock.now();
    let mut tx = state.db.pool.begin().await?;
    let ends = Sessions::OthersOf { user_id, except_id_hash: asker.session_id_hash, unused_since: None };
    let new = NewPassword { user_id, hash: &hash, ends, kind: Kind::PasswordChanged, origin: asker.origin, at };
    let ended = commit_new_password(&mut tx, state, new).await?;
    tx.commit().await?;
    Ok(PasswordChange::Changed { other_sessions_ended: ended })
}
