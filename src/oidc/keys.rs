//! The keys Keycard signs ID tokens and logout tokens with (ES256: ECDSA on P-256 with SHA-256),
//! and the key set it publishes for apps to check them (`/oauth/jwks`, RFC 7517).
//!
//! The private key is made with ring and stored sealed under Keycard's secret key (the table alone
//! gives nothing away); the public half is stored as the JWK apps read. `keycard admin keys rotate`
//! makes a new key that signs from then on; the keys it replaces stay published for
//! [`PUBLISHED_AFTER_RETIREMENT_SECS`], longer than anything they signed lives, then go (with the
//! periodic purge of expired app tokens, and `keycard admin purge`).

use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};
use sqlx::Row;

use crate::core::db::Db;
use crate::core::secrets::SecretKey;

/// How long a replaced key is still published: a day, far longer than an ID token (minutes) or a
/// logout token lives, so every token it signed can still be checked.
pub const PUBLISHED_AFTER_RETIREMENT_SECS: i64 = 24 * 3600;

/// The signing algorithm of every key (JWA name).
pub const ALGORITHM: &str = "ES256";

/// A key that signs: its id (the JWT header's `kid`) and its PKCS#8 private key.
pub struct SigningKey {
    pub kid: String,
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("pkcs8", &"[redacted]").finish()
    }
}

impl SigningKey {
    /// The key for jsonwebtoken's signer.
    pub fn encoding_key(&self) -> jsonwebtoken::EncodingKey {
        jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8)
    }

    /// A JWT header naming this key.
    pub fn header(&self) -> jsonwebtoken::Header {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header
    }
}

fn sealing_context(kid: &str) -> String {
    format!("oidc-signing-key:{kid}")
}

/// A new key pair: its id, its sealed private key and its public JWK.
fn generate(secrets: &SecretKey) -> (String, String, Value) {
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("the system's random source");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .expect("a key pair ring has just made");
    // An uncompressed point: 0x04, then x and y (32 bytes each).
    let point = pair.public_key().as_ref();
    let b64 = |bytes: &[u8]| data_encoding::BASE64URL_NOPAD.encode(bytes);
    let kid = b64(&rand::random::<[u8; 12]>());
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        "use": "sig", "alg": ALGORITHM, "kid": kid,
    });
    let sealed = secrets.seal(&sealing_context(&kid), pkcs8.as_ref());
    (kid, sealed, jwk)
}

/// Stores a new key as the one that signs; returns its id. `ON CONFLICT DO NOTHING`: when another
/// instance or request stored one first (the unique `signing` flag), that one stays, this one is
/// dropped, and the answer is `None`.
async fn insert_signing(
    conn: &mut sqlx::AnyConnection,
    secrets: &SecretKey,
    at: i64,
) -> Result<Option<String>, sqlx::Error> {
    let (kid, sealed, jwk) = generate(secrets);
    let inserted = sqlx::query(
        "INSERT INTO oidc_signing_keys (kid, algorithm, private_key, public_jwk, created_at, retired_at, signing) \
         VALUES ($1, $2, $3, $4, $5, NULL, 1) ON CONFLICT DO NOTHING",
    )
    .bind(&kid)
    .bind(ALGORITHM)
    .bind(&sealed)
    .bind(jwk.to_string())
    .bind(at)
    .execute(conn)
    .await?;
    Ok((inserted.rows_affected() == 1).then_some(kid))
}

/// Makes the first key, unless one signs already (the key set's first request).
pub async fn ensure_signing_key(db: &Db, secrets: &SecretKey) -> Result<(), sqlx::Error> {
    insert_signing(&mut *db.pool.acquire().await?, secrets, db.clock.now()).await.map(|_| ())
}

/// The key that signs now, made on first use.
pub async fn current(db: &Db, secrets: &SecretKey) -> Result<SigningKey, crate::errors::AppError> {
    let newest = || async {
        sqlx::query("SELECT kid, private_key FROM oidc_signing_keys WHERE signing = 1").fetch_optional(&db.pool).await
    };
    let row = match newest().await? {
        Some(row) => row,
        None => {
            // The connection goes back before the read below takes one: racing requests must not
            // each hold one while waiting for another.
            ensure_signing_key(db, secrets).await?;
            newest().await?.ok_or_else(|| crate::errors::AppError::internal("no signing key after making one"))?
        }
    };
    let kid: String = row.try_get(0)?;
    let sealed: String = row.try_get(1)?;
    let pkcs8 = secrets.open(&sealing_context(&kid), &sealed).map_err(|_| {
        crate::errors::AppError::internal(format!("signing key {kid} does not open with this server's secret key"))
    })?;
    Ok(SigningKey { kid, pkcs8 })
}

/// Makes a new signing key and retires the others at `at` (still published for
/// [`PUBLISHED_AFTER_RETIREMENT_SECS`]), in one transaction. Returns the new key's id, or `None`
/// when a rotation running at the same moment (on PostgreSQL) stored its key first: then nothing
/// changed here.
pub async fn rotate(db: &Db, secrets: &SecretKey, at: i64) -> Result<Option<String>, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("UPDATE oidc_signing_keys SET retired_at = $1, signing = NULL WHERE signing = 1")
        .bind(at)
        .execute(&mut *tx)
        .await?;
    let Some(kid) = insert_signing(&mut tx, secrets, at).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    tx.commit().await?;
    Ok(Some(kid))
}

/// The published key set at `now` (`{"keys": […]}`): the signing key and the retired ones still
/// within [`PUBLISHED_AFTER_RETIREMENT_SECS`], newest first.
pub async fn published(db: &Db, now: i64) -> Result<Value, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT public_jwk FROM oidc_signing_keys WHERE retired_at IS NULL OR retired_at > $1 \
         ORDER BY created_at DESC, id DESC",
    )
    .bind(now - PUBLISHED_AFTER_RETIREMENT_SECS)
    .fetch_all(&db.pool)
    .await?;
    let keys: Vec<Value> = rows
        .iter()
        .map(|row| serde_json::from_str(&row.try_get::<String, _>(0)?).map_err(|e| sqlx::Error::Decode(Box::new(e))))
        .collect::<Result<_, _>>()?;
    Ok(json!({ "keys": keys }))
}

/// A key as the operator's list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub kid: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

/// Every key kept, newest first.
pub async fn all(db: &Db) -> Result<Vec<KeyInfo>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT kid, created_at, retired_at FROM oidc_signing_keys ORDER BY created_at DESC, id DESC")
            .fetch_all(&db.pool)
            .await?;
    rows.iter()
        .map(|row| Ok(KeyInfo { kid: row.try_get(0)?, created_at: row.try_get(1)?, retired_at: row.try_get(2)? }))
        .collect()
}

/// Deletes the keys no longer published (with the other expired data). Returns how many.
pub async fn purge_unpublished(conn: &mut sqlx::AnyConnection, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM oidc_signing_keys WHERE retired_at IS NOT NULL AND retired_at <= $1")
        .bind(now - PUBLISHED_AFTER_RETIREMENT_SECS)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
