//! Outgoing mail (server only): the outbox every domain writes mail into in its own transaction
//! ([`outbox::enqueue`]), and the worker that sends it ([`worker::spawn`], through
//! [`transport::Transport`]); the single-use links mails carry ([`links`]); security notices to an
//! account's verified address ([`notices`]). It calls no domain: domains build their [`Mail`] and
//! enqueue it, or call [`notices`] in the transaction of the change a notice announces.
//!
//! Without `KEYCARD_SMTP_URL` mail is off ([`enabled`] is false): callers write no outbox rows, no
//! worker runs, and Keycard behaves as it does without mail.

pub mod compose;
pub mod links;
pub mod metrics;
pub mod notices;
pub mod outbox;
pub mod transport;
pub mod worker;

pub use compose::compose;
pub use outbox::{enqueue, Mail};

use crate::core::config::Config;

/// True when mail is configured: callers enqueue mail only then.
pub fn enabled(config: &Config) -> bool {
    config.mail.is_some()
}
