//! Logging with `tracing`. `RUST_LOG` chooses the level (default `info`). Request logs carry the
//! method, path (never the query string, which may hold a `next` or error payload), status and
//! latency; no handler logs passwords, cookies or session ids.

pub fn init() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}

/// For the integration tests, when `KEYCARD_TEST_LOG` is set: the same logs, each line naming its
/// thread (the test's name), so a stalled request can be traced to its scenario.
pub fn init_for_tests() {
    use tracing_subscriber::EnvFilter;
    if std::env::var_os("KEYCARD_TEST_LOG").is_none() {
        return;
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("debug,sqlx=warn,hyper=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_thread_names(true).try_init();
}
