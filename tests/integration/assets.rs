//! Static files and compression: hashed asset names are cached for good and served precompressed
//! by the request's `Accept-Encoding`; pages are compressed, except the two-step page, which
//! shows secrets (BREACH).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use keycard::core::assets::{router, AssetHashes};
use tower::ServiceExt;

use crate::common::{run, unique_name, TempDir, TestApp};

on_both_databases!(pages_are_compressed_but_not_the_one_showing_secrets);

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A site folder as `cargo xtask build` leaves it, with distinct contents
/// per encoding so the test can tell which file was sent.
fn site() -> TempDir {
    let dir = TempDir(std::env::temp_dir().join(unique_name()));
    let pkg = dir.0.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    for (name, body) in [
        ("keycard.W1.wasm", "raw wasm"),
        ("keycard.W1.wasm.br", "brotli wasm"),
        ("keycard.W1.wasm.gz", "gzip wasm"),
        ("keycard.J1.js", "raw js"),
        ("keycard.J1.js.br", "brotli js"),
        ("keycard.C1.css", "body{}"),
        ("keycard.css", "unhashed"),
    ] {
        std::fs::write(pkg.join(name), body).unwrap();
    }
    dir
}

async fn fetch(
    app: &axum::Router,
    path: &str,
    accept_encoding: Option<&str>,
) -> (StatusCode, header::HeaderMap, String) {
    let mut req = Request::get(path);
    if let Some(encodings) = accept_encoding {
        req = req.header(header::ACCEPT_ENCODING, encodings);
    }
    let response = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn get(headers: &header::HeaderMap, name: header::HeaderName) -> &str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[test]
fn hashed_assets_are_cached_for_good_and_sent_precompressed() {
    run(async {
        let dir = site();
        let hashes = AssetHashes::parse("js: J1\nwasm: W1\ncss: C1\n");
        let app: axum::Router = router(&dir.0, hashes);

        let (status, headers, body) = fetch(&app, "/pkg/keycard.W1.wasm", Some("gzip, deflate, br")).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "brotli wasm"));
        assert_eq!(get(&headers, header::CONTENT_ENCODING), "br");
        assert_eq!(get(&headers, header::CONTENT_TYPE), "application/wasm");
        assert_eq!(get(&headers, header::CACHE_CONTROL), IMMUTABLE);
        assert!(get(&headers, header::VARY).to_ascii_lowercase().contains("accept-encoding"));

        let (_, headers, body) = fetch(&app, "/pkg/keycard.W1.wasm", Some("gzip")).await;
        assert_eq!((body.as_str(), get(&headers, header::CONTENT_ENCODING)), ("gzip wasm", "gzip"));
        let (_, headers, body) = fetch(&app, "/pkg/keycard.W1.wasm", None).await;
        assert_eq!((body.as_str(), get(&headers, header::CONTENT_ENCODING)), ("raw wasm", ""));
        assert_eq!(get(&headers, header::CACHE_CONTROL), IMMUTABLE);

        // Pages name the bundle after both its hashes: the same files, compressed and cached alike.
        let (status, headers, body) = fetch(&app, "/pkg/keycard.J1.W1.wasm", Some("br")).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "brotli wasm"));
        assert_eq!(get(&headers, header::CONTENT_TYPE), "application/wasm");
        assert_eq!(get(&headers, header::CACHE_CONTROL), IMMUTABLE);
        let (status, headers, body) = fetch(&app, "/pkg/keycard.J1.W1.js", Some("gzip, br")).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "brotli js"));
        assert!(get(&headers, header::CONTENT_TYPE).contains("javascript"));
        assert_eq!(get(&headers, header::CACHE_CONTROL), IMMUTABLE);
        assert_eq!(fetch(&app, "/pkg/keycard.J1.W2.wasm", None).await.0, StatusCode::NOT_FOUND);

        // Without a compressed copy, the file itself (still cached: its name is hashed).
        let (_, headers, body) = fetch(&app, "/pkg/keycard.C1.css", Some("br")).await;
        assert_eq!((body.as_str(), get(&headers, header::CACHE_CONTROL)), ("body{}", IMMUTABLE));
        // A name without this build's hash may change meaning: revalidate.
        let (_, headers, _) = fetch(&app, "/pkg/keycard.css", None).await;
        assert_eq!(get(&headers, header::CACHE_CONTROL), "no-cache");
        // Nothing else, and nothing outside the folder.
        let (status, headers, _) = fetch(&app, "/pkg/keycard.W2.wasm", Some("br")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_ne!(get(&headers, header::CACHE_CONTROL), IMMUTABLE);
        std::fs::write(dir.0.join("secret.txt"), "outside").unwrap();
        assert_eq!(fetch(&app, "/pkg/../secret.txt", None).await.0, StatusCode::NOT_FOUND);
    });
}

async fn pages_are_compressed_but_not_the_one_showing_secrets(app: &TestApp) {
    let mut client = app.client();
    client.sign_up("ida@example.com").await.assert_redirect_to("/");
    client.extra_headers.push(("accept-encoding", "br, gzip".to_owned()));
    for path in ["/", "/devices", "/history", "/security", "/login/forgot"] {
        let page = client.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(get(&page.headers, header::CONTENT_ENCODING), "br", "{path} is compressed");
        assert_eq!(get(&page.headers, header::CACHE_CONTROL), "no-store", "{path}");
    }
    // The two-step page shows the setup key and fresh recovery codes: never compressed, and the
    // mark that says so stays inside the server.
    let page = client.get("/security/two-step").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Two-step sign-in is off."), "readable as sent");
    assert_eq!(get(&page.headers, header::CONTENT_ENCODING), "");
    assert!(page.headers.keys().all(|name| !name.as_str().starts_with("x-keycard")), "{:?}", page.headers);
    // The streamed history export, compressed, ends cleanly.
    client.reauth(crate::common::PASSWORD, "/history").await;
    let export = client.get("/history/export.json").await;
    assert_eq!((export.status, get(&export.headers, header::CONTENT_ENCODING)), (StatusCode::OK, "br"));
    assert!(!export.body.is_empty());
    // Without Accept-Encoding, nothing is compressed.
    client.extra_headers.clear();
    assert_eq!(get(&client.get("/devices").await.headers, header::CONTENT_ENCODING), "");
}
