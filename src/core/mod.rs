//! The small server-side core every domain uses: configuration, the database pool, shared state,
//! the request's principal, web-security middleware, limits, secrets and telemetry. It imports no
//! domain: only the shared `errors` and `routes` below it.

pub mod assets;
pub mod clock;
pub mod config;
pub mod db;
pub mod detached;
pub mod error_links;
pub mod hashing;
pub mod listener;
pub mod metrics;
pub mod origin;
pub mod page_data;
pub mod periodic;
pub mod principal;
pub mod request;
pub mod request_id;
pub mod secrets;
pub mod sqlite_reads;
pub mod stalled_renders;
pub mod state;
pub mod telemetry;
pub mod throttle;
pub mod user_agent;
pub mod web;
