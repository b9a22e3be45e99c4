//! Prometheus metrics (`/metrics`), off unless `KEYCARD_METRICS_TOKEN` or `KEYCARD_METRICS_ADDR`
//! is set. Domains count what happened through the functions here (one name per metric, labels
//! from fixed sets, never an id or an address). The page itself, and the gauges read from the
//! database when it is scraped, are `crate::metrics_page`'s.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::errors::AppError;

pub const SIGN_INS: &str = "keycard_sign_ins_total";
pub const SECOND_FACTOR: &str = "keycard_second_factor_total";
pub const SESSIONS_STARTED: &str = "keycard_sessions_started_total";
pub const SESSIONS_ENDED: &str = "keycard_sessions_ended_total";
pub const REQUEST_DURATION: &str = "keycard_http_request_duration_seconds";

/// The process's recorder, installed the first time metrics are enabled.
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Whether the configuration asks for metrics (a token or a metrics address).
pub fn enabled(config: &super::config::Config) -> bool {
    config.metrics_token.is_some() || config.metrics_addr.is_some()
}

/// Installs the recorder (once per process) when the configuration enables metrics.
pub fn install_if_enabled(config: &super::config::Config) {
    if !enabled(config) {
        return;
    }
    HANDLE.get_or_init(|| {
        // Pages answer in milliseconds; a sign-in (argon2) in tens to hundreds.
        let buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), &buckets)
            .and_then(|builder| builder.install_recorder());
        match recorder {
            Ok(handle) => {
                describe();
                handle
            }
            // Another recorder is already installed (never in Keycard itself): render what we can.
            Err(err) => {
                tracing::warn!(error = %err, "metrics recorder not installed");
                PrometheusBuilder::new().build_recorder().handle()
            }
        }
    });
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        SIGN_INS,
        "Sign-in attempts by outcome: success, wrong_password, throttled, code_failed, busy, disabled."
    );
    describe_counter!(SECOND_FACTOR, "Second factors typed (code step and re-authentication) by outcome.");
    describe_counter!(SESSIONS_STARTED, "Sessions started (sign-ups, completed sign-ins, app connections) by method.");
    describe_counter!(SESSIONS_ENDED, "Sessions and app connections ended, by reason.");
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time to answer a request, by route template, method and status."
    );
    describe_gauge!("keycard_sessions_active", "Live browser sessions (signed in).");
    describe_counter!("keycard_mails_total", "Mails by outcome: sent, failed_attempt (retried later), given_up.");
    describe_gauge!("keycard_app_connections_active", "Live app connections.");
    describe_gauge!("keycard_outbox_depth", "Mails waiting to be sent (not sent, not given up).");
    describe_gauge!("keycard_db_pool_connections", "Database pool connections, by state (idle, in_use).");
    describe_gauge!("keycard_db_pool_max_connections", "The database pool's size limit.");
    describe_gauge!("keycard_password_hashing_in_flight", "Password hashes running or waiting for a core.");
}

/// How a sign-in attempt ended (the `outcome` label of [`SIGN_INS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInOutcome {
    Success,
    WrongPassword,
    Throttled,
    CodeFailed,
    Busy,
    Disabled,
}

impl SignInOutcome {
    fn as_str(self) -> &'static str {
        match self {
            SignInOutcome::Success => "success",
            SignInOutcome::WrongPassword => "wrong_password",
            SignInOutcome::Throttled => "throttled",
            SignInOutcome::CodeFailed => "code_failed",
            SignInOutcome::Busy => "busy",
            SignInOutcome::Disabled => "disabled",
        }
    }

    /// The outcome a refused password or code step answered with, if it is one worth counting.
    pub fn of_refusal(err: &AppError) -> Option<SignInOutcome> {
        match err {
            AppError::WrongCredentials => Some(SignInOutcome::WrongPassword),
            AppError::TooManyAttempts { .. } => Some(SignInOutcome::Throttled),
            AppError::WrongCode | AppError::CodeAlreadyUsed => Some(SignInOutcome::CodeFailed),
            AppError::Busy { .. } => Some(SignInOutcome::Busy),
            AppError::AccountDisabled => Some(SignInOutcome::Disabled),
            _ => None,
        }
    }
}

pub fn sign_in(outcome: SignInOutcome) {
    metrics::counter!(SIGN_INS, "outcome" => outcome.as_str()).increment(1);
}

/// Counts a refused sign-in step by its error (see [`SignInOutcome::of_refusal`]) and passes it on.
pub fn sign_in_refused(err: AppError) -> AppError {
    if let Some(outcome) = SignInOutcome::of_refusal(&err) {
        sign_in(outcome);
    }
    err
}

/// `outcome`: passed_code, passed_recovery_code, passed_passkey (at the code step), wrong, replayed, locked, throttled.
pub fn second_factor(outcome: &'static str) {
    metrics::counter!(SECOND_FACTOR, "outcome" => outcome).increment(1);
}

/// `method`: a [`crate::sessions::keys::SignInMethod`]'s stored name, `sign_up` or `app`.
pub fn session_started(method: &'static str) {
    metrics::counter!(SESSIONS_STARTED, "method" => method).increment(1);
}

/// `reason`: an [`super::principal::EndReason`]'s stored name.
pub fn sessions_ended(reason: &'static str, count: u64) {
    if count > 0 {
        metrics::counter!(SESSIONS_ENDED, "reason" => reason).increment(count);
    }
}

/// Records every request's duration under its route template (`/devices`, `/api/v1/sessions/{handle}`),
/// never its path: ids and tokens in paths never become labels.
pub async fn time_requests(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method: &'static str = match *req.method() {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    };
    let response = next.run(req).await;
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16().to_string();
    metrics::histogram!(REQUEST_DURATION, "route" => route, "method" => method, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Whether the recorder is installed (metrics are on in this process).
pub fn installed() -> bool {
    HANDLE.get().is_some()
}

/// The metrics in Prometheus' text format, or `None` when metrics are off. Callers set the gauges
/// they read at scrape time first (see `crate::metrics_page`).
pub fn render() -> Option<String> {
    let handle = HANDLE.get()?;
    handle.run_upkeep();
    Some(handle.render())
}
