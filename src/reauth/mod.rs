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

/// Where a confirmed prompt returns: `next` when given (same-site paths only), else the two-step page.
#[cfg(feature = "ssr")]
pub fn return_path(next: Option<&str>) -> String {
    match next.filter(|n| !n.is_empty()) {
        Some(n) => crate::sessions::next::safe_next(Some(n)),
        None => crate::routes::TWO_STEP.to_owned(),
    }
}
