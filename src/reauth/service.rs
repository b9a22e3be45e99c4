//! Checking a re-authentication: the same password and second-factor checks, within the same
//! per-account budgets, as sign-in.

use tower_sessions::Session;

use crate::accounts::service::{verify_account_password, PasswordCheck};
use crate::core::origin::RequestOrigin;
use crate::core::principal::SignedIn;
use crate::core::state::AppState;
use crate::errors::AppError;
use crate::sessions::{sign_in::record_reauthentication, sign_out::sign_out};
use crate::two_step::service::{check_factor_within_budget, Attempt, StepOutcome};

/// What the prompt's answer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// Proven: the time is kept and the session runs on under a new id.
    Confirmed,
    /// This wrong answer locked the account's password or second-factor limit, so the session
    /// was signed out: a stolen cookie gets no more guesses than a sign-in would.
    SignedOut,
}

/// Checks the password and, when two-step is on, a current code (or a recovery code), within the
/// same per-account budgets as sign-in (failures are recorded in the history); then records the
/// time in the session and rotates its id.
pub async fn confirm(
    state: &AppState,
    session: &Session,
    me: &SignedIn,
    password: &str,
    code: Option<&str>,
    origin: &RequestOrigin,
) -> Result<Confirmation, AppError> {
    let two_step_on = crate::two_step::store::is_enabled(&state.db, me.user_id).await?;
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    if two_step_on && code.is_none() {
        return Err(AppError::WrongCode);
    }
    match verify_account_password(state, me.user_id, password, origin, "Wrong password when confirming it was you")
        .await?
    {
        PasswordCheck::Correct => {}
        PasswordCheck::Wrong { locked: false } => {
            return Err(AppError::Invalid("That password is not correct.".into()))
        }
        PasswordCheck::Wrong { locked: true } => return signed_out(state, session).await,
    }
    if let (true, Some(code)) = (two_step_on, code) {
        let attempt = Attempt {
            session_public_id: Some(&me.handle),
            origin,
            failure_detail: "Wrong code when confirming it was you",
            failure_kind: crate::history::Kind::CodeFailed,
        };
        match check_factor_within_budget(state, me.user_id, code, attempt).await? {
            StepOutcome::Passed(_) => {}
            StepOutcome::Refused(err) => return Err(err),
            StepOutcome::LockedOut => return signed_out(state, session).await,
        }
    }
    record_reauthentication(session, me, state.db.clock.now()).await?;
    Ok(Confirmation::Confirmed)
}

async fn signed_out(state: &AppState, session: &Session) -> Result<Confirmation, AppError> {
    sign_out(session, state).await?;
    Ok(Confirmation::SignedOut)
}
