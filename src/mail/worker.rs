//! The mail worker: a background task (like the session sweeper) that claims due outbox rows,
//! sends each and marks it sent or failed. It is the only code that talks SMTP, so a slow or
//! unreachable mail server delays mail, never a request; it holds a database connection only for
//! its short statements, never while talking to the server.
//!
//! Every instance may run one: the claim ([`outbox::claim`]) hands each row to one of them.

use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::metrics::{MailMetrics, MAIL_METRICS};
use super::outbox::{self, Claimed};
use super::transport::{SendError, Transport, SEND_TIMEOUT};
use crate::core::db::Db;
use crate::core::periodic::{every, next_turn};

/// Rows claimed per pass.
pub const BATCH: i64 = 20;
/// How long a claim holds its rows. A send never starts unless it can finish (within
/// [`SEND_TIMEOUT`], plus [`LEASE_MARGIN_SECS`]) before the lease ends, so no other worker can
/// claim a row while it is being sent.
pub const LEASE: Duration = Duration::from_secs(300);
/// Slack for clocks of instances that disagree a little.
pub const LEASE_MARGIN_SECS: i64 = 60;
/// How often the worker looks for due mail.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Finished rows deleted per statement.
const PURGE_BATCH: i64 = 500;
/// After the server was unreachable, passes pause this long (rows have their own back-off too).
const UNREACHABLE_PAUSE: Duration = Duration::from_secs(outbox::FIRST_RETRY_SECS as u64);

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    pub claimed: usize,
    pub sent: usize,
    /// Attempts that failed and will be retried.
    pub failed: usize,
    pub given_up: usize,
    /// Claimed rows given back untried (the server went unreachable, the lease ran short, or the
    /// worker is stopping).
    pub released: usize,
    /// The pass ended early because the server did not answer.
    pub unreachable: bool,
}

/// One pass at time `now`: claims up to `batch` due rows and sends them one by one. Tests call it
/// with chosen times; the clock then runs on from `now` as real time passes.
pub async fn pass(
    db: &Db,
    transport: &Transport,
    now: i64,
    batch: i64,
    metrics: &MailMetrics,
) -> Result<PassReport, sqlx::Error> {
    pass_until(db, transport, now, batch, metrics, &|| false).await
}

async fn pass_until(
    db: &Db,
    transport: &Transport,
    now: i64,
    batch: i64,
    metrics: &MailMetrics,
    stopping: &(dyn Fn() -> bool + Sync),
) -> Result<PassReport, sqlx::Error> {
    let started = Instant::now();
    let clock = || now + started.elapsed().as_secs() as i64;
    let claimed = outbox::claim(db, now, LEASE, batch).await?;
    let mut report = PassReport { claimed: claimed.len(), ..PassReport::default() };
    let mut rows = claimed.iter();
    while let Some(row) = rows.next() {
        let too_late = clock() + SEND_TIMEOUT.as_secs() as i64 + LEASE_MARGIN_SECS > row.lease_until;
        if too_late || stopping() {
            report.released += release_all(db, std::iter::once(row).chain(rows)).await?;
            break;
        }
        match transport.send(row).await {
            Ok(()) => {
                metrics.count_sent();
                report.sent += 1;
                if !outbox::mark_sent(db, row, clock()).await? {
                    tracing::warn!(outbox_id = row.id, "mail sent again: it was already marked sent");
                }
            }
            Err(SendError::Unbuildable(error)) => {
                if outbox::mark_failed(db, row, clock(), &error, outbox::Retry::Never, metrics).await?
                    == outbox::Failure::GaveUp
                {
                    report.given_up += 1;
                }
            }
            Err(error) => {
                let unreachable = matches!(error, SendError::Unreachable(_));
                match outbox::mark_failed(db, row, clock(), &error.to_string(), outbox::Retry::WhileInTime, metrics)
                    .await?
                {
                    outbox::Failure::RetryAt(_) => report.failed += 1,
                    outbox::Failure::GaveUp => report.given_up += 1,
                    outbox::Failure::NotHeld => {}
                }
                if unreachable {
                    // The next mail would wait for the same dead server: give the rest back.
                    report.unreachable = true;
                    report.released += release_all(db, rows).await?;
                    break;
                }
            }
        }
    }
    Ok(report)
}

async fn release_all<'a>(db: &Db, rows: impl Iterator<Item = &'a Claimed>) -> Result<usize, sqlx::Error> {
    let mut released = 0;
    for row in rows {
        outbox::release(db, row).await?;
        released += 1;
    }
    Ok(released)
}

/// Runs passes every `interval` until `stop` turns true (or its sender is dropped), counting into
/// [`MAIL_METRICS`]. A pass that filled its batch is followed at once by another; a mail being
/// sent when `stop` turns true is finished (within [`SEND_TIMEOUT`]), the rest given back.
pub fn spawn(
    db: Db,
    transport: Transport,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tracing::info!(server = %transport.server, "mail worker started");
        let mut ticks = every(interval);
        let mut paused_until: Option<Instant> = None;
        while next_turn(&mut ticks, &mut stop).await {
            if paused_until.is_some_and(|until| Instant::now() < until) {
                continue;
            }
            paused_until = None;
            let stopping = || *stop.borrow();
            loop {
                match pass_until(&db, &transport, db.clock.now(), BATCH, &MAIL_METRICS, &stopping).await {
                    Ok(report) => {
                        if report.sent + report.failed + report.given_up > 0 {
                            tracing::info!(
                                sent = report.sent,
                                failed = report.failed,
                                given_up = report.given_up,
                                "mail pass"
                            );
                        }
                        if report.unreachable {
                            paused_until = Some(Instant::now() + UNREACHABLE_PAUSE);
                        }
                        let more = report.claimed as i64 == BATCH && report.released == 0;
                        if !more || stopping() {
                            break;
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "mail pass failed; will retry");
                        break;
                    }
                }
            }
            if let Err(err) = outbox::purge_finished(&db, db.clock.now(), PURGE_BATCH).await {
                tracing::warn!(error = %err, "outbox purge failed; will retry");
            }
        }
        tracing::debug!("mail worker stopped");
    })
}
