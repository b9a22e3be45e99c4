//! Sign-in timing does not tell whether an email has an account. Its own test binary, so no other
//! test competes for the CPU while it measures (cargo runs test binaries one after another).

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_and_unknown_emails_take_the_same_time() {
    let mut apps = vec![TestApp::sqlite().await];
    apps.extend(TestApp::postgres().await);
    for app in apps {
        let (known, unknown) = median_ms_of_failed_sign_ins(&app).await;
        let ratio = known.max(unknown) / known.min(unknown);
        assert!(ratio < 1.2, "{}: known {known:.1} ms vs unknown {unknown:.1} ms", app.backend);
        app.cleanup().await;
    }
}
