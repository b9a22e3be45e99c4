//! Re-authentication for sensitive changes (turning two-step on or off, new recovery codes,
//! password change, deletion, history export): the person enters the password (and a current
//! code when two-step is on) on the prompt (`crate::routes::REAUTH_PROMPT`); the time is kept in
//! the session and the session gets a new id. Sensitive server functions ask the principal
//! (`crate::core::principal::require_recent_reauth`), which sends a stale session here and back.
//! Answers count against the same per-account limits as sign-in ([`crate::core::throttle`]).
//!
//! [`pages`] renders the prompt, [`api`] holds its server functions, [`service`] checks the answer.

pub mod api;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
