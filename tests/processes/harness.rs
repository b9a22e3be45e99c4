//! Real `keycard` processes over real TCP, a small cookie-keeping HTTP client, and (for the
//! restart test) a throwaway PostgreSQL cluster of our own.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "quiet-harbor-lantern-1972";
/// Every process of a test shares this key (as every instance of one database must).
pub const SECRET_KEY: &str = "3f1c9a0b7d2e4f6a8b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a";
const KEYCARD: &str = env!("CARGO_BIN_EXE_keycard");

pub fn unique_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("kc_proc_{}_{}_{}", std::process::id(), nanos % 1_000_000_000, COUNTER.fetch_add(1, Ordering::Relaxed))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);
impl TempDir {
    pub fn new() -> TempDir {
        let dir = std::env::temp_dir().join(unique_name());
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One `keycard` process, stopped (SIGTERM) when dropped. Its output (JSON logs) goes to a file.
pub struct Keycard {
    child: Child,
    pub base: String,
    pub log: PathBuf,
    _dir: TempDir,
}

impl Keycard {
    /// Starts `keycard` on a free port against `database_url`, with `extra` settings, and waits
    /// until `/healthz` answers.
    pub fn start(database_url: &str, extra: &[(&str, &str)]) -> Keycard {
        let dir = TempDir::new();
        let port = free_port();
        let log = dir.0.join("keycard.log");
        let mut command = Command::new(KEYCARD);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("KEYCARD_") {
                command.env_remove(name);
            }
        }
        command
            .env("KEYCARD_ADDR", format!("127.0.0.1:{port}"))
            .env("KEYCARD_DATABASE_URL", database_url)
            .env("KEYCARD_DATA_DIR", dir.0.join("data"))
            .env("KEYCARD_SECRET_KEY", SECRET_KEY)
            .env("KEYCARD_LOG_FORMAT", "json")
            .env("RUST_LOG", "info,sqlx=warn")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::options().append(true).open(&log).unwrap());
        for (name, value) in extra {
            command.env(name, value);
        }
        let child = command.spawn().expect("keycard starts");
        let keycard = Keycard { child, base: format!("http://127.0.0.1:{port}"), log, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if Browser::new().get(&keycard, "/healthz").status == 200 {
                return keycard;
            }
            assert!(Instant::now() < deadline, "keycard did not start: {}", keycard.log_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Keycard {
    fn drop(&mut self) {
        // SIGTERM: the graceful path operators use.
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
    pub took: Duration,
}

impl Reply {
    pub fn location(&self) -> &str {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

/// A browser without JavaScript: follows nothing by itself, keeps its cookies (one jar for every
/// process, as behind a load balancer).
pub struct Browser {
    client: reqwest::blocking::Client,
    pub cookies: HashMap<String, String>,
}

impl Browser {
    pub fn new() -> Browser {
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
            .build()
            .unwrap();
        Browser { client, cookies: HashMap::new() }
    }

    fn send(&mut self, request: reqwest::blocking::RequestBuilder) -> Reply {
        let mut request = request;
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header("cookie", jar.join("; "));
        }
        let started = Instant::now();
        let response = match request.send() {
            Ok(response) => response,
            Err(err) => {
                return Reply { status: 0, headers: Default::default(), body: err.to_string(), took: started.elapsed() }
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for cookie in headers.get_all("set-cookie") {
            let cookie = cookie.to_str().unwrap();
            let (pair, attrs) = cookie.split_once(';').unwrap_or((cookie, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = response.text().unwrap_or_default();
        Reply { status, headers, body, took: started.elapsed() }
    }

    pub fn get(&mut self, to: &Keycard, path: &str) -> Reply {
        let request = self.client.get(format!("{}{path}", to.base)).header("accept", "text/html");
        self.send(request)
    }

    /// A form as a browser without JavaScript posts it, from the page at `from` on the same site.
    pub fn post(&mut self, to: &Keycard, path: &str, from: &str, fields: &[(&str, &str)]) -> Reply {
        let request = self
            .client
            .post(format!("{}{path}", to.base))
            .header("accept", "text/html")
            .header("origin", &to.base)
            .header("referer", format!("{}{from}", to.base))
            .form(fields);
        self.send(request)
    }

    pub fn sign_up(&mut self, to: &Keycard, email: &str) -> Reply {
        self.post(to, "/api/signup", "/signup", &[("email", email), ("password", PASSWORD)])
    }

    pub fn log_in(&mut self, to: &Keycard, email: &str, password: &str) -> Reply {
        self.post(to, "/api/login", "/login", &[("email", email), ("password", password), ("next", "")])
    }
}

#[track_caller]
pub fn assert_redirect(reply: &Reply, to: &str) {
    assert!((300..400).contains(&reply.status), "expected a redirect to {to}, got {} {}", reply.status, reply.body);
    let location = reply.location();
    let path = match location.split_once("://") {
        Some((_, rest)) => &rest[rest.find('/').unwrap_or(rest.len())..],
        None => location,
    };
    assert_eq!(path, to);
}

/// A fresh schema on the machine's PostgreSQL, dropped afterwards; its URL selects it.
pub struct Schema {
    pub url: String,
    name: String,
    runtime: tokio::runtime::Runtime,
}

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

impl Schema {
    pub fn new() -> Schema {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let admin = std::env::var("KEYCARD_TEST_POSTGRES_URL").unwrap_or_else(|_| PG_ADMIN_URL.to_owned());
        let name = unique_name();
        runtime.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin).await.expect("PostgreSQL at 127.0.0.1:5432");
            sqlx::query(&format!("CREATE SCHEMA {name}")).execute(&mut conn).await.unwrap();
        });
        let sep = if admin.contains('?') { '&' } else { '?' };
        let url = format!("{admin}{sep}options=-c%20search_path%3D{name}");
        Schema { url, name, runtime }
    }

    /// The first column of the first row of `sql`, as a number.
    pub fn count(&self, sql: &str) -> i64 {
        query_count(&self.runtime, &self.url, sql)
    }

    pub fn exec(&self, sql: &str) {
        let url = self.url.clone();
        self.runtime.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query(sql).execute(&mut conn).await.expect(sql);
        });
    }
}

pub fn query_count(runtime: &tokio::runtime::Runtime, url: &str, sql: &str) -> i64 {
    runtime.block_on(async {
        use sqlx::{Connection, Row};
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql).fetch_one(&mut conn).await.expect(sql).get::<i64, _>(0)
    })
}

impl Drop for Schema {
    fn drop(&mut self) {
        let admin = std::env::var("KEYCARD_TEST_POSTGRES_URL").unwrap_or_else(|_| PG_ADMIN_URL.to_owned());
        let name = self.name.clone();
        self.runtime.block_on(async {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                let _ = sqlx::query(&format!("DROP SCHEMA {name} CASCADE")).execute(&mut conn).await;
            }
        });
    }
}

/// A PostgreSQL cluster of its own (Debian's packages: `initdb` into a temporary directory, on a
/// free port), which a test can stop and start. As root, the server runs as the `postgres` user.
pub struct Cluster {
    pub dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
}

impl Cluster {
    pub fn bin_dir() -> Option<PathBuf> {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("initdb").exists())
            .collect();
        versions.sort();
        versions.pop()
    }

    fn as_owner(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    pub fn create() -> Cluster {
        let bin = Cluster::bin_dir().expect("PostgreSQL's server binaries (Debian's postgresql package)");
        let dir = std::env::temp_dir().join(unique_name());
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            let status = Command::new("chown").arg("postgres:postgres").arg(&dir).status().unwrap();
            assert!(status.success());
        }
        let cluster = Cluster { dir, port: free_port(), bin };
        let output = cluster
            .as_owner("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(cluster.dir.join("data"))
            .output()
            .unwrap();
        assert!(output.status.success(), "initdb: {}", String::from_utf8_lossy(&output.stderr));
        cluster.start();
        cluster
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn start(&self) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let output = self
            .as_owner("pg_ctl")
            .args(["-w", "-t", "30", "-o", &options, "-l"])
            .arg(self.dir.join("server.log"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("start")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "pg_ctl start: {} {}",
            String::from_utf8_lossy(&output.stdout),
            self.server_log()
        );
    }

    /// A fast shutdown: open connections are ended at once, as when the server restarts.
    pub fn stop(&self) {
        let output = self
            .as_owner("pg_ctl")
            .args(["-w", "-m", "fast", "-D"])
            .arg(self.dir.join("data"))
            .arg("stop")
            .output()
            .unwrap();
        assert!(output.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&output.stderr));
    }

    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .as_owner("pg_ctl")
            .args(["-w", "-m", "immediate", "-D"])
            .arg(self.dir.join("data"))
            .arg("stop")
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[allow(unsafe_code)]
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
