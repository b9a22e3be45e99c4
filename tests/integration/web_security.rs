//! Response headers and cookie settings that protect every page.

use crate::common::TestApp;

#[test]
fn pages_carry_a_nonce_csp_and_protective_headers() {
    crate::common::run(pages_carry_a_nonce_csp_and_protective_headers_body());
}

async fn pages_carry_a_nonce_csp_and_protective_headers_body() {
    let app = TestApp::sqlite().await;
    let mut client = app.client();
    let page = client.get("/login").await;
    let header = |name: &str| page.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let csp = header("content-security-policy");
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("nonce in CSP");
    assert!(nonce.len() >= 16);
    assert!(page.body.contains(&format!("nonce=\"{nonce}\"")), "hydration script carries the nonce");
    for directive in ["frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "'wasm-unsafe-eval'"] {
        assert!(csp.contains(directive), "{csp} lacks {directive}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "same-origin");
    assert!(header("permissions-policy").contains("camera=()"));
    assert_eq!(header("cache-control"), "no-store");
    assert!(header("strict-transport-security").is_empty(), "no HSTS without secure cookies");
    // Each response gets its own nonce.
    let again = client.get("/login").await;
    assert_ne!(again.headers.get("content-security-policy").unwrap().to_str().unwrap(), csp);
    // Non-page answers get a policy without scripts.
    let health = client.get("/healthz").await;
    assert!(health.headers.get("content-security-policy").unwrap().to_str().unwrap().starts_with("default-src 'none'"));
    app.cleanup().await;
}

#[test]
fn secure_cookies_use_the_host_prefix_and_hsts() {
    crate::common::run(secure_cookies_use_the_host_prefix_and_hsts_body());
}

async fn secure_cookies_use_the_host_prefix_and_hsts_body() {
    let app = TestApp::sqlite_with(|config| config.secure_cookies = true).await;
    let mut client = app.client();
    let reply = client.sign_up("quinn@example.com").await;
    let cookie = reply.set_cookies().into_iter().find(|c| c.starts_with("__Host-keycard_session=")).expect("prefixed");
    for flag in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(!cookie.contains("Domain"));
    assert!(reply.headers.get("strict-transport-security").is_some());
    // The prefixed cookie is the one that signs in.
    assert!(client.get("/").await.body.contains("quinn@example.com"));
    app.cleanup().await;
}

/// A page whose render did not hand its policy to the response (Leptos' response options lost,
/// as seen once in a browser test) still gets the nonce policy that matches its scripts.
#[test]
fn a_page_without_its_own_policy_gets_the_nonce_policy_of_its_request() {
    crate::common::run(a_page_without_its_own_policy_body());
}

async fn a_page_without_its_own_policy_body() {
    use axum::{
        body::Body, extract::Extension, http::Request, middleware::from_fn_with_state, response::Html, routing::get,
        Router,
    };
    use keycard::core::web::{security_headers, PageNonce};
    use tower::ServiceExt;
    let app = TestApp::sqlite().await;
    let page = |Extension(nonce): Extension<PageNonce>| async move {
        Html(format!("<script nonce=\"{}\"></script>", nonce.0))
    };
    let router = Router::new()
        .route("/devices", get(page))
        .route("/healthz", get(|| async { "ok" }))
        .layer(from_fn_with_state(app.state.clone(), security_headers));
    let response = router.clone().oneshot(Request::get("/devices").body(Body::empty()).unwrap()).await.unwrap();
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    let nonce = String::from_utf8(body.to_vec()).unwrap().split('"').nth(1).unwrap().to_owned();
    assert!(csp.contains(&format!("'nonce-{nonce}'")), "{csp}");
    let health = router.oneshot(Request::get("/healthz").body(Body::empty()).unwrap()).await.unwrap();
    assert!(health.headers()["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
    app.cleanup().await;
}
