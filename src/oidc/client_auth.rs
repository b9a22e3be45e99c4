//! How an app proves who it is at the token endpoint (RFC 6749 section 2.3.1; OpenID Connect
//! Core section 9): `client_secret_basic` (HTTP Basic, each part form-urlencoded) or
//! `client_secret_post` (in the form), never both; a public app sends only its `client_id`.
//!
//! A secret is checked within two budgets, reserved before the comparison: the guessing address's
//! for this app ([`Limit::client_secret_ip`]: ten tries, then it waits, however many requests it
//! sends at once) and the app's own from anywhere ([`Limit::client_secret`], which bounds a guess
//! spread over many addresses). The app's own server, at another address, is not held up by a
//! guesser's waits. Only the SHA-256 of the secret is stored; the presented one is
//! hashed and the two hashes compared in constant time.

use axum::http::{header, HeaderMap};
use subtle::ConstantTimeEq;

use super::clients::{self, RegisteredApp};
use crate::apps::codes::Secret;
use crate::core::db::Db;
use crate::core::throttle::{self, Limit};
use crate::errors::AppError;

/// What a request presents to say which app it comes from.
#[derive(Clone, PartialEq, Eq)]
pub struct Presented {
    pub client_id: String,
    pub secret: Option<String>,
    /// Sent with HTTP Basic: a refusal then asks for Basic again (`WWW-Authenticate`).
    pub basic: bool,
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presented")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("basic", &self.basic)
            .finish()
    }
}

/// Why the app was not let in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The credentials are malformed or given two ways at once (`invalid_request`, 400).
    Malformed(&'static str),
    /// Unknown app, wrong or missing secret, or a secret from a public app (`invalid_client`, 401).
    InvalidClient,
    /// Too many wrong secrets for this app lately: wait this many seconds.
    TooManyAttempts { retry_after_secs: i64 },
}

/// Reads the app's credentials from the `Authorization` header and the form's `client_id` and
/// `client_secret` (the form's values, each at most once).
pub fn presented(headers: &HeaderMap, form: &[(String, String)]) -> Result<Presented, Refused> {
    let field = |name: &str| {
        let mut values = form.iter().filter(|(key, _)| key == name).map(|(_, value)| value.clone());
        match (values.next(), values.next()) {
            (Some(_), Some(_)) => Err(Refused::Malformed("a parameter is given more than once")),
            (value, _) => Ok(value.filter(|v| !v.is_empty())),
        }
    };
    let (form_id, form_secret) = (field("client_id")?, field("client_secret")?);
    let Some(authorization) = headers.get(header::AUTHORIZATION) else {
        let client_id = form_id.ok_or(Refused::Malformed("the request does not say which app it is (client_id)"))?;
        return Ok(Presented { client_id, secret: form_secret, basic: false });
    };
    let (client_id, secret) = basic_credentials(authorization.as_bytes())?;
    if form_secret.is_some() {
        return Err(Refused::Malformed("the client is authenticated two ways at once"));
    }
    if form_id.is_some_and(|id| id != client_id) {
        return Err(Refused::Malformed("client_id differs from the one in the Authorization header"));
    }
    Ok(Presented { client_id, secret: Some(secret), basic: true })
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 section 2.3.1).
fn basic_credentials(value: &[u8]) -> Result<(String, String), Refused> {
    parse_basic(value).ok_or(Refused::Malformed("the Authorization header is not Basic credentials"))
}

fn parse_basic(value: &[u8]) -> Option<(String, String)> {
    let (scheme, encoded) = std::str::from_utf8(value).ok()?.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || encoded.len() > 4096 {
        return None;
    }
    let decoded = String::from_utf8(data_encoding::BASE64.decode(encoded.trim().as_bytes()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    // Form-urlencoded: `+` is a space, `%XX` a byte. Keycard's ids and secrets need neither, so a
    // client that sends them as they are is read the same.
    let decode =
        |part: &str| percent_encoding::percent_decode_str(&part.replace('+', " ")).decode_utf8_lossy().into_owned();
    let (id, secret) = (decode(id), decode(secret));
    (!id.is_empty()).then_some((id, secret))
}

/// The registered app `presented` names, when its credentials hold: a confidential app's secret
/// (checked within its budget), a public app's id alone.
pub async fn authenticate(db: &Db, presented: &Presented, ip: &str) -> Result<RegisteredApp, AuthError> {
    let Some((app, stored)) = clients::find_with_secret_hash(db, &presented.client_id).await? else {
        return Err(AuthError::Refused(Refused::InvalidClient));
    };
    match (stored, &presented.secret) {
        (None, None) => Ok(app),
        // A public app has no secret to present, and a confidential one must present its own.
        (None, Some(_)) | (Some(_), None) => Err(AuthError::Refused(Refused::InvalidClient)),
        (Some(stored), Some(secret)) => {
            let limits = [Limit::client_secret_ip(&app.client_id, ip), Limit::client_secret(&app.client_id)];
            let permits = match throttle::reserve(db, &limits).await {
                Ok(permits) => permits,
                Err(AppError::TooManyAttempts { retry_after_secs }) => {
                    return Err(AuthError::Refused(Refused::TooManyAttempts { retry_after_secs }))
                }
                Err(other) => return Err(AuthError::Failed(other)),
            };
            // A presented value that cannot be a client secret hashes to nothing and matches nothing.
            let hash = Secret::ClientSecret.hash(secret).unwrap_or_default();
            if bool::from(hash.as_bytes().ct_eq(stored.as_bytes())) {
                permits.succeeded(db).await?;
                return Ok(app);
            }
            permits.failed(&mut *db.pool.acquire().await?).await?;
            Err(AuthError::Refused(Refused::InvalidClient))
        }
    }
}

/// [`authenticate`]'s failure: refused, or Keycard failed (database).
#[derive(Debug)]
pub enum AuthError {
    Refused(Refused),
    Failed(AppError),
}

impl From<sqlx::Error> for AuthError {
    fn from(err: sqlx::Error) -> AuthError {
        AuthError::Failed(err.into())
    }
}

impl From<AppError> for AuthError {
    fn from(err: AppError) -> AuthError {
        AuthError::Failed(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", data_encoding::BASE64.encode(raw.as_bytes()));
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn credentials_are_read_from_basic_or_the_form_never_both() {
        // Each part of Basic is form-urlencoded (RFC 6749 section 2.3.1).
        let got = presented(&basic("my%20app:s%3Acr%2Bt"), &[]).unwrap();
        assert_eq!((got.client_id.as_str(), got.secret.as_deref(), got.basic), ("my app", Some("s:cr+t"), true));
        let got = presented(&basic("my+app:a&b=c"), &[]).unwrap();
        assert_eq!((got.client_id.as_str(), got.secret.as_deref()), ("my app", Some("a&b=c")), "sent as it is");
        let got = presented(&HeaderMap::new(), &form(&[("client_id", "app"), ("client_secret", "kcs_x")])).unwrap();
        assert_eq!((got.client_id.as_str(), got.secret.as_deref(), got.basic), ("app", Some("kcs_x"), false));
        let public = presented(&HeaderMap::new(), &form(&[("client_id", "phone")])).unwrap();
        assert_eq!(public.secret, None);
        assert!(!format!("{got:?}").contains("kcs_x"), "Debug hides the secret");

        let malformed = |headers: &HeaderMap, pairs: &[(&str, &str)]| {
            matches!(presented(headers, &form(pairs)), Err(Refused::Malformed(_)))
        };
        assert!(malformed(&basic("app:secret"), &[("client_secret", "secret")]), "two ways at once");
        assert!(malformed(&basic("app:secret"), &[("client_id", "other")]), "two different apps");
        assert!(malformed(&basic("no-colon"), &[]));
        assert!(malformed(&basic(":secret"), &[]));
        assert!(malformed(&HeaderMap::new(), &[]), "no client_id at all");
        assert!(malformed(&HeaderMap::new(), &[("client_id", "a"), ("client_id", "b")]));
        let mut bearer = HeaderMap::new();
        bearer.insert(header::AUTHORIZATION, "Bearer kca_x".parse().unwrap());
        assert!(malformed(&bearer, &[]));
        let mut garbage = HeaderMap::new();
        garbage.insert(header::AUTHORIZATION, "Basic !!!not-base64".parse().unwrap());
        assert!(malformed(&garbage, &[]));
    }
}
