//! Passkeys (WebAuthn, through webauthn-rs): a phishing-resistant way in that the browser ties to
//! Keycard's own origin.
//!
//! - A passkey alone signs in (`/login`, **Sign in with a passkey**): it proves both the device
//!   and the person (user verification is required), so it is a complete sign-in.
//! - After a correct password, the code step accepts a passkey instead of a code.
//! - `/security/passkeys` adds (behind re-authentication), lists, renames and removes (behind
//!   re-authentication, like turning two-step off) them.
//!
//! Layout: [`pages`] and [`api`] (the page and its forms, which work without JavaScript);
//! server only: [`ceremony`] (the relying party, and each ceremony's state sealed for the trip
//! through the browser, accepted once), [`store`] (SQL), [`service`] (the flows, which tests call)
//! and [`script`] (serving `passkeys.js`, the browser's half of the ceremonies, which calls the
//! ceremony server functions in [`api`]).

pub mod api;
#[cfg(feature = "ssr")]
pub mod ceremony;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod script;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;

use serde::{Deserialize, Serialize};

use crate::moment::Moment;

/// At most this many passkeys per account (each one is a row and an entry in every sign-in's
/// list of allowed credentials).
pub const MAX_PASSKEYS: i64 = 20;
/// Longest passkey name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// One passkey as the passkeys page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyView {
    /// The row id: what the page's rename and remove forms name (always with the account's id).
    pub id: i64,
    pub name: String,
    pub created: Moment,
    pub last_used: Option<Moment>,
    /// "Synced passkey", "Security key", …
    pub kind: String,
}

/// What `/security/passkeys` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeysPageView {
    pub passkeys: Vec<PasskeyView>,
    /// The origin passkeys are tied to (`http://localhost:3000`, `https://id.example.com`): the
    /// page says to use it when the browser opened Keycard at another address.
    pub origin: String,
}

/// What kind of authenticator made a passkey, as far as the browser said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthenticatorKind {
    /// Backed up by a password manager or platform account (iCloud Keychain, Google Password
    /// Manager, 1Password…): usable on the person's other devices too.
    Synced,
    /// A USB, NFC or Bluetooth key.
    SecurityKey,
    /// Bound to this computer or phone (Windows Hello, a device-bound platform key).
    ThisDevice,
    /// Another device reached by QR code (hybrid transport).
    Phone,
    Unknown,
}

impl AuthenticatorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthenticatorKind::Synced => "synced",
            AuthenticatorKind::SecurityKey => "security_key",
            AuthenticatorKind::ThisDevice => "this_device",
            AuthenticatorKind::Phone => "phone",
            AuthenticatorKind::Unknown => "unknown",
        }
    }

    /// How the page words the stored text.
    pub fn label_of(stored: &str) -> &'static str {
        match stored {
            "synced" => "Synced passkey (password manager or platform account)",
            "security_key" => "Security key",
            "this_device" => "Passkey on one device",
            "phone" => "Passkey on a phone or tablet",
            _ => "Passkey",
        }
    }

    /// From the registration: whether the passkey may be backed up, how the browser reached the
    /// authenticator (`transports`) and where it is (`authenticatorAttachment`).
    pub fn from_registration(backup_eligible: bool, transports: &[String], attachment: Option<&str>) -> Self {
        let has = |t: &str| transports.iter().any(|x| x == t);
        if backup_eligible {
            AuthenticatorKind::Synced
        } else if has("hybrid") {
            AuthenticatorKind::Phone
        } else if has("usb") || has("nfc") || has("ble") || attachment == Some("cross-platform") {
            AuthenticatorKind::SecurityKey
        } else if has("internal") || attachment == Some("platform") {
            AuthenticatorKind::ThisDevice
        } else {
            AuthenticatorKind::Unknown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AuthenticatorKind as K;

    #[test]
    fn kinds_from_what_the_browser_said() {
        let t = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(K::from_registration(true, &t(&["internal", "hybrid"]), Some("platform")), K::Synced);
        assert_eq!(K::from_registration(false, &t(&["usb", "nfc"]), None), K::SecurityKey);
        assert_eq!(K::from_registration(false, &t(&["hybrid"]), Some("cross-platform")), K::Phone);
        assert_eq!(K::from_registration(false, &t(&["internal"]), Some("platform")), K::ThisDevice);
        assert_eq!(K::from_registration(false, &[], None), K::Unknown);
        assert_eq!(K::label_of(K::SecurityKey.as_str()), "Security key");
    }
}
