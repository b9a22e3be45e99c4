//! Database statements per signed-in page load.
//!
//! Signs up an account on a fresh SQLite database, then loads each signed-in page (and one
//! server function the hydrated page calls) once, one request at a time, and records every
//! statement sqlx executed while that request ran, body included. sqlx reports each executed
//! statement as an event with target `sqlx::query` (fields `summary`, the first four words, and
//! `db.statement`, the full text when longer); a tracing layer of this binary collects them.
//! (Transaction control, `BEGIN`/`COMMIT`, is not reported by the SQLite driver.) The reads Keycard
//! runs on the request's own thread (`keycard::core::sqlite_reads`) report the same field under
//! their own target, and are counted too.
//!
//! Prints, per request, the number of statements, how many of them set up a newly opened pool
//! connection (`PRAGMA …`, which depends on the pool, not the page), how many read the session's
//! own `sessions` row and how many read a `users` row, then every statement's text:
//!
//! ```text
//! cargo test --features ssr --test queries_per_page -- --nocapture
//! ```
//!
//! It asserts what the session layer promises: every request reads its session row, with the
//! account's email, in exactly one statement, and no page or server function reads the account
//! row again on its own; and that on SQLite the session read and the devices list run on the request's own
//! thread. The other numbers are for reading and comparing, not limits.

// Tests stop at the first surprise: unwrapping is how they say so.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use axum::{
    body::Body,
    extract::connect_info::MockConnectInfo,
    http::{header, Request, StatusCode},
    Router,
};
use http_body_util::BodyExt;
use keycard::core::config::{sqlite_url_in, Config};
use keycard::server::{app, build_state};
use tower::ServiceExt;
use tracing::field::{Field, Visit};
use tracing_subscriber::{filter::filter_fn, layer::SubscriberExt, Layer};

/// Statement texts seen so far, in order.
type Log = Arc<Mutex<Vec<String>>>;

/// Marks a statement read on the request's own thread rather than by sqlx's worker thread.
const ON_THE_REQUESTS_THREAD: &str = "  [on the request's thread]";

/// Keeps the text of every `sqlx::query` event.
struct StatementLog(Log);

impl<S: tracing::Subscriber> Layer<S> for StatementLog {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        // `db.statement` is empty when the whole statement fits in the summary.
        let text = if fields.statement.trim().is_empty() { fields.summary } else { fields.statement };
        let mut text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if event.metadata().target() == keycard::core::sqlite_reads::STATEMENT_EVENTS {
            text.push_str(ON_THE_REQUESTS_THREAD);
        }
        self.0.lock().unwrap().push(text);
    }
}

#[derive(Default)]
struct Fields {
    summary: String,
    statement: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.statement = value.to_owned(),
            _ => {}
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// The log, after installing the layer as this binary's only global subscriber.
fn statement_log() -> Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Log::default();
        let layer = StatementLog(log.clone()).with_filter(filter_fn(|m| {
            m.target().starts_with("sqlx::query") || m.target() == keycard::core::sqlite_reads::STATEMENT_EVENTS
        }));
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))
            .expect("no other global subscriber in this binary");
        log
    })
    .clone()
}

/// The session layer's one read: the session's row (by its id hash) joined with its account.
fn is_session_load(sql: &str) -> bool {
    let sql = sql.to_lowercase();
    is_read(&sql) && sql.contains("from sessions s join users u") && sql.contains("id_hash =")
}

/// A read of the account's row by itself (what the session load already did).
fn rereads_account(sql: &str) -> bool {
    let sql = sql.to_lowercase();
    is_read(&sql) && sql.contains("from users where id =")
}

/// Reads the session's own row (by its id hash), as loading a session does.
fn reads_session_row(sql: &str) -> bool {
    let sql = sql.to_lowercase();
    is_read(&sql) && sql.contains("from sessions") && sql.contains("id_hash =")
}

fn reads_user_row(sql: &str) -> bool {
    let sql = sql.to_lowercase();
    is_read(&sql) && sql.contains("from users")
}

/// Run by the pool on each connection it opens, whatever the request.
fn is_connection_setup(sql: &str) -> bool {
    sql.to_lowercase().starts_with("pragma")
}

fn is_read(sql: &str) -> bool {
    sql.starts_with("select") || sql.starts_with("with")
}

/// A cookie-keeping client of the in-process router.
struct Client {
    router: Router,
    cookies: Vec<String>,
}

impl Client {
    /// Sends `req` and reads the whole body; answers the status and the statements run meanwhile.
    async fn send(&mut self, mut req: Request<Body>, log: &Log) -> (StatusCode, Vec<String>) {
        let h = req.headers_mut();
        h.insert(header::HOST, "127.0.0.1:3000".parse().unwrap());
        h.insert(
            header::USER_AGENT,
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0".parse().unwrap(),
        );
        if !self.cookies.is_empty() {
            h.insert(header::COOKIE, self.cookies.join("; ").parse().unwrap());
        }
        let start = log.lock().unwrap().len();
        let response = self.router.clone().oneshot(req).await.expect("router answers");
        let status = response.status();
        for cookie in response.headers().get_all(header::SET_COOKIE) {
            let pair = cookie.to_str().unwrap().split(';').next().unwrap().to_owned();
            let name = pair.split('=').next().unwrap().to_owned();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            self.cookies.push(pair);
        }
        response.into_body().collect().await.expect("body");
        // The driver reports a statement just after handing over its last row: let it land.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        (status, log.lock().unwrap()[start..].to_vec())
    }

    fn get(path: &str) -> Request<Body> {
        Request::get(path).header(header::ACCEPT, "text/html,application/xhtml+xml").body(Body::empty()).unwrap()
    }

    /// A form post as the hydrated page sends it (JSON answer, same-origin).
    fn post(path: &str, accept: &str, form: &str) -> Request<Body> {
        Request::post(path)
            .header(header::ACCEPT, accept)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, "http://127.0.0.1:3000")
            .body(Body::from(form.to_owned()))
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_per_signed_in_page() {
    let log = statement_log();
    let dir = std::env::temp_dir().join(format!("kc_queries_per_page_{}", std::process::id()));
    let state = build_state(Config::for_tests(&sqlite_url_in(&dir), dir.clone())).await.expect("state");
    let router = app(state.clone()).layer(MockConnectInfo(SocketAddr::from(([203, 0, 113, 7], 5555))));
    let mut client = Client { router, cookies: Vec::new() };

    let form = "email=measure%40example.com&password=quiet-harbor-lantern-1972";
    let (status, signup) = client.send(Client::post("/api/signup", "text/html", form), &log).await;
    assert!(status.is_redirection(), "sign-up answered {status}");
    assert!(!signup.is_empty(), "no statement seen during sign-up: the counter is not working");
    // The new session is written once: the session layer's save as the answer leaves finds it unchanged.
    let rewrites: Vec<&String> =
        signup.iter().filter(|s| s.to_lowercase().starts_with("update sessions set data")).collect();
    assert!(rewrites.is_empty(), "the new session was written twice: {rewrites:#?}");

    let requests: Vec<(&str, Request<Body>)> = vec![
        ("GET /", Client::get("/")),
        ("GET /devices", Client::get("/devices")),
        ("GET /history", Client::get("/history")),
        ("GET /security", Client::get("/security")),
        ("GET /security/two-step", Client::get("/security/two-step")),
        ("POST /api/devices", Client::post("/api/devices", "application/json", "")),
    ];
    let mut rows = Vec::new();
    for (name, req) in requests {
        let (status, statements) = client.send(req, &log).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(!statements.is_empty(), "{name}: no statement seen");
        let loads = statements.iter().filter(|s| is_session_load(s)).count();
        assert_eq!(loads, 1, "{name}: the session and its account are read once: {statements:#?}");
        // On SQLite the session's read makes no hand-off to a worker thread (`core::sqlite_reads`).
        let load = statements.iter().find(|s| is_session_load(s)).unwrap();
        assert!(load.ends_with(ON_THE_REQUESTS_THREAD), "{name}: the session read went through the pool: {load}");
        let rereads: Vec<&String> = statements.iter().filter(|s| rereads_account(s)).collect();
        assert!(rereads.is_empty(), "{name}: the account row was read again: {rereads:#?}");
        rows.push((name, statements));
    }

    let devices = &rows.iter().find(|(name, _)| *name == "GET /devices").unwrap().1;
    assert!(devices.iter().all(|s| s.ends_with(ON_THE_REQUESTS_THREAD)), "the devices list too: {devices:#?}");

    println!(
        "\n{:<24} {:>10} {:>16} {:>18} {:>15}",
        "request", "statements", "of which setup", "session-row reads", "user-row reads"
    );
    for (name, statements) in &rows {
        let count = |test: fn(&str) -> bool| statements.iter().filter(|s| test(s)).count();
        let (setup, sessions, users) = (count(is_connection_setup), count(reads_session_row), count(reads_user_row));
        println!("{name:<24} {:>10} {setup:>16} {sessions:>18} {users:>15}", statements.len());
    }
    for (name, statements) in &rows {
        println!("\n{name}:");
        for (i, sql) in statements.iter().enumerate() {
            println!("  {:>2}. {sql}", i + 1);
        }
    }

    state.db.pool.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
