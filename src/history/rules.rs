//! The "new device" rule (documented in docs/configuration.md, "New-device rule").
//!
//! A sign-in's device key is browser family + operating system + network: the IPv4 /24 or the
//! IPv6 /48 of its address. Versions are left out on purpose, so a browser update is not a new
//! device; the network prefix, not the address, so a home router's new lease is not either.
//! A sign-in is *new* when no `signed_in` event of the same account had this key in the last
//! [`LOOKBACK_SECS`]; the account's very first sign-in (the one at sign-up) never is.

use std::net::IpAddr;

use woothee::parser::Parser;

/// How far back a device counts as known.
pub const LOOKBACK_SECS: i64 = 90 * 24 * 3600;

/// "Firefox|Linux|203.0.113.0/24". Unparsable parts become "unknown".
pub fn device_key(user_agent: &str, ip: &str) -> String {
    let (family, os) = match Parser::new().parse(user_agent) {
        Some(p) => (p.name.to_owned(), p.os.to_owned()),
        None => ("UNKNOWN".to_owned(), "UNKNOWN".to_owned()),
    };
    format!("{family}|{os}|{}", network(ip))
}

/// The /24 (IPv4) or /48 (IPv6) holding `ip`; an IPv4-mapped IPv6 address counts as IPv4.
pub fn network(ip: &str) -> String {
    match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4_net(v4),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_net(v4),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
        Err(_) => "unknown".to_owned(),
    }
}

fn v4_net(v4: std::net::Ipv4Addr) -> String {
    let o = v4.octets();
    format!("{}.{}.{}.0/24", o[0], o[1], o[2])
}

/// The rule itself, given what the account's history says: `signed_in_before` whether the
/// account has any `signed_in` event at all, `seen_recently` whether one of them had this key
/// within [`LOOKBACK_SECS`].
pub fn is_new_device(signed_in_before: bool, seen_recently: bool) -> bool {
    signed_in_before && !seen_recently
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    const FIREFOX_LINUX_NEWER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0";
    const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
        Chrome/131.0.0.0 Safari/537.36";

    #[test]
    fn networks_are_24_and_48_prefixes() {
        assert_eq!(network("203.0.113.9"), "203.0.113.0/24");
        assert_eq!(network("203.0.113.250"), network("203.0.113.1"));
        assert_ne!(network("203.0.114.1"), network("203.0.113.1"));
        assert_eq!(network("2001:db8:abcd:12::1"), "2001:db8:abcd::/48");
        assert_eq!(network("2001:db8:abcd:ffff::9"), network("2001:db8:abcd::1"));
        assert_ne!(network("2001:db8:abce::1"), network("2001:db8:abcd::1"));
        assert_eq!(network("::ffff:198.51.100.7"), "198.51.100.0/24");
        assert_eq!(network(""), "unknown");
    }

    #[test]
    fn keys_ignore_versions_but_not_browser_os_or_network() {
        assert_eq!(device_key(FIREFOX_LINUX, "198.51.100.7"), device_key(FIREFOX_LINUX_NEWER, "198.51.100.200"));
        assert_ne!(device_key(FIREFOX_LINUX, "198.51.100.7"), device_key(CHROME_WINDOWS, "198.51.100.7"));
        assert_ne!(device_key(FIREFOX_LINUX, "198.51.100.7"), device_key(FIREFOX_LINUX, "198.51.101.7"));
        assert_eq!(device_key("", "x"), "UNKNOWN|UNKNOWN|unknown");
    }

    #[test]
    fn first_sign_in_is_never_new() {
        assert!(!is_new_device(false, false));
        assert!(is_new_device(true, false));
        assert!(!is_new_device(true, true));
    }
}
