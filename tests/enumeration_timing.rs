//! Sign-in timing does not tell whether an email has an account. Its own test binary, so no other
//! test competes for the CPU while it measures (cargo runs test binaries one after another).

// Tests stop at the first surprise: unwrapping is how they say so.
#![allow(clippy::unwrap_used)]

#[path = "integration/common/mod.rs"]
mod common;

use common::TestApp;

/// One failed sign-in of `email`, in milliseconds (the limits reset after it, so none slows the next).
async fn failed_sign_in_ms(app: &TestApp, email: &str) -> f64 {
    let mut client = app.client();
    let start = std::time::Instant::now();
    let reply = client.log_in(email, "wrong-password-123", false).await;
    let elapsed = start.elapsed().as_secs_f64() * 1000.0;
    assert!(reply.location().contains("__err="));
    app.exec("DELETE FROM throttle").await;
    elapsed
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

/// Known and unknown emails measured in pairs, back to back and in alternating order, so a burst
/// of load on a shared machine slows one pair rather than one side: the median of the pairs'
/// ratios, and each side's median for the message.
async fn failed_sign_in_ratio(app: &TestApp) -> (f64, f64, f64) {
    app.client().sign_up("tia@example.com").await;
    let (mut known, mut unknown, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    // The first round warms up.
    for round in 0..24 {
        let (k, u) = if round % 2 == 0 {
            let k = failed_sign_in_ms(app, "tia@example.com").await;
            (k, failed_sign_in_ms(app, "nobody-here@example.com").await)
        } else {
            let u = failed_sign_in_ms(app, "nobody-here@example.com").await;
            (failed_sign_in_ms(app, "tia@example.com").await, u)
        };
        if round > 0 {
            known.push(k);
            unknown.push(u);
            ratios.push(k / u);
        }
    }
    (median(ratios), median(known), median(unknown))
}

async fn same_time_for_known_and_unknown_emails(app: &TestApp) {
    let (ratio, known, unknown) = failed_sign_in_ratio(app).await;
    println!("{}: known {known:.1} ms, unknown {unknown:.1} ms, median ratio {ratio:.3}", app.backend);
    assert!(
        (1.0 / 1.2..1.2).contains(&ratio),
        "{}: known {known:.1} ms vs unknown {unknown:.1} ms (median ratio of pairs {ratio:.3})",
        app.backend
    );
}

/// One measurement at a time: the two tests of this binary must not compete for the CPU.
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_and_unknown_emails_take_the_same_time_on_sqlite() {
    let _alone = MEASURING.lock().await;
    let app = TestApp::sqlite().await;
    common::scenario_on("sign-in timing on SQLite", app, same_time_for_known_and_unknown_emails).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL at 127.0.0.1:5432 (scripts/test runs it)"]
async fn known_and_unknown_emails_take_the_same_time_on_postgres() {
    let _alone = MEASURING.lock().await;
    let app = TestApp::postgres().await;
    common::scenario_on("sign-in timing on PostgreSQL", app, same_time_for_known_and_unknown_emails).await;
}
