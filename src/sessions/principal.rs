//! Signing in and out of this browser's session, and loading the request's principal.
//!
//! [`load`] runs once per request right inside the session layer: it reads the session (the
//! store's one read of the `sessions` row, joined with the account's email) and puts a
//! [`Principal`] into the request, which the page guard, server functions and handlers read
//! (`crate::core::principal`). Static files and probes skip it.

use axum::{
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::Response,
};
use tower_sessions::{session::Id, Expiry, Session};

use super::keys::{SessionAuth, SignInMethod, AUTH, REAUTH_AT};
use super::lifecycle::{end_reason, end_sessions_now, Sessions};
use super::store::{hash_id, PASSWORD_STEP_LIFETIME};
use crate::core::principal::{EndReason, Principal, SignedIn, Stage};
use crate::core::request::RequestOrigin;
use crate::core::state::AppState;
use crate::errors::AppError;

/// Puts the request's [`Principal`] into its extensions (pages, server functions, downloads).
pub async fn load(State(state): State<AppState>, session: Session, mut req: Request, next: Next) -> Response {
    if crate::routes::reads_principal(req.uri().path()) {
        let principal = match principal_of(&state, &session, req.headers()).await {
            Ok(principal) => principal,
            Err(err) => return crate::core::web::app_error_page(&err),
        };
        req.extensions_mut().insert(principal);
    }
    next.run(req).await
}

async fn principal_of(
    state: &AppState,
    session: &Session,
    headers: &axum::http::HeaderMap,
) -> Result<Principal, AppError> {
    if let Some(auth) = AUTH.get(session).await? {
        let id_hash = session.id().map(|id| hash_id(&id)).unwrap_or_default();
        return Ok(Principal::Session(SignedIn {
            user_id: auth.user_id,
            email: auth.email,
            email_verified: auth.email_verified,
            open_alerts: auth.open_alerts,
            handle: auth.public_id.unwrap_or_default(),
            stage: auth.stage,
            id_hash,
            remember: auth.remember,
            absolute_expires_at: auth.absolute_expires_at,
            reauth_at: REAUTH_AT.get(session).await?,
        }));
    }
    // A cookie that loads no session: say why it ended, if it did.
    let Some(id) = session_cookie(headers, state.config.cookie_name()) else {
        return Ok(Principal::Anonymous);
    };
    Ok(match end_reason(&state.db, &hash_id(&id)).await? {
        Some(reason) => Principal::Ended(reason),
        None => Principal::Anonymous,
    })
}

/// The session id in the request's cookie, if it parses as one.
fn session_cookie(headers: &axum::http::HeaderMap, cookie_name: &str) -> Option<Id> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie_name)
        .and_then(|(_, value)| value.parse().ok())
}

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

/// Signs this browser out: its row is ended (reason `signed_out`, with its history event) and
/// the cookie cleared.
pub async fn sign_out(session: &Session, state: &AppState) -> Result<(), AppError> {
    if let Some(id) = session.id() {
        end_sessions_now(&state.db, Sessions::ById(&hash_id(&id)), EndReason::SignedOut).await?;
    }
    forget(session).await
}

/// Clears this browser's cookie and session data without ending anything (its row already ended
/// or is gone).
pub async fn forget(session: &Session) -> Result<(), AppError> {
    Ok(session.flush().await?)
}
