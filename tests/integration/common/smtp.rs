//! A real SMTP server on loopback for the mail tests: Python's `aiosmtpd` (installed by
//! `scripts/setup --tests` into the tools folder) running `smtp_sink.py`, which writes every message it
//! accepts as a JSON file into a temporary directory that the test reads.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use super::TempDir;

/// The sink's Python program, passed to `python3 -c`.
const SINK: &str = include_str!("smtp_sink.py");

/// One message the sink accepted, decoded.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub subject: String,
    /// The top-level content type, e.g. `multipart/alternative`.
    pub content_type: String,
    pub text: String,
    pub html: String,
}

/// A running sink; stopped (killed) when dropped.
pub struct SmtpSink {
    pub port: u16,
    child: Child,
    dir: TempDir,
}

/// A port nobody listens on now (the OS's pick, released at once).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `KEYCARD_SMTP_URL` for a server on this loopback port: clear text, which Keycard allows only to
/// loopback hosts.
pub fn smtp_url(port: u16) -> String {
    format!("smtp://127.0.0.1:{port}?tls=none")
}

/// Turns mail on in a test's configuration (the SMTP address is never dialled: tests send with a
/// transport of their own sink's port).
pub fn with_mail(config: &mut keycard::core::config::Config) {
    config.mail = Some(mail_config(1));
}

/// Keycard's mail settings for a server on this loopback port.
pub fn mail_config(port: u16) -> keycard::core::config::MailConfig {
    keycard::core::config::MailConfig {
        smtp: keycard::core::config::SmtpServer::parse(&smtp_url(port)).unwrap(),
        from: "Keycard <keycard@example.test>".parse().unwrap(),
    }
}

impl SmtpSink {
    /// Starts a sink on a free port.
    pub async fn start() -> SmtpSink {
        Self::start_on(free_port()).await
    }

    /// Starts a sink on `port` and waits until it listens. Fails the test, saying what to do, when
    /// `aiosmtpd` is not installed: a mail test must never pass without a server.
    pub async fn start_on(port: u16) -> SmtpSink {
        let dir = TempDir(std::env::temp_dir().join(format!("{}_smtp", super::unique_name())));
        std::fs::create_dir_all(&dir.0).unwrap();
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(SINK)
            .arg(&dir.0)
            .arg(port.to_string())
            .env("PYTHONPATH", python_path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start python3 for the SMTP sink ({err}); run scripts/setup --tests"));
        let stdout = child.stdout.take().unwrap();
        let first_line = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                let _ = std::io::BufReader::new(stdout).read_line(&mut line);
                line
            }),
        )
        .await;
        match first_line {
            Ok(Ok(line)) if line.trim() == "ready" => SmtpSink { port, child, dir },
            outcome => {
                let _ = child.kill();
                let output = child.wait_with_output().unwrap();
                let stderr = String::from_utf8_lossy(&output.stderr);
                if output.status.code() == Some(3) {
                    panic!("the SMTP sink needs Python's aiosmtpd: run scripts/setup --tests ({})", stderr.trim());
                }
                panic!("the SMTP sink did not start on port {port} ({outcome:?}, {}): {stderr}", output.status);
            }
        }
    }

    /// Every message received so far, in the order they arrived.
    pub fn received(&self) -> Vec<Received> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir.0)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        names.sort();
        names.iter().map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `scripts/setup --tests` installs the Python packages, ahead of any `PYTHONPATH` already set.
pub fn python_path() -> std::ffi::OsString {
    let tools = std::env::var_os("KEYCARD_TOOLS_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::Path::new(&std::env::var_os("HOME").unwrap_or_default()).join(".cache/keycard-tools")
    });
    let mut paths = vec![tools.join("python")];
    if let Some(existing) = std::env::var_os("PYTHONPATH") {
        paths.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(paths).unwrap()
}
