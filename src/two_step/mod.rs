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

/// What the two-step page shows.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoStepView {
    pub enabled: bool,
    /// Set while an enrolment waits for its confirming code.
    pub pending: Option<Enrolment>,
    pub recovery_codes_left: i64,
    /// Recovery codes just made; shown this once.
    pub fresh_recovery_codes: Vec<String>,
}

/// What a person needs to add Keycard to an authenticator app.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    /// Base32, in groups of four.
    pub setup_key: String,
    pub otpauth_uri: String,
    /// The URI as an SVG QR code, rendered on the server.
    pub qr_svg: String,
}

// `Debug` never prints TOTP secrets or recovery codes (they would end up in logs).
impl std::fmt::Debug for TwoStepView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let TwoStepView { enabled, pending, recovery_codes_left, fresh_recovery_codes } = self;
        f.debug_struct("TwoStepView")
            .field("enabled", enabled)
            .field("pending", pending)
            .field("recovery_codes_left", recovery_codes_left)
            .field("fresh_recovery_codes", &format_args!("[redacted; {}]", fresh_recovery_codes.len()))
            .finish()
    }
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_hides_the_totp_secret_and_recovery_codes() {
        let view = TwoStepView {
            enabled: false,
            pending: Some(Enrolment {
                setup_key: "JBSW Y3DP EHPK 3PXP".into(),
                otpauth_uri: "otpauth://totp/Keycard:a%40b?secret=JBSWY3DPEHPK3PXP&issuer=Keycard".into(),
                qr_svg: "<svg>JBSWY3DPEHPK3PXP</svg>".into(),
            }),
            recovery_codes_left: 2,
            fresh_recovery_codes: vec!["abcd-efgh-2345".into(), "wxyz-mnop-6789".into()],
        };
        let printed = format!("{view:?} {:?} {view:#?}", view.pending);
        for secret in ["JBSW", "otpauth", "svg", "abcd-efgh", "wxyz-mnop"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("recovery_codes_left: 2"), "{printed}");
    }
}
