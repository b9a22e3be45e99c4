//! The Security page: a personal checkup computed from the account's own data, each item with a
//! one-click fix, and plain-words guidance; the password page and account deletion hang off it.
//!
//! - [`api`]: thin server functions; [`pages`]: `/security`, `/security/password`, `/security/delete`.
//! - Server only: [`checkup`] (one query over the account's data, and signing out stale sessions).
//!   The password change and the deletion themselves live in `crate::accounts`.

pub mod api;
#[cfg(feature = "ssr")]
pub mod checkup;
pub mod pages;

use serde::{Deserialize, Serialize};

/// Sessions unused for longer than this show in the checkup as worth signing out.
pub const STALE_AFTER_SECS: i64 = 30 * 24 * 3600;
/// Fewer recovery codes than this left: the checkup warns.
pub const LOW_RECOVERY_CODES: i64 = 3;

/// The checkup's facts, straight from the database (see [`checkup::compute`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkup {
    pub two_step_on: bool,
    /// Unused recovery codes (0 when two-step is off).
    pub recovery_codes_left: i64,
    /// Passkeys on the account.
    pub passkeys: i64,
    /// Live sessions of this account not used for more than [`STALE_AFTER_SECS`].
    pub stale_sessions: i64,
    /// Failed sign-ins (wrong password or code) since the person's last visit.
    pub failed_sign_ins: i64,
    /// When the newest of those failures happened (Unix seconds).
    pub last_failed_at: Option<i64>,
    /// New-device alerts from other sessions not yet acknowledged ("It was me" / "This wasn't me").
    pub open_alerts: i64,
    /// When the password was set (Unix seconds).
    pub password_changed_at: i64,
    /// The optional notices turned off (as stored: comma-separated kinds).
    pub muted_notices: String,
}

/// What the Security page shows: the checkup with its times worded on the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityView {
    pub checkup: Checkup,
    /// "3 days ago".
    pub password_age: String,
    /// Older than [`OLD_PASSWORD_SECS`] (decided on the server, so both renders agree).
    pub password_old: bool,
    pub last_failed: Option<String>,
    /// How security notices reach the person.
    pub notices: NoticesByMail,
}

/// Whether security notices go out by mail, worded on the security page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NoticesByMail {
    /// This Keycard has no mail set up: notices stay in-app.
    Off,
    /// Mail is set up but the address is not confirmed yet.
    Unconfirmed,
    /// Notices go to this confirmed address; the optional ones can be turned off.
    To { email: String, choices: Vec<NoticeChoice> },
}

/// One optional notice on the security page's form: its kind (the form field's name), label, and
/// whether it is on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeChoice {
    pub kind: String,
    pub label: String,
    pub on: bool,
}

/// What the password page needs: whether its form asks for an authentication code too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPageView {
    pub code_needed: bool,
}

/// What the email and deletion pages need: whether the person re-authenticated recently
/// (otherwise the page sends them to the prompt), and the email to type for deletion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensitivePageView {
    pub confirmed: bool,
    pub email: String,
}

/// Passwords older than this get a gentle nudge (not a requirement: NIST advises against forced
/// rotation, so this only flags a password that has never been changed in a long time).
pub const OLD_PASSWORD_SECS: i64 = 365 * 24 * 3600;
