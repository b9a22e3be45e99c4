//! Counters of the mail worker, for operators: `/metrics` publishes them as `keycard_mails_total`
//! (see `crate::metrics_page`), and tests read them.

use std::sync::atomic::{AtomicU64, Ordering};

/// Monotonic counts since the process started.
#[derive(Debug, Default)]
pub struct MailMetrics {
    sent: AtomicU64,
    failed_attempts: AtomicU64,
    given_up: AtomicU64,
}

/// The counters of this process's worker.
pub static MAIL_METRICS: MailMetrics = MailMetrics::new();

impl MailMetrics {
    pub const fn new() -> MailMetrics {
        MailMetrics { sent: AtomicU64::new(0), failed_attempts: AtomicU64::new(0), given_up: AtomicU64::new(0) }
    }

    /// Mails the SMTP server accepted.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Attempts that failed (each failure of a mail that is retried later counts once).
    pub fn failed_attempts(&self) -> u64 {
        self.failed_attempts.load(Ordering::Relaxed)
    }

    /// Mails abandoned: undelivered after [`super::outbox::GIVE_UP_AFTER_SECS`], or impossible to
    /// build (an invalid address).
    pub fn given_up(&self) -> u64 {
        self.given_up.load(Ordering::Relaxed)
    }

    pub(crate) fn count_sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_failed_attempt(&self) {
        self.failed_attempts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_given_up(&self) {
        self.given_up.fetch_add(1, Ordering::Relaxed);
    }
}
