//! Starting this browser's session (sign-up, the password step, a complete sign-in) and giving it
//! a new id after a proof (re-authentication, a password change).

use tower_sessions::{Expiry, Session};

use super::keys::{SessionAuth, SignInMethod, AUTH, REAUTH_AT};
use super::store::PASSWORD_STEP_LIFETIME;
use crate::core::origin::RequestOrigin;
use crate::core::principal::{SignedIn, Stage};
use crate::core::state::AppState;
use crate::errors::AppError;

/// How a session starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// A new account: signed in with the password just chosen. The first sensitive change still
    /// asks for it again (nothing was proven that a cookie thief could not have set up).
    SignUp,
    /// A correct password on an account with two-step on: only as far as the code step.
    PasswordStep,
    /// A complete sign-in: as fresh a proof as the re-authentication prompt, so sensitive changes
    /// within the window do not ask for the password again.
    SignIn(SignInMethod),
}

/// Starts a signed-in session under a fresh id (no fixation: whatever id the browser had is
/// dropped). `remember` keeps the cookie across browser restarts for the longer lifetime.
pub async fn start_session(
    session: &Session,
    state: &AppState,
    user_id: i64,
    start: Start,
    remember: bool,
    origin: RequestOrigin,
) -> Result<(), AppError> {
    let t = state.db.clock.now();
    let (stage, method) = match start {
        Start::SignUp => (Stage::Complete, SignInMethod::Password),
        Start::PasswordStep => (Stage::PasswordVerified, SignInMethod::Password),
        Start::SignIn(method) => (Stage::Complete, method),
    };
    let lifetime = match (stage, remember) {
        (Stage::PasswordVerified, _) => PASSWORD_STEP_LIFETIME,
        (Stage::Complete, true) => state.config.remember_lifetime,
        (Stage::Complete, false) => state.config.absolute_lifetime,
    };
    let auth = SessionAuth {
        user_id,
        stage,
        method,
        remember,
        signed_in_at: t,
        absolute_expires_at: t + lifetime.as_secs() as i64,
        ip: origin.ip,
        user_agent: origin.user_agent,
        public_id: None,
        email: String::new(),
        email_verified: false,
        open_alerts: 0,
    };
    session.clear().await;
    // A browser that brought a session id gets a new one; without one, the record is created
    // under a fresh id anyway (cycling would only delete a row that does not exist).
    if session.id().is_some() {
        session.cycle_id().await?;
    }
    AUTH.insert(session, &auth).await?;
    if let Start::SignIn(_) = start {
        REAUTH_AT.insert(session, &t).await?;
    }
    session.set_expiry(Some(if remember && stage == Stage::Complete {
        // A duration, not a date: the cookie's Max-Age is then exactly the lifetime, on the
        // application's clock (a date would be measured against the system's).
        Expiry::OnInactivity(time::Duration::seconds(lifetime.as_secs() as i64))
    } else {
        Expiry::OnSessionEnd
    }));
    // Saved now rather than when the response leaves, so a failure is an error for this request.
    match session.save().await {
        Err(err) if super::store::is_account_disabled(&err) => {
            // Nothing is left for the session layer to try saving again when the answer leaves.
            session.clear().await;
            Err(crate::core::metrics::sign_in_refused(AppError::AccountDisabled))
        }
        Err(err) => Err(err.into()),
        Ok(()) => {
            match start {
                Start::SignUp => crate::core::metrics::session_started("sign_up"),
                Start::SignIn(method) => {
                    crate::core::metrics::sign_in(crate::core::metrics::SignInOutcome::Success);
                    crate::core::metrics::session_started(method.as_str());
                }
                Start::PasswordStep => {}
            }
            Ok(())
        }
    }
}

/// Issues this session a new id and keeps everything else: its data, its row's handle, lifetime
/// and history, and its cookie's persistence. Used after a re-authentication and a password change
/// (ASVS 5.0 7.2.4), so a session id seen before the proof is worthless after it.
pub async fn rotate_id(session: &Session, signed_in: &SignedIn, now: i64) -> Result<(), AppError> {
    session.cycle_id().await?;
    if signed_in.remember {
        // What is left of its lifetime, as a duration (see `start_session`).
        let left = time::Duration::seconds((signed_in.absolute_expires_at - now).max(0));
        session.set_expiry(Some(Expiry::OnInactivity(left)));
    }
    Ok(session.save().await?)
}

/// Records a re-authentication at `at` in the session (for [`SignedIn::reauth_at`]) and rotates
/// its id.
pub async fn record_reauthentication(session: &Session, signed_in: &SignedIn, at: i64) -> Result<(), AppError> {
    REAUTH_AT.insert(session, &at).await?;
    rotate_id(session, signed_in, at).await
}
