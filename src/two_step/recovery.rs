//! Recovery codes: ten random single-use codes shown once, stored only as keyed hashes.
//!
//! A code is ten characters of Crockford's base32 alphabet (digits and letters without I, L, O,
//! U): 5 bits each, 50 bits a code, shown as `xxxxx-xxxxx`. Input is normalised before hashing:
//! case, spaces and dashes are ignored, and the look-alikes O → 0, I/L → 1 are read as the digit.

use rand::Rng;

use crate::core::secrets::SecretKey;

pub const COUNT: usize = 10;
const LEN: usize = 10;
const SYMBOLS: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// `COUNT` fresh codes from the operating system's CSPRNG, formatted for display.
pub fn generate() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..COUNT)
        .map(|_| {
            let raw: String = (0..LEN).map(|_| SYMBOLS[rng.gen_range(0..SYMBOLS.len())] as char).collect();
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect()
}

/// The canonical form of what someone typed, or `None` when it cannot be a recovery code
/// (wrong length or characters).
pub fn normalise(input: &str) -> Option<String> {
    let mut code = String::with_capacity(LEN);
    for c in input.chars() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        let c = match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        };
        if !c.is_ascii() || !SYMBOLS.contains(&(c as u8)) {
            return None;
        }
        code.push(c);
    }
    (code.len() == LEN).then_some(code)
}

/// The stored form: HMAC-SHA256 under a key derived from the server key.
pub fn hash(key: &SecretKey, normalised: &str) -> String {
    key.keyed_hash("recovery-code", normalised.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_well_formed_codes() {
        let codes = generate();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert_eq!(&code[5..6], "-");
            assert_eq!(normalise(code).unwrap(), code.replace('-', ""));
        }
    }

    #[test]
    fn input_is_normalised() {
        assert_eq!(normalise("ABCDE-FGHJK").as_deref(), Some("abcdefghjk"));
        assert_eq!(normalise(" abcde fghjk ").as_deref(), Some("abcdefghjk"));
        assert_eq!(normalise("abcdefghjk").as_deref(), Some("abcdefghjk"));
        assert_eq!(normalise("O0IL1-abcde").as_deref(), Some("00111abcde"));
        for bad in ["", "abcde", "abcde-fghjkm", "abcde-fghj", "abcde-fghj!", "abcde-fghju", "äbcde-fghjk", "123456"] {
            assert_eq!(normalise(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hashes_are_keyed() {
        let key = SecretKey::random();
        let code = "abcdefghjk";
        assert_eq!(hash(&key, code), hash(&key, code));
        assert_ne!(hash(&key, code), hash(&SecretKey::random(), code));
        assert_ne!(hash(&key, code), hash(&key, "abcdefghjm"));
        assert_eq!(hash(&key, code).len(), 64);
    }
}
