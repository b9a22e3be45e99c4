//! Security notices by mail: written into the outbox in the transaction of the change they
//! announce, and only to a proven (verified) address. Without mail configured, nothing is written.
//! Domains call it; it calls no domain (it reads the account's address and verification from
//! `users`, and writes single-use links and outbox rows).

use sqlx::AnyConnection;

use crate::core::state::AppState;
use crate::history::{store::Event, Kind};

/// The account's address when it is verified, else `None`: notices by mail go only there, never to
/// an address nobody has proven to own.
pub async fn verified_address(conn: &mut AnyConnection, user_id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT email FROM users WHERE id = $1 AND email_verified_at IS NOT NULL")
        .bind(user_id)
        .fetch_optional(conn)
        .await
}
/// Notices a person may turn off on the security page, with their labels. Every other notice
/// (password changed or reset, two-step turned off, a second-factor lock) is security-critical and
/// always sent.
pub const OPTIONAL: [(&str, &str); 5] = [
    ("new_device", "A sign-in from a new device"),
    ("two_step_on", "Two-step sign-in turned on"),
    ("recovery_codes_regenerated", "New recovery codes made"),
    ("recovery_codes_low", "Recovery codes running low"),
    ("other_devices_signed_out", "All other devices signed out"),
];

/// Where a notice of `kind` goes: the verified address, unless the person turned that (optional)
/// kind off.
async fn recipient(conn: &mut AnyConnection, user_id: i64, kind: &str) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT email, muted_notices FROM users WHERE id = $1 AND email_verified_at IS NOT NULL")
            .bind(user_id)
            .fetch_optional(conn)
            .await?;
    Ok(row.and_then(|(email, muted)| (!muted_kinds(&muted).any(|m| m == kind)).then_some(email)))
}

/// The kinds in a stored `muted_notices` value, optional ones only.
pub fn muted_kinds(stored: &str) -> impl Iterator<Item = &str> {
    stored.split(',').filter(|kind| OPTIONAL.iter().any(|(optional, _)| optional == kind))
}

/// Saves which optional notices the account receives (`wanted`: kind → on); other kinds are
/// ignored, so no critical notice can be turned off.
pub async fn save_choices(db: &crate::core::db::Db, user_id: i64, wanted: &[(&str, bool)]) -> Result<(), sqlx::Error> {
    let muted: Vec<&str> =
        OPTIONAL.iter().map(|(kind, _)| *kind).filter(|kind| wanted.iter().any(|(w, on)| w == kind && !on)).collect();
    sqlx::query("UPDATE users SET muted_notices = $1 WHERE id = $2")
        .bind(muted.join(","))
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Enqueues a notice to the account's proven address, if mail is on and there is one, with a
/// link to the security page.
pub async fn notify(
    conn: &mut AnyConnection,
    state: &AppState,
    user_id: i64,
    kind: &'static str,
    subject: &str,
    paragraphs: &[&str],
    now: i64,
) -> Result<(), sqlx::Error> {
    if !crate::mail::enabled(&state.config) {
        return Ok(());
    }
    let Some(address) = recipient(&mut *conn, user_id, kind).await? else {
        return Ok(());
    };
    let security = format!("{}{}", state.config.public_url, crate::routes::SECURITY);
    let mail =
        crate::mail::compose(&address, kind, subject, paragraphs, Some(("Review your account's security", &security)));
    crate::mail::enqueue(conn, &state.secrets, &mail, now).await?;
    Ok(())
}

/// Fewer unused recovery codes than this: using one sends a notice.
pub const LOW_RECOVERY_CODES: i64 = 3;

/// The notice a security event sends, if its kind has one, written on the event's transaction.
/// `Kind::RecoveryCodeUsed` sends one only when few codes are left (`codes_left`).
pub async fn for_event(
    conn: &mut AnyConnection,
    state: &AppState,
    event: &Event,
    codes_left: Option<i64>,
) -> Result<(), sqlx::Error> {
    let from = event_origin(event);
    let (kind, subject, first): (&'static str, &str, String) = match event.kind {
        Kind::TwoStepOn => ("two_step_on", "Two-step sign-in was turned on", format!("Two-step sign-in was turned on for your Keycard account{from}.")),
        Kind::TwoStepOff => (
            "two_step_off",
            "Two-step sign-in was turned off",
            format!("Two-step sign-in was turned off for your Keycard account{from}. Your password alone now signs in."),
        ),
        Kind::TwoStepResetByAdmin => (
            "two_step_reset_by_admin",
            "Two-step sign-in was turned off by an administrator",
            "A Keycard administrator turned two-step sign-in off for your account, so your password alone now \
             signs in. Turn it on again with your new authenticator on the two-step page."
                .to_owned(),
        ),
        Kind::RecoveryCodesRegenerated => (
            "recovery_codes_regenerated",
            "New recovery codes were made",
            format!("New recovery codes were made for your Keycard account{from}; the old ones no longer work."),
        ),
        Kind::RecoveryCodeUsed if codes_left.is_some_and(|left| left < LOW_RECOVERY_CODES) => (
            "recovery_codes_low",
            "You are running out of recovery codes",
            format!(
                "A recovery code was used to sign in to your Keycard account{from}; {} left. Make new ones on the two-step page.",
                match codes_left.unwrap_or(0) {
                    1 => "1 code is".to_owned(),
                    n => format!("{n} codes are"),
                }
            ),
        ),
        Kind::OtherDevicesSignedOut => (
            "other_devices_signed_out",
            "All your other devices were signed out",
            format!("Every other device signed in to your Keycard account was signed out{from} ({}).", event.detail),
        ),
        Kind::AppConnected => (
            "app_connected",
            "An app was connected to your account",
            format!(
                "An app was connected to your Keycard account{from}: {}. It can act on your account until you sign it \
                 out on the devices page.",
                event.detail
            ),
        ),
        Kind::RefreshTokenReused => (
            "refresh_token_reused",
            "An app's connection to your account was ended",
            format!(
                "An app's connection to your Keycard account was ended because one of its old refresh tokens was used \
                 again{from}. Someone may hold a copy of that app's tokens; connect the app again."
            ),
        ),
        Kind::SecondFactorLocked => (
            "second_factor_locked",
            "Someone knew your password but failed the two-step code",
            format!(
                "Someone entered your Keycard password correctly but then failed the two-step code{from} ({}). \
                 If it was not you, change your password now.",
                event.detail
            ),
        ),
        Kind::PasskeyAdded => (
            "passkey_added",
            "A passkey was added to your account",
            format!(
                "A passkey named \"{}\" was added to your Keycard account{from}. It signs in without your password.",
                event.detail
            ),
        ),
        Kind::PasskeyRemoved => (
            "passkey_removed",
            "A passkey was removed from your account",
            format!("The passkey named \"{}\" was removed from your Keycard account{from}.", event.detail),
        ),
        Kind::PasskeyCounterAnomaly => (
            "passkey_counter_anomaly",
            "A passkey of yours was refused: it may have been copied",
            format!(
                "Keycard refused a sign-in with one of your passkeys{from} ({}). Remove that passkey on the passkeys \
                 page and add it again from a device you trust.",
                event.detail
            ),
        ),
        Kind::PasswordChanged => (
            "password_changed",
            "Your Keycard password was changed",
            format!("The password of your Keycard account was changed{from}."),
        ),
        Kind::PasswordReset => (
            "password_reset_done",
            "Your Keycard password was reset",
            format!("The password of your Keycard account was reset with a link sent to this address{from}."),
        ),
        _ => return Ok(()),
    };
    // What follows the first sentence: for most notices, what to do if it was not you.
    let rest: Vec<String> = match event.kind {
        Kind::PasswordChanged => vec![
            format!("{}.", event.detail),
            "If this was not you, use \"Forgot your password?\" on the sign-in page to choose a new one, and sign out \
             devices you do not recognise."
                .to_owned(),
        ],
        Kind::PasswordReset => vec![
            "Every device signed in to your account was signed out.".to_owned(),
            "If this was not you, someone can read your email: secure your mailbox first, then ask for a new reset \
             link and turn on two-step sign-in."
                .to_owned(),
        ],
        _ => vec!["If this was not you, change your password and sign out devices you do not recognise.".to_owned()],
    };
    let lines: Vec<&str> = std::iter::once(first.as_str()).chain(rest.iter().map(String::as_str)).collect();
    notify(conn, state, event.user_id, kind, subject, &lines, event.at).await
}

/// " from Firefox 133 on Linux at 203.0.113.7, on 2026-11-27 22:58 UTC": where and when a change
/// came from, as much as is known, for the sentences of a mail.
pub fn origin_words(ip: &str, user_agent: &str, at: i64) -> String {
    let when = crate::moment::moment(at, at).exact;
    match (user_agent.is_empty(), ip.is_empty()) {
        (true, true) => format!(", on {when}"),
        (true, false) => format!(" from {ip}, on {when}"),
        (false, _) => {
            let device = crate::core::user_agent::describe(user_agent).name;
            format!(" from {device} at {ip}, on {when}")
        }
    }
}

fn event_origin(event: &Event) -> String {
    origin_words(&event.ip, &event.user_agent, event.at)
}

/// A sign-in from a new device: the notice names the device, address and time, links to the
/// devices page, and carries a single-use "This wasn't me" link that signs that session out.
pub async fn new_device(conn: &mut AnyConnection, state: &AppState, event: &Event) -> Result<(), sqlx::Error> {
    if !crate::mail::enabled(&state.config) {
        return Ok(());
    }
    let (Some(address), Some(handle)) =
        (recipient(&mut *conn, event.user_id, "new_device").await?, &event.session_public_id)
    else {
        return Ok(());
    };
    let token = crate::mail::links::issue_not_me(&mut *conn, event.user_id, &address, handle, event.at).await?;
    let not_me = format!("{}{}?token={}", state.config.public_url, crate::routes::NOT_ME, token.0);
    let devices = format!("{}{}", state.config.public_url, crate::routes::DEVICES);
    let first = format!("Your Keycard account was signed in to{}.", event_origin(event));
    let mail = crate::mail::compose(
        &address,
        "new_device",
        "New sign-in to your Keycard account",
        &[
            &first,
            &format!("If it was you, there is nothing to do. You can review your devices at {devices}"),
            "If it was not you, sign that session out with the link below, then choose a new password.",
        ],
        Some(("This wasn't me", &not_me)),
    );
    crate::mail::enqueue(conn, &state.secrets, &mail, event.at).await?;
    Ok(())
}

/// The account's address was changed: the old (verified) address is told, whatever its settings —
/// if the change was not the owner's, this is how they learn of it.
pub async fn address_changed(
    conn: &mut AnyConnection,
    state: &AppState,
    old_address: &str,
    new_address: &str,
    event: &Event,
) -> Result<(), sqlx::Error> {
    let first =
        format!("The email address of your Keycard account was changed to {new_address}{}.", event_origin(event));
    let security = format!("{}{}", state.config.public_url, crate::routes::SECURITY);
    let mail = crate::mail::compose(
        old_address,
        "email_changed",
        "Your Keycard email address was changed",
        &[
            &first,
            "Mail about your account now goes to the new address.",
            "If this was not you, someone is signed in to your account: ask the Keycard administrator for help \
             at once.",
        ],
        Some(("Review your account's security", &security)),
    );
    crate::mail::enqueue(conn, &state.secrets, &mail, event.at).await?;
    Ok(())
}
