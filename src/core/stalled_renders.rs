//! Retrying a page render that stalls.
//!
//! Leptos 0.8's server rendering occasionally never finishes a page: every worker thread idle, one
//! resource of the page never resolving (our integration tests met it about once per thousand
//! renders under concurrent load, with Leptos 0.8.23; upstream has fixed several such races and
//! this one remains). Until it is fixed there, a page render (GET, no body, no side effects but the
//! session's "last active" time) that takes longer than [`RENDER_ATTEMPT_LIMIT`] is abandoned and
//! rendered again, up to [`RENDER_ATTEMPTS`] times, then answered with a 503 page. Server functions
//! (POSTs) are never retried, and static files and probes do not pass through here.

use std::time::Duration;

use axum::{
    extract::Request,
    http::{Method, StatusCode},
    middleware::Next,
    response::Response,
};

/// Far above any real render (a few database reads); a stalled one never finishes at all.
pub const RENDER_ATTEMPT_LIMIT: Duration = Duration::from_secs(5);
pub const RENDER_ATTEMPTS: usize = 3;

/// Whether the request is a server-rendered page (not a server function, asset or probe).
pub fn is_page_render(method: &Method, path: &str) -> bool {
    let last_segment = path.rsplit('/').next().unwrap_or_default();
    matches!(*method, Method::GET | Method::HEAD)
        && !path.starts_with("/api/")
        && !path.starts_with("/pkg/")
        && !matches!(path, "/healthz" | "/readyz")
        && !path.starts_with("/history/export")
        && !last_segment.contains('.')
}

pub async fn retry_stalled_renders(req: Request, next: Next) -> Response {
    if !is_page_render(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    // A page request carries no body, so each attempt gets a copy of the head.
    let (parts, _body) = req.into_parts();
    for attempt in 1..=RENDER_ATTEMPTS {
        let request = Request::from_parts(parts.clone(), axum::body::Body::empty());
        match tokio::time::timeout(RENDER_ATTEMPT_LIMIT, next.clone().run(request)).await {
            Ok(response) => return response,
            Err(_) => tracing::warn!(path = parts.uri.path(), attempt, "page render stalled; abandoned"),
        }
    }
    super::web::error_page(StatusCode::SERVICE_UNAVAILABLE, "This page took too long to load. Try again.")
}

#[cfg(test)]
mod tests {
    use super::{is_page_render, retry_stalled_renders};
    use axum::{body::Body, http::{Method, Request, StatusCode}, middleware::from_fn, routing::get, Router};
    use std::sync::{atomic::{AtomicUsize, Ordering}, Arc};
    use tower::ServiceExt;

    /// A page whose first render never finishes: the second attempt answers.
    #[tokio::test]
    async fn a_stalled_render_is_abandoned_and_rendered_again() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let counter = attempts.clone();
        let app = Router::new()
            .route(
                "/devices",
                get(move || {
                    let counter = counter.clone();
                    async move {
                        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                            std::future::pending::<()>().await;
                        }
                        "rendered"
                    }
                }),
            )
            .layer(from_fn(retry_stalled_renders));
        let response = app.oneshot(Request::get("/devices").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn only_page_renders_are_retried() {
        for page in ["/", "/devices", "/history", "/security/two-step", "/login", "/nowhere"] {
            assert!(is_page_render(&Method::GET, page), "{page}");
        }
        assert!(!is_page_render(&Method::POST, "/devices"));
        for other in ["/api/login", "/pkg/keycard.wasm", "/healthz", "/readyz", "/history/export.csv", "/favicon.ico"] {
            assert!(!is_page_render(&Method::GET, other), "{other}");
        }
    }
}
