//! Retrying a page render that stalls.
//!
//! Leptos 0.8's server rendering occasionally never finishes a page: every worker thread idle, one
//! resource of the page never resolving (our integration tests met it about once per thousand
//! renders under concurrent load, with Leptos 0.8.23; upstream has fixed several such races and
//! this one remains). Until it is fixed there, a page render (GET, no body, no side effects but the
//! session's "last active" time) that takes longer than [`RENDER_ATTEMPT_LIMIT`] is abandoned and
//! rendered again, up to [`RENDER_ATTEMPTS`] times, then answered with a 503 page. Server functions
//! (POSTs) are never retried, and static files and probes do not pass through here.
//!
//! A render may consume a shown-once value from the session (fresh recovery codes). It does so
//! through [`consume_session_key`], which, inside a render that may be retried, removes the key
//! only once an attempt succeeds, so an abandoned attempt loses nothing.

use std::sync::{Arc, Mutex};
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

/// Whether the request renders a Leptos page (a GET or HEAD of a page in [`crate::routes`]).
pub fn is_page_render(method: &Method, path: &str) -> bool {
    matches!(*method, Method::GET | Method::HEAD) && crate::routes::renders_page(path)
}

/// Session keys one render attempt has consumed, removed when that attempt succeeds.
#[derive(Clone, Debug, Default)]
pub struct ConsumedSessionKeys(Arc<Mutex<Vec<&'static str>>>);

/// Marks a shown-once `key` of the session as consumed by this request: removed at once, or,
/// when `deferred` holds the keys of a render attempt, when that attempt succeeds.
pub async fn consume_session_key_in(
    deferred: Option<&ConsumedSessionKeys>,
    session: &tower_sessions::Session,
    key: &'static str,
) -> Result<(), tower_sessions::session::Error> {
    match deferred {
        Some(keys) => {
            keys.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(key);
            Ok(())
        }
        None => session.remove_value(key).await.map(|_| ()),
    }
}

/// [`consume_session_key_in`] for the current request: the attempt's keys come from it. Called
/// only by `crate::sessions::keys::SessionKey::take_shown_once`.
pub async fn consume_session_key(
    session: &tower_sessions::Session,
    key: &'static str,
) -> Result<(), tower_sessions::session::Error> {
    let deferred = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<ConsumedSessionKeys>().cloned());
    consume_session_key_in(deferred.as_ref(), session, key).await
}

pub async fn retry_stalled_renders(req: Request, next: Next) -> Response {
    if !is_page_render(req.method(), req.uri().path()) {
        return next.run(req).await;
    }
    // A page request carries no body, so each attempt gets a copy of the head.
    let (parts, _body) = req.into_parts();
    for attempt in 1..=RENDER_ATTEMPTS {
        let consumed = ConsumedSessionKeys::default();
        let mut attempt_parts = parts.clone();
        attempt_parts.extensions.insert(consumed.clone());
        let request = Request::from_parts(attempt_parts, axum::body::Body::empty());
        match tokio::time::timeout(RENDER_ATTEMPT_LIMIT, next.clone().run(request)).await {
            Ok(response) => {
                let keys = std::mem::take(&mut *consumed.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
                if let Some(session) = parts.extensions.get::<tower_sessions::Session>() {
                    for key in keys {
                        if let Err(err) = session.remove_value(key).await {
                            tracing::error!(error = %err, "could not remove a shown-once session value");
                        }
                    }
                }
                return response;
            }
            Err(_) => tracing::warn!(path = parts.uri.path(), attempt, "page render stalled; abandoned"),
        }
    }
    super::web::error_page(StatusCode::SERVICE_UNAVAILABLE, "This page took too long to load. Try again.")
}

#[cfg(test)]
mod tests {
    use super::{consume_session_key_in, is_page_render, retry_stalled_renders, ConsumedSessionKeys};
    use axum::{
        body::Body,
        http::{Method, Request, StatusCode},
        middleware::from_fn,
        routing::get,
        Router,
    };
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };
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

    /// The first attempt consumes a shown-once value and stalls; the retry still finds it, and
    /// only the attempt that succeeded removes it.
    #[tokio::test]
    async fn an_abandoned_attempt_does_not_consume_shown_once_values() {
        use axum::{extract::Extension, http::header, routing::post};
        use tower_sessions::{MemoryStore, Session, SessionManagerLayer};
        let attempts = Arc::new(AtomicUsize::new(0));
        let counter = attempts.clone();
        let page = move |session: Session, Extension(keys): Extension<ConsumedSessionKeys>| {
            let counter = counter.clone();
            async move {
                let value: Option<String> = session.get("codes").await.unwrap();
                consume_session_key_in(Some(&keys), &session, "codes").await.unwrap();
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    std::future::pending::<()>().await;
                }
                value.unwrap_or_default()
            }
        };
        let app = Router::new()
            .route("/stash", post(|session: Session| async move { session.insert("codes", "abc-def").await.unwrap() }))
            .route("/two-step", get(page))
            .layer(from_fn(retry_stalled_renders))
            .layer(SessionManagerLayer::new(MemoryStore::default()));
        let stashed = app.clone().oneshot(Request::post("/stash").body(Body::empty()).unwrap()).await.unwrap();
        let cookie = stashed.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
        let get =
            |cookie: String| Request::get("/two-step").header(header::COOKIE, cookie).body(Body::empty()).unwrap();
        let body = |response: axum::response::Response| async move {
            String::from_utf8(http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes().to_vec())
                .unwrap()
        };
        let shown = app.clone().oneshot(get(cookie.clone())).await.unwrap();
        assert_eq!(body(shown).await, "abc-def", "the retry still had the value");
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
        let again = app.oneshot(get(cookie)).await.unwrap();
        assert_eq!(body(again).await, "", "shown once: gone after the successful render");
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
