//! Account logic as plain functions: sign-up and credential checks. Server functions call these;
//! so do the tests.

use unicode_normalization::UnicodeNormalization;

use super::password::{check_new_password, hash_password, off_thread, verify_password};
use super::store::{self, InsertError};
use super::throttle::{self, Limit};
use crate::core::{db::now, state::AppState};
use crate::errors::AppError;

/// Longest email address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// A checked email: as typed (trimmed, NFKC-normalised) and its lower-case key for uniqueness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub display: String,
    pub key: String,
}

pub fn parse_email(raw: &str) -> Result<Email, AppError> {
    let display: String = raw.trim().nfkc().collect();
    let invalid = || AppError::Invalid("Enter an email address like name@example.com.".into());
    if display.is_empty() || display.chars().count() > MAX_EMAIL_CHARS {
        return Err(invalid());
    }
    let (local, domain) = display.rsplit_once('@').ok_or_else(invalid)?;
    if local.is_empty()
        || domain.is_empty()
        || domain.starts_with('.')
        || domain.ends_with('.')
        || local.contains('@')
        || display.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
    {
        return Err(invalid());
    }
    let key = display.to_lowercase();
    Ok(Email { display, key })
}

/// Creates an account and returns its id. The email must be new; the password must pass the rules.
/// Each IP may create a limited number of accounts an hour.
pub async fn sign_up(state: &AppState, raw_email: &str, password: &str, ip: &str) -> Result<i64, AppError> {
    let email = parse_email(raw_email)?;
    let ip_limit = Limit::sign_up_ip(ip);
    throttle::check(&state.db, std::slice::from_ref(&ip_limit)).await?;
    let password = password.to_owned();
    let context_email = email.key.clone();
    let hash = off_thread(move || {
        let local = context_email.split('@').next().unwrap_or_default().to_owned();
        let mut context: Vec<&str> = vec![&context_email, &local];
        context.extend(local.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 2));
        check_new_password(&password, &context)?;
        hash_password(&password)
    })
    .await??;
    match store::insert_user(&state.db, &email.display, &email.key, &hash, now()).await {
        Ok(id) => {
            throttle::record(&state.db, &[ip_limit]).await?;
            Ok(id)
        }
        Err(InsertError::EmailTaken) => Err(AppError::Invalid(
            "An account with this email already exists. Sign in instead.".into(),
        )),
        Err(InsertError::Db(err)) => Err(AppError::internal(err)),
    }
}

/// The account's id when the email and password match. An unknown email costs the same argon2
/// work (verified against a dummy hash) and gets the same answer as a wrong password; both are
/// throttled by email and by IP alike (see [`throttle`]), before any password is checked.
pub async fn verify_credentials(
    state: &AppState,
    raw_email: &str,
    password: &str,
    ip: &str,
) -> Result<i64, AppError> {
    let key = parse_email(raw_email).map(|e| e.key).unwrap_or_default();
    let limits = [Limit::sign_in_email(&key), Limit::sign_in_ip(ip)];
    throttle::check(&state.db, &limits).await?;
    let found = if key.is_empty() {
        None
    } else {
        store::credentials_by_email_key(&state.db, &key).await.map_err(AppError::internal)?
    };
    let (user_id, phc) = match found {
        Some(c) => (Some(c.user_id), c.password_hash),
        None => (None, state.dummy_hash.to_string()),
    };
    let password = password.to_owned();
    let matches = off_thread(move || verify_password(&password, &phc)).await?;
    match (user_id, matches) {
        (Some(id), true) => {
            throttle::clear(&state.db, &limits[0]).await?;
            Ok(id)
        }
        _ => {
            match user_id {
                // The counter and the account's `sign_in_failed` event commit together.
                Some(user_id) => {
                    let mut tx = state.db.pool.begin().await.map_err(AppError::internal)?;
                    throttle::record_in(&mut tx, &limits).await?;
                    let mut event = crate::history::store::Event::now_by_current(
                        user_id,
                        crate::history::Kind::SignInFailed,
                        now(),
                        "Wrong password",
                    );
                    if event.ip.is_empty() {
                        event.ip = ip.to_owned();
                    }
                    crate::history::store::record(&mut tx, &event).await.map_err(AppError::internal)?;
                    tx.commit().await.map_err(AppError::internal)?;
                }
                None => {
                    // Unknown emails stay out of every account's history; the server log keeps a trace.
                    tracing::info!(ip, "sign-in attempt for an unknown email");
                    // Same shape of work as for a known email (a transaction), so timing tells nothing.
                    let mut tx = state.db.pool.begin().await.map_err(AppError::internal)?;
                    throttle::record_in(&mut tx, &limits).await?;
                    tx.commit().await.map_err(AppError::internal)?;
                }
            }
            Err(AppError::WrongCredentials)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_normalised_and_keyed_case_insensitively() {
        let e = parse_email("  Alice@Example.COM ").unwrap();
        assert_eq!(e.display, "Alice@Example.COM");
        assert_eq!(e.key, "alice@example.com");
        // NFKC folds compatibility forms (full-width letters) into their plain forms.
        assert_eq!(parse_email("ａlice@example.com").unwrap().key, "alice@example.com");
        for bad in ["", "alice", "@example.com", "alice@", "a b@example.com", "a@b@c", "<a>@x.y", "a@.x"] {
            assert!(parse_email(bad).is_err(), "{bad:?}");
        }
        assert!(parse_email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
