//! The mail outbox and worker against a real SMTP server on loopback (`common::smtp`): delivery
//! with the right parts, nothing lost while the server is down, no mail sent twice by two
//! instances, and giving up after a day. The worker's pass is driven directly with chosen times.

use std::collections::HashMap;

use keycard::core::db::Db;
use keycard::mail::metrics::MailMetrics;
use keycard::mail::outbox::{self, GIVE_UP_AFTER_SECS};
use keycard::mail::transport::Transport;
use keycard::mail::worker::{self, PassReport};
use keycard::mail::Mail;

use crate::common::smtp::{free_port, mail_config, SmtpSink};
use crate::common::TestApp;

fn mail(to: &str, subject: &str) -> Mail {
    Mail {
        to: to.into(),
        subject: subject.into(),
        text_body: format!("Plain words about {subject}.\nSee https://keycard.example.test/devices"),
        html_body: format!("<p>Plain words about <b>{subject}</b>.</p>"),
        kind: "test",
    }
}

/// Enqueues in a transaction of its own, as a domain would with its event.
async fn enqueue(db: &Db, mail: &Mail, at: i64) -> i64 {
    let mut tx = db.pool.begin().await.unwrap();
    let id = keycard::mail::enqueue(&mut tx, &test_key(), mail, at).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// The key mail bodies are sealed with in these tests (the worker's transport opens them with it).
fn test_key() -> keycard::core::secrets::SecretKey {
    keycard::core::secrets::SecretKey::from_bytes([7; 32])
}

fn transport(port: u16) -> Transport {
    Transport::new(&mail_config(port), std::sync::Arc::new(test_key())).unwrap()
}

async fn a_committed_mail_arrives_once_with_both_parts(app: &TestApp) {
    assert!(!keycard::mail::enabled(&app.state.config), "tests run without mail unless they set it up");
    let sink = SmtpSink::start().await;
    let db = &app.state.db;
    let t0 = app.now();
    let id = enqueue(db, &mail("ada@example.com", "New sign-in to your account"), t0).await;
    // A mail written in a transaction that rolls back never exists.
    let mut tx = db.pool.begin().await.unwrap();
    keycard::mail::enqueue(&mut tx, &test_key(), &mail("ada@example.com", "Rolled back"), t0).await.unwrap();
    tx.rollback().await.unwrap();

    let metrics = MailMetrics::new();
    let report = worker::pass(db, &transport(sink.port), t0, worker::BATCH, &metrics).await.unwrap();
    assert_eq!(report, PassReport { claimed: 1, sent: 1, ..PassReport::default() });
    assert_eq!(metrics.sent(), 1);

    let received = sink.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let got = &received[0];
    assert_eq!(got.rcpt_tos, ["ada@example.com"]);
    assert_eq!(got.mail_from, "keycard@example.test");
    assert_eq!(got.from, "Keycard <keycard@example.test>");
    assert_eq!(got.to, "ada@example.com");
    assert_eq!(got.subject, "New sign-in to your account");
    assert_eq!(got.content_type, "multipart/alternative");
    assert_eq!(
        got.text.trim_end(),
        "Plain words about New sign-in to your account.\nSee https://keycard.example.test/devices"
    );
    assert_eq!(got.html.trim_end(), "<p>Plain words about <b>New sign-in to your account</b>.</p>");
    assert_eq!(got.message_id, format!("<keycard.{id}.{t0}@example.test>"));

    let sent = app
        .count(&format!("SELECT COUNT(*) FROM outbox WHERE id = {id} AND sent_at IS NOT NULL AND attempts = 1"))
        .await;
    assert_eq!(sent, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 1, "the rolled-back mail was written");
    // Nothing is left to send, now or later.
    let again = worker::pass(db, &transport(sink.port), t0 + 7200, worker::BATCH, &metrics).await.unwrap();
    assert_eq!(again, PassReport::default());
    assert_eq!(sink.received().len(), 1);
}

async fn smtp_down_then_up_loses_and_repeats_nothing(app: &TestApp) {
    let db = &app.state.db;
    let port = free_port();
    let transport = transport(port);
    let metrics = MailMetrics::new();
    let t0 = app.now();
    for n in 0..5 {
        enqueue(db, &mail(&format!("user{n}@example.com"), &format!("Notice {n}")), t0).await;
    }

    // Nobody listens: the first send fails, the rest of the batch is given back untried.
    let report = worker::pass(db, &transport, t0, worker::BATCH, &metrics).await.unwrap();
    assert_eq!(report, PassReport { claimed: 5, failed: 1, released: 4, unreachable: true, ..PassReport::default() });
    // Still down a moment later: the four due rows are claimed again (none stayed leased), one fails.
    let report = worker::pass(db, &transport, t0 + 5, worker::BATCH, &metrics).await.unwrap();
    assert_eq!(report, PassReport { claimed: 4, failed: 1, released: 3, unreachable: true, ..PassReport::default() });
    assert_eq!(metrics.failed_attempts(), 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE lease_until IS NOT NULL").await, 0);
    let retried_at = app.count("SELECT MIN(next_attempt_at) FROM outbox WHERE attempts = 1").await;
    assert_eq!(retried_at, t0 + 30, "the first failure waits 30 s");

    // The server comes up on the same port: every mail arrives, once.
    let sink = SmtpSink::start_on(port).await;
    let report = worker::pass(db, &transport, t0 + 40, worker::BATCH, &metrics).await.unwrap();
    assert_eq!(report, PassReport { claimed: 5, sent: 5, ..PassReport::default() });
    let again = worker::pass(db, &transport, t0 + 7200, worker::BATCH, &metrics).await.unwrap();
    assert_eq!(again, PassReport::default());
    let mut subjects: Vec<String> = sink.received().into_iter().map(|m| m.subject).collect();
    subjects.sort();
    assert_eq!(subjects, (0..5).map(|n| format!("Notice {n}")).collect::<Vec<_>>());
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL").await, 5);
    assert_eq!(metrics.given_up(), 0);
}

/// Two instances (two pools on one database), each running its worker as fast as it can over
/// small batches: every mail is delivered exactly once.
async fn two_instances_never_send_a_mail_twice(app: &TestApp) {
    const MAILS: usize = 50;
    let sink = SmtpSink::start().await;
    let first = app.state.db.clone();
    let second = Db::connect(&app.state.config).await.unwrap();
    let t0 = app.now();
    for n in 0..MAILS {
        enqueue(&first, &mail(&format!("user{n}@example.com"), &format!("Notice {n}")), t0).await;
    }
    let metrics = std::sync::Arc::new(MailMetrics::new());
    let run = |db: Db| {
        let transport = transport(sink.port);
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut sent = 0;
            loop {
                let report = worker::pass(&db, &transport, t0, 3, &metrics).await.unwrap();
                if report.claimed == 0 {
                    return sent;
                }
                sent += report.sent;
            }
        })
    };
    let (a, b) = (run(first.clone()), run(second.clone()));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(a + b, MAILS, "first instance sent {a}, second {b}");

    let mut per_message: HashMap<String, usize> = HashMap::new();
    for got in sink.received() {
        *per_message.entry(got.message_id).or_default() += 1;
    }
    assert_eq!(per_message.len(), MAILS, "every mail arrived");
    let twice: Vec<_> = per_message.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL AND attempts = 1").await, MAILS as i64);
    second.pool.close().await;
}

/// The claim alone, under contention: eight claim loops over two pools take every row exactly once.
async fn concurrent_claims_are_disjoint(app: &TestApp) {
    const ROWS: usize = 200;
    let first = app.state.db.clone();
    let second = Db::connect(&app.state.config).await.unwrap();
    let t0 = app.now();
    for n in 0..ROWS {
        enqueue(&first, &mail(&format!("user{n}@example.com"), "Claimed"), t0).await;
    }
    let claimers: Vec<_> = (0..8)
        .map(|i| {
            let db = if i % 2 == 0 { first.clone() } else { second.clone() };
            tokio::spawn(async move {
                let mut ids = Vec::new();
                loop {
                    let claimed = outbox::claim(&db, t0, worker::LEASE, 7).await.unwrap();
                    if claimed.is_empty() {
                        return ids;
                    }
                    ids.extend(claimed.iter().map(|c| c.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), total, "a row was claimed twice");
    assert_eq!(total, ROWS, "every row was claimed");
    // Leased rows are not claimed again before their lease ends, and are after.
    assert!(outbox::claim(&first, t0 + 1, worker::LEASE, 500).await.unwrap().is_empty());
    let after = t0 + worker::LEASE.as_secs() as i64;
    assert_eq!(outbox::claim(&second, after, worker::LEASE, 500).await.unwrap().len(), ROWS);
    second.pool.close().await;
}

async fn undelivered_mail_is_given_up_after_a_day(app: &TestApp) {
    let db = &app.state.db;
    let dead = transport(free_port());
    let metrics = MailMetrics::new();
    let t0 = app.now();
    let id = enqueue(db, &mail("ada@example.com", "Stale"), t0).await;

    let report = worker::pass(db, &dead, t0, worker::BATCH, &metrics).await.unwrap();
    assert_eq!((report.failed, report.given_up), (1, 0));
    // The next attempt due after a day fails too: the row is given up, counted, and never retried.
    let day = t0 + GIVE_UP_AFTER_SECS;
    let report = worker::pass(db, &dead, day, worker::BATCH, &metrics).await.unwrap();
    assert_eq!((report.claimed, report.failed, report.given_up), (1, 0, 1));
    assert_eq!((metrics.failed_attempts(), metrics.given_up()), (2, 1));
    let row = format!(
        "SELECT COUNT(*) FROM outbox WHERE id = {id} AND gave_up_at = {day} AND sent_at IS NULL \
                       AND attempts = 2 AND lease_until IS NULL AND last_error IS NOT NULL"
    );
    assert_eq!(app.count(&row).await, 1);
    assert_eq!(worker::pass(db, &dead, day + 7200, worker::BATCH, &metrics).await.unwrap(), PassReport::default());

    // A mail that can never be built (an invalid address) is given up at once, even with the
    // server up; the others in the batch still go.
    let sink = SmtpSink::start().await;
    enqueue(db, &mail("not an address", "Broken"), t0).await;
    enqueue(db, &mail("bob@example.com", "Fine"), t0).await;
    let report = worker::pass(db, &transport(sink.port), t0, worker::BATCH, &metrics).await.unwrap();
    assert_eq!((report.sent, report.given_up), (1, 1));
    assert_eq!(metrics.given_up(), 2);
    assert_eq!(sink.received().len(), 1);

    // Finished rows are deleted a week after they were written; nothing unfinished is.
    enqueue(db, &mail("carol@example.com", "Pending"), t0).await;
    let week = t0 + outbox::FINISHED_RETENTION_SECS + 1;
    assert_eq!(outbox::purge_finished(db, week, 2).await.unwrap(), 3);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 1);
}

/// The background task: it sends what is enqueued while it runs and stops when told.
async fn the_worker_task_sends_and_stops(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let task = worker::spawn(app.state.db.clone(), transport(sink.port), std::time::Duration::from_millis(50), stop);
    enqueue(&app.state.db, &mail("ada@example.com", "From the task"), app.now()).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sink.received().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the worker sent nothing within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop_tx.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), task).await.expect("the worker stops").unwrap();
    assert_eq!(sink.received().len(), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL").await, 1);
}

on_both_databases!(
    a_committed_mail_arrives_once_with_both_parts,
    smtp_down_then_up_loses_and_repeats_nothing,
    two_instances_never_send_a_mail_twice,
    concurrent_claims_are_disjoint,
    undelivered_mail_is_given_up_after_a_day,
    the_worker_task_sends_and_stops,
);
