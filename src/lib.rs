//! Keycard: self-hosted account security (sign-in, sessions and devices, history).
//!
//! Where things live:
//! - [`app`]: the HTML shell, the router, the page frame (navigation with **Sign out**) and error pages.
//! - [`accounts`]: sign-up and sign-in (password hashing, strength rules, the `users` table).
//! - [`sessions`]: server-side sessions: the tower-sessions store over Keycard's own `sessions` table,
//!   the signed-in guard, sign-out, the `next` path check, and re-authentication for sensitive changes.
//! - [`history`]: the account's security log, new-device alerts (banner in the frame), export.
//! - [`two_step`]: two-step sign-in: TOTP enrolment (QR code), the code step, recovery codes.
//! - [`security_page`]: `/security` (checkup and guidance), the password page and account deletion.
//! - [`core`] (server only): configuration, database pool and migrations, the error type, web-security
//!   middleware (client IP, body limits, headers), and [`core::server::app`] which builds the router.
//!
//! Server-only code sits behind the `ssr` feature; the browser bundle is built with `hydrate`.
//! Inside a domain, `api.rs` holds thin `#[server]` functions, `pages.rs` the components, and the
//! `ssr`-only files hold SQL (`store.rs`) and logic that tests call directly.

pub mod accounts;
pub mod app;
#[cfg(feature = "ssr")]
pub mod core;
pub mod errors;
pub mod history;
pub mod security_page;
pub mod sessions;
pub mod two_step;

/// Browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Sign-in, sign-up and sign-out change who is signed in; a full page load afterwards
    // guarantees every part of the page is rendered for the new state. Set before the router
    // installs its client-side hook (the first hook set wins).
    let _ = leptos::server_fn::redirect::set_redirect_hook(|location: &str| {
        if let Some(window) = leptos::web_sys::window() {
            let _ = window.location().assign(location);
        }
    });
    leptos::mount::hydrate_body(app::App);
}
