//! Alerts: history events that need the account owner's answer — a sign-in from a new device, or
//! someone who knew the password but failed the two-step code. Shown in the page frame of the
//! account's sessions signed in before the alert ([`pages::AlertBanner`]), answered with "It was
//! me" or "This wasn't me" (which signs the alerting session out), through [`api`], [`service`]
//! and [`store`]. A new-sign-in notice by mail carries its own single-use "This wasn't me" link
//! (`/login/not-me`).

pub mod api;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;

use serde::{Deserialize, Serialize};

use crate::history::Kind;

/// Shown for a "This wasn't me" link that is unknown, used or expired.
pub const NOT_ME_LINK_UNUSABLE: &str = "This link has expired or was already used.";
/// Shown on the forgot-password page after a "This wasn't me" link signed a session out.
pub const NOT_ME_DONE: &str = "That sign-in was signed out. Now choose a new password: enter your email to get a link.";
use crate::moment::Moment;

/// An alert for the banner: a sign-in from a new device ([`Kind::SignedIn`]) or someone who
/// knew the password but failed the two-step code ([`Kind::SecondFactorLocked`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertView {
    pub id: i64,
    pub kind: Kind,
    pub device: String,
    pub ip: String,
    pub when: Moment,
}
