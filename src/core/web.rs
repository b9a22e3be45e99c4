//! Web-security middleware: client IP, cross-site request refusal, content-type and error-status
//! handling for server functions, and response headers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    body::Body,
    extract::{connect_info::MockConnectInfo, ConnectInfo, Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{config::ClientIpHeader, config::ProxyRange, state::AppState};
use crate::errors::AppError;

/// The address a request came from, after applying `KEYCARD_TRUSTED_PROXIES`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

pub async fn client_ip(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let extensions = req.extensions();
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .or_else(|| extensions.get::<MockConnectInfo<SocketAddr>>().map(|MockConnectInfo(addr)| addr.ip()))
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let config = &state.config;
    let ip = resolve_client_ip(peer, req.headers(), &config.trusted_proxies, config.client_ip_header);
    req.extensions_mut().insert(ClientIp(ip));
    next.run(req).await
}

/// The socket peer, unless it is a trusted proxy and a client-address header is configured
/// (`KEYCARD_CLIENT_IP_HEADER`): then that one header is read, and every other forwarding header
/// ignored. `X-Forwarded-For` and `Forwarded` give the nearest address from the right that is
/// not itself a trusted proxy; `X-Real-IP` holds a single address. Without a usable address in
/// the header, the peer.
pub fn resolve_client_ip(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[ProxyRange],
    header: Option<ClientIpHeader>,
) -> IpAddr {
    let Some(header) = header else { return peer };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|range| range.contains(*ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(value) = header_text(headers, header.name()) else {
        return peer;
    };
    let forwarded: Vec<IpAddr> = match header {
        ClientIpHeader::Forwarded => parse_forwarded_for(&value),
        ClientIpHeader::XForwardedFor => value.split(',').filter_map(|part| parse_ip_token(part.trim())).collect(),
        ClientIpHeader::XRealIp => {
            // One address, from one header line: several lines or a list is not what a proxy writes.
            let single = headers.get_all(header.name()).iter().count() == 1 && !value.contains(',');
            return single.then(|| parse_ip_token(value.trim())).flatten().unwrap_or(peer);
        }
    };
    forwarded.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer)
}

/// The key per-IP limits count under: an IPv4 address (also when IPv4-mapped) as itself, any other
/// IPv6 address as its /64 prefix (`2001:db8:1:2::/64`), since one subscriber usually holds a
/// whole /64 and could otherwise step through addresses to escape the limits.
pub fn ip_limit_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u128::from(v6) & (u128::MAX << 64);
                format!("{}/64", std::net::Ipv6Addr::from(prefix))
            }
        },
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// The `for=` addresses of an RFC 7239 `Forwarded` header, in order; unparsable ones are skipped.
pub fn parse_forwarded_for(value: &str) -> Vec<IpAddr> {
    value
        .split(',')
        .flat_map(|element| element.split(';'))
        .filter_map(|pair| {
            let (key, val) = pair.trim().split_once('=')?;
            key.trim().eq_ignore_ascii_case("for").then(|| parse_ip_token(val.trim().trim_matches('"')))?
        })
        .collect()
}

/// An IP from `1.2.3.4`, `1.2.3.4:80`, `[::1]` or `[::1]:80`.
fn parse_ip_token(token: &str) -> Option<IpAddr> {
    if let Ok(ip) = token.parse() {
        return Some(ip);
    }
    if let Some(rest) = token.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    token.parse::<SocketAddr>().ok().map(|a| a.ip())
}

/// Refuses state-changing requests sent by another site (CSRF), on top of SameSite=Lax cookies:
/// `Sec-Fetch-Site: cross-site`/`same-site`, or an `Origin` whose host is not this one.
pub async fn refuse_cross_site(req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) && is_cross_site(req.headers()) {
        tracing::warn!(path = %req.uri().path(), "refused a cross-site request");
        return error_page(StatusCode::FORBIDDEN, "This request came from another site and was refused.");
    }
    next.run(req).await
}

pub fn is_cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site == "cross-site" || site == "same-site" {
            return true;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    origin == "null" || !origin_host.eq_ignore_ascii_case(host)
}

/// Server functions accept only URL-encoded forms (what `<form method=post>` sends) and, on
/// failure, answer with the status of their [`AppError`] instead of a blanket 500.
pub async fn server_fn_guard(req: Request, next: Next) -> Response {
    if req.method() == Method::POST {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            return error_page(StatusCode::UNSUPPORTED_MEDIA_TYPE, "This address accepts only form submissions.");
        }
    }
    let response = next.run(req).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(secs) = err.retry_after() {
            parts.headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The Content-Security-Policy of Leptos pages: scripts only with this response's nonce (the
/// hydration loader) or from this origin (the wasm bundle's module), wasm compilation allowed.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
         object-src 'none'; base-uri 'none'"
    )
}

/// Leptos pages set their own nonce policy ([`page_csp`]); everything else gets one with no scripts.
const DEFAULT_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                           frame-ancestors 'none'; object-src 'none'; base-uri 'none'";

/// The script nonce of one page request, chosen by [`security_headers`] before rendering so that
/// the header it sends always matches the nonce in the page.
#[derive(Clone, Debug)]
pub struct PageNonce(pub String);

/// Per-request nonce and CSP header for a Leptos page; called from the shell while rendering.
/// The nonce is the request's [`PageNonce`]; the header set here is also what
/// [`security_headers`] would set, so the page's policy never depends on one path alone.
pub fn provide_page_csp() {
    let nonce = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<PageNonce>().cloned())
        .map(|nonce| leptos::nonce::Nonce::from_value(nonce.0))
        .unwrap_or_default();
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(value) = HeaderValue::from_str(&page_csp(&nonce)) {
            response.insert_header(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    leptos::prelude::provide_context(nonce);
}

/// Headers on every response. Dynamic pages are never stored by caches: they show account data.
pub async fn security_headers(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with(crate::routes::ASSETS_PREFIX);
    let page_nonce = (matches!(*req.method(), Method::GET | Method::HEAD)
        && crate::routes::renders_page(req.uri().path()))
    .then(|| PageNonce(leptos::nonce::Nonce::new().to_string()));
    if let Some(nonce) = &page_nonce {
        req.extensions_mut().insert(nonce.clone());
    }
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let is_html =
            headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
        let policy = match &page_nonce {
            Some(nonce) if is_html => {
                HeaderValue::from_str(&page_csp(&nonce.0)).unwrap_or(HeaderValue::from_static(DEFAULT_CSP))
            }
            _ => HeaderValue::from_static(DEFAULT_CSP),
        };
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    if state.config.secure_cookies {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    );
    if !is_asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A small, self-contained HTML error page (used outside the Leptos app: 403, 413, 415 …).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    // Server-side failures carry the request's id, so a report leads to the log lines.
    let quote = match super::request_id::current() {
        Some(id) if status.is_server_error() => format!(
            "<p class=\"request-id\">If this keeps happening, tell your Keycard administrator this request id: \
             <code>{}</code></p>",
            escape_html(&id)
        ),
        _ => String::new(),
    };
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} · Keycard</title>\
         <link rel=\"stylesheet\" href=\"{css}\"></head><body><main class=\"card\">\
         <h1>{title}</h1><p role=\"alert\">{message}</p>{quote}<p><a href=\"/\">Back to Keycard</a></p></main>\
         </body></html>",
        title = escape_html(title),
        message = escape_html(message),
        css = super::assets::stylesheet_href(),
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// The page for an error of the app's own: its status, its words, and `Retry-After` when it has one.
pub fn app_error_page(err: &AppError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut page = error_page(status, &err.to_string());
    if let Some(secs) = err.retry_after() {
        page.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    page
}

/// Turns bare 4xx and 5xx answers from axum and tower-http (413 body too large, 405, 400, a
/// failed session save …) into pages; a 5xx page carries the request id.
pub async fn error_pages(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_bare =
        response.headers().get(header::CONTENT_TYPE).is_none_or(|ct| ct.as_bytes().starts_with(b"text/plain"));
    if status.is_server_error() && is_bare && response.headers().get("serverfnerror").is_none() {
        let message = match status {
            StatusCode::SERVICE_UNAVAILABLE => "Keycard cannot answer right now. Please try again in a moment.",
            _ => "Something went wrong on our side. Please try again.",
        };
        let mut page = error_page(status, message);
        if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
            page.headers_mut().insert(header::RETRY_AFTER, retry.clone());
        }
        return page;
    }
    if status.is_client_error() && is_bare && response.headers().get("serverfnerror").is_none() {
        let message = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "The request was too large.",
            StatusCode::METHOD_NOT_ALLOWED => "That address does not accept this kind of request.",
            StatusCode::NOT_FOUND => "There is no page at this address.",
            StatusCode::UNAUTHORIZED => "This address needs credentials.",
            _ => "The request could not be read.",
        };
        let mut page = error_page(status, message);
        for name in [header::ALLOW, header::WWW_AUTHENTICATE] {
            if let Some(value) = response.headers().get(&name) {
                page.headers_mut().insert(name, value.clone());
            }
        }
        return page;
    }
    response
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Marks an answer that must leave uncompressed; removed by [`unmark_uncompressed`] before it goes.
const KEEP_UNCOMPRESSED: &str = "x-keycard-keep-uncompressed";

/// Pages and JSON are compressed, except the two-step page: it shows secrets (the setup key, fresh
/// recovery codes), and a compressed page that shows a secret beside anything a request can
/// influence leaks it through its length (BREACH). Static files come precompressed.
pub fn compression() -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::{predicate::Predicate, CompressionLayer, CompressionLevel, DefaultPredicate};
    let not_marked = |_: StatusCode,
                      _: axum::http::Version,
                      headers: &axum::http::HeaderMap,
                      _: &axum::http::Extensions| { !headers.contains_key(KEEP_UNCOMPRESSED) };
    CompressionLayer::new().quality(CompressionLevel::Precise(4)).compress_when(DefaultPredicate::new().and(not_marked))
}

/// Inside [`compression`]: marks the answers of pages that show secrets.
pub async fn mark_uncompressed(req: Request, next: Next) -> Response {
    let secret = crate::routes::shows_secrets(req.uri().path());
    let mut response = next.run(req).await;
    if secret {
        response.headers_mut().insert(KEEP_UNCOMPRESSED, HeaderValue::from_static("1"));
    }
    response
}

/// Outside [`compression`]: the mark never leaves the server.
pub async fn unmark_uncompressed(mut response: Response) -> Response {
    response.headers_mut().remove(KEEP_UNCOMPRESSED);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_headers_only_from_trusted_peers() {
        use ClientIpHeader::*;
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "203.0.113.9, 198.51.100.7")]);
        assert_eq!(resolve_client_ip(proxy, &h, &[], Some(XForwardedFor)), proxy);
        assert_eq!(resolve_client_ip(proxy, &h, &[proxy.into()], Some(XForwardedFor)), ip("198.51.100.7"));
        let h = headers(&[("forwarded", "for=192.0.2.60;proto=http, for=\"[2001:db8::1]:4711\"")]);
        assert_eq!(resolve_client_ip(proxy, &h, &[proxy.into()], Some(Forwarded)), ip("2001:db8::1"));
        let h = headers(&[("x-forwarded-for", "garbage, <script>")]);
        assert_eq!(resolve_client_ip(proxy, &h, &[proxy.into()], Some(XForwardedFor)), proxy);
    }

    #[test]
    fn a_range_of_proxies_is_trusted_hop_by_hop() {
        use ClientIpHeader::*;
        let range: ProxyRange = "172.28.0.0/24".parse().unwrap();
        // Client → proxy 172.28.0.10 → proxy 172.28.0.11 → Keycard: both proxies are skipped.
        let h = headers(&[("x-forwarded-for", "198.51.100.7, 172.28.0.10")]);
        assert_eq!(resolve_client_ip(ip("172.28.0.11"), &h, &[range], Some(XForwardedFor)), ip("198.51.100.7"));
        // A peer outside the range is not believed.
        assert_eq!(resolve_client_ip(ip("172.28.1.11"), &h, &[range], Some(XForwardedFor)), ip("172.28.1.11"));
        // An IPv4-mapped peer (a dual-stack listener) is the same address.
        let mapped = ip("::ffff:172.28.0.11");
        assert_eq!(resolve_client_ip(mapped, &h, &[range], Some(XForwardedFor)), ip("198.51.100.7"));
    }

    #[test]
    fn only_the_configured_header_is_read() {
        use ClientIpHeader::*;
        let proxy = ip("10.0.0.1");
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=198.51.100.2"),
            ("x-real-ip", "198.51.100.3"),
        ]);
        assert_eq!(resolve_client_ip(proxy, &h, &[proxy.into()], None), proxy, "no header configured: the peer");
        assert_eq!(resolve_client_ip(proxy, &h, &[proxy.into()], Some(XForwardedFor)), ip("198.51.100.1"));
        assert_eq!(resolve_client_ip(proxy, &h, &[proxy.into()], Some(Forwarded)), ip("198.51.100.2"));
        assert_eq!(resolve_client_ip(proxy, &h, &[proxy.into()], Some(XRealIp)), ip("198.51.100.3"));
        // Configured but absent: the other headers are not a fallback.
        let h = headers(&[("forwarded", "for=198.51.100.2"), ("x-real-ip", "198.51.100.3")]);
        assert_eq!(resolve_client_ip(proxy, &h, &[proxy.into()], Some(XForwardedFor)), proxy);
        // From an untrusted peer nothing is read.
        let stranger = ip("192.0.2.9");
        let h = headers(&[("x-real-ip", "198.51.100.3")]);
        assert_eq!(resolve_client_ip(stranger, &h, &[proxy.into()], Some(XRealIp)), stranger);
    }

    #[test]
    fn x_real_ip_is_one_address() {
        let proxy = ip("10.0.0.1");
        let real = |pairs: &[(&'static str, &str)]| {
            resolve_client_ip(proxy, &headers(pairs), &[proxy.into()], Some(ClientIpHeader::XRealIp))
        };
        assert_eq!(real(&[("x-real-ip", " 2001:db8::7 ")]), ip("2001:db8::7"));
        assert_eq!(real(&[("x-real-ip", "[2001:db8::7]:443")]), ip("2001:db8::7"));
        assert_eq!(real(&[("x-real-ip", "198.51.100.1, 198.51.100.2")]), proxy);
        assert_eq!(real(&[("x-real-ip", "198.51.100.1"), ("x-real-ip", "198.51.100.2")]), proxy);
        assert_eq!(real(&[("x-real-ip", "unknown")]), proxy);
    }

    #[test]
    fn limit_keys_group_ipv6_by_64() {
        assert_eq!(ip_limit_key(ip("203.0.113.7")), "203.0.113.7");
        assert_eq!(ip_limit_key(ip("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(ip_limit_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), "2001:db8:1:2::/64");
        assert_eq!(ip_limit_key(ip("2001:db8:1:2::1")), ip_limit_key(ip("2001:db8:1:2:ffff::9")));
        assert_ne!(ip_limit_key(ip("2001:db8:1:2::1")), ip_limit_key(ip("2001:db8:1:3::1")));
        assert_eq!(ip_limit_key(ip("::1")), "::/64");
        assert_eq!(ip_limit_key(ip("fe80::1")), "fe80::/64");
    }

    #[test]
    fn cross_site_detection() {
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(is_cross_site(&headers(&[("origin", "http://evil.test"), ("host", "127.0.0.1:3000")])));
        assert!(is_cross_site(&headers(&[("origin", "null"), ("host", "127.0.0.1:3000")])));
        assert!(!is_cross_site(&headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")])));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!is_cross_site(&headers(&[])));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape_html("<a href='x'>&</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
    }
}
