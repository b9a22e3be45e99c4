//! Changing the account's email address (behind a recent re-authentication): the new address
//! takes effect at once for signing in, starts unverified (with mail on, a verification link goes
//! to it), and the old address, when it was verified, is told — in one transaction with the
//! change and its history event.

use super::service::parse_email;
use crate::core::db::is_unique_violation;
use crate::core::origin::RequestOrigin;
use crate::core::principal::SignedIn;
use crate::core::state::AppState;
use crate::errors::AppError;
use crate::history::{store as history, Kind};
use crate::mail::links::{self, Purpose};

/// Changes the address of `me`'s account to `raw_email`.
pub async fn change_email(
    state: &AppState,
    me: &SignedIn,
    raw_email: &str,
    origin: &RequestOrigin,
) -> Result<(), AppError> {
    let email = parse_email(raw_email)?;
    if email.display.to_lowercase() == me.email.to_lowercase() {
        return Err(AppError::Invalid("That is already your email address.".into()));
    }
    let at = state.db.clock.now();
    let mut tx = state.db.pool.begin().await?;
    let old_verified = crate::mail::notices::verified_address(&mut tx, me.user_id).await?;
    let changed = sqlx::query("UPDATE users SET email = $1, email_key = $2, email_verified_at = NULL WHERE id = $3")
        .bind(&email.display)
        .bind(&email.key)
        .bind(me.user_id)
        .execute(&mut *tx)
        .await;
    match changed {
        Err(err) if is_unique_violation(&err) => {
            tx.rollback().await?;
            return Err(AppError::Invalid("An account with this email already exists.".into()));
        }
        other => other?,
    };
    // Links sent to the old address no longer prove anything.
    links::retire(&mut tx, Purpose::VerifyEmail, me.user_id, at).await?;
    links::retire(&mut tx, Purpose::ResetPassword, me.user_id, at).await?;
    let detail = format!("From {} to {}", me.email, email.display);
    let event = history::Event::from_origin(origin, me.user_id, Kind::EmailChanged, at, &detail);
    history::record(&mut tx, &event).await?;
    if crate::mail::enabled(&state.config) {
        super::verification::service::send_link(&mut tx, state, me.user_id, &email.display, at).await?;
        if let Some(old) = old_verified {
            crate::mail::notices::address_changed(&mut tx, state, &old, &email.display, &event).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
