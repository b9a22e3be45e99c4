//! Server-side sessions: the store, the signed-in guard, sign-out, the `next` check,
//! re-authentication for sensitive changes, and the devices page (every signed-in session of an
//! account, with sign-out of others), and the operator's `keycard admin` commands.

#[cfg(feature = "ssr")]
pub mod admin;
pub mod api;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod devices;
pub mod devices_api;
pub mod next;
pub mod pages;
pub mod reauth;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod sweeper;
#[cfg(feature = "ssr")]
pub mod ua;

use serde::{Deserialize, Serialize};

/// A moment as the devices page shows it. Worded on the server, so the server-rendered page and
/// the hydrated one show the very same text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moment {
    /// "5 minutes ago", "in 29 days".
    pub relative: String,
    /// "2026-11-22 05:41 UTC", for the `title`.
    pub exact: String,
    /// "2026-11-22T05:41:07Z", for `<time datetime>`.
    pub iso: String,
}

/// One session on the devices page. `handle` is an opaque, random public id: never the id hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    pub handle: String,
    /// "Firefox 133 on Linux".
    pub name: String,
    /// "Computer", "Phone" …
    pub kind: String,
    /// The raw user-agent text (rendered as escaped text only).
    pub user_agent: String,
    pub ip: String,
    pub signed_in: Moment,
    pub last_active: Moment,
    /// "Password", "Password and authenticator code", "Recovery code".
    pub method: String,
    /// Set for "Remember this device" sessions: when they expire.
    pub remembered_until: Option<Moment>,
    pub current: bool,
    /// For ended sessions: when, and how ("Signed out", "Signed out from another device", "Expired").
    pub ended: Option<(Moment, String)>,
}

/// The devices page: live sessions (newest activity first) and those ended in the last 30 days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicesView {
    pub active: Vec<DeviceView>,
    pub recent: Vec<DeviceView>,
}
