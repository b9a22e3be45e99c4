//! Two-step sign-in: TOTP enrolment with a QR code, the code step after the password, recovery
//! codes, and turning it off.
//!
//! - [`api`]: thin server functions; [`pages`]: the two-step page and the code step.
//! - Server only: [`totp`] (the verifier, pure functions), [`recovery`] (codes and their keyed
//!   hashes), [`store`] (SQL), [`service`] (the flows, called by the api and the tests).
//!   Secrets are sealed with [`crate::core::secrets`].

pub mod api;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod recovery;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod totp;

use serde::{Deserialize, Serialize};

/// How many wrong codes end a half-signed-in session.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

/// What the two-step page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoStepView {
    pub enabled: bool,
    /// Set while an enrolment waits for its confirming code.
    pub pending: Option<Enrolment>,
    pub recovery_codes_left: i64,
    /// Recovery codes just made; shown this once.
    pub fresh_recovery_codes: Vec<String>,
}

/// What a person needs to add Keycard to an authenticator app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    /// Base32, in groups of four.
    pub setup_key: String,
    pub otpauth_uri: String,
    /// The URI as an SVG QR code, rendered on the server.
    pub qr_svg: String,
}
