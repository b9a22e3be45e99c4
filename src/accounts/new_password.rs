//! Committing a new password, the one way for both the password page and a reset link: the hash
//! and `password_changed_at`, the end of the sessions it ends, its history event and its notice,
//! all on the caller's transaction (which may hold more of the same change, e.g. the used link).

use sqlx::AnyConnection;

use super::store;
use crate::core::origin::RequestOrigin;
use crate::core::principal::EndReason;
use crate::core::state::AppState;
use crate::history::{store as history, Kind};
use crate::sessions::lifecycle::{end_sessions, Sessions};

/// A new password about to be committed.
pub struct NewPassword<'a> {
    pub user_id: i64,
    /// Its argon2id hash (made before the transaction began: no transaction waits on hashing).
    pub hash: &'a str,
    /// The sessions it ends: the others of the asking one, or every one.
    pub ends: Sessions<'a>,
    /// `PasswordChanged` or `PasswordReset`: names the event and picks the notice.
    pub kind: Kind,
    pub origin: &'a RequestOrigin,
    pub at: i64,
}

/// Writes `new` on `conn`; returns how many sessions it ended.
pub async fn commit_new_password(
    conn: &mut AnyConnection,
    state: &AppState,
    new: NewPassword<'_>,
) -> Result<u64, sqlx::Error> {
    store::set_password_hash(conn, new.user_id, new.hash, new.at).await?;
    let adjective = if matches!(new.ends, Sessions::OthersOf { .. }) { "other " } else { "" };
    let ended = end_sessions(conn, new.ends, EndReason::SignedOutElsewhere, new.at).await?.len() as u64;
    let detail = match ended {
        0 => format!("No {adjective}session was signed in"),
        n => crate::history::sessions_signed_out(n, adjective),
    };
    let event = history::Event::from_origin(new.origin, new.user_id, new.kind, new.at, &detail);
    history::record(conn, &event).await?;
    crate::mail::notices::for_event(conn, state, &event, None).await?;
    Ok(ended)
}
