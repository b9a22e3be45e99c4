//! The account's security history (`/history`): every security event, recorded in the same
//! transaction as its change ([`store`], a leaf every domain writes into), the new-device rule
//! ([`rules`]), the page ([`pages`], [`api`]) and the download ([`export`]).

pub mod api;
#[cfg(feature = "ssr")]
pub mod export;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod rules;
#[cfg(feature = "ssr")]
pub mod store;

use serde::{Deserialize, Serialize};

use crate::moment::Moment;

/// "1 session signed out", "3 unused sessions signed out" (`adjective` "unused "): the detail
/// of every event that signed sessions out, worded once.
pub fn sessions_signed_out(count: u64, adjective: &str) -> String {
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {adjective}session{plural} signed out")
}

/// What happened. Stored as its `as_str` text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    SignedIn,
    SignInFailed,
    CodeFailed,
    TwoStepOn,
    TwoStepOff,
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    SessionEnded,
    OtherDevicesSignedOut,
    UnusedSessionsSignedOut,
    SignedOutByAdmin,
    SecondFactorLocked,
    AlertAnswered,
    EmailVerified,
    EmailChanged,
    AppConnected,
    AppConnectionDenied,
    RefreshTokenReused,
    TwoStepResetByAdmin,
    AccountDisabled,
    AccountEnabled,
    PasskeyAdded,
    PasskeyRenamed,
    PasskeyRemoved,
    PasskeyCounterAnomaly,
    PasskeyBackupChanged,
}

impl Kind {
    pub const ALL: [Kind; 29] = [
        Kind::SignedIn,
        Kind::SignInFailed,
        Kind::CodeFailed,
        Kind::TwoStepOn,
        Kind::TwoStepOff,
        Kind::RecoveryCodeUsed,
        Kind::RecoveryCodesRegenerated,
        Kind::PasswordChanged,
        Kind::PasswordResetRequested,
        Kind::PasswordReset,
        Kind::SessionEnded,
        Kind::OtherDevicesSignedOut,
        Kind::UnusedSessionsSignedOut,
        Kind::SignedOutByAdmin,
        Kind::SecondFactorLocked,
        Kind::AlertAnswered,
        Kind::EmailVerified,
        Kind::EmailChanged,
        Kind::AppConnected,
        Kind::AppConnectionDenied,
        Kind::RefreshTokenReused,
        Kind::TwoStepResetByAdmin,
        Kind::AccountDisabled,
        Kind::AccountEnabled,
        Kind::PasskeyAdded,
        Kind::PasskeyRenamed,
        Kind::PasskeyRemoved,
        Kind::PasskeyCounterAnomaly,
        Kind::PasskeyBackupChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SignedIn => "signed_in",
            Kind::SignInFailed => "sign_in_failed",
            Kind::CodeFailed => "code_failed",
            Kind::TwoStepOn => "two_step_on",
            Kind::TwoStepOff => "two_step_off",
            Kind::RecoveryCodeUsed => "recovery_code_used",
            Kind::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Kind::PasswordChanged => "password_changed",
            Kind::PasswordResetRequested => "password_reset_requested",
            Kind::PasswordReset => "password_reset",
            Kind::SessionEnded => "session_ended",
            Kind::OtherDevicesSignedOut => "other_devices_signed_out",
            Kind::UnusedSessionsSignedOut => "unused_sessions_signed_out",
            Kind::SignedOutByAdmin => "signed_out_by_admin",
            Kind::SecondFactorLocked => "second_factor_locked",
            Kind::AlertAnswered => "alert_answered",
            Kind::EmailVerified => "email_verified",
            Kind::EmailChanged => "email_changed",
            Kind::AppConnected => "app_connected",
            Kind::AppConnectionDenied => "app_connection_denied",
            Kind::RefreshTokenReused => "refresh_token_reused",
            Kind::TwoStepResetByAdmin => "two_step_reset_by_admin",
            Kind::AccountDisabled => "account_disabled",
            Kind::AccountEnabled => "account_enabled",
            Kind::PasskeyAdded => "passkey_added",
            Kind::PasskeyRenamed => "passkey_renamed",
            Kind::PasskeyRemoved => "passkey_removed",
            Kind::PasskeyCounterAnomaly => "passkey_counter_anomaly",
            Kind::PasskeyBackupChanged => "passkey_backup_changed",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The person-facing name of the event.
    pub fn label(self) -> &'static str {
        match self {
            Kind::SignedIn => "Signed in",
            Kind::SignInFailed => "Sign-in failed",
            Kind::CodeFailed => "Wrong code at sign-in",
            Kind::TwoStepOn => "Two-step sign-in turned on",
            Kind::TwoStepOff => "Two-step sign-in turned off",
            Kind::RecoveryCodeUsed => "Recovery code used",
            Kind::RecoveryCodesRegenerated => "Recovery codes regenerated",
            Kind::PasswordChanged => "Password changed",
            Kind::PasswordResetRequested => "Password reset link sent",
            Kind::PasswordReset => "Password reset with an email link",
            Kind::SessionEnded => "Session signed out",
            Kind::OtherDevicesSignedOut => "All other devices signed out",
            Kind::UnusedSessionsSignedOut => "Unused sessions signed out",
            Kind::SignedOutByAdmin => "All devices signed out by an administrator",
            Kind::SecondFactorLocked => "Two-step codes locked after wrong codes",
            Kind::AlertAnswered => "Alert answered",
            Kind::EmailVerified => "Email address confirmed",
            Kind::EmailChanged => "Email address changed",
            Kind::AppConnected => "App connected",
            Kind::AppConnectionDenied => "App connection denied",
            Kind::RefreshTokenReused => "App connection ended: a refresh token was used twice",
            Kind::TwoStepResetByAdmin => "Two-step sign-in turned off by an administrator",
            Kind::AccountDisabled => "Account disabled by an administrator",
            Kind::AccountEnabled => "Account enabled again by an administrator",
            Kind::PasskeyAdded => "Passkey added",
            Kind::PasskeyRenamed => "Passkey renamed",
            Kind::PasskeyRemoved => "Passkey removed",
            Kind::PasskeyCounterAnomaly => "Passkey refused: it may have been copied",
            Kind::PasskeyBackupChanged => "Passkey backup state changed",
        }
    }
}

/// One row of the History page, worded on the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    pub id: i64,
    pub kind: Kind,
    pub label: String,
    pub detail: String,
    /// "Firefox 133 on Linux" (empty when the event has no browser).
    pub device: String,
    pub ip: String,
    pub when: Moment,
    pub new_device: bool,
}

/// One page of history; `next_before` is the `?before=` of the next (older) page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPageView {
    pub events: Vec<EventView>,
    pub next_before: Option<i64>,
    pub kind: Option<Kind>,
}

/// "Firefox 133 on Linux" for an event's user agent (empty when the event has no browser).
#[cfg(feature = "ssr")]
pub fn device_name(user_agent: &str) -> String {
    if user_agent.is_empty() {
        String::new()
    } else {
        crate::core::user_agent::describe(user_agent).name
    }
}
