//! PostgreSQL stops for a few seconds under load and comes back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::harness::{assert_redirect, query_count, Browser, Cluster, Keycard, PASSWORD};

#[test]
#[ignore = "needs PostgreSQL's server binaries (Debian's postgresql package; scripts/test runs it)"]
fn postgres_restarting_under_load_gives_503s_then_recovers_with_nothing_lost() {
    let cluster = Cluster::create();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let keycard = Arc::new(Keycard::start(&cluster.url(), &[]));
    let mut browser = Browser::new();
    assert_redirect(&browser.sign_up(&keycard, "steady@example.com"), "/");
    let mut other = Browser::new();
    assert_redirect(&other.log_in(&keycard, "steady@example.com", PASSWORD), "/");
    let events_before = query_count(&runtime, &cluster.url(), "SELECT COUNT(*) FROM history_events");
    let sessions_before = query_count(&runtime, &cluster.url(), "SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL");

    // Traffic all along: a signed-in page and the readiness probe, one after the other.
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let (stop, keycard, cookies) = (stop.clone(), keycard.clone(), browser.cookies.clone());
        std::thread::spawn(move || {
            let mut load = Browser::new();
            load.cookies = cookies;
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                for path in ["/devices", "/readyz"] {
                    let reply = load.get(&keycard, path);
                    seen.push((path, reply.status, reply.took, reply.body.contains("cannot reach its database")));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            seen
        })
    };
    std::thread::sleep(Duration::from_millis(500));

    cluster.stop();
    let outage = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    let page = browser.get(&keycard, "/devices");
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(
        page.body.contains("cannot reach its database") && page.headers.contains_key("retry-after"),
        "{}",
        page.body
    );
    assert!(page.body.contains("request id"), "{}", page.body);
    assert!(page.took < Duration::from_secs(5), "answered in {:?}", page.took);
    assert_eq!(browser.get(&keycard, "/readyz").status, 503);
    assert_eq!(browser.get(&keycard, "/healthz").status, 200);
    let mut newcomer = Browser::new();
    let sign_in = newcomer.log_in(&keycard, "steady@example.com", PASSWORD);
    assert_eq!(
        sign_in.status,
        503,
        "a sign-in during the outage: {} {} {}",
        sign_in.status,
        sign_in.location(),
        sign_in.body
    );
    std::thread::sleep(Duration::from_secs(3).saturating_sub(outage.elapsed()));

    cluster.start();
    let back = Instant::now();
    let recovered = loop {
        let reply = browser.get(&keycard, "/");
        if reply.status == 200 {
            break reply;
        }
        assert!(back.elapsed() < Duration::from_secs(20), "not recovered: {} {}", reply.status, reply.body);
        std::thread::sleep(Duration::from_millis(100));
    };
    // With --nocapture: how long recovery took (the pool checks connections before use).
    eprintln!("serving again {:?} after PostgreSQL started", back.elapsed());
    assert!(recovered.body.contains("steady@example.com"), "the same session, still signed in: {}", recovered.body);
    assert_eq!(browser.get(&keycard, "/readyz").status, 200);
    assert_eq!(other.get(&keycard, "/").status, 200, "the other session survived too");
    stop.store(true, Ordering::Relaxed);
    let seen = traffic.join().unwrap();

    // Every answer was a page or a clear 503, quickly; none a 500.
    let unavailable = seen.iter().filter(|(_, status, _, _)| *status == 503).count();
    assert!(unavailable > 0, "the traffic saw the outage");
    for (path, status, took, worded) in &seen {
        assert!(*status == 200 || *status == 503, "{path}: {status}");
        assert!(*took < Duration::from_secs(5), "{path}: answered in {took:?}");
        if *status == 503 && *path == "/devices" {
            assert!(*worded, "the 503 page says what happened");
        }
    }
    // Nothing lost: every session and event from before is there, and sign-in records again.
    assert_eq!(
        query_count(&runtime, &cluster.url(), "SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL"),
        sessions_before
    );
    assert!(query_count(&runtime, &cluster.url(), "SELECT COUNT(*) FROM history_events") >= events_before);
    assert_redirect(&newcomer.log_in(&keycard, "steady@example.com", PASSWORD), "/");
    assert_eq!(
        query_count(&runtime, &cluster.url(), "SELECT COUNT(*) FROM history_events WHERE kind = 'signed_in'"),
        3,
        "sign-up, the second sign-in, and the one after the outage"
    );
    assert!(!keycard.log_text().contains("panicked"), "{}", keycard.log_text());
}
