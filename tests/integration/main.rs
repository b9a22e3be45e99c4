//! Keycard's integration tests in one binary (one link instead of a dozen): the real router from
//! `app(state)` driven in-process, each scenario on SQLite and on PostgreSQL.
//! The timing test lives in its own binary (`tests/enumeration_timing.rs`) so nothing competes
//! with it for the CPU.

// Tests stop at the first surprise: unwrapping is how they say so.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;

mod accounts;
mod admin;
mod adversarial;
mod apps;
mod assets;
mod bad_input;
mod cli;
mod concurrency;
mod connections;
mod devices;
mod docs;
mod email_change;
mod error_links;
mod export;
mod history;
mod mail;
mod notices;
mod oidc_apps;
mod oidc_client_auth;
mod oidc_keys;
mod operations;
mod operator_binary;
mod parsers_proptest;
mod passkeys;
mod password_reset;
mod schema;
mod security_page;
mod sessions;
mod throttle;
mod two_step;
mod verification;
mod web_security;
