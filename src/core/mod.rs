//! The small server-side core every domain uses.

pub mod config;
pub mod db;
pub mod error_links;
pub mod hashing;
pub mod listener;
pub mod secrets;
pub mod server;
pub mod stalled_renders;
pub mod state;
pub mod telemetry;
pub mod throttle;
pub mod web;
