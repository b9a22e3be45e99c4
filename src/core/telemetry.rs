//! Logging with `tracing`. `RUST_LOG` chooses the level (default `info`). Request logs carry the
//! method, path (never the query string, which may hold a `next` or error payload), status and
//! latency; no handler logs passwords, cookies or session ids.

pub fn init() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}
