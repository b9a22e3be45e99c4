//! TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps) as pure functions: secrets, the
//! `otpauth://` URI and its QR code, and the verifier with its ±1-step window and single use.
//! Code generation is totp-rs's; the window and replay rules are ours, so each accepted code
//! names the step it matched and the store can refuse that step ever after.

use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

pub const DIGITS: usize = 6;
pub const STEP_SECS: i64 = 30;
/// Steps accepted either side of the current one (clock drift, typing time).
pub const WINDOW: i64 = 1;
/// 160 bits, the size RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;

/// A fresh secret from the operating system's CSPRNG.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

/// The secret as base32 without padding, in groups of four for reading and typing.
pub fn setup_key(secret: &[u8]) -> String {
    let encoded = data_encoding::BASE32_NOPAD.encode(secret);
    encoded.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect::<Vec<_>>().join(" ")
}

fn generator(secret: &[u8]) -> TOTP {
    // Unchecked only skips totp-rs's minimum-length check; our secrets are 160 bits.
    TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, STEP_SECS as u64, secret.to_vec())
}

/// The time step a Unix time falls in.
pub fn step_at(unix: i64) -> i64 {
    unix.div_euclid(STEP_SECS)
}

/// The code for a time step.
pub fn code_for_step(secret: &[u8], step: i64) -> String {
    generator(secret).generate((step.max(0) * STEP_SECS) as u64)
}

/// The `otpauth://totp/…` URI authenticator apps read from the QR code.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let key = data_encoding::BASE32_NOPAD.encode(secret);
    let issuer_enc = uri_encode(issuer);
    format!(
        "otpauth://totp/{issuer_enc}:{account}?secret={key}&issuer={issuer_enc}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        account = uri_encode(account),
    )
}

fn uri_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The URI as an SVG QR code (rendered on the server; no script needed to show it).
pub fn qr_svg(uri: &str) -> Result<String, qrcode::types::QrError> {
    let code = qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}

/// Digits only, spaces removed; `None` unless exactly six ASCII digits remain.
pub fn normalise_code(input: &str) -> Option<String> {
    let code: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The verifier's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// The code matched this step, newer than any used before: record it as used.
    Accepted(i64),
    /// The code matched a step that was already used.
    Replayed,
    Wrong,
}

/// Checks `input` against the steps around `now`. Every step in the window is compared (in
/// constant time) whatever matched, so timing tells nothing about which one did.
pub fn check(secret: &[u8], input: &str, now: i64, last_used_step: i64) -> Check {
    let Some(code) = normalise_code(input) else {
        return Check::Wrong;
    };
    let current = step_at(now);
    let mut matched: Option<i64> = None;
    for step in current - WINDOW..=current + WINDOW {
        let expected = code_for_step(secret, step);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && matched.is_none() {
            matched = Some(step);
        }
    }
    match matched {
        Some(step) if step > last_used_step => Check::Accepted(step),
        Some(_) => Check::Replayed,
        None => Check::Wrong,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 secret.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn matches_rfc_6238_test_vectors() {
        // The RFC lists 8 digits; the 6-digit code is their last six.
        for (time, eight) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
        ] {
            assert_eq!(code_for_step(RFC_SECRET, step_at(time)), eight[2..], "t={time}");
        }
    }

    #[test]
    fn window_is_one_step_either_side() {
        let now = 1_700_000_015; // middle of a step
        let current = step_at(now);
        for offset in [-1, 0, 1] {
            let code = code_for_step(RFC_SECRET, current + offset);
            assert_eq!(check(RFC_SECRET, &code, now, 0), Check::Accepted(current + offset), "offset {offset}");
        }
        for offset in [-3, -2, 2, 3] {
            let code = code_for_step(RFC_SECRET, current + offset);
            assert_eq!(check(RFC_SECRET, &code, now, 0), Check::Wrong, "offset {offset}");
        }
        // Edges of the step: the first and last second of a step see the same window.
        let first = current * STEP_SECS;
        let last = first + STEP_SECS - 1;
        let behind = code_for_step(RFC_SECRET, current - 1);
        assert_eq!(check(RFC_SECRET, &behind, first, 0), Check::Accepted(current - 1));
        assert_eq!(check(RFC_SECRET, &behind, last, 0), Check::Accepted(current - 1));
        // One second later the window has moved on and that step is two behind.
        assert_eq!(check(RFC_SECRET, &behind, last + 1, 0), Check::Wrong);
        let ahead = code_for_step(RFC_SECRET, current + 1);
        assert_eq!(check(RFC_SECRET, &ahead, first - 1, 0), Check::Wrong);
        assert_eq!(check(RFC_SECRET, &ahead, first, 0), Check::Accepted(current + 1));
    }

    #[test]
    fn each_step_is_accepted_once() {
        let now = 1_700_000_015;
        let current = step_at(now);
        let code = code_for_step(RFC_SECRET, current);
        assert_eq!(check(RFC_SECRET, &code, now, current - 1), Check::Accepted(current));
        assert_eq!(check(RFC_SECRET, &code, now, current), Check::Replayed);
        // An older step in the window is refused once a newer one was used.
        let older = code_for_step(RFC_SECRET, current - 1);
        assert_eq!(check(RFC_SECRET, &older, now, current), Check::Replayed);
        let newer = code_for_step(RFC_SECRET, current + 1);
        assert_eq!(check(RFC_SECRET, &newer, now, current), Check::Accepted(current + 1));
    }

    #[test]
    fn wrong_lengths_and_characters_are_wrong() {
        let now = 1_700_000_015;
        let code = code_for_step(RFC_SECRET, step_at(now));
        assert_eq!(check(RFC_SECRET, &format!("{} {}", &code[..3], &code[3..]), now, 0), Check::Accepted(step_at(now)));
        for bad in
            ["", "12345", "1234567", "abcdef", "12345a", "１２３４５６", &format!("{code}0"), &code[1..], "-12345"]
        {
            assert_eq!(check(RFC_SECRET, bad, now, 0), Check::Wrong, "{bad:?}");
        }
        // Another secret's code is wrong.
        assert_eq!(check(b"abcdefghijabcdefghij", &code, now, 0), Check::Wrong);
    }

    #[test]
    fn secrets_keys_and_uris() {
        let secret = new_secret();
        assert_eq!(secret.len(), 20);
        assert_ne!(secret, new_secret());
        let key = setup_key(&secret);
        assert_eq!(key.replace(' ', "").len(), 32);
        assert_eq!(data_encoding::BASE32_NOPAD.decode(key.replace(' ', "").as_bytes()).unwrap(), secret);
        let uri = otpauth_uri(&secret, "Keycard", "ann+x@example.com");
        assert!(uri.starts_with("otpauth://totp/Keycard:ann%2Bx%40example.com?secret="), "{uri}");
        assert!(uri.contains("&issuer=Keycard&algorithm=SHA1&digits=6&period=30"));
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
    }
}
