//! Apps and command-line tools connected to an account (`/connect`, `/oauth/…`, `/api/v1/…`).
//!
//! An app asks for a pairing code with the device flow (RFC 8628, [`grants`]); the person, signed
//! in, approves it on `/connect` ([`pages`], [`api`]); the app then receives an access token and a
//! refresh token ([`tokens`]) and calls the JSON API ([`rest`]). An app connection is a row of
//! `sessions` with a client name: the devices page lists it beside browsers, and every way
//! sessions end (`crate::sessions::lifecycle::end_sessions`) ends it too, since a token is
//! accepted only while its connection's row is live. [`oauth`] holds the two OAuth endpoints.
//!
//! Nothing here accepts a cookie: the OAuth endpoints and the API read only their form fields
//! and the `Authorization: Bearer` header, so they are safe from cross-site request forgery by
//! construction and may answer other origins (CORS, from `KEYCARD_CORS_ORIGINS`).

pub mod api;
#[cfg(feature = "ssr")]
pub mod codes;
#[cfg(feature = "ssr")]
pub mod grants;
#[cfg(feature = "ssr")]
pub mod oauth;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod rest;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod tokens;

use serde::{Deserialize, Serialize};

use crate::moment::Moment;

/// A pairing code lives this long (RFC 8628 `expires_in`).
pub const CODE_LIFETIME_SECS: i64 = 600;
/// The app polls no more often than this at first (RFC 8628 `interval`).
pub const POLL_INTERVAL_SECS: i64 = 5;
/// Longest client name an app may choose.
pub const MAX_CLIENT_NAME: usize = 64;

/// Shown on `/connect` for a code that is unknown, expired, used or mistyped.
pub const CODE_NOT_FOUND: &str =
    "That code is not valid. Check it against the one your app shows; codes expire after 10 minutes.";
/// Shown after **Connect**.
pub const CONNECTED: &str = "Connected. You can go back to your app.";
/// Shown after **Deny**.
pub const DENIED: &str = "The app was not connected.";

/// A pending pairing request as `/connect` shows it before the person decides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairingView {
    /// The code as typed, normalised ("WDJB-MJHT").
    pub code: String,
    /// The app's self-chosen name ("keycard-cli").
    pub client_name: String,
    /// The device it asked from, from its user agent ("Linux", or the raw text).
    pub device: String,
    pub ip: String,
    pub asked: Moment,
}
