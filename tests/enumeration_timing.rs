//! Sign-in timing does not tell whether an email has an account. Its own test binary, so no other
//! test competes for the CPU while it measures (cargo runs test binaries one after another).

// Tests stop at the first surprise: unwrapping is how they say so.
#![allow(clippy::unwrap_used)]

#[path = "integration/common/mod.rs"]
mod common;

use common::TestApp;

async fn median_ms_of_failed_sign_ins(app: &TestApp) -> (f64, f64) {
    app.client().sign_up("tia@example.com").await;
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    // Interleaved, so drift in machine load affects both alike; the first round warms up.
    for round in 0..16 {
        for (email, samples) in [("tia@example.com", &mut known), ("nobody-here@example.com", &mut unknown)] {
            let mut client = app.client();
            let start = std::time::Instant::now();
            let reply = client.log_in(email, "wrong-password-123", false).await;
            let elapsed = start.elapsed().as_secs_f64() * 1000.0;
            assert!(reply.location().contains("__err="));
            if round > 0 {
                samples.push(elapsed);
            }
            app.exec("DELETE FROM throttle").await;
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    (median(&mut known), median(&mut unknown))
}

async fn same_time_for_known_and_unknown_emails(app: &TestApp) {
    let (known, unknown) = median_ms_of_failed_sign_ins(app).await;
    let ratio = known.max(unknown) / known.min(unknown);
    assert!(ratio < 1.2, "{}: known {known:.1} ms vs unknown {unknown:.1} ms", app.backend);
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
