//! Accounts: sign-up, sign-in, the account home.

pub mod api;
#[cfg(feature = "ssr")]
pub mod deletion;
#[cfg(feature = "ssr")]
pub mod email_links;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod password_change;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;

use serde::{Deserialize, Serialize};

/// What the account home shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeView {
    pub email: String,
}
