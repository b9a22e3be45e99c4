//! Test harness: the real router from `app(state)` driven in-process, on a fresh SQLite file or a
//! fresh PostgreSQL schema per test, with a tiny cookie-keeping client.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::{
    body::Body,
    extract::connect_info::MockConnectInfo,
    http::{header, HeaderMap, Request, StatusCode},
    Router,
};
use http_body_util::BodyExt;
use keycard::core::{clock::Clock, config::Config, state::AppState};
use keycard::server::{app, build_state_with};
use tower::ServiceExt;

pub mod smtp;

pub const PASSWORD: &str = "quiet-harbor-lantern-1972";
pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Where every test's clock starts: 2026-12-01 10:00:00 UTC. Tests move it with
/// [`TestApp::clock`]; every time rule of the app reads only this clock.
pub const TEST_START: i64 = 1_796_119_200;

pub struct TestApp {
    pub state: AppState,
    /// The app's clock (a copy: moving it moves the app's).
    pub clock: Clock,
    pub router: Router,
    pub backend: &'static str,
    _dir: TempDir,
    pg_schema: Option<String>,
}

/// A directory removed when dropped.
pub struct TempDir(pub std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn unique_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("kc_test_{}_{}_{}", std::process::id(), nanos % 1_000_000_000, COUNTER.fetch_add(1, Ordering::Relaxed))
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        Self::sqlite_with(|_| {}).await
    }

    /// SQLite with adjusted settings.
    pub async fn sqlite_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = TempDir(std::env::temp_dir().join(unique_name()));
        let url = keycard::core::config::sqlite_url_in(&dir.0);
        let mut config = Config::for_tests(&url, dir.0.clone());
        adjust(&mut config);
        Self::start(config, dir, None, "sqlite").await
    }

    /// A fresh schema on the machine's PostgreSQL. Tests that call it are `#[ignore]`d (plain
    /// `cargo test` reports them as ignored; `scripts/test` runs them with `--include-ignored`
    /// when PostgreSQL is up): run without a reachable PostgreSQL, they fail, they never pass.
    pub async fn postgres() -> TestApp {
        Self::postgres_with(|_| {}).await
    }

    /// [`TestApp::postgres`] with a configuration tweak.
    pub async fn postgres_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        use futures_util::FutureExt;
        use sqlx::Connection;
        let admin_url = postgres_admin_url();
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|err| {
            panic!(
                "this test needs PostgreSQL at {admin_url} (set KEYCARD_TEST_POSTGRES_URL for another server, or \
                 leave it ignored): {err}"
            )
        });
        let schema = unique_name();
        sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut admin).await.expect("create schema");
        // The schema's name is also the pool's application name, so cleanup can find its connections.
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}application_name={schema}&options=-c%20search_path%3D{schema}");
        let dir = TempDir(std::env::temp_dir().join(unique_name()));
        let mut config = Config::for_tests(&url, dir.0.clone());
        tweak(&mut config);
        // A start that fails (e.g. a migration) must not leave the schema behind either.
        let started = std::panic::AssertUnwindSafe(Self::start(config, dir, Some(schema.clone()), "postgres"))
            .catch_unwind()
            .await;
        match started {
            Ok(app) => app,
            Err(panic) => {
                drop_schema(&schema).await;
                std::panic::resume_unwind(panic)
            }
        }
    }

    pub async fn start(config: Config, dir: TempDir, pg_schema: Option<String>, backend: &'static str) -> TestApp {
        keycard::core::telemetry::init_for_tests();
        let clock = Clock::manual(TEST_START);
        let state = build_state_with(config, clock.clone()).await.expect("state");
        let router = app(state.clone()).layer(MockConnectInfo(SocketAddr::from(([203, 0, 113, 7], 5555))));
        TestApp { state, clock, router, backend, _dir: dir, pg_schema }
    }

    /// The app's "now".
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// A second instance of Keycard on the same database, as operators run behind a load balancer.
    pub async fn second_instance(&self) -> Router {
        let config = (*self.state.config).clone();
        let state = build_state_with(config, self.clock.clone()).await.expect("second instance");
        app(state).layer(MockConnectInfo(SocketAddr::from(([203, 0, 113, 7], 5555))))
    }

    /// A client of the given router (e.g. a second instance).
    pub fn client_of(&self, router: Router) -> Client {
        Client { router, cookies: HashMap::new(), user_agent: FIREFOX_LINUX.into(), extra_headers: Vec::new() }
    }

    pub fn client(&self) -> Client {
        Client {
            router: self.router.clone(),
            cookies: HashMap::new(),
            user_agent: FIREFOX_LINUX.into(),
            extra_headers: Vec::new(),
        }
    }

    /// Drops the PostgreSQL schema (SQLite files go with the temp directory). Also after a
    /// scenario that panicked or hung: a connection it left busy is ended rather than waited for.
    pub async fn cleanup(self) {
        let closed = tokio::time::timeout(std::time::Duration::from_secs(10), self.state.db.pool.close()).await;
        if closed.is_err() {
            eprintln!("{}: the pool did not close within 10 s; ending its connections", self.backend);
        }
        if let Some(schema) = &self.pg_schema {
            drop_schema(schema).await;
        }
    }

    /// Ends every PostgreSQL connection of this app's pool from the server's side (as a restart
    /// or an idle timeout would); returns how many were ended.
    pub async fn end_pool_connections_from_the_server(&self) -> i64 {
        use sqlx::Connection;
        let schema = self.pg_schema.as_deref().expect("a PostgreSQL app");
        let mut admin = sqlx::PgConnection::connect(&postgres_admin_url()).await.unwrap();
        // Materialised first, so that no other backend is ended before the filter applies.
        sqlx::query_scalar(
            "WITH pool AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE application_name = $1) \
             SELECT COUNT(*) FROM pool WHERE pg_terminate_backend(pid)",
        )
        .bind(schema)
        .fetch_one(&mut admin)
        .await
        .unwrap()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(sql).fetch_one(&self.state.db.pool).await.expect(sql).get::<i64, _>(0)
    }

    pub async fn exec(&self, sql: &str) {
        sqlx::query(sql).execute(&self.state.db.pool).await.expect(sql);
    }

    /// The id of the account with this email (as typed at sign-up).
    pub async fn user_id(&self, email: &str) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&self.state.db.pool)
            .await
            .expect("account")
            .get(0)
    }

    /// The kinds of the account's history events, oldest first.
    pub async fn history_kinds(&self, user_id: i64) -> Vec<String> {
        sqlx::query_scalar("SELECT kind FROM history_events WHERE user_id = $1 ORDER BY id")
            .bind(user_id)
            .fetch_all(&self.state.db.pool)
            .await
            .unwrap()
    }

    /// The public handle of `client`'s session (what the devices page and the history name it by).
    pub async fn handle_of(&self, client: &Client) -> String {
        sqlx::query_scalar("SELECT public_id FROM sessions WHERE id_hash = $1")
            .bind(client.id_hash())
            .fetch_one(&self.state.db.pool)
            .await
            .unwrap()
    }

    /// The session lifecycle's promise: every fully signed-in session that ended, however it
    /// ended, has exactly one `session_ended` event naming it.
    pub async fn assert_every_ending_recorded(&self) {
        let unrecorded = self
            .count(
                "SELECT COUNT(*) FROM sessions s WHERE s.stage = 'complete' AND s.ended_at IS NOT NULL \
                 AND (SELECT COUNT(*) FROM history_events h WHERE h.kind = 'session_ended' \
                      AND h.session_public_id = s.public_id) <> 1",
            )
            .await;
        assert_eq!(unrecorded, 0, "ended sessions without exactly one session_ended event");
        let ended = self.count("SELECT COUNT(*) FROM sessions WHERE stage = 'complete' AND ended_at IS NOT NULL").await;
        assert!(ended > 0, "the scenario ended no session: nothing was checked");
    }

    /// Moves the re-authentication time of every live, fully signed-in session that has one.
    pub async fn set_reauth_at(&self, at: i64) {
        use sqlx::Row;
        let rows = sqlx::query("SELECT id_hash, data FROM sessions WHERE ended_at IS NULL AND stage = 'complete'")
            .fetch_all(&self.state.db.pool)
            .await
            .unwrap();
        for row in rows {
            let id_hash: String = row.get(0);
            let mut data: serde_json::Value = serde_json::from_str(&row.get::<String, _>(1)).unwrap();
            if data.get("reauth_at").is_some() {
                data["reauth_at"] = serde_json::json!(at);
                sqlx::query("UPDATE sessions SET data = $1 WHERE id_hash = $2")
                    .bind(data.to_string())
                    .bind(id_hash)
                    .execute(&self.state.db.pool)
                    .await
                    .unwrap();
            }
        }
    }
}

pub const FIREFOX_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
pub const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 \
(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/// A scenario that takes longer than this has hung; failing beats stalling the whole CI run.
/// `KEYCARD_TEST_TIME_LIMIT_SECS` overrides it.
pub fn scenario_time_limit() -> std::time::Duration {
    let secs = std::env::var("KEYCARD_TEST_TIME_LIMIT_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(180);
    std::time::Duration::from_secs(secs)
}

fn postgres_admin_url() -> String {
    std::env::var("KEYCARD_TEST_POSTGRES_URL").unwrap_or_else(|_| PG_ADMIN_URL.into())
}

/// Ends the connections still using `schema` (any instance's pool) and drops it.
async fn drop_schema(schema: &str) {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&postgres_admin_url()).await.expect("admin connection");
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
        .bind(schema)
        .execute(&mut admin)
        .await
        .expect("end the schema's connections");
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&mut admin).await.expect("drop schema");
}

/// Runs `scenario` on `app` within [`scenario_time_limit`], then cleans up (drops its PostgreSQL
/// schema) whether the scenario passed, panicked or hung, and then fails as the scenario did.
pub async fn scenario_on(name: &str, app: TestApp, scenario: impl AsyncFnOnce(&TestApp)) {
    use futures_util::FutureExt;
    let outcome = std::panic::AssertUnwindSafe(within_time_limit(name, scenario(&app))).catch_unwind().await;
    app.cleanup().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// [`scenario_on`] for a scenario that needs two instances with different settings.
pub async fn scenario_on_two(name: &str, apps: (TestApp, TestApp), scenario: impl AsyncFnOnce(&TestApp, &TestApp)) {
    use futures_util::FutureExt;
    let (a, b) = apps;
    let outcome = std::panic::AssertUnwindSafe(within_time_limit(name, scenario(&a, &b))).catch_unwind().await;
    a.cleanup().await;
    b.cleanup().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Awaits a scenario, failing it (with its name, and what PostgreSQL's sessions were doing) if it
/// runs past [`scenario_time_limit`].
pub async fn within_time_limit(name: &str, scenario: impl std::future::Future<Output = ()>) {
    let limit = scenario_time_limit();
    let scenario = std::pin::pin!(scenario);
    tokio::select! {
        () = scenario => {}
        // Still alive (not yet dropped) while PostgreSQL is asked what it waits for.
        () = tokio::time::sleep(limit) => {
            panic!("{name} did not finish within {limit:?}: it hangs\n{}", postgres_activity().await)
        }
    }
}

/// PostgreSQL's view of its other sessions, to tell a lock wait from a stall in Rust.
async fn postgres_activity() -> String {
    use sqlx::{Connection, Row};
    let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_admin_url()).await else {
        return "(PostgreSQL unreachable)".into();
    };
    let rows = sqlx::query(
        "SELECT pid, COALESCE(state, ''), COALESCE(wait_event_type, ''), COALESCE(wait_event, ''), \
         COALESCE(EXTRACT(EPOCH FROM now() - state_change)::bigint, 0), left(COALESCE(query, ''), 300) \
         FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap_or_default();
    rows.iter()
        .map(|r| {
            format!(
                "pid {} {} wait {}/{} for {} s: {}",
                r.get::<i32, _>(0),
                r.get::<String, _>(1),
                r.get::<String, _>(2),
                r.get::<String, _>(3),
                r.get::<i64, _>(4),
                r.get::<String, _>(5)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The one Tokio runtime every scenario of this binary runs on, as the server runs every request
/// on one runtime. (A runtime per test let tasks that Leptos spawns while rendering outlive, or
/// land on, another test's runtime and stall when it shut down.)
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("test runtime")
    })
}

/// Runs a test body on [`runtime`].
pub fn run(body: impl std::future::Future<Output = ()>) {
    runtime().block_on(body);
}

/// Runs a scenario once on SQLite and once on PostgreSQL. The PostgreSQL test is ignored unless
/// asked for (`--include-ignored`, as `scripts/test` does when PostgreSQL is up), so a run without
/// PostgreSQL reports it as ignored rather than passed.
/// `on_both_databases!(with adjust; scenario, …)` first adjusts the configuration with `adjust`
/// (a `fn(&mut Config)`, e.g. to turn mail on).
#[allow(unused_macros)]
macro_rules! on_both_databases {
    (with $adjust:path; $($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn sqlite() {
                $crate::common::run(async {
                    let app = $crate::common::TestApp::sqlite_with($adjust).await;
                    let name = concat!(stringify!($scenario), " on SQLite");
                    $crate::common::scenario_on(name, app, super::$scenario).await;
                });
            }
            #[test]
            #[ignore = "needs PostgreSQL at 127.0.0.1:5432 (scripts/test runs it)"]
            fn postgres() {
                $crate::common::run(async {
                    let app = $crate::common::TestApp::postgres_with($adjust).await;
                    let name = concat!(stringify!($scenario), " on PostgreSQL");
                    $crate::common::scenario_on(name, app, super::$scenario).await;
                });
            }
        }
    )*};
    ($($scenario:ident),* $(,)?) => {
        on_both_databases!(with $crate::common::as_configured; $($scenario),*);
    };
}

/// The test configuration unchanged (for [`on_both_databases`] without `with`).
pub fn as_configured(_: &mut Config) {}

/// An HTTP client without JavaScript: sends forms like a browser and keeps cookies.
#[derive(Clone)]
pub struct Client {
    router: Router,
    pub cookies: HashMap<String, String>,
    pub user_agent: String,
    /// Sent with every request (e.g. `X-Forwarded-For`).
    pub extra_headers: Vec<(&'static str, String)>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    }
    #[track_caller]
    pub fn assert_redirect_to(&self, location: &str) {
        assert!(self.status.is_redirection(), "expected a redirect, got {} {}", self.status, self.body);
        assert_eq!(self.location(), location);
    }
}

impl Client {
    pub async fn send(&mut self, req: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(req).await.expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        for cookie in headers.get_all(header::SET_COOKIE) {
            let cookie = cookie.to_str().unwrap();
            let (pair, attrs) = cookie.split_once(';').unwrap_or((cookie, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let expired = attrs.contains("Max-Age=0") || value.is_empty();
            if expired {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        self.request_accepting(method, path, "text/html,application/xhtml+xml")
    }

    fn request_accepting(&self, method: &str, path: &str, accept: &str) -> axum::http::request::Builder {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1:3000")
            .header(header::USER_AGENT, &self.user_agent)
            .header(header::ACCEPT, accept);
        for (name, value) in &self.extra_headers {
            builder = builder.header(*name, value);
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            builder = builder.header(header::COOKIE, jar.join("; "));
        }
        builder
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let req = self.request("GET", path).body(Body::empty()).unwrap();
        self.send(req).await
    }

    /// Posts a form as a browser without JavaScript does (from the page at `referer`).
    pub async fn post_form(&mut self, path: &str, referer: &str, fields: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let req = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, "http://127.0.0.1:3000")
            .header(header::REFERER, format!("http://127.0.0.1:3000{referer}"))
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// Posts a form as a script (or the hydrated page) does: the answer is the error's own status
    /// (404, 429 …) with its JSON, not a redirect back to a page.
    pub async fn post_form_as_script(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let req = self
            .request_accepting("POST", path, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, "http://127.0.0.1:3000")
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// A request as an app sends it (no `Origin`, no `Referer`): JSON accepted, an optional bearer
    /// token and form body. Cookies this client holds go along too (the API must ignore them).
    pub async fn app_request(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        form: Option<&[(&str, &str)]>,
    ) -> Reply {
        let mut builder = self.request_accepting(method, path, "application/json");
        if let Some(token) = bearer {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match form {
            Some(fields) => {
                builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(serde_urlencoded::to_string(fields).unwrap())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).unwrap()).await
    }

    pub async fn sign_up(&mut self, email: &str) -> Reply {
        self.post_form("/api/signup", "/signup", &[("email", email), ("password", PASSWORD)]).await
    }

    pub async fn log_in(&mut self, email: &str, password: &str, remember: bool) -> Reply {
        let mut fields = vec![("email", email), ("password", password), ("next", "")];
        if remember {
            fields.push(("remember", "on"));
        }
        self.post_form("/api/login", "/login", &fields).await
    }

    /// Follows a redirect answer with a GET, as a browser would.
    pub async fn follow(&mut self, reply: &Reply) -> Reply {
        assert!(reply.status.is_redirection(), "expected a redirect, got {} {}", reply.status, reply.body);
        let target = local_path(reply.location()).to_owned();
        self.get(&target).await
    }

    pub fn session_cookie(&self) -> Option<String> {
        self.cookies.get("keycard_session").cloned()
    }

    /// The stored hash of this client's session id (how the database knows the session).
    #[track_caller]
    pub fn id_hash(&self) -> String {
        let id = self.session_cookie().expect("signed in").parse().expect("a session id");
        keycard::sessions::store::hash_id(&id)
    }

    /// Re-authenticates on the prompt with `password`, which returns to `next`.
    pub async fn reauth(&mut self, password: &str, next: &str) {
        self.submit_reauth(&[("password", password), ("next", next)], next).await;
    }

    /// [`Client::reauth`] for an account with two-step on: the password and a code.
    pub async fn reauth_with_code(&mut self, password: &str, code: &str, next: &str) {
        self.submit_reauth(&[("password", password), ("code", code), ("next", next)], next).await;
    }

    async fn submit_reauth(&mut self, fields: &[(&str, &str)], next: &str) {
        let referer = format!("/security/confirm?next={next}");
        self.post_form("/api/reauth", &referer, fields).await.assert_redirect_to(next);
    }
}

/// The path and query of a same-site absolute or relative URL.
pub fn local_path(location: &str) -> &str {
    location.strip_prefix("http://127.0.0.1:3000").unwrap_or(location)
}
