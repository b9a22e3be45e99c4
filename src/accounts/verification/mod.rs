//! Verified addresses: with mail on, sign-up mails a single-use link
//! (`crate::mail::links`, 24 hours) to the new account's address; opening it shows
//! `/verify-email`, whose **Confirm my email address** button proves the address. Until then the
//! page frame shows a banner with **Send the link again**. Only a verified address receives
//! notices (`crate::mail::notices::verified_address`).
//!
//! The link's page only reads: mail scanners open links before people do, so the token is used by
//! the form's POST ([`api::confirm_email`]), never by the GET.

pub mod api;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

/// Shown on `/verify-email` once the address is proven.
pub const CONFIRMED: &str = "Your email address is confirmed.";
/// Shown for a link that is unknown, expired, already used, or not a verification link.
pub const LINK_UNUSABLE: &str = "This link has expired or was already used.";
/// Shown for a link sent to an address the account no longer has.
pub const LINK_FOR_OLD_ADDRESS: &str = "This link was sent to an address your account no longer uses.";
