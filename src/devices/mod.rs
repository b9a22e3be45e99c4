//! The devices page (`/devices`): every browser signed in to the account and every connected app
//! (`crate::apps`), newest activity first,
//! with **Sign out** for each other one and **Sign out all other devices**, and a collapsed
//! "Recently signed out" list. [`pages`] renders it, [`api`] holds its thin server functions,
//! [`service`] lists sessions and signs them out (through `crate::sessions::lifecycle`).

pub mod api;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

use crate::moment::Moment;

/// One session or app connection on the devices page. `handle` is an opaque, random public id:
/// never the id hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceView {
    pub handle: String,
    /// "Firefox 133 on Linux"; for an app connection, the app's name ("keycard-cli").
    pub name: String,
    /// Whether this is an app connection (device flow) rather than a browser session.
    pub app: bool,
    /// The browser and system the session or connection came from ("Firefox 133 on Linux"; for
    /// an app, its user agent when no browser is recognised in it).
    pub device: String,
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
