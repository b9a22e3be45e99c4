//! Two `keycard` processes on different ports sharing one PostgreSQL database.

use std::time::{Duration, Instant};

use keycard::two_step::totp::{code_for_step, step_at};

use crate::harness::{assert_redirect, free_port, Browser, Keycard, Schema, PASSWORD};

#[test]
#[ignore = "needs PostgreSQL at 127.0.0.1:5432 (scripts/test runs it)"]
fn two_processes_on_one_database_agree() {
    let schema = Schema::new();
    let metrics_port = free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let sweep_often = ("KEYCARD_SESSION_SWEEP_INTERVAL_SECS", "1");
    let a = Keycard::start(&schema.url, &[sweep_often, ("KEYCARD_METRICS_ADDR", &metrics_addr)]);
    let b = Keycard::start(&schema.url, &[sweep_often]);

    // A session signed out through one process is refused by the other at its next request.
    let mut laptop = Browser::new();
    assert_redirect(&laptop.sign_up(&a, "two@example.com"), "/");
    assert_eq!(laptop.get(&b, "/").status, 200, "a session started on one process works on the other");
    let stolen_copy = laptop.cookies.clone();
    assert_redirect(&laptop.post(&a, "/api/logout", "/", &[]), "/login");
    let mut thief = Browser::new();
    thief.cookies = stolen_copy;
    assert_redirect(&thief.get(&b, "/devices"), "/login?next=/devices");

    // A TOTP time step used through one process is refused through the other.
    let secret = enrol_two_step(&a, "code@example.com");
    let mut first = Browser::new();
    let mut second = Browser::new();
    assert_redirect(&first.log_in(&a, "code@example.com", PASSWORD), "/login/code");
    assert_redirect(&second.log_in(&b, "code@example.com", PASSWORD), "/login/code");
    let code = code_for_step(&secret, step_at(keycard::core::clock::Clock::system().now()));
    let fields = [("code", code.as_str()), ("next", "")];
    assert_redirect(&first.post(&a, "/api/login_code", "/login/code", &fields), "/");
    let replay = second.post(&b, "/api/login_code", "/login/code", &fields);
    assert!(replay.location().contains("/login/code"), "refused: {} {}", replay.status, replay.location());
    assert_eq!(second.get(&b, "/").status, 303, "the replayed code did not sign in");

    // Wrong passwords count on both: five alternate between them, the next is throttled.
    let mut guesser = Browser::new();
    for (i, process) in [&a, &b, &a, &b, &a].into_iter().enumerate() {
        let reply = guesser.log_in(process, "two@example.com", &format!("wrong-guess-{i}-x"));
        let page = guesser.get(process, reply.location().trim_start_matches(&process.base));
        assert!(page.body.contains("Email or password is incorrect."), "wrong password {i}: {}", page.body);
    }
    let key = "'signin-email:two@example.com'";
    assert_eq!(schema.count(&format!("SELECT failures FROM throttle WHERE key = {key}")), 5, "counted on both");
    // The block the fifth left lasts a second; stretched so a loaded machine cannot outlast it.
    schema.exec(&format!(
        "UPDATE throttle SET blocked_until = {} WHERE key = {key}",
        keycard::core::clock::Clock::system().now() + 60
    ));
    let throttled = guesser.log_in(&b, "two@example.com", "wrong-guess-6-x");
    let page = guesser.get(&b, throttled.location().trim_start_matches(&b.base));
    assert!(page.body.contains("Too many attempts"), "the sixth attempt, on the other process: {}", page.body);

    // Both sweepers run every second over the same rows: each expired session is ended once,
    // with one event.
    let user: i64 = schema.count("SELECT id FROM users WHERE email = 'two@example.com'");
    // Expired a minute ago (recent enough that the history retention keeps their events).
    let t = keycard::core::clock::Clock::system().now();
    schema.exec(&format!(
        "INSERT INTO sessions (id_hash, user_id, data, stage, method, remember, created_at, last_seen_at, \
         idle_expires_at, absolute_expires_at, ip, user_agent, public_id) \
         SELECT 'sweep-' || n, {user}, '{{}}', 'complete', 'password', 0, {created}, {created}, {expired}, {later}, \
         '203.0.113.9', 'x', 'sweep-' || n FROM generate_series(1, 1500) AS n",
        created = t - 3600,
        expired = t - 60,
        later = t + 3600,
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    while schema.count("SELECT COUNT(*) FROM sessions WHERE public_id LIKE 'sweep-%' AND ended_at IS NULL") > 0 {
        assert!(Instant::now() < deadline, "the sweepers did not end the expired sessions");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    let events = schema
        .count("SELECT COUNT(*) FROM history_events WHERE kind = 'session_ended' AND session_public_id LIKE 'sweep-%'");
    assert_eq!(events, 1500, "one session_ended event per expired session, never two");

    // The metrics address answers without a token; every log line is JSON with the request id.
    let mut scraper = Browser::new();
    let metrics = reqwest::blocking::get(format!("http://{metrics_addr}/metrics")).unwrap().text().unwrap();
    assert!(metrics.contains("keycard_sessions_active"), "{metrics}");
    let probe = scraper.get(&a, "/healthz");
    let id = probe.headers.get("x-request-id").unwrap().to_str().unwrap().to_owned();
    // The line is written as the answer leaves; wait for it rather than for a fixed time.
    let names_the_request = |log: &str| {
        log.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect(l))
            .any(|line| line["span"]["request_id"] == id.as_str() && line["span"]["path"] == "/healthz")
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !names_the_request(&a.log_text()) {
        assert!(Instant::now() < deadline, "a request line names the request id {id}: {}", a.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = a.log_text();
    assert!(!log.contains(PASSWORD) && !log.contains(&code), "no secret in the logs");
}

/// Signs `email` up through `process` and turns two-step on; returns the TOTP secret.
fn enrol_two_step(process: &Keycard, email: &str) -> Vec<u8> {
    let mut browser = Browser::new();
    assert_redirect(&browser.sign_up(process, email), "/");
    let next = "/security/two-step";
    let reauth = browser.post(
        process,
        "/api/reauth",
        &format!("/security/confirm?next={next}"),
        &[("password", PASSWORD), ("next", next)],
    );
    assert_redirect(&reauth, next);
    assert_redirect(&browser.post(process, "/api/two_step_begin", next, &[]), next);
    let page = browser.get(process, next).body;
    let start = page.find("aria-label=\"Setup key\"").expect("setup key on the page");
    let rest = &page[start..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    let key: String = rest[..rest.find("</code>").unwrap()].chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let secret = data_encoding::BASE32_NOPAD.decode(key.as_bytes()).expect("base32 setup key");
    // The previous step's code, so the current one stays usable for the test.
    let code = code_for_step(&secret, step_at(keycard::core::clock::Clock::system().now()) - 1);
    assert_redirect(&browser.post(process, "/api/two_step_confirm", next, &[("code", &code)]), next);
    secret
}
