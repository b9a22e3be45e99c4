//! The secrets of the device flow and of app tokens, and their stored forms.
//!
//! - User codes (what a person types on `/connect`): 8 letters from RFC 8628's 20-consonant
//!   alphabet (no vowels, so no words; no easily confused letters), about 34.6 bits, shown as
//!   `WDJB-MJHT`. Typed case-insensitively, with or without the dash or spaces. Stored as a keyed
//!   hash under the server's secret key, so the table alone does not give them away.
//! - Device codes, access and refresh tokens, client secrets: 256 random bits, base64url, with a prefix naming
//!   what they are (so a leaked one is recognisable in code scanners). Stored as SHA-256: a
//!   256-bit random value needs no salt or slow hash.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// RFC 8628 section 6.1's alphabet: consonants without confusable letters.
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LETTERS: usize = 8;

/// What kind of secret a token is; its prefix says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secret {
    DeviceCode,
    AccessToken,
    RefreshToken,
    /// A registered app's client secret (OpenID Connect).
    ClientSecret,
}

impl Secret {
    fn prefix(self) -> &'static str {
        match self {
            Secret::DeviceCode => "kcd_",
            Secret::AccessToken => "kca_",
            Secret::RefreshToken => "kcr_",
            Secret::ClientSecret => "kcs_",
        }
    }

    /// A new random secret of this kind: the prefix and 256 bits, base64url.
    pub fn generate(self) -> String {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        format!("{}{}", self.prefix(), data_encoding::BASE64URL_NOPAD.encode(&bytes))
    }

    /// The stored form of a presented secret, or `None` when it cannot be one of this kind (wrong
    /// prefix or length): such input is refused without touching the database.
    pub fn hash(self, presented: &str) -> Option<String> {
        let body = presented.strip_prefix(self.prefix())?;
        let well_formed = body.len() == 43 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| hex::encode(Sha256::digest(presented.as_bytes())))
    }
}

/// A new user code, `XXXX-XXXX`.
pub fn new_user_code() -> String {
    let mut code = String::with_capacity(USER_CODE_LETTERS + 1);
    let mut rng = rand::rngs::OsRng;
    for i in 0..USER_CODE_LETTERS {
        if i == USER_CODE_LETTERS / 2 {
            code.push('-');
        }
        // 20 divides 240: rejecting bytes of 240 and up keeps every letter equally likely.
        let letter = loop {
            let byte = (rng.next_u32() & 0xff) as u8;
            if byte < 240 {
                break USER_CODE_ALPHABET[(byte % 20) as usize];
            }
        };
        code.push(letter as char);
    }
    code
}

/// A typed user code in its canonical form (`WDJB-MJHT`), or `None` when it cannot be one:
/// case, spaces and dashes are forgiven; anything else is not.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    if typed.len() > 32 {
        return None;
    }
    let letters: Vec<u8> =
        typed.bytes().filter(|b| !matches!(b, b'-' | b' ' | b'\t')).map(|b| b.to_ascii_uppercase()).collect();
    if letters.len() != USER_CODE_LETTERS || !letters.iter().all(|b| USER_CODE_ALPHABET.contains(b)) {
        return None;
    }
    let (first, second) = letters.split_at(USER_CODE_LETTERS / 2);
    Some(format!("{}-{}", String::from_utf8_lossy(first), String::from_utf8_lossy(second)))
}

/// The stored form of a canonical user code: keyed, so the short code cannot be found from the
/// table by trying all of them.
pub fn user_code_hash(secrets: &crate::core::secrets::SecretKey, canonical: &str) -> String {
    secrets.keyed_hash("device-flow user code", canonical.as_bytes())
}

/// A client name an app chose, if acceptable: 1 to 64 characters, no control characters, trimmed.
pub fn client_name(raw: &str) -> Option<String> {
    let name = raw.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= super::MAX_CLIENT_NAME
        && !name.chars().any(|c| c.is_control() || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'));
    ok.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_canonical_and_forgiving() {
        for _ in 0..200 {
            let code = new_user_code();
            assert_eq!(code.len(), 9);
            assert_eq!(normalize_user_code(&code).as_deref(), Some(code.as_str()));
            assert_eq!(normalize_user_code(&code.to_lowercase().replace('-', " ")).as_deref(), Some(code.as_str()));
        }
        assert_eq!(normalize_user_code("wdjb mjht").as_deref(), Some("WDJB-MJHT"));
        assert_eq!(normalize_user_code("WDJBMJHT").as_deref(), Some("WDJB-MJHT"));
        for bad in ["", "WDJB-MJH", "WDJB-MJHTX", "WDJA-MJHT", "WDJB_MJHT", "ŴDJB-MJHT", &"B".repeat(40)] {
            assert_eq!(normalize_user_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn tokens_are_prefixed_random_and_checked_before_hashing() {
        let a = Secret::AccessToken.generate();
        let b = Secret::AccessToken.generate();
        assert_ne!(a, b);
        assert!(a.starts_with("kca_"));
        assert_eq!(Secret::AccessToken.hash(&a).map(|h| h.len()), Some(64));
        assert_eq!(Secret::RefreshToken.hash(&a), None, "an access token is no refresh token");
        assert_eq!(Secret::AccessToken.hash("kca_short"), None);
        assert_eq!(Secret::AccessToken.hash(&format!("{a}x")), None);
        assert_ne!(Secret::AccessToken.hash(&a), Secret::AccessToken.hash(&b));
    }

    #[test]
    fn client_names() {
        assert_eq!(client_name("  keycard-cli ").as_deref(), Some("keycard-cli"));
        assert_eq!(client_name(""), None);
        assert_eq!(client_name("a\u{7}b"), None);
        assert_eq!(client_name("evil\u{202E}txt"), None);
        assert_eq!(client_name(&"x".repeat(65)), None);
        assert!(client_name(&"é".repeat(64)).is_some());
    }
}
