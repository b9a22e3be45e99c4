//! The relying party Keycard is for passkeys, and the state of a ceremony between its start and
//! its finish.
//!
//! A ceremony's state (webauthn-rs' registration or authentication state, holding the challenge)
//! goes to the browser sealed ([`crate::core::secrets::SecretKey::seal`]) and comes back with the
//! browser's answer: starting a ceremony writes nothing, so an anonymous visitor asking for
//! sign-in options costs no database row. The seal's context names the ceremony's purpose and
//! whom it is bound to (an account and its session), so a state made for one purpose or person
//! opens for no other. The finish takes the state once ([`take_once`]): its hash goes into
//! `passkey_challenges_used` *before* the browser's answer is checked, so a replayed answer (or
//! two at once) finds it taken. States expire after [`CEREMONY_SECS`].

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{Webauthn, WebauthnBuilder};

use crate::core::db::Db;
use crate::core::state::AppState;
use crate::errors::AppError;

/// How long a started ceremony may take (also the browser's timeout).
pub const CEREMONY_SECS: i64 = 300;

/// Said when a ceremony's state is unknown, expired, used, or made for someone else.
pub const STALE: &str = "That passkey request is no longer valid. Please try again.";

/// webauthn-rs configured for this Keycard (cheap: built per ceremony).
pub fn webauthn(state: &AppState) -> Result<Webauthn, AppError> {
    let rp = state.config.relying_party();
    let timeout = std::time::Duration::from_secs(CEREMONY_SECS as u64);
    Ok(WebauthnBuilder::new(&rp.id, &rp.origin)?.rp_name("Keycard").timeout(timeout).build()?)
}

/// What a sealed state was made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Adding a passkey; bound to the account and the session adding it.
    Register,
    /// Signing in with a passkey alone; bound to nobody (the passkey says whose it is).
    SignIn,
    /// A passkey at the code step; bound to the account and its half-signed-in session.
    CodeStep,
    /// Confirming it's you before a sensitive change; bound to the account and its session.
    Reauth,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SignIn => "sign-in",
            Purpose::CodeStep => "code-step",
            Purpose::Reauth => "reauth",
        }
    }
}

/// Whom a sealed state is bound to: an account and one of its sessions (by public handle), or
/// nobody for a sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding<'a> {
    Session { user_id: i64, handle: &'a str },
    Nobody,
}

/// The seal's associated data: what a sealed state is for and whom it is bound to.
pub fn context(purpose: Purpose, binding: &Binding<'_>) -> String {
    match binding {
        Binding::Session { user_id, handle } => format!("passkey:{}:user:{user_id}:session:{handle}", purpose.as_str()),
        Binding::Nobody => format!("passkey:{}", purpose.as_str()),
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<S> {
    expires_at: i64,
    state: S,
}

/// Seals `state` for the browser to carry back within [`CEREMONY_SECS`].
pub fn seal<S: Serialize>(state: &AppState, purpose: Purpose, binding: &Binding<'_>, ceremony: &S) -> String {
    let envelope = Envelope { expires_at: state.db.clock.now() + CEREMONY_SECS, state: ceremony };
    let json = serde_json::to_vec(&envelope).expect("a ceremony state serialises");
    state.secrets.seal(&context(purpose, binding), &json)
}

/// Opens a sealed state for `purpose` and `binding` and takes it (once): an unknown, forged,
/// expired or already used state, or one made for another purpose or person, is [`STALE`].
pub async fn take_once<S: DeserializeOwned>(
    state: &AppState,
    sealed: &str,
    purpose: Purpose,
    binding: &Binding<'_>,
) -> Result<S, AppError> {
    let stale = || AppError::Invalid(STALE.into());
    let json = state.secrets.open(&context(purpose, binding), sealed).map_err(|_| stale())?;
    let envelope: Envelope<S> = serde_json::from_slice(&json).map_err(|_| stale())?;
    let t = state.db.clock.now();
    if envelope.expires_at < t {
        return Err(stale());
    }
    if !mark_used(&state.db, &hex::encode(Sha256::digest(sealed.as_bytes())), envelope.expires_at, t).await? {
        return Err(stale());
    }
    Ok(envelope.state)
}

/// Records a state's hash as used; false when it already was. Expired marks are cleared on the
/// way (they can no longer match a state that opens).
async fn mark_used(db: &Db, hash: &str, expires_at: i64, t: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM passkey_challenges_used WHERE expires_at < $1").bind(t).execute(&mut *tx).await?;
    let inserted = sqlx::query(
        "INSERT INTO passkey_challenges_used (challenge_hash, expires_at) VALUES ($1, $2) \
         ON CONFLICT (challenge_hash) DO NOTHING",
    )
    .bind(hash)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(inserted == 1)
}
