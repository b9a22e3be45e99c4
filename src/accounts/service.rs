//! Account logic as plain functions: sign-up and credential checks. Server functions call these;
//! so do the tests.

use unicode_normalization::UnicodeNormalization;

use super::password::{check_new_password_for, hash_password, verify_password_in};
use super::store::{self, InsertError};
use crate::core::origin::RequestOrigin;
use crate::core::state::AppState;
use crate::core::throttle::{self, Limit};
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
/// With mail on, a link to verify the address is mailed (written in the account's transaction).
/// Each IP may make a limited number of sign-up attempts an hour, counted before the password is
/// hashed and whether or not the email already has an account (so the "already exists" answer
/// cannot be used to test many emails).
pub async fn sign_up(state: &AppState, raw_email: &str, password: &str, ip: &str) -> Result<i64, AppError> {
    let email = parse_email(raw_email)?;
    let password = check_new_password_for(&email.key, password).await?;
    let admission = state.hashing.admit()?;
    let permits = throttle::reserve(&state.db, &[Limit::sign_up_ip(ip)]).await?;
    let hash = admission.run(move |_| hash_password(&password)).await??;
    let id = create_account(state, &email, &hash).await?;
    permits.succeeded(&state.db).await?;
    Ok(id)
}

/// Creates the account (its password already checked against the rules and hashed) and, with
/// mail on, its verification link and mail, in one transaction: there is never an account whose
/// first link was lost, nor a mail about an account that does not exist. Sign-up and
/// `keycard admin create-user` both come here.
pub async fn create_account(state: &AppState, email: &Email, password_hash: &str) -> Result<i64, AppError> {
    let t = state.db.clock.now();
    let mut tx = state.db.pool.begin().await?;
    match store::insert_user(&mut tx, &email.display, &email.key, password_hash, t).await {
        Ok(id) => {
            if crate::mail::enabled(&state.config) {
                super::verification::service::send_link(&mut tx, state, id, &email.display, t).await?;
            }
            tx.commit().await?;
            Ok(id)
        }
        Err(InsertError::EmailTaken) => {
            Err(AppError::Invalid("An account with this email already exists. Sign in instead.".into()))
        }
        Err(InsertError::Db(err)) => Err(err.into()),
    }
}

/// What a password check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    Correct,
    /// Wrong; `locked` when this failure left the email's (or the IP's) limit blocked.
    Wrong {
        locked: bool,
    },
}

/// The account's id when the email and password match. An unknown email costs the same argon2
/// work (verified against a dummy hash) and gets the same answer as a wrong password; both are
/// throttled by email and by IP alike (see [`throttle`]), reserved before any password is checked.
pub async fn verify_credentials(
    state: &AppState,
    raw_email: &str,
    password: &str,
    origin: &RequestOrigin,
) -> Result<VerifiedAccount, AppError> {
    // Refusals are counted here; a success only when the sign-in completes (it may owe a code).
    check_sign_in_password(state, raw_email, password, origin).await.map_err(crate::core::metrics::sign_in_refused)
}

async fn check_sign_in_password(
    state: &AppState,
    raw_email: &str,
    password: &str,
    origin: &RequestOrigin,
) -> Result<VerifiedAccount, AppError> {
    let key = parse_email(raw_email).map(|e| e.key).unwrap_or_default();
    let found = if key.is_empty() { None } else { store::sign_in_credentials(&state.db, &key).await? };
    let account = found
        .as_ref()
        .map(|a| (VerifiedAccount { user_id: a.credentials.user_id, two_step_on: a.two_step_on }, a.disabled));
    match check_password(state, &key, found.map(|a| a.credentials), password, origin, "Wrong password").await? {
        // Only someone who knows the password learns that the account is disabled.
        PasswordCheck::Correct => match account {
            Some((_, true)) => Err(AppError::AccountDisabled),
            Some((verified, false)) => Ok(verified),
            None => Err(AppError::WrongCredentials),
        },
        PasswordCheck::Wrong { .. } => Err(AppError::WrongCredentials),
    }
}

/// The account whose password was just verified at sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedAccount {
    pub user_id: i64,
    /// Two-step sign-in is on: the password leads only to the code step.
    pub two_step_on: bool,
}

/// The password of a signed-in account, typed again (re-authentication prompt, password page):
/// the same limits as sign-in, counted against the account's email, and the same history event
/// (`sign_in_failed`, with `failure_detail` saying where).
pub async fn verify_account_password(
    state: &AppState,
    user_id: i64,
    password: &str,
    origin: &RequestOrigin,
    failure_detail: &str,
) -> Result<PasswordCheck, AppError> {
    let (key, credentials) = store::credentials_by_id(&state.db, user_id).await?.ok_or(AppError::NotSignedIn)?;
    check_password(state, &key, Some(credentials), password, origin, failure_detail).await
}

/// [`verify_account_password`] for a caller that has read the account's credentials already.
pub async fn check_credentials(
    state: &AppState,
    email_key: &str,
    credentials: store::Credentials,
    password: &str,
    origin: &RequestOrigin,
    failure_detail: &str,
) -> Result<PasswordCheck, AppError> {
    check_password(state, email_key, Some(credentials), password, origin, failure_detail).await
}

/// Every password check: a place in the hashing pool, then one attempt reserved on the email's
/// and the IP's limits, then argon2. A correct password gives the reservations back; a wrong one
/// is recorded in the account's history (unknown emails only in the server log).
async fn check_password(
    state: &AppState,
    email_key: &str,
    found: Option<store::Credentials>,
    password: &str,
    origin: &RequestOrigin,
    failure_detail: &str,
) -> Result<PasswordCheck, AppError> {
    let admission = state.hashing.admit()?;
    let permits =
        throttle::reserve(&state.db, &[Limit::sign_in_email(email_key), Limit::sign_in_ip(&origin.ip)]).await?;
    let (user_id, phc) = match found {
        Some(c) => (Some(c.user_id), c.password_hash),
        None => (None, state.dummy_hash.to_string()),
    };
    let password = password.to_owned();
    let matches = admission.run(move |blocks| verify_password_in(&password, &phc, blocks)).await?;
    match (user_id, matches) {
        (Some(_), true) => {
            permits.succeeded(&state.db).await?;
            Ok(PasswordCheck::Correct)
        }
        (Some(user_id), false) => {
            let at = state.db.clock.now();
            let event = crate::history::store::Event::from_origin(
                origin,
                user_id,
                crate::history::Kind::SignInFailed,
                at,
                failure_detail,
            );
            let mut tx = state.db.pool.begin().await?;
            permits.failed(&mut tx).await?;
            crate::history::store::record(&mut tx, &event).await?;
            tx.commit().await?;
            Ok(PasswordCheck::Wrong { locked: permits.locks() })
        }
        (None, _) => {
            // Unknown emails stay out of every account's history (the server log keeps a trace),
            // but cost the same statements, so timing tells nothing.
            let mut tx = state.db.pool.begin().await?;
            permits.failed(&mut tx).await?;
            tx.commit().await?;
            tracing::info!(ip = %origin.ip, "sign-in attempt for an unknown email");
            Ok(PasswordCheck::Wrong { locked: permits.locks() })
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
