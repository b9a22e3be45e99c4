//! Address verification as plain functions: mail a link (in the caller's transaction), send it
//! again (throttled), and use it. Server functions call these; so do the tests.

use sqlx::AnyConnection;

use super::{LINK_FOR_OLD_ADDRESS, LINK_UNUSABLE};
use crate::accounts::store;
use crate::core::config::Config;
use crate::core::db::Db;
use crate::core::origin::RequestOrigin;
use crate::core::principal::SignedIn;
use crate::core::state::AppState;
use crate::core::throttle::{self, Limit};
use crate::errors::AppError;
use crate::history::{store as history, Kind};
use crate::mail::links::{self, Purpose};

/// The verification mail's subject.
pub const SUBJECT: &str = "Confirm your email address for Keycard";
/// The outbox kind of the verification mail (for logs).
pub const MAIL_KIND: &str = "verify_email";

/// The address the page frame's banner asks to confirm: the signed-in account's, when mail is on
/// and it is not verified yet; otherwise `None`. From the principal and the configuration: no query.
pub fn address_to_confirm(me: &SignedIn, config: &Config) -> Option<String> {
    (crate::mail::enabled(config) && !me.email_verified).then(|| me.email.clone())
}

/// The address of the link's page: `{public_url}/verify-email?token=…` (the token is URL-safe).
pub fn link_url(config: &Config, token: &str) -> String {
    format!("{}{}?token={token}", config.public_url, crate::routes::VERIFY_EMAIL)
}

/// Issues a verification link for `email` of `user_id` and writes its mail into the outbox, both
/// on `conn` (the transaction of the change that calls for it). Callers check that mail is on.
pub async fn send_link(
    conn: &mut AnyConnection,
    state: &AppState,
    user_id: i64,
    email: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let token = links::issue(&mut *conn, Purpose::VerifyEmail, user_id, email, now).await?;
    let url = link_url(&state.config, &token.0);
    let mail = crate::mail::compose(
        email,
        MAIL_KIND,
        SUBJECT,
        &[
            "This email address was given for a Keycard account.",
            "Confirm that the address is yours, so that Keycard can tell you about your account's security. \
             The link works once, within 24 hours.",
            "If that was not you, you can ignore this message.",
        ],
        Some(("Confirm my email address", &url)),
    );
    crate::mail::enqueue(conn, &state.secrets, &mail, now).await?;
    Ok(())
}

/// **Send the link again** for the signed-in account: within [`Limit::verification_mail`]
/// (reserved before any work, and every request counts), the earlier unused links stop working,
/// and a new link and its mail are written, in one transaction. Nothing happens for an address
/// already verified; with mail off there is nothing to send ([`AppError::NotFound`]).
pub async fn send_again(state: &AppState, me: &SignedIn, now: i64) -> Result<(), AppError> {
    if !crate::mail::enabled(&state.config) {
        return Err(AppError::NotFound);
    }
    if me.email_verified {
        return Ok(());
    }
    let permits = throttle::reserve(&state.db, &[Limit::verification_mail(me.user_id)]).await?;
    let mut tx = state.db.pool.begin().await?;
    links::retire(&mut tx, Purpose::VerifyEmail, me.user_id, now).await?;
    send_link(&mut tx, state, me.user_id, &me.email, now).await?;
    tx.commit().await?;
    permits.succeeded(&state.db).await
}

/// Uses the verification link `token`: in one transaction the link is spent, the account's
/// address is marked verified (only while it is still the address the link was sent to) and an
/// `email_verified` event is recorded. Returns the account's id. An unknown, expired, used or
/// other-purpose token changes nothing and is [`AppError::Invalid`] with [`LINK_UNUSABLE`]; of
/// simultaneous uses of one link exactly one succeeds (`links::consume`).
pub async fn confirm(db: &Db, token: &str, origin: &RequestOrigin, now: i64) -> Result<i64, AppError> {
    let mut tx = db.pool.begin().await?;
    let Some(links::UsedLink { user_id, email, .. }) =
        links::consume(&mut tx, Purpose::VerifyEmail, token, now).await?
    else {
        return Err(AppError::Invalid(LINK_UNUSABLE.into()));
    };
    if !store::set_email_verified(&mut tx, user_id, &email, now).await? {
        // Dropping the transaction rolls the link's use back: nothing changes.
        return Err(AppError::Invalid(LINK_FOR_OLD_ADDRESS.into()));
    }
    let event = history::Event::from_origin(origin, user_id, Kind::EmailVerified, now, &email);
    history::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(user_id)
}

/// Whether `token` is an unused, unexpired verification link (the page's read-only check).
pub async fn link_usable(db: &Db, token: &str, now: i64) -> Result<bool, AppError> {
    Ok(links::peek(db, Purpose::VerifyEmail, token, now).await?.is_some())
}
