//! Who is asking: the request's [`Principal`], loaded once per request by the session layer
//! (`crate::sessions::principal::load`) and read by server functions through [`signed_in`]
//! ([`code_step`], [`signed_in_for_page`]) and by axum handlers through the [`Principal`]
//! extractor. Nothing re-reads the session to find out who is signed in.

use axum::{extract::FromRequestParts, http::request::Parts};

use crate::errors::AppError;

/// How far sign-in has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Stage {
    /// Password correct; the second step is still owed.
    PasswordVerified,
    Complete,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::PasswordVerified => "password_verified",
            Stage::Complete => "complete",
        }
    }
    pub fn parse(text: &str) -> Option<Stage> {
        match text {
            "password_verified" => Some(Stage::PasswordVerified),
            "complete" => Some(Stage::Complete),
            _ => None,
        }
    }
}

/// Why a session stopped working; stored in `sessions.end_reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The person signed this session out.
    SignedOut,
    /// Ended from elsewhere: another device of the account, a password change, an administrator.
    SignedOutElsewhere,
    Expired,
    /// An app connection whose already-exchanged refresh token was presented again: someone else
    /// holds a copy, so the whole connection ends.
    TokenReused,
    /// An administrator disabled the account (`keycard admin disable`).
    AccountDisabled,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::SignedOut => "signed_out",
            EndReason::SignedOutElsewhere => "signed_out_elsewhere",
            EndReason::Expired => "expired",
            EndReason::TokenReused => "token_reused",
            EndReason::AccountDisabled => "account_disabled",
        }
    }
    pub fn parse(text: &str) -> Option<EndReason> {
        match text {
            "signed_out" => Some(EndReason::SignedOut),
            // 'revoked' is how instances before migration 20261127000001 wrote it.
            "signed_out_elsewhere" | "revoked" => Some(EndReason::SignedOutElsewhere),
            "expired" => Some(EndReason::Expired),
            "token_reused" => Some(EndReason::TokenReused),
            "account_disabled" => Some(EndReason::AccountDisabled),
            _ => None,
        }
    }
    /// How the devices page and the history word it.
    pub fn label(self) -> &'static str {
        match self {
            EndReason::SignedOut => "Signed out",
            EndReason::SignedOutElsewhere => "Signed out from another device",
            EndReason::Expired => "Expired",
            EndReason::TokenReused => "Ended: an old refresh token was used again",
            EndReason::AccountDisabled => "Ended: the account was disabled by an administrator",
        }
    }
}

/// A session past the password step, as the request found it.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub user_id: i64,
    /// The account's email, read with the session row (no second read of `users`).
    pub email: String,
    /// Whether that email is verified (read with it), for the page frame's banner.
    pub email_verified: bool,
    /// How many open alerts this session may answer (read with the session row), so pages
    /// without any skip the alert query.
    pub open_alerts: i64,
    /// The session's public handle (devices page, history); never the id or its hash.
    pub handle: String,
    pub stage: Stage,
    /// SHA-256 of the session id: how the database names this session.
    pub id_hash: String,
    /// "Remember this device": the cookie outlives the browser.
    pub remember: bool,
    /// When the session's absolute lifetime ends (Unix seconds).
    pub absolute_expires_at: i64,
    /// When the person last proved it was them: the sign-in that completed this session, the
    /// re-authentication prompt, or the password page's own check.
    pub reauth_at: Option<i64>,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("user_id", &self.user_id)
            .field("handle", &self.handle)
            .field("stage", &self.stage)
            .field("id_hash", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl SignedIn {
    /// Whether this session re-authenticated within `window` before `now`.
    pub fn reauthenticated_within(&self, window: std::time::Duration, now: i64) -> bool {
        self.reauth_at.is_some_and(|at| (0..=window.as_secs() as i64).contains(&(now - at)))
    }
}

/// Who the request is from.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Principal {
    /// No session cookie, or one that names no session.
    #[default]
    Anonymous,
    /// The cookie names a session that ended: it says why.
    Ended(EndReason),
    /// A live session (either stage).
    Session(SignedIn),
}

impl Principal {
    /// The request's principal: set by the session layer; anonymous where it did not run.
    pub fn of(parts: &Parts) -> Principal {
        parts.extensions.get::<Principal>().cloned().unwrap_or_default()
    }

    /// A fully signed-in session, or [`AppError::NotSignedIn`].
    pub fn signed_in(self) -> Result<SignedIn, AppError> {
        match self {
            Principal::Session(s) if s.stage == Stage::Complete => Ok(s),
            _ => Err(AppError::NotSignedIn),
        }
    }

    /// Like [`Principal::signed_in`], but a session that ended says why (for page data: a
    /// client-side navigation meets the end of a session here, and the sign-in page says why).
    pub fn signed_in_for_page(self) -> Result<SignedIn, AppError> {
        match self {
            Principal::Ended(EndReason::SignedOutElsewhere) => Err(AppError::SignedOutElsewhere),
            Principal::Ended(EndReason::Expired) => Err(AppError::SessionExpired),
            Principal::Ended(EndReason::AccountDisabled) => Err(AppError::AccountDisabled),
            other => other.signed_in(),
        }
    }
}

/// The request's principal inside a server function or a page render (read in place: the
/// request's head is not copied).
fn current() -> Result<Principal, AppError> {
    leptos::prelude::with_context::<Parts, _>(Principal::of).ok_or_else(|| AppError::internal("request parts missing"))
}

/// For server functions: the fully signed-in session of this request.
pub fn signed_in() -> Result<SignedIn, AppError> {
    current()?.signed_in()
}

/// For server functions loading a page's data: [`Principal::signed_in_for_page`].
pub fn signed_in_for_page() -> Result<SignedIn, AppError> {
    current()?.signed_in_for_page()
}

/// For the code step: a session that passed the password step and still owes the second.
pub fn code_step() -> Result<SignedIn, AppError> {
    match current()? {
        Principal::Session(s) if s.stage == Stage::PasswordVerified => Ok(s),
        _ => Err(AppError::NotSignedIn),
    }
}

/// The request's principal, for axum handlers (downloads).
impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Principal::of(parts))
    }
}

/// For server functions making a sensitive change: true when `signed_in` re-authenticated
/// within the configured window; otherwise the browser is sent to the prompt (which comes back to
/// `return_to`) and the caller must stop.
pub fn require_recent_reauth(signed_in: &SignedIn, state: &super::state::AppState, return_to: &str) -> bool {
    if signed_in.reauthenticated_within(state.config.reauth_window, state.db.clock.now()) {
        return true;
    }
    leptos_axum::redirect(&crate::routes::reauth_prompt(return_to));
    false
}
