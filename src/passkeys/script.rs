//! The browser script of the passkey ceremonies, `passkeys.js`, served from the binary (it is
//! small and belongs to this build): revalidated by its content hash, so a new build's script is
//! fetched and an unchanged one answered 304.

use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const SCRIPT: &str = include_str!("passkeys.js");

fn etag() -> &'static str {
    static ETAG: OnceLock<String> = OnceLock::new();
    ETAG.get_or_init(|| format!("\"{}\"", &hex::encode(Sha256::digest(SCRIPT.as_bytes()))[..32]))
}

/// `GET /passkeys.js`.
pub async fn serve(headers: HeaderMap) -> Response {
    let tag = etag();
    let cache =
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")), (header::ETAG, HeaderValue::from_static(tag))];
    let unchanged = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v == tag);
    if unchanged {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    let content_type = (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    (cache, [content_type], SCRIPT).into_response()
}
