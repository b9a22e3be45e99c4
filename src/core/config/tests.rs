//! The settings' parsing and their redaction.

use super::origins::relying_party;
use super::*;

#[test]
fn debug_hides_the_database_password() {
    let mut config = Config::for_tests(
        "postgres://keycard:s3cr3t-Pa55@db.internal:5432/keycard?sslmode=require&password=other-s3cr3t",
        "data".into(),
    );
    config.secret_key = Some(Redacted("00ff00ff".into()));
    config.metrics_token = Some(Redacted("metrics-token-0123456789".into()));
    let printed = format!("{config:?}");
    assert!(!printed.contains("s3cr3t"), "{printed}");
    assert!(!printed.contains("00ff00ff"), "{printed}");
    assert!(!printed.contains("metrics-token-0123456789"), "{printed}");
    assert!(printed.contains("postgres://keycard:[redacted]@db.internal:5432/keycard?sslmode=require"), "{printed}");
    // The field itself is still the whole URL for the code that connects.
    assert!(config.database_url.contains("s3cr3t-Pa55"));
}

#[test]
fn redacts_only_passwords() {
    assert_eq!(redact_url_password("postgres://u:p@h/db"), "postgres://u:[redacted]@h/db");
    assert_eq!(redact_url_password("postgres://u@h/db"), "postgres://u@h/db");
    assert_eq!(redact_url_password("postgres://u:p%40x@h:1/db"), "postgres://u:[redacted]@h:1/db");
    assert_eq!(redact_url_password("postgres://u:p@x@h/db"), "postgres://u:[redacted]@h/db");
    assert_eq!(redact_url_password("postgres://u:p/x@h/db"), "postgres://u:[redacted]@h/db");
    assert_eq!(redact_url_password("postgres://h/db?user=u&password=p"), "postgres://h/db?user=u&password=[redacted]");
    assert_eq!(redact_url_password("sqlite://data/keycard.db?mode=rwc"), "sqlite://data/keycard.db?mode=rwc");
}

#[test]
fn smtp_urls() {
    let server = SmtpServer::parse("smtp://mailer:p%40ss@mail.example.com").unwrap();
    assert_eq!(server.host, "mail.example.com");
    assert_eq!(server.port, 587);
    assert_eq!(server.security, SmtpSecurity::StartTls);
    assert_eq!(server.credentials, Some(("mailer".into(), Redacted("p@ss".into()))));
    let server = SmtpServer::parse("smtp://mail.example.com:2525?tls=required").unwrap();
    assert_eq!((server.port, server.security, server.credentials), (2525, SmtpSecurity::StartTls, None));
    let server = SmtpServer::parse("smtps://mail.example.com/keycard.example.com").unwrap();
    assert_eq!((server.port, server.security), (465, SmtpSecurity::ImplicitTls));
    assert_eq!(server.hello_name.as_deref(), Some("keycard.example.com"));
    for local in ["smtp://127.0.0.1:1025?tls=none", "smtp://[::1]:1025?tls=none", "smtp://localhost?tls=none"] {
        assert_eq!(SmtpServer::parse(local).unwrap().security, SmtpSecurity::Plain, "{local}");
    }
    assert_eq!(SmtpServer::parse("smtp://localhost?tls=none").unwrap().port, 25);
    let refused = SmtpServer::parse("smtp://u:hunter2@mail.example.com?tls=none").unwrap_err();
    assert!(refused.contains("loopback"), "{refused}");
    assert!(!refused.contains("hunter2"), "{refused}");
    assert!(SmtpServer::parse("smtp://10.0.0.5:25?tls=none").unwrap_err().contains("loopback"));
    assert!(SmtpServer::parse("smtp://mail.example.com?tls=opportunistic").is_err());
    assert!(SmtpServer::parse("smtps://mail.example.com?tls=none").is_err());
    assert!(SmtpServer::parse("http://mail.example.com").is_err());
    assert!(SmtpServer::parse("smtp://mail.example.com?tls=required&x=1").is_err());
    assert!(SmtpServer::parse("smtp://user@mail.example.com").is_err());
}

#[test]
fn mail_settings() {
    assert!(mail_config(None, None).unwrap().is_none());
    let err = mail_config(Some("smtp://mail.example.com"), None).unwrap_err();
    assert!(err.to_string().starts_with("KEYCARD_MAIL_FROM: required"), "{err}");
    let err = mail_config(None, Some("not an address")).unwrap_err();
    assert!(err.to_string().starts_with("KEYCARD_MAIL_FROM: "), "{err}");
    let mail =
        mail_config(Some("smtp://u:s3cr3t@mail.example.com"), Some("Keycard <kc@example.com>")).unwrap().unwrap();
    assert_eq!(mail.from.email.to_string(), "kc@example.com");
    let mut config = Config::for_tests("sqlite::memory:", "data".into());
    config.mail = Some(mail);
    let printed = format!("{config:?}");
    assert!(!printed.contains("s3cr3t"), "{printed}");
    assert!(printed.contains("mail.example.com"), "{printed}");
}

#[test]
fn passkeys_belong_to_the_public_address() {
    let rp = relying_party("https://id.example.com/keycard");
    assert_eq!(rp.id, "id.example.com");
    assert_eq!(rp.origin_text(), "https://id.example.com");
    let local = relying_party("http://127.0.0.1:3000");
    assert_eq!(local.id, "localhost");
    assert_eq!(local.origin_text(), "http://localhost:3000");
    assert_eq!(relying_party("http://[::1]:8080").origin_text(), "http://localhost:8080");
    assert_eq!(relying_party("https://example.com:8443").origin_text(), "https://example.com:8443");
}

#[test]
fn public_urls() {
    let addr: SocketAddr = "0.0.0.0:8080".parse().unwrap();
    assert_eq!(public_url(None, addr).unwrap(), "http://0.0.0.0:8080");
    assert_eq!(public_url(Some("https://id.example.com/"), addr).unwrap(), "https://id.example.com");
    assert_eq!(public_url(Some("https://example.com/keycard/"), addr).unwrap(), "https://example.com/keycard");
    assert!(public_url(Some("ftp://example.com"), addr).is_err());
    assert!(public_url(Some("https://example.com/?a=b"), addr).is_err());
    assert!(public_url(Some("example.com"), addr).is_err());
}

#[test]
fn cors_origin_lists() {
    assert_eq!(cors_origins(None).unwrap(), Vec::<String>::new());
    assert_eq!(
        cors_origins(Some("https://app.example, http://localhost:5173")).unwrap(),
        vec!["https://app.example".to_owned(), "http://localhost:5173".to_owned()]
    );
    for bad in ["*", "app.example", "https://app.example/", "https://app.example/path", "ftp://x.example"] {
        assert!(cors_origins(Some(bad)).is_err(), "{bad}");
    }
}

#[test]
fn client_ip_header_names() {
    assert_eq!(client_ip_header(None).unwrap(), None);
    assert_eq!(client_ip_header(Some("X-Forwarded-For")).unwrap(), Some(ClientIpHeader::XForwardedFor));
    assert_eq!(client_ip_header(Some(" forwarded ")).unwrap(), Some(ClientIpHeader::Forwarded));
    assert_eq!(client_ip_header(Some("X-REAL-IP")).unwrap(), Some(ClientIpHeader::XRealIp));
    let err = client_ip_header(Some("cf-connecting-ip")).unwrap_err();
    assert!(err.to_string().starts_with("KEYCARD_CLIENT_IP_HEADER: "), "{err}");
}

#[test]
fn metrics_token_and_log_format_are_checked() {
    assert!(metrics_token(None).unwrap().is_none());
    assert!(metrics_token(Some("short".into())).is_err());
    assert_eq!(metrics_token(Some(" 0123456789abcdef ".into())).unwrap().unwrap().0, "0123456789abcdef");
    assert_eq!(log_format(None).unwrap(), LogFormat::Text);
    assert_eq!(log_format(Some("JSON")).unwrap(), LogFormat::Json);
    assert!(log_format(Some("xml")).is_err());
}

#[test]
fn trusted_proxies_are_addresses_or_ranges() {
    let ranges = trusted_proxies(Some("10.0.0.7, 172.28.0.0/24,2001:db8::/64")).unwrap();
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let trusted = |s: &str| ranges.iter().any(|r| r.contains(ip(s)));
    assert!(trusted("10.0.0.7") && !trusted("10.0.0.8"));
    assert!(trusted("172.28.0.1") && trusted("172.28.0.255") && !trusted("172.28.1.1"));
    assert!(trusted("::ffff:172.28.0.9"), "an IPv4-mapped peer counts as its IPv4 address");
    assert!(trusted("2001:db8::1234") && !trusted("2001:db8:0:1::1"));
    assert_eq!(format!("{:?}", ranges[1]), "172.28.0.0/24");
    for bad in ["10.0.0.0/33", "proxy.local", "10.0.0.1/x", "2001:db8::/129"] {
        assert!(trusted_proxies(Some(bad)).is_err(), "{bad}");
    }
    let everything: ProxyRange = "0.0.0.0/0".parse().unwrap();
    assert!(everything.contains(ip("203.0.113.1")));
}
