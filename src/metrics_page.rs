//! The `/metrics` page: [`crate::core::metrics`]' counters and histograms, with the gauges that are
//! facts of the database (live sessions, app connections, mail waiting) and of this process (pools,
//! the mail worker's counts) read when it is scraped. Above the domains it reads, like the router.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::core::state::AppState;

/// `GET /metrics` on the main address: only with `KEYCARD_METRICS_TOKEN`, and only for a request
/// carrying it (compared in constant time).
pub async fn with_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = state.config.metrics_token.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let matches: bool = subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), token.0.as_bytes()).into();
    if !matches {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")], "")
            .into_response();
    }
    page(State(state)).await
}

/// The metrics in Prometheus' text format (on the metrics address, without a token).
pub async fn page(State(state): State<AppState>) -> Response {
    if !crate::core::metrics::installed() {
        return StatusCode::NOT_FOUND.into_response();
    }
    if let Err(err) = read_gauges(&state).await {
        // Counters are still worth having while the database is away.
        tracing::warn!(error = %err, "metrics: database gauges not read");
    }
    let text = crate::core::metrics::render().unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// The mail worker's counts (this process's).
const MAILS: &str = "keycard_mails_total";

async fn read_gauges(state: &AppState) -> Result<(), sqlx::Error> {
    use sqlx::Row;
    let pool = &state.db.pool;
    let (size, idle) = (pool.size() as f64, pool.num_idle() as f64);
    metrics::gauge!("keycard_db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("keycard_db_pool_connections", "state" => "in_use").set(size - idle);
    metrics::gauge!("keycard_db_pool_max_connections").set(pool.options().get_max_connections() as f64);
    metrics::gauge!("keycard_password_hashing_in_flight").set(state.hashing.in_flight() as f64);
    // The mail worker keeps its own counts (tests read them too); published as they are.
    let mail = &crate::mail::metrics::MAIL_METRICS;
    metrics::counter!(MAILS, "outcome" => "sent").absolute(mail.sent());
    metrics::counter!(MAILS, "outcome" => "failed_attempt").absolute(mail.failed_attempts());
    metrics::counter!(MAILS, "outcome" => "given_up").absolute(mail.given_up());
    let live = crate::sessions::lifecycle::live_sql("$1");
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM sessions WHERE {live} AND client_name IS NULL AND stage = 'complete'), \
         (SELECT COUNT(*) FROM sessions WHERE {live} AND client_name IS NOT NULL), \
         (SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NULL)"
    );
    let row = sqlx::query(&sql).bind(state.db.clock.now()).fetch_one(pool).await?;
    metrics::gauge!("keycard_sessions_active").set(row.get::<i64, _>(0) as f64);
    metrics::gauge!("keycard_app_connections_active").set(row.get::<i64, _>(1) as f64);
    metrics::gauge!("keycard_outbox_depth").set(row.get::<i64, _>(2) as f64);
    Ok(())
}
