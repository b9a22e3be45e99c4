//! Accounts: sign-up, sign-in, the account home, verified addresses.

pub mod api;
#[cfg(feature = "ssr")]
pub mod deletion;
#[cfg(feature = "ssr")]
pub mod email_change;
#[cfg(feature = "ssr")]
pub mod new_password;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod password_change;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;
pub mod verification;

use serde::{Deserialize, Serialize};

/// What the account home shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeView {
    pub email: String,
}
