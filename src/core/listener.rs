//! Keycard's accept loop: HTTP/1.1 connections with a bounded life and a bounded number.
//!
//! - **Header-read timeout**: a connection must send a whole request head (request line and
//!   headers) within [`ConnectionLimits::header_read_timeout`] of opening, and of its previous
//!   response when kept alive; otherwise it is closed (a slowloris client, or an idle keep-alive
//!   connection, cannot hold a slot). hyper only enforces this with a timer, which `axum::serve`
//!   does not give it, hence this loop.
//! - **Connection cap**: at most [`ConnectionLimits::max_connections`] connections are open. A
//!   permit is taken *before* accepting, so once the cap is reached further clients wait in the
//!   kernel's listen queue (they are not answered, and cost Keycard nothing) until one closes.
//! - **Graceful shutdown**: when `shutdown` completes, accepting stops, idle connections close,
//!   and in-flight requests finish (each is bounded by the request time limit of
//!   [`crate::server::app`] and the header-read timeout).
//! - Each request carries `ConnectInfo<SocketAddr>` (the TCP peer), which
//!   [`super::web::client_ip`] reads.
//!
//! HTTP/1.1 only (as `axum::serve` was built here): Keycard runs behind a reverse proxy or serves
//! browsers directly over HTTP/1.1, and idle HTTP/2 connections would have no header timeout.

use std::{future::Future, io, net::SocketAddr, sync::Arc, time::Duration};

use axum::{extract::ConnectInfo, Router};
use hyper::{body::Incoming, server::conn::http1, Request};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

use super::config::Config;

/// How long a connection may take to send its request head, and how many may be open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    /// At least 1 (0 is treated as 1).
    pub max_connections: usize,
}

impl ConnectionLimits {
    pub fn from_config(config: &Config) -> Self {
        ConnectionLimits { header_read_timeout: config.header_read_timeout, max_connections: config.max_connections }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and waits for
/// open connections to finish their requests. Accept errors (a peer that went away, or running
/// out of file descriptors) are logged and retried, never returned.
pub async fn serve_connections(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        if permits.available_permits() == 0 {
            tracing::warn!(max_connections = limits.max_connections, "connection limit reached; new connections wait");
        }
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = accept(&listener) => accepted,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req)
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                // Timeouts and clients that hang up mid-request end here; nothing to act on.
                tracing::debug!(error = %err, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The next connection; errors that concern one peer are skipped, others (such as too many open
/// files) are logged and retried after a second, as `axum::serve` does.
async fn accept(listener: &TcpListener) -> (tokio::net::TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(err) if is_connection_error(&err) => continue,
            Err(err) => {
                tracing::error!(error = %err, "accept failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}
