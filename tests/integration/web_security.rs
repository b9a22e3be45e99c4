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
