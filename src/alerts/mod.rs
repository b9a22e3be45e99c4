//! Alerts: history events that need the account owner's answer — a sign-in from a new device, or
//! someone who knew the password but failed the two-step code. Shown in the page frame of the
//! account's sessions signed in before the alert ([`pages::AlertBanner`]), answered with "It was
//! me" or "This wasn't me" (which signs the alerting session out), through [`api`], [`service`]
//! and [`store`].

pub mod api;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;

use serde::{Deserialize, Serialize};

use crate::history::Kind;
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
