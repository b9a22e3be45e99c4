//! Property tests for the parsers Keycard owns: `next` paths, forwarded headers, emails,
//! authentication and recovery codes, and the user-agent display.
//! Each runs a few hundred random cases (kept short for CI; raise PROPTEST_CASES to dig deeper).

use axum::http::{HeaderMap, HeaderValue};
use keycard::accounts::service::parse_email;
use keycard::core::config::ClientIpHeader;
use keycard::core::web::{parse_forwarded_for, resolve_client_ip};
use keycard::sessions::next::{is_same_site_path, safe_next};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Whatever `next` holds, the result is a path on this site that a browser cannot read as
    /// another host.
    #[test]
    fn next_never_leaves_the_site(raw in any::<String>()) {
        let target = safe_next(Some(&raw));
        prop_assert!(target.starts_with('/'));
        prop_assert!(!target.starts_with("//"));
        prop_assert!(!target.contains('\\'));
        prop_assert!(!target.chars().any(|c| c.is_control() || c.is_whitespace()));
        prop_assert!(target == "/" || target == raw);
    }

    #[test]
    fn next_keeps_plain_paths(segments in proptest::collection::vec("[a-z0-9-]{1,12}", 1..5)) {
        let path = format!("/{}", segments.join("/"));
        prop_assume!(!path.starts_with("/login") && !path.starts_with("/api/"));
        prop_assert!(is_same_site_path(&path));
        prop_assert_eq!(safe_next(Some(&path)), path);
    }

    /// Forwarded headers never panic, and an untrusted peer's headers are never believed.
    #[test]
    fn forwarded_headers_from_untrusted_peers_are_ignored(value in "[ -~]{0,200}") {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert("forwarded", v.clone());
            headers.insert("x-forwarded-for", v);
        }
        let peer = "198.51.100.1".parse().unwrap();
        for header in [None, Some(ClientIpHeader::XForwardedFor), Some(ClientIpHeader::Forwarded), Some(ClientIpHeader::XRealIp)] {
            prop_assert_eq!(resolve_client_ip(peer, &headers, &[], header), peer);
            let trusted = [keycard::core::config::ProxyRange::from(peer)];
            let _ = resolve_client_ip(peer, &headers, &trusted, header);
        }
        let _ = parse_forwarded_for(&value);
    }

    /// Parsed emails are trimmed, bounded, have one local part and a domain, and their key is
    /// the lower-case form; parsing never panics.
    #[test]
    fn parsed_emails_are_well_formed(raw in any::<String>()) {
        if let Ok(email) = parse_email(&raw) {
            prop_assert!(email.display.chars().count() <= 254);
            prop_assert_eq!(email.display.trim(), email.display.as_str());
            prop_assert!(email.display.contains('@'));
            prop_assert_eq!(email.key.clone(), email.display.to_lowercase());
            prop_assert!(!email.display.contains('<'));
        }
    }

    #[test]
    fn emails_differing_only_in_case_share_a_key(local in "[a-zA-Z0-9._]{1,20}", domain in "[a-zA-Z0-9]{1,10}\\.[a-z]{2,5}") {
        let lower = parse_email(&format!("{local}@{domain}").to_lowercase()).unwrap();
        let upper = parse_email(&format!(" {}@{} ", local.to_uppercase(), domain.to_uppercase())).unwrap();
        prop_assert_eq!(lower.key, upper.key);
    }

    /// Whatever is typed in the code field, a TOTP code is six ASCII digits or nothing, and
    /// checking it never panics.
    #[test]
    fn authentication_codes_parse_to_six_digits_or_nothing(input in any::<String>(), now in 0i64..4_000_000_000) {
        if let Some(code) = keycard::two_step::totp::normalise_code(&input) {
            prop_assert_eq!(code.len(), 6);
            prop_assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
        let _ = keycard::two_step::totp::check(b"12345678901234567890", &input, now, 0);
    }

    /// Recovery-code input normalises to one canonical form: idempotent, fixed length, lower-case
    /// ASCII; formatting (case, spaces, dashes) does not change it.
    #[test]
    fn recovery_codes_normalise_canonically(input in any::<String>()) {
        use keycard::two_step::recovery::normalise;
        if let Some(code) = normalise(&input) {
            prop_assert_eq!(normalise(&code), Some(code.clone()));
            prop_assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
            let shouted = format!(" {}-{} ", code[..5].to_uppercase(), code[5..].to_uppercase());
            prop_assert_eq!(normalise(&shouted), Some(code));
        }
    }

    /// The device label never carries markup from the agent and is never empty.
    #[test]
    fn user_agent_labels_are_plain(agent in any::<String>()) {
        let label = keycard::core::user_agent::describe(&agent);
        prop_assert!(!label.name.is_empty());
        prop_assert!(!label.name.contains('<') && !label.name.contains('>'));
    }
}
