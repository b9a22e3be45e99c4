//! "Forgot your password?": a person who cannot sign in asks for a link by mail
//! (`/login/forgot`), and the link (single use, 30 minutes, stored hashed) leads to choosing a new
//! password (`/login/reset`) — with the authentication code too when two-step is on. A reset
//! signs out every session of the account and is announced by mail.
//!
//! [`pages`] renders both pages, [`api`] holds their thin server functions, [`service`] the rules.
//! Without mail configured the forgot page says so and sends nothing.

pub mod api;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

/// What the reset page needs to know about its link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetLinkView {
    /// Two-step sign-in is on: the page asks for a code as well.
    pub needs_code: bool,
}

/// Shown on `/login/forgot` after a request, whatever the address.
pub const LINK_SENT: &str =
    "If an account uses that address, we sent it a link to choose a new password. The link works for 30 minutes.";
/// Shown for a reset link that is unknown, used or expired.
pub const LINK_NOT_VALID: &str = "This link has expired or was already used. Ask for a new one.";
/// Shown when mail is not set up on this Keycard.
pub const NO_MAIL: &str =
    "Password reset by email is not set up on this Keycard. Ask its administrator to help you back into your account.";
