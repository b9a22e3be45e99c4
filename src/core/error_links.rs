//! Signed error links.
//!
//! Without JavaScript, a failed form comes back to its page with the error in the query string
//! (`?__path=…&__err=…`, Leptos' progressive enhancement), and the page shows it. Unchecked, a
//! crafted link could make a Keycard page show any sentence as an error ("Your account is locked;
//! call …"). So Keycard signs the error links it makes ([`sign_error_redirects`]) and pages drop an
//! error whose signature does not match ([`drop_forged_error_links`]: a redirect to the same
//! address without it).
//!
//! The signature (`__sig`, an HMAC under the secret key) covers the server function's path
//! (`__path`), the error (`__err`), the path of the page the error is shown on, and an expiry a
//! few minutes ahead (`__exp`, Unix seconds): a link cannot be moved to another page, nor replayed
//! once it has expired. Parameter names are compared after decoding the query as Leptos does
//! (`%5F%5Ferr` is `__err`), so no spelling of a name slips past the check.

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method, Uri},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use subtle::ConstantTimeEq;

use super::state::AppState;
use crate::errors::AppError;

const PURPOSE: &str = "error-link v2";

/// How long a signed error link is shown: long enough to follow the redirect.
pub const LINK_LIFETIME_SECS: i64 = 5 * 60;
/// An expiry further ahead than this was not made by this server (or its clock jumped): refused.
pub const MAX_LINK_LIFETIME_SECS: i64 = 10 * 60;

/// The query parameters of an error link.
const NAMES: [&str; 4] = ["__path", "__err", "__exp", "__sig"];

/// True when a (decoded) query parameter name belongs to an error link.
fn is_error_param(key: &str) -> bool {
    NAMES.contains(&key)
}

/// The decoded pairs of a query string, decoded as Leptos decodes them (`+` is a space, `%XX` a
/// byte).
fn pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The only value of `name` among `pairs`; `None` when it is missing or given more than once.
fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut values = pairs.iter().filter(|(key, _)| key == name);
    let (_, value) = values.next()?;
    values.next().is_none().then_some(value.as_str())
}

/// The HMAC of an error link; each part is length-prefixed so no two links share a message.
fn signature(state: &AppState, page_path: &str, fn_path: &str, err: &str, exp: &str) -> String {
    let mut message = String::new();
    for part in [page_path, fn_path, err, exp] {
        message.push_str(&format!("{}:{part}\n", part.len()));
    }
    state.secrets.keyed_hash(PURPOSE, message.as_bytes())
}

/// Whether a link with expiry `exp` may be shown at `now`: not expired, and not further ahead
/// than a link this server makes.
pub fn expiry_acceptable(exp: i64, now: i64) -> bool {
    now <= exp && exp <= now.saturating_add(MAX_LINK_LIFETIME_SECS)
}

/// Replaces the query of `location` by `query` (keeping any fragment).
fn with_query(location: &str, query: &str) -> String {
    let (base, fragment) = match location.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (location, None),
    };
    let mut out = base.split_once('?').map_or(base, |(base, _)| base).to_owned();
    if !query.is_empty() {
        out.push('?');
        out.push_str(query);
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// The error a redirect's `__err` carries (the latest one), if it is one of ours.
fn latest_error(location: &str) -> Option<AppError> {
    let query = location.split('#').next()?.split_once('?').map(|(_, q)| q)?;
    let pairs = pairs(query);
    let err = pairs.iter().rev().find(|(key, _)| key == "__err").map(|(_, value)| value)?;
    // Leptos writes the error's JSON in base64.
    let json = data_encoding::BASE64
        .decode(err.as_bytes())
        .or_else(|_| data_encoding::BASE64URL.decode(err.as_bytes()))
        .ok()?;
    serde_json::from_slice(&json).ok()
}

/// Signs the error link in a redirect's `Location` as made at `now`, or `None` when it holds no
/// error. The latest `__path` and `__err` are kept (Leptos appends them to the referring page's
/// address, which may hold an earlier error); older error parameters are dropped.
pub fn signed_location(state: &AppState, location: &str, now: i64) -> Option<String> {
    let without_fragment = location.split('#').next().unwrap_or_default();
    let query = without_fragment.split_once('?').map(|(_, q)| q)?;
    let pairs = pairs(query);
    let latest = |name: &str| pairs.iter().rev().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let (fn_path, err) = (latest("__path")?, latest("__err")?);
    let page_path = without_fragment.parse::<Uri>().ok()?.path().to_owned();
    let exp = (now + LINK_LIFETIME_SECS).to_string();
    let sig = signature(state, &page_path, &fn_path, &err, &exp);
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    serializer.extend_pairs(pairs.iter().filter(|(key, _)| !is_error_param(key)));
    serializer.extend_pairs([
        ("__path", fn_path.as_str()),
        ("__err", err.as_str()),
        ("__exp", exp.as_str()),
        ("__sig", sig.as_str()),
    ]);
    Some(with_query(location, &serializer.finish()))
}

/// Adds `__exp` and `__sig` to the error redirects that server functions answer failed form posts
/// with.
pub async fn sign_error_redirects(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_post = req.method() == Method::POST;
    let mut response = next.run(req).await;
    if !is_post || !response.status().is_redirection() {
        return response;
    }
    let Some(location) = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
        return response;
    };
    // An outage is not the form's fault: the answer is the 503 page (with Retry-After), not the
    // form again.
    if latest_error(location) == Some(AppError::Unavailable) {
        return super::web::app_error_page(&AppError::Unavailable);
    }
    if let Some(signed) = signed_location(&state, location, state.db.clock.now()) {
        if let Ok(value) = HeaderValue::from_str(&signed) {
            response.headers_mut().insert(header::LOCATION, value);
        }
    }
    response
}

/// Whether the error link in `pairs` was signed by this server for the page at `page_path` and
/// has not expired at `now`.
fn is_genuine(state: &AppState, page_path: &str, pairs: &[(String, String)], now: i64) -> bool {
    let (Some(fn_path), Some(err), Some(exp), Some(sig)) =
        (single(pairs, "__path"), single(pairs, "__err"), single(pairs, "__exp"), single(pairs, "__sig"))
    else {
        return false;
    };
    let expected = signature(state, page_path, fn_path, err, exp);
    if !bool::from(expected.as_bytes().ct_eq(sig.as_bytes())) {
        return false;
    }
    exp.parse::<i64>().is_ok_and(|exp| expiry_acceptable(exp, now))
}

/// Pages reached with an error link that is forged, expired or made for another page are sent to
/// the same address without the error.
pub async fn drop_forged_error_links(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let query = req.uri().query().unwrap_or_default();
    if req.method() != Method::GET || query.is_empty() {
        return next.run(req).await;
    }
    let pairs = pairs(query);
    if !pairs.iter().any(|(key, _)| is_error_param(key))
        || is_genuine(&state, req.uri().path(), &pairs, state.db.clock.now())
    {
        return next.run(req).await;
    }
    let kept: Vec<&(String, String)> = pairs.iter().filter(|(key, _)| !is_error_param(key)).collect();
    // One leading slash: `//host` would be another site's address.
    let mut target = format!("/{}", req.uri().path().trim_start_matches(['/', '\\']));
    if !kept.is_empty() {
        target.push('?');
        target.push_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish());
    }
    Redirect::to(&target).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_window() {
        let now = 1_700_000_000;
        assert!(expiry_acceptable(now + LINK_LIFETIME_SECS, now));
        assert!(expiry_acceptable(now, now), "the last second still counts");
        assert!(!expiry_acceptable(now - 1, now), "expired");
        assert!(expiry_acceptable(now + MAX_LINK_LIFETIME_SECS, now));
        assert!(!expiry_acceptable(now + MAX_LINK_LIFETIME_SECS + 1, now), "too far ahead");
        assert!(!expiry_acceptable(i64::MAX, now));
        assert!(!expiry_acceptable(i64::MIN, now));
        assert!(!expiry_acceptable(0, i64::MAX) && expiry_acceptable(i64::MAX, i64::MAX));
    }

    #[test]
    fn error_params_are_recognised_in_any_spelling() {
        for query in ["__err=x", "%5F%5Ferr=x", "_%5Ferr=x", "%5f_err=x", "a=1&__%73ig=y", "__path=%2Fapi", "__exp=1"] {
            assert!(pairs(query).iter().any(|(key, _)| is_error_param(key)), "{query}");
        }
        for query in ["err=x", "+__err=x", "__err+=x", "next=__err", "__errx=1"] {
            assert!(!pairs(query).iter().any(|(key, _)| is_error_param(key)), "{query}");
        }
    }

    #[test]
    fn single_values_only() {
        let p = pairs("__err=a&__sig=b&__sig=c");
        assert_eq!(single(&p, "__err"), Some("a"));
        assert_eq!(single(&p, "__sig"), None);
        assert_eq!(single(&p, "__path"), None);
    }

    #[test]
    fn query_replacement_keeps_the_fragment() {
        assert_eq!(with_query("http://h/login?a=1#top", "b=2"), "http://h/login?b=2#top");
        assert_eq!(with_query("/login", "b=2"), "/login?b=2");
        assert_eq!(with_query("/login?x", ""), "/login");
    }
}
