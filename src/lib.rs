//! Keycard: self-hosted account security (sign-in, two-step, sessions and devices, history).
//!
//! # Layout
//! Modules import only downward, and never one that imports them back:
//!
//! 1. The composition root, [`server`] (server only): builds the state and the router
//!    (`app(state)`), serves, and wires the `migrate`, `backup` and `admin` subcommands ([`admin`]);
//!    beside it [`metrics_page`], which reads across the domains when `/metrics` is scraped.
//! 2. Pages and UI: [`app`] (the HTML shell, the Leptos routes, the frame with **Sign out** and the
//!    alert banner), [`ui`] (widgets every page uses), and each domain's `pages.rs`.
//! 3. Server functions: each domain's `api.rs`, thin — parse the form, read the signed-in
//!    principal (`core::principal::signed_in`), call the service, redirect.
//! 4. Domain services, plain functions tests call directly: [`accounts`] (sign-up, sign-in,
//!    passwords, deletion), [`password_reset`] (forgot password), [`two_step`], [`reauth`]
//!    (confirming it's you), [`devices`],
//!    [`alerts`], [`apps`] (connected apps: the device flow, tokens, the JSON API), [`oidc`] (the
//!    apps that sign people in through Keycard), [`passkeys`] (WebAuthn),
//!    [`security_page`] (the checkup), and [`sessions`] (the tower-sessions store,
//!    the principal, the page guard, and the session lifecycle: the one way sessions end).
//! 5. Stores: the SQL of each domain (`store.rs`, `lifecycle.rs`); [`history`]'s store is a leaf
//!    every domain records its events into, and it calls no domain. [`mail`] (server only) is
//!    likewise below every domain that mails: the outbox that domains write mail into in their own
//!    transactions, the single-use links mails carry, security notices, and the worker that sends
//!    the mail. It calls no domain: it imports `core`, [`routes`], [`moment`] and [`history`]'s
//!    event types.
//! 6. The bottom: `core` (server only: configuration, database, state, the request's principal,
//!    web security, limits, secrets, telemetry), [`routes`] (the one route table), [`errors`]
//!    (the one error type) and [`moment`] (times as pages word them).
//!
//! Server-only code sits behind the `ssr` feature. Pages are server-rendered HTML whose forms
//! work without JavaScript; only the islands of the `keycard-browser` crate (`browser/`: a
//! confirming button, Copy) hydrate in the browser, and the bundle is that crate alone, which
//! keeps it small and leaves it untouched by a change to a page.

// The two-step page's view type nests deeper than the default limit in release builds.
#![recursion_limit = "256"]

pub mod accounts;
#[cfg(feature = "ssr")]
pub mod admin;
pub mod alerts;
pub mod app;
pub mod apps;
#[cfg(feature = "ssr")]
pub mod core;
pub mod devices;
pub mod errors;
pub mod history;
#[cfg(feature = "ssr")]
pub mod mail;
#[cfg(feature = "ssr")]
pub mod metrics_page;
pub mod moment;
#[cfg(feature = "ssr")]
pub mod oidc;
pub mod passkeys;
pub mod password_reset;
pub mod reauth;
pub mod routes;
pub mod security_page;
#[cfg(feature = "ssr")]
pub mod server;
pub mod sessions;
pub mod two_step;
pub mod ui;
