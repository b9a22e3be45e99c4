//! The one error type server functions return. Each variant has a fixed, person-facing message;
//! internal details are logged on the server and never sent to the browser.

use serde::{Deserialize, Serialize};

/// Shown when a session was ended from another device.
pub const SIGNED_OUT_ELSEWHERE: &str = "You were signed out from another device.";
/// Shown when a session ran past its idle or absolute lifetime.
pub const SESSION_EXPIRED: &str = "Your session expired. Please sign in again.";
/// Shown on the sign-in page (`/login?ended=disabled`) and for a disabled account's correct password.
pub const ACCOUNT_DISABLED: &str = "This account is disabled. Ask your Keycard administrator for help.";
/// Shown on the sign-in page (`/login?deleted=1`) after an account was deleted.
pub const ACCOUNT_DELETED: &str = "Your account was deleted.";
/// Shown on the sign-in page (`/login?reset=1`) after a password reset.
pub const PASSWORD_RESET_DONE: &str =
    "Your password was changed and every device signed out. Sign in with your new password.";
/// Shown on the sign-in page when the code step was ended after too many wrong codes.
pub const TOO_MANY_CODES: &str = "Too many wrong codes. Sign in with your password again.";
/// Shown on the sign-in page (`/login?ended=locked`) when a session was signed out after too many
/// wrong answers at the re-authentication prompt or on the password page.
pub const TOO_MANY_CONFIRMATIONS: &str =
    "Too many wrong attempts to confirm it was you, so you were signed out. Sign in again.";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// A field failed a rule; the text says which and how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// The one answer for an unknown email and a wrong password alike.
    #[error("Email or password is incorrect.")]
    WrongCredentials,
    #[error("Please sign in to continue.")]
    NotSignedIn,
    /// Not signed in because this browser's session was ended from another device.
    #[error("You were signed out from another device.")]
    SignedOutElsewhere,
    /// Not signed in because this browser's session ran past its lifetime.
    #[error("Your session expired. Please sign in again.")]
    SessionExpired,
    #[error("That was not found.")]
    NotFound,
    /// The request could not be parsed (missing or malformed fields, wrong content type).
    #[error("The form could not be read. Please reload the page and try again.")]
    BadRequest,
    /// Throttled; the answer carries `Retry-After`.
    #[error("Too many attempts. Try again in {}.", wait_text(*retry_after_secs))]
    TooManyAttempts { retry_after_secs: i64 },
    /// A wrong authentication or recovery code.
    #[error("That code is not correct. Enter the current code from your authenticator app, or a recovery code.")]
    WrongCode,
    /// A TOTP code whose time step was already used (replay).
    #[error("That code was already used. Wait for the next code.")]
    CodeAlreadyUsed,
    /// The server is at its limit of concurrent password checks; the answer carries `Retry-After`.
    #[error("Keycard is busy right now. Please try again in a few seconds.")]
    Busy { retry_after_secs: i64 },
    /// An administrator disabled the account; said only after its correct password.
    #[error("{}", ACCOUNT_DISABLED)]
    AccountDisabled,
    /// The database cannot be reached (down, restarting, out of connections); the answer carries
    /// `Retry-After`.
    #[error("Keycard cannot reach its database right now. Please try again in a moment.")]
    Unavailable,
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
}

/// "45 seconds", "3 minutes", "1 hour".
pub fn wait_text(secs: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match secs {
        ..=59 => plural(secs.max(1), "second"),
        60..=3599 => plural((secs + 59) / 60, "minute"),
        _ => plural((secs + 3599) / 3600, "hour"),
    }
}

impl AppError {
    /// The HTTP status answered for this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 422,
            AppError::WrongCredentials
            | AppError::NotSignedIn
            | AppError::SignedOutElsewhere
            | AppError::SessionExpired
            | AppError::WrongCode => 401,
            AppError::CodeAlreadyUsed => 409,
            AppError::NotFound => 404,
            AppError::BadRequest => 400,
            AppError::TooManyAttempts { .. } => 429,
            AppError::AccountDisabled => 403,
            AppError::Busy { .. } | AppError::Unavailable => 503,
            AppError::Internal => 500,
        }
    }

    /// Logs an internal failure with its details and returns the generic error for people.
    #[cfg(feature = "ssr")]
    #[track_caller]
    pub fn internal(err: impl std::fmt::Display) -> AppError {
        let at = std::panic::Location::caller();
        tracing::error!(error = %err, at = %at, "internal error");
        AppError::Internal
    }

    /// Seconds to send in `Retry-After`, for the answers that carry one.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            AppError::TooManyAttempts { retry_after_secs } | AppError::Busy { retry_after_secs } => {
                Some((*retry_after_secs).max(1))
            }
            AppError::Unavailable => Some(UNAVAILABLE_RETRY_SECS),
            _ => None,
        }
    }
}

/// `Retry-After` while the database cannot be reached.
pub const UNAVAILABLE_RETRY_SECS: i64 = 5;

/// Database failures are logged once, here, with where they happened, and answered generically:
/// a database that cannot be reached is 503 (it passes), anything else 500.
#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    #[track_caller]
    fn from(err: sqlx::Error) -> AppError {
        if is_unreachable(&err) {
            let at = std::panic::Location::caller();
            tracing::warn!(error = %err, at = %at, "database unreachable");
            return AppError::Unavailable;
        }
        AppError::internal(err)
    }
}

/// Session-data failures (the store or (de)serialising a value), likewise.
#[cfg(feature = "ssr")]
impl From<tower_sessions::session::Error> for AppError {
    #[track_caller]
    fn from(err: tower_sessions::session::Error) -> AppError {
        use tower_sessions::{session::Error, session_store::Error as StoreError};
        if let Error::Store(StoreError::Backend(text)) = &err {
            if text.starts_with(UNREACHABLE_PREFIX) {
                let at = std::panic::Location::caller();
                tracing::warn!(error = %err, at = %at, "database unreachable");
                return AppError::Unavailable;
            }
        }
        AppError::internal(err)
    }
}

/// Keycard's own values that would not (de)serialise: a bug, logged and answered generically.
/// What a person sent is checked where it is read, and refused as a bad request there.
#[cfg(feature = "ssr")]
impl From<serde_json::Error> for AppError {
    #[track_caller]
    fn from(err: serde_json::Error) -> AppError {
        AppError::internal(err)
    }
}

/// webauthn-rs failing to configure itself or to start a ceremony (a refused credential is
/// answered where it is checked, in words for the person).
#[cfg(feature = "ssr")]
impl From<webauthn_rs::prelude::WebauthnError> for AppError {
    #[track_caller]
    fn from(err: webauthn_rs::prelude::WebauthnError) -> AppError {
        AppError::internal(err)
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(err: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match err {
            E::Args(_) | E::MissingArg(_) | E::Deserialization(_) => AppError::BadRequest,
            _ => AppError::Internal,
        }
    }
}

/// The database could not be reached or went away mid-statement (down, restarting, no free
/// connection within the acquire timeout), as opposed to a statement it refused.
#[cfg(feature = "ssr")]
pub fn is_unreachable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL's "connection exception" class (08…) and the server shutting down or starting
        // up (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now).
        sqlx::Error::Database(db) => db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// How a session-store error says the database could not be reached (tower-sessions keeps only
/// its text): see [`describe_for_session_store`].
#[cfg(feature = "ssr")]
pub const UNREACHABLE_PREFIX: &str = "database unreachable: ";

/// A database error as text for tower-sessions' store errors, marked when it is an outage so the
/// answer is 503 rather than 500.
#[cfg(feature = "ssr")]
pub fn describe_for_session_store(err: &sqlx::Error) -> String {
    if is_unreachable(err) {
        format!("{UNREACHABLE_PREFIX}{err}")
    } else {
        err.to_string()
    }
}
