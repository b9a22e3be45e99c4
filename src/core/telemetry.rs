//! Logging with `tracing`, as text or (`KEYCARD_LOG_FORMAT=json`) one JSON object per line.
//! `RUST_LOG` chooses the level (default `info`). Request logs carry the
//! method, path (never the query string, which may hold a `next` or error payload), status and
//! latency; no handler logs passwords, cookies or session ids.

pub fn init(format: super::config::LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = match format {
        super::config::LogFormat::Text => builder.try_init(),
        // One JSON object per line; the request's span (its id, method and path) on every line
        // logged while answering it.
        super::config::LogFormat::Json => {
            builder.json().with_current_span(true).with_span_list(false).flatten_event(true).try_init()
        }
    };
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
