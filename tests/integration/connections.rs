//! Bounded connections, over real TCP: Keycard's accept loop (`core::listener`) with a header-read
//! timeout and a connection cap, the request time limit of `app()`, and the client address every
//! request carries. Database-independent, so SQLite only.

// Real time, not a paused clock: real TCP sockets and hyper's timers; paused time jumps while the kernel moves bytes.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::{routing::get, Router};
use keycard::core::listener::{serve_connections, ConnectionLimits};
use keycard::server::request_time_limit;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::oneshot,
    task::JoinHandle,
};

use crate::common::{run, TestApp, PASSWORD};

/// A server on 127.0.0.1 (any port), stopped by [`Server::stop`].
struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(router: Router, limits: ConnectionLimits) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_connections(listener, router, limits, async {
            let _ = stopped.await;
        }));
        Server { addr, stop, task }
    }

    /// Graceful shutdown: accepting stops and the loop returns once connections are done.
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the accept loop stops after the shutdown signal")
            .expect("the accept loop does not panic")
            .expect("the accept loop ends without an error");
    }
}

/// The real router, without the harness's `MockConnectInfo`: the accept loop supplies the peer.
fn real_router(app: &TestApp) -> Router {
    keycard::server::app(app.state.clone())
}

fn limits(header_read_timeout_secs: u64, max_connections: usize) -> ConnectionLimits {
    ConnectionLimits { header_read_timeout: Duration::from_secs(header_read_timeout_secs), max_connections }
}

/// Reads until the server closes the connection (or `limit` passes: then `None`).
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let reading = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(limit, reading).await.ok()?;
    Some(received)
}

/// The status code of a raw HTTP/1.1 response.
fn status_of(response: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(response);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP/1.1 response: {text:?}"))
}

/// `GET path` on a fresh connection; the status, within `limit`.
async fn get_status(addr: SocketAddr, path: &str, limit: Duration) -> u16 {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let response = read_until_closed(&mut stream, limit).await.expect("an answer in time");
    status_of(&response)
}

#[test]
fn a_stalled_request_head_is_disconnected_after_the_header_timeout() {
    run(async {
        let app = TestApp::sqlite().await;
        let server = Server::start(real_router(&app), limits(1, 2)).await;
        // Half a request line, then nothing (slowloris).
        let mut stalled = TcpStream::connect(server.addr).await.unwrap();
        stalled.write_all(b"GET /heal").await.unwrap();
        let started = Instant::now();
        let received = read_until_closed(&mut stalled, Duration::from_secs(10))
            .await
            .expect("the server closes a connection that does not finish its request head");
        let waited = started.elapsed();
        eprintln!("stalled request head closed after {waited:?}");
        assert!(waited >= Duration::from_millis(900), "closed after {waited:?}, before the 1 s timeout");
        assert!(!String::from_utf8_lossy(&received).contains("200 OK"));

        // A kept-alive connection that goes quiet after its answer is closed the same way.
        let mut idle = TcpStream::connect(server.addr).await.unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
        let started = Instant::now();
        let received = read_until_closed(&mut idle, Duration::from_secs(10)).await.expect("idle connection closed");
        let waited = started.elapsed();
        eprintln!("idle keep-alive connection closed after {waited:?}");
        assert_eq!(status_of(&received), 200);
        assert!(waited >= Duration::from_millis(900), "closed after {waited:?}");

        server.stop().await;
        app.cleanup().await;
    });
}

#[test]
fn connections_beyond_the_cap_wait_until_one_closes() {
    run(async {
        let app = TestApp::sqlite().await;
        // A long header timeout, so only the cap (2) decides here, not the timeout.
        let server = Server::start(real_router(&app), limits(30, 2)).await;
        let mut stalled = Vec::new();
        for _ in 0..2 {
            let mut stream = TcpStream::connect(server.addr).await.unwrap();
            stream.write_all(b"GET /healthz HT").await.unwrap();
            stalled.push(stream);
        }
        // The third connects (the kernel queues it) but is not served while both slots are taken.
        let mut third = TcpStream::connect(server.addr).await.unwrap();
        third.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut byte = [0u8; 1];
        let early = tokio::time::timeout(Duration::from_millis(1500), third.read(&mut byte)).await;
        assert!(early.is_err(), "the third connection was answered while two were open: {early:?}");

        drop(stalled.pop());
        let started = Instant::now();
        let response = read_until_closed(&mut third, Duration::from_secs(10)).await.expect("served once a slot frees");
        eprintln!("third connection served {:?} after a slot freed", started.elapsed());
        assert_eq!(status_of(&response), 200);
        drop(stalled);
        assert_eq!(get_status(server.addr, "/healthz", Duration::from_secs(10)).await, 200);

        server.stop().await;
        app.cleanup().await;
    });
}

#[test]
fn a_slowly_sent_body_gets_the_request_time_limit_answer() {
    run(async {
        let app = TestApp::sqlite_with(|config| config.request_timeout = Duration::from_secs(1)).await;
        let server = Server::start(real_router(&app), limits(30, 8)).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        // Whole headers, then part of the announced body, then nothing.
        let head = "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nOrigin: http://127.0.0.1:3000\r\n\
                    Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\nemail=slow";
        stream.write_all(head.as_bytes()).await.unwrap();
        let started = Instant::now();
        let mut received = Vec::new();
        let mut buf = [0u8; 4096];
        let answered = tokio::time::timeout(Duration::from_secs(10), async {
            while !String::from_utf8_lossy(&received).contains("</html>") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        let waited = started.elapsed();
        eprintln!("slow body answered after {waited:?}");
        assert!(answered.is_ok(), "no answer within 10 s");
        assert_eq!(status_of(&received), 503, "{}", String::from_utf8_lossy(&received));
        assert!(String::from_utf8_lossy(&received).contains("took too long"));
        assert!(waited >= Duration::from_millis(900), "answered after {waited:?}");
        drop(stream);
        server.stop().await;
        app.cleanup().await;
    });
}

#[test]
fn a_slow_handler_gets_the_request_time_limit_answer() {
    run(async {
        let router = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "too late"
                }),
            )
            .route("/quick", get(|| async { "ok" }))
            .layer(request_time_limit(Duration::from_secs(1)));
        let server = Server::start(router, limits(30, 8)).await;
        let started = Instant::now();
        assert_eq!(get_status(server.addr, "/slow", Duration::from_secs(10)).await, 503);
        let waited = started.elapsed();
        eprintln!("slow handler answered after {waited:?}");
        assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(10), "{waited:?}");
        assert_eq!(get_status(server.addr, "/quick", Duration::from_secs(10)).await, 200);
        server.stop().await;
    });
}

#[test]
fn requests_carry_the_tcp_peer_as_client_address() {
    run(async {
        let app = TestApp::sqlite().await;
        let server = Server::start(real_router(&app), limits(30, 8)).await;
        let body = serde_urlencoded::to_string([("email", "peer@example.com"), ("password", PASSWORD)]).unwrap();
        let request = format!(
            "POST /api/signup HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nOrigin: http://127.0.0.1:3000\r\n\
             Accept: text/html\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let response = read_until_closed(&mut stream, Duration::from_secs(30)).await.expect("sign-up answered");
        assert_eq!(status_of(&response) / 100, 3, "{}", String::from_utf8_lossy(&response));
        let user = app.user_id("peer@example.com").await;
        let ips: Vec<String> = sqlx::query_scalar("SELECT ip FROM history_events WHERE user_id = $1")
            .bind(user)
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
        assert_eq!(ips, vec!["127.0.0.1".to_owned()]);
        server.stop().await;
        app.cleanup().await;
    });
}
