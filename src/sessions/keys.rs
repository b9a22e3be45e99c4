//! What Keycard keeps in a session's data, under typed keys: each key names its value's type
//! once, so no module spells a key as a string or guesses what is stored under it.

use std::marker::PhantomData;

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tower_sessions::Session;

use crate::core::principal::Stage;
use crate::errors::AppError;

/// A key of the session data and the type of the value stored under it.
pub struct SessionKey<T> {
    pub name: &'static str,
    value: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> SessionKey<T> {
    const fn new(name: &'static str) -> SessionKey<T> {
        SessionKey { name, value: PhantomData }
    }

    pub async fn get(&self, session: &Session) -> Result<Option<T>, AppError> {
        Ok(session.get::<T>(self.name).await?)
    }

    pub async fn insert(&self, session: &Session, value: &T) -> Result<(), AppError> {
        Ok(session.insert(self.name, value).await?)
    }

    /// Reads a value meant to be shown once and removes it — when the page render showing it
    /// succeeds, so a render abandoned and retried (`crate::core::stalled_renders`) still finds it.
    pub async fn take_shown_once(&self, session: &Session) -> Result<Option<T>, AppError> {
        let value = self.get(session).await?;
        if value.is_some() {
            crate::core::stalled_renders::consume_session_key(session, self.name).await?;
        }
        Ok(value)
    }
}

/// Who is signed in ([`SessionAuth`]); mirrored into the `sessions` row's columns.
pub const AUTH: SessionKey<SessionAuth> = SessionKey::new("auth");
/// Unix time of the last re-authentication on the prompt.
pub const REAUTH_AT: SessionKey<i64> = SessionKey::new("reauth_at");
/// Just-made recovery codes (sealed), waiting for the two-step page to show them once.
pub const FRESH_RECOVERY_CODES: SessionKey<String> = SessionKey::new("fresh_recovery_codes");

/// How the session signed in (shown on the devices page).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInMethod {
    Password,
    PasswordAndCode,
    RecoveryCode,
    /// A passkey alone (it proved the device and, by user verification, the person).
    Passkey,
    /// The password, then a passkey at the code step.
    PasswordAndPasskey,
}

impl SignInMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Password => "password",
            SignInMethod::PasswordAndCode => "password_and_code",
            SignInMethod::RecoveryCode => "recovery_code",
            SignInMethod::Passkey => "passkey",
            SignInMethod::PasswordAndPasskey => "password_and_passkey",
        }
    }

    /// How the devices page and the history word it.
    pub fn label(self) -> &'static str {
        SignInMethod::label_of(self.as_str())
    }

    /// "Password", "Password and authenticator code", "Recovery code", "Connected app", from the
    /// stored text.
    pub fn label_of(stored: &str) -> &'static str {
        match stored {
            "password" => "Password",
            "password_and_code" => "Password and authenticator code",
            "recovery_code" => "Recovery code",
            "passkey" => "Passkey",
            "password_and_passkey" => "Password and passkey",
            // An app connection's row (`crate::apps`).
            "app" => "Connected app",
            _ => "Unknown",
        }
    }
}

/// What a signed-in session knows about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: i64,
    pub stage: Stage,
    pub method: SignInMethod,
    pub remember: bool,
    pub signed_in_at: i64,
    pub absolute_expires_at: i64,
    pub ip: String,
    pub user_agent: String,
    /// The row's public handle. Set by the store: when the row is created, and from the row on
    /// every load; kept when the id is rotated.
    #[serde(default)]
    pub public_id: Option<String>,
    /// The account's email, filled in from the `users` row each time the store loads the session
    /// (never stored in the session data).
    #[serde(default, skip_serializing)]
    pub email: String,
    /// Whether that email is verified, filled in with it (never stored either).
    #[serde(default, skip_serializing)]
    pub email_verified: bool,
    /// How many open alerts this session may answer, counted with it (never stored either).
    #[serde(default, skip_serializing)]
    pub open_alerts: i64,
}

impl SessionAuth {
    pub fn from_record(record: &tower_sessions::session::Record) -> Option<SessionAuth> {
        serde_json::from_value(record.data.get(AUTH.name)?.clone()).ok()
    }
}
