//! Password rules and hashing. Hashing and verifying are CPU-heavy by design, so they run off the
//! async threads (the hashing pool's own threads, or the blocking pool) and never stall other requests.

use argon2::{
    password_hash::{rand_core::OsRng, Output, PasswordHash, PasswordHasher, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};

use crate::core::hashing::Blocks;
use crate::errors::AppError;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// zxcvbn's cost grows quickly with length; beyond this many characters a password's strength is
/// judged on its first part (which is already far past any guessing attack when it passes).
const STRENGTH_CHECK_CHARS: usize = 100;

/// argon2id with OWASP's minimum parameters: 19 MiB of memory, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Length rules, then a strength estimate (zxcvbn) that rejects common and guessable passwords,
/// with the reason. `context` holds words that make a password weak for this account (the email).
pub fn check_new_password(password: &str, context: &[&str]) -> Result<(), AppError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AppError::Invalid(format!("Use at least {MIN_PASSWORD_CHARS} characters for your password.")));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AppError::Invalid(format!("Use at most {MAX_PASSWORD_CHARS} characters for your password.")));
    }
    let checked: String = password.chars().take(STRENGTH_CHECK_CHARS).collect();
    let estimate = zxcvbn::zxcvbn(&checked, context);
    if (estimate.score() as u8) < 3 {
        let feedback = estimate.feedback();
        let warning = feedback.and_then(|f| f.warning()).map(|w| w.to_string());
        let suggestion = feedback.and_then(|f| f.suggestions().first()).map(|s| s.to_string());
        let mut message = String::from("This password is too easy to guess");
        match warning {
            Some(w) if !w.is_empty() => {
                message.push_str(": ");
                message.push_str(w.trim_end_matches('.'));
                message.push('.');
            }
            _ => message.push('.'),
        }
        if let Some(s) = suggestion {
            message.push(' ');
            message.push_str(&s);
        }
        if !message.ends_with(" Try a longer phrase of unrelated words.") {
            message.push_str(" Try a longer phrase of unrelated words.");
        }
        return Err(AppError::Invalid(message));
    }
    Ok(())
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(AppError::internal)
}

/// Constant-time verification against a stored PHC string (parameters are read from it).
pub fn verify_password(password: &str, phc: &str) -> bool {
    verify_password_in(password, phc, &mut Blocks::new())
}

/// [`verify_password`] computed in `blocks`, argon2's working memory kept by the hashing pool
/// (resized to the hash's parameters), so no 19 MiB block is allocated per sign-in.
pub fn verify_password_in(password: &str, phc: &str, blocks: &mut Blocks) -> bool {
    verify_in(password, phc, blocks).unwrap_or(false)
}

fn verify_in(password: &str, phc: &str, blocks: &mut Blocks) -> Option<bool> {
    let parsed = PasswordHash::new(phc).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = parsed.version.map(Version::try_from).transpose().ok()?.unwrap_or_default();
    let params = Params::try_from(&parsed).ok()?;
    let expected = parsed.hash?;
    let mut salt = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt).ok()?;
    blocks.resize(params.block_count(), Block::default());
    let mut computed = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut computed, &mut blocks[..])
        .ok()?;
    // `Output`'s equality is constant-time.
    Some(Output::new(&computed).ok()? == expected)
}

/// Runs a CPU-heavy closure on the blocking pool.
/// [`check_new_password`] for the account with `email_key`, off the async threads (zxcvbn takes a
/// few milliseconds): the email and the words of its local part count as guessable. Returns the
/// password when it passes.
pub async fn check_new_password_for(email_key: &str, password: &str) -> Result<String, AppError> {
    let (email_key, password) = (email_key.to_owned(), password.to_owned());
    off_thread(move || {
        let local = email_key.split('@').next().unwrap_or_default().to_owned();
        let mut context: Vec<&str> = vec![&email_key, &local];
        context.extend(local.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2));
        check_new_password(&password, &context).map(|()| password)
    })
    .await?
}

pub async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work).await.map_err(AppError::internal)
}

/// A hash of a random password: verifying against it costs what a real verification costs.
pub fn dummy_hash() -> String {
    use rand::RngCore;
    let mut random = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut random);
    hash_password(&hex::encode(random)).expect("hashing a random password")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hash = hash_password("correct horse battery staple").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password("correct horse battery staple", &hash));
        assert!(!verify_password("correct horse battery stapler", &hash));
        assert!(!verify_password("anything", "not a phc string"));
    }

    /// The kept working memory gives the same answers as argon2's own verifier, whatever an
    /// earlier hash left in it, and hashes with other parameters are read from the PHC string.
    #[test]
    fn verifying_in_kept_memory_agrees_with_argon2() {
        use argon2::PasswordVerifier;
        let mut blocks = Blocks::new();
        let ours = hash_password("correct horse battery staple").unwrap();
        let small = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(64, 1, 1, None).unwrap())
            .hash_password(b"tiny params", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        for _ in 0..2 {
            for (password, phc) in [
                ("correct horse battery staple", &ours),
                ("correct horse battery stapler", &ours),
                ("tiny params", &small),
                ("tiny param", &small),
            ] {
                let reference = argon2().verify_password(password.as_bytes(), &PasswordHash::new(phc).unwrap()).is_ok();
                assert_eq!(verify_password_in(password, phc, &mut blocks), reference, "{password}");
            }
        }
        assert!(!verify_password_in("x", "$argon2id$v=19$m=19456,t=2,p=1$bad", &mut blocks));
    }

    #[test]
    fn length_and_strength_rules() {
        assert!(matches!(check_new_password("short", &[]), Err(AppError::Invalid(m)) if m.contains("at least 8")));
        let long = "x".repeat(MAX_PASSWORD_CHARS + 1);
        assert!(matches!(check_new_password(&long, &[]), Err(AppError::Invalid(m)) if m.contains("at most 1024")));
        match check_new_password("password123", &[]) {
            Err(AppError::Invalid(m)) => {
                assert!(m.starts_with("This password is too easy to guess"), "{m}")
            }
            other => panic!("common password accepted: {other:?}"),
        }
        assert!(check_new_password("alice.lambert@example.com", &["alice.lambert@example.com", "alice", "lambert"])
            .is_err());
        assert!(check_new_password("quiet-harbor-lantern-1972", &[]).is_ok());
        // No composition rules: a long lowercase phrase is fine; a 1024-character one is checked quickly.
        assert!(check_new_password("umbrella giraffe tuesday orbit", &[]).is_ok());
        let max: String = "quiet-harbor-lantern-1972 ".repeat(40).chars().take(MAX_PASSWORD_CHARS).collect();
        assert!(check_new_password(&max, &[]).is_ok());
    }
}
