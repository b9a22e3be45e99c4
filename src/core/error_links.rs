//! Signed error links.
//!
//! Without JavaScript, a failed form comes back to its page with the error in the query string
//! (`?__path=…&__err=…`, Leptos' progressive enhancement), and the page shows it. Unchecked, a
//! crafted link could make a Keycard page show any sentence as an error ("Your account is locked;
//! call …"). So Keycard signs the error links it makes ([`sign_error_redirects`]: an HMAC under the
//! secret key, `__sig`) and pages drop an error whose signature does not match
//! ([`drop_forged_error_links`]: a redirect to the same address without it).

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use subtle::ConstantTimeEq;

use super::state::AppState;

const PURPOSE: &str = "error-link";

/// The `__path`, `__err` and `__sig` values of a query string (decoded).
fn error_params(query: &str) -> (Option<String>, Option<String>, Option<String>) {
    let (mut path, mut err, mut sig) = (None, None, None);
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "__path" => path = Some(value.into_owned()),
            "__err" => err = Some(value.into_owned()),
            "__sig" => sig = Some(value.into_owned()),
            _ => {}
        }
    }
    (path, err, sig)
}

fn signature(state: &AppState, path: &str, err: &str) -> String {
    state.secrets.keyed_hash(PURPOSE, format!("{path}\n{err}").as_bytes())
}

/// Adds `__sig` to the error redirects that server functions answer failed form posts with.
pub async fn sign_error_redirects(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_post = req.method() == Method::POST;
    let mut response = next.run(req).await;
    if !is_post || !response.status().is_redirection() {
        return response;
    }
    let Some(location) = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
        return response;
    };
    let query = location.split_once('?').map(|(_, q)| q.split('#').next().unwrap_or_default()).unwrap_or_default();
    if let (Some(path), Some(err), _) = error_params(query) {
        let signed = format!("{location}&__sig={}", signature(&state, &path, &err));
        if let Ok(value) = HeaderValue::from_str(&signed) {
            response.headers_mut().insert(header::LOCATION, value);
        }
    }
    response
}

/// Pages reached with an error whose signature is missing or wrong are sent to the same address
/// without the error.
pub async fn drop_forged_error_links(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let query = req.uri().query().unwrap_or_default();
    if req.method() != Method::GET || !query.contains("__err") {
        return next.run(req).await;
    }
    let (path, err, sig) = error_params(query);
    let genuine = match (&path, &err, &sig) {
        (Some(path), Some(err), Some(sig)) => bool::from(signature(&state, path, err).as_bytes().ct_eq(sig.as_bytes())),
        _ => false,
    };
    if genuine {
        return next.run(req).await;
    }
    let kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| !matches!(&**key, "__path" | "__err" | "__sig"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut target = req.uri().path().to_owned();
    if !kept.is_empty() {
        target.push('?');
        target.push_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish());
    }
    Redirect::to(&target).into_response()
}
