//! The server's secret key and what it protects: authenticated encryption of secrets at rest
//! (TOTP secrets) and keyed hashes of recovery codes.
//!
//! The key comes from `KEYCARD_SECRET_KEY` (64 hex characters, or base64 of 32 bytes) or, when
//! that is unset, from `secret.key` in the data directory, which is created on first run (mode
//! 0600, written under a temporary name and linked into place so two instances starting at once
//! agree on one key; a missing data directory is created 0700, see [`create_private_dir`]). The
//! key is never logged; its `Debug` output is redacted.
//!
//! Two subkeys are derived from it (HMAC-SHA256 with fixed labels), so the encryption key and the
//! hashing key are never the same bytes.

use std::path::Path;

use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// File name of the generated key, inside the data directory.
pub const KEY_FILE: &str = "secret.key";
const NONCE_LEN: usize = 24;

type HmacSha256 = Hmac<Sha256>;

/// The 32-byte master key and its derived subkeys.
#[derive(Clone)]
pub struct SecretKey {
    encryption: [u8; 32],
    hashing: [u8; 32],
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("KEYCARD_SECRET_KEY must be 64 hex characters or base64 of 32 bytes")]
    BadFormat,
    #[error("{path}: {problem}")]
    File { path: String, problem: String },
}

/// Failure to open a sealed value: wrong key, wrong associated data, or damaged text.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the sealed value could not be opened")]
pub struct OpenError;

fn derive(master: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl SecretKey {
    pub fn from_bytes(master: [u8; 32]) -> SecretKey {
        SecretKey {
            encryption: derive(&master, "keycard v1 encryption"),
            hashing: derive(&master, "keycard v1 hashing"),
        }
    }

    /// Parses the documented text forms: 64 hex characters, or base64 (padded or not) of 32 bytes.
    pub fn parse(text: &str) -> Result<SecretKey, KeyError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| KeyError::BadFormat)?
        } else {
            data_encoding::BASE64
                .decode(text.as_bytes())
                .or_else(|_| data_encoding::BASE64_NOPAD.decode(text.as_bytes()))
                .or_else(|_| data_encoding::BASE64URL.decode(text.as_bytes()))
                .or_else(|_| data_encoding::BASE64URL_NOPAD.decode(text.as_bytes()))
                .map_err(|_| KeyError::BadFormat)?
        };
        let master: [u8; 32] = bytes.try_into().map_err(|_| KeyError::BadFormat)?;
        Ok(SecretKey::from_bytes(master))
    }

    /// A fresh random key (tests).
    pub fn random() -> SecretKey {
        let mut master = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut master);
        SecretKey::from_bytes(master)
    }

    /// The key from `KEYCARD_SECRET_KEY` when given, else from (or into) the key file in `data_dir`.
    pub fn load(from_env: Option<&str>, data_dir: &Path) -> Result<SecretKey, KeyError> {
        match from_env {
            Some(text) => SecretKey::parse(text),
            None => load_or_create_file(&data_dir.join(KEY_FILE)),
        }
    }

    /// Encrypts `plaintext` with XChaCha20-Poly1305 under a random nonce; `context` (the owner, the
    /// purpose) is bound as associated data, so a value copied to another row does not open.
    /// Returns hex of nonce ‖ ciphertext.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let cipher = XChaCha20Poly1305::new((&self.encryption).into());
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        hex::encode(out)
    }

    /// Opens what [`SecretKey::seal`] made with the same key and context.
    pub fn open(&self, context: &str, sealed_hex: &str) -> Result<Vec<u8>, OpenError> {
        let bytes = hex::decode(sealed_hex).map_err(|_| OpenError)?;
        if bytes.len() < NONCE_LEN + 16 {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new((&self.encryption).into());
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
            .map_err(|_| OpenError)
    }

    /// Hex HMAC-SHA256 of `data` under the hashing subkey, with a purpose label: without the key,
    /// a copy of the database cannot be searched offline for the values hashed.
    pub fn keyed_hash(&self, purpose: &str, data: &[u8]) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.hashing).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }
}

fn file_error(path: &Path, problem: impl std::fmt::Display) -> KeyError {
    KeyError::File { path: path.display().to_string(), problem: problem.to_string() }
}

/// Reads the key file, creating it first when missing. Creation writes a temporary file (0600)
/// and hard-links it to the final name, which fails when another process got there first: then
/// that process's key is read, so every instance on this data directory uses one key.
fn load_or_create_file(path: &Path) -> Result<SecretKey, KeyError> {
    if !path.exists() {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|e| file_error(dir, e))?;
        }
        let mut master = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut master);
        let mut random = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut random);
        let temp = path.with_file_name(format!(".{KEY_FILE}.{}.tmp", hex::encode(random)));
        write_private(&temp, format!("{}\n", hex::encode(master)).as_bytes()).map_err(|e| file_error(&temp, e))?;
        let linked = std::fs::hard_link(&temp, path);
        let _ = std::fs::remove_file(&temp);
        match linked {
            Ok(()) => {
                tracing::info!(path = %path.display(), "created a new secret key file; back it up with the database");
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(file_error(path, e)),
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
    SecretKey::parse(&text).map_err(|_| file_error(path, "does not hold 64 hex characters or base64 of 32 bytes"))
}

/// Creates `dir` and any missing parents readable by the owner only (0700 on unix). A directory
/// that already exists is left as it is (it may be the operator's choice, or shared).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_failures() {
        let key = SecretKey::random();
        let sealed = key.seal("totp:1", b"secret bytes");
        assert_eq!(key.open("totp:1", &sealed).unwrap(), b"secret bytes");
        // Random nonce: sealing twice gives different text.
        assert_ne!(sealed, key.seal("totp:1", b"secret bytes"));
        // Another key, another owner, or a flipped bit: nothing opens.
        assert_eq!(SecretKey::random().open("totp:1", &sealed), Err(OpenError));
        assert_eq!(key.open("totp:2", &sealed), Err(OpenError));
        let mut damaged = sealed.clone().into_bytes();
        let last = damaged.len() - 1;
        damaged[last] = if damaged[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(key.open("totp:1", std::str::from_utf8(&damaged).unwrap()), Err(OpenError));
        assert_eq!(key.open("totp:1", "zz"), Err(OpenError));
        assert_eq!(key.open("totp:1", ""), Err(OpenError));
    }

    #[test]
    fn parses_hex_and_base64_only_of_32_bytes() {
        let hex_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let a = SecretKey::parse(hex_key).unwrap();
        let b64 = data_encoding::BASE64.encode(&hex::decode(hex_key).unwrap());
        let b = SecretKey::parse(&b64).unwrap();
        assert_eq!(a.keyed_hash("p", b"x"), b.keyed_hash("p", b"x"));
        assert!(SecretKey::parse("abcd").is_err());
        assert!(SecretKey::parse(&hex_key[..62]).is_err());
        assert!(SecretKey::parse("not a key at all!").is_err());
        assert!(!format!("{a:?}").contains("0011"));
    }

    #[test]
    fn key_file_is_created_once_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("kc_secret_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = SecretKey::load(None, &dir).unwrap();
        let again = SecretKey::load(None, &dir).unwrap();
        assert_eq!(first.keyed_hash("p", b"x"), again.keyed_hash("p", b"x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "the data directory is the owner's only");
        }
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary files left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
