//! The passkey flows, as plain functions the server's handlers and the tests call.
//!
//! Every way a passkey gets someone in is limited like the other ways in: signing in with a
//! passkey alone reserves an attempt of the address's sign-in budget before anything is
//! checked, then (once the passkey names an account) one of the account's second-factor budget;
//! at the code step, the account's second-factor budget, as codes do. Failures are recorded in
//! the history; a signature counter that went backwards (a cloned authenticator) is refused and
//! raised as an alert; a passkey whose backup state changed is noted.

use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, WebauthnError,
};

use super::ceremony::{self, Binding, Purpose};
use super::store::{self, NewPasskey, StoredPasskey};
use super::{AuthenticatorKind, PasskeyView, PasskeysPageView, MAX_NAME_CHARS, MAX_PASSKEYS};
use crate::core::origin::RequestOrigin;
use crate::core::principal::{EndReason, SignedIn};
use crate::core::state::AppState;
use crate::core::throttle::{self, Limit, Permits};
use crate::errors::AppError;
use crate::history::{store as history, Kind};
use crate::sessions::keys::SignInMethod;
use crate::sessions::lifecycle::{self, Sessions};
use crate::sessions::sign_in::{record_reauthentication, start_session, Start};
use crate::sessions::sign_out::{forget, sign_out};
use crate::two_step::service::{record_failure, Attempt, CodeStep};

/// Said when the browser's answer does not check out (wrong origin, bad signature, wrong passkey).
pub const NOT_ACCEPTED: &str = "That passkey was not accepted. Try again, or sign in another way.";
/// Said when a passkey names no account here.
pub const UNKNOWN_PASSKEY: &str =
    "Keycard does not know that passkey. Sign in with your password, then add a passkey on the passkeys page.";
/// Said when a passkey's signature counter went backwards.
pub const CLONED: &str =
    "That passkey was refused because it may have been copied. Sign in another way and check your passkeys.";

/// A started ceremony: the sealed state to send back, and the options for the browser's
/// `navigator.credentials` call (JSON, as webauthn-rs writes them).
#[derive(Debug)]
pub struct Started {
    pub ceremony: String,
    pub options: serde_json::Value,
}

fn started<S: serde::Serialize>(ceremony: String, options: &S) -> Result<Started, AppError> {
    Ok(Started { ceremony, options: serde_json::to_value(options)? })
}

/// The passkeys page's data.
pub async fn page(state: &AppState, user_id: i64) -> Result<PasskeysPageView, AppError> {
    let t = state.db.clock.now();
    let passkeys = store::list(&state.db, user_id)
        .await?
        .into_iter()
        .map(|p| PasskeyView {
            id: p.id,
            name: p.name,
            created: crate::moment::moment(p.created_at, t),
            last_used: p.last_used_at.map(|at| crate::moment::moment(at, t)),
            kind: AuthenticatorKind::label_of(&p.kind).to_owned(),
        })
        .collect();
    let origin = state.config.relying_party().origin_text();
    Ok(PasskeysPageView { passkeys, origin })
}

/// A passkey's name as typed: trimmed, at most [`MAX_NAME_CHARS`], without control characters;
/// empty becomes the browser's name ("Chrome on Linux").
pub fn clean_name(typed: &str, user_agent: &str) -> Result<String, AppError> {
    let name = typed.trim();
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::Invalid(format!("A passkey name is at most {MAX_NAME_CHARS} characters.")));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::Invalid("A passkey name cannot contain control characters.".into()));
    }
    if name.is_empty() {
        let device = crate::history::device_name(user_agent);
        return Ok(if device.is_empty() { "Passkey".to_owned() } else { device });
    }
    Ok(name.to_owned())
}

/// Starts adding a passkey for `me` (the caller checked the re-authentication): discoverable
/// (the passkey can name the account at sign-in), user verification required.
pub async fn start_registration(state: &AppState, me: &SignedIn) -> Result<Started, AppError> {
    let existing = store::list(&state.db, me.user_id).await?;
    if existing.len() as i64 >= MAX_PASSKEYS {
        return Err(AppError::Invalid(format!("An account can have at most {MAX_PASSKEYS} passkeys.")));
    }
    let handle = store::user_handle(&state.db, me.user_id).await?;
    let exclude = existing.iter().map(|p| p.passkey.cred_id().clone()).collect();
    let (options, registration): (CreationChallengeResponse, PasskeyRegistration) =
        ceremony::webauthn(state)?.start_passkey_registration(handle, &me.email, &me.email, Some(exclude))?;
    let binding = Binding::Session { user_id: me.user_id, handle: &me.handle };
    let mut started = started(ceremony::seal(state, Purpose::Register, &binding, &registration), &options)?;
    // A passkey that can sign in without an email typed first must live on the authenticator
    // (a discoverable credential); webauthn-rs leaves that to the authenticator by default.
    if let Some(selection) = started.options.pointer_mut("/publicKey/authenticatorSelection") {
        selection["residentKey"] = "required".into();
        selection["requireResidentKey"] = true.into();
    }
    Ok(started)
}

/// What the browser sent back after creating a passkey.
pub struct Registration<'a> {
    pub ceremony: &'a str,
    pub name: &'a str,
    /// `PublicKeyCredential.toJSON()` of the new credential.
    pub credential_json: &'a str,
}

/// Finishes adding a passkey: the state must be the one sealed for this account and session,
/// unused and unexpired; the credential must verify for Keycard's origin. Records
/// `passkey_added` (with a notice) in the same transaction as the row. Returns the name.
pub async fn finish_registration(
    state: &AppState,
    me: &SignedIn,
    reg: Registration<'_>,
    origin: &RequestOrigin,
) -> Result<String, AppError> {
    let name = clean_name(reg.name, &origin.user_agent)?;
    let binding = Binding::Session { user_id: me.user_id, handle: &me.handle };
    let registration: PasskeyRegistration =
        ceremony::take_once(state, reg.ceremony, Purpose::Register, &binding).await?;
    let credential: RegisterPublicKeyCredential =
        serde_json::from_str(reg.credential_json).map_err(|_| AppError::BadRequest)?;
    let passkey =
        ceremony::webauthn(state)?.finish_passkey_registration(&credential, &registration).map_err(|err| {
            tracing::info!(error = %err, "passkey registration refused");
            AppError::Invalid(NOT_ACCEPTED.into())
        })?;
    let attachment = serde_json::from_str::<serde_json::Value>(reg.credential_json)
        .ok()
        .and_then(|v| v.get("authenticatorAttachment").and_then(|a| a.as_str()).map(str::to_owned));
    let transports: Vec<String> = credential
        .response
        .transports
        .iter()
        .flatten()
        .filter_map(|t| serde_json::to_value(t).ok()?.as_str().map(str::to_owned))
        .collect();
    let (backup_eligible, _) = backup_flags(&passkey);
    let kind = AuthenticatorKind::from_registration(backup_eligible, &transports, attachment.as_deref());
    let credential_id = data_encoding::BASE64URL_NOPAD.encode(passkey.cred_id().as_ref());
    let t = state.db.clock.now();
    let mut tx = state.db.pool.begin().await?;
    let new = NewPasskey {
        user_id: me.user_id,
        credential_id: &credential_id,
        name: &name,
        passkey: &passkey,
        kind: kind.as_str(),
        at: t,
    };
    if !store::insert(&mut tx, &new).await? {
        return Err(AppError::Invalid(
            "That passkey is already added, or the account has as many passkeys as it can.".into(),
        ));
    }
    let mut event = history::Event::from_origin(origin, me.user_id, Kind::PasskeyAdded, t, &name);
    event.session_public_id = Some(me.handle.clone());
    history::record(&mut tx, &event).await?;
    crate::mail::notices::for_event(&mut tx, state, &event, None).await?;
    tx.commit().await?;
    Ok(name)
}

/// Options for signing in with a passkey alone (discoverable: no email typed). Writes nothing.
pub fn start_sign_in(state: &AppState) -> Result<Started, AppError> {
    let (options, authentication) = ceremony::webauthn(state)?.start_discoverable_authentication()?;
    started(ceremony::seal(state, Purpose::SignIn, &Binding::Nobody, &authentication), &options)
}

/// What the browser sent back after using a passkey.
pub struct Assertion<'a> {
    pub ceremony: &'a str,
    /// `PublicKeyCredential.toJSON()` of the assertion.
    pub credential_json: &'a str,
}

/// Checks a passkey-alone sign-in. Returns the account it signs in to; the caller starts the
/// session. One attempt of the address's sign-in budget is reserved first; once the passkey names
/// an account, one of that account's second-factor budget too.
pub async fn finish_sign_in(
    state: &AppState,
    assertion: Assertion<'_>,
    origin: &RequestOrigin,
) -> Result<i64, AppError> {
    let ip_permit = throttle::reserve(&state.db, &[Limit::sign_in_ip(&origin.ip)]).await?;
    let outcome = identify(state, &assertion).await;
    let (found, credential, authentication) = match outcome {
        Ok(found) => found,
        Err(err) => {
            fail_quietly(state, &ip_permit).await?;
            return Err(err);
        }
    };
    let account_permit = match throttle::reserve(&state.db, &[Limit::second_factor(found.user_id)]).await {
        Ok(permit) => permit,
        Err(err) => {
            fail_quietly(state, &ip_permit).await?;
            return Err(err);
        }
    };
    let keys = [DiscoverableKey::from(&found.passkey)];
    match ceremony::webauthn(state)?.finish_discoverable_authentication(&credential, authentication, &keys) {
        Ok(result) => {
            ip_permit.succeeded(&state.db).await?;
            account_permit.succeeded(&state.db).await?;
            let user_id = found.user_id;
            after_use(state, found, &result, None, origin).await?;
            Ok(user_id)
        }
        Err(err) => {
            fail_quietly(state, &ip_permit).await?;
            let attempt = Attempt {
                session_public_id: None,
                origin,
                failure_detail: "Passkey not accepted",
                failure_kind: Kind::SignInFailed,
            };
            Err(refused(state, &found, &account_permit, attempt, err).await?)
        }
    }
}

/// Opens the sign-in state and finds the passkey the browser's answer names.
async fn identify(
    state: &AppState,
    assertion: &Assertion<'_>,
) -> Result<(StoredPasskey, PublicKeyCredential, DiscoverableAuthentication), AppError> {
    let authentication: DiscoverableAuthentication =
        ceremony::take_once(state, assertion.ceremony, Purpose::SignIn, &Binding::Nobody).await?;
    let credential: PublicKeyCredential =
        serde_json::from_str(assertion.credential_json).map_err(|_| AppError::BadRequest)?;
    let (handle, credential_id) = ceremony::webauthn(state)?
        .identify_discoverable_authentication(&credential)
        .map_err(|_| AppError::Invalid(UNKNOWN_PASSKEY.into()))?;
    let credential_id = data_encoding::BASE64URL_NOPAD.encode(credential_id);
    let found = store::find_for_sign_in(&state.db, &credential_id, handle)
        .await?
        .ok_or_else(|| AppError::Invalid(UNKNOWN_PASSKEY.into()))?;
    Ok((found, credential, authentication))
}

/// A failed attempt that names no account yet: counted against the address only.
async fn fail_quietly(state: &AppState, permit: &Permits) -> Result<(), AppError> {
    let mut conn = state.db.pool.acquire().await?;
    permit.failed(&mut conn).await
}

/// A passkey that did not check out: counted against the account's second-factor budget with its
/// history event; a counter that went backwards is raised as an alert with a notice. Returns the
/// refusal to answer with (an error only when recording failed).
async fn refused(
    state: &AppState,
    found: &StoredPasskey,
    permit: &Permits,
    attempt: Attempt<'_>,
    err: WebauthnError,
) -> Result<AppError, AppError> {
    tracing::info!(error = %err, passkey = found.id, "passkey assertion refused");
    let cloned = matches!(err, WebauthnError::CredentialPossibleCompromise);
    if cloned {
        let mut tx = state.db.pool.begin().await?;
        let detail = format!("{}: its signature counter went backwards, so it may have been copied", found.name);
        let at = state.db.clock.now();
        let event =
            history::Event::from_origin(attempt.origin, found.user_id, Kind::PasskeyCounterAnomaly, at, &detail);
        history::record_alert(&mut tx, &event).await?;
        crate::mail::notices::for_event(&mut tx, state, &event, None).await?;
        tx.commit().await?;
    }
    record_failure(state, found.user_id, permit, attempt).await?;
    Ok(AppError::Invalid(if cloned { CLONED } else { NOT_ACCEPTED }.into()))
}

/// After a passkey was accepted: its counter and backup state are stored with when it was used,
/// and a change of backup state is noted in the history, together.
async fn after_use(
    state: &AppState,
    mut found: StoredPasskey,
    result: &webauthn_rs::prelude::AuthenticationResult,
    session_public_id: Option<&str>,
    origin: &RequestOrigin,
) -> Result<(), AppError> {
    let (_, was_backed_up) = backup_flags(&found.passkey);
    found.passkey.update_credential(result);
    let t = state.db.clock.now();
    let mut tx = state.db.pool.begin().await?;
    store::record_use(&mut tx, found.id, &found.passkey, t).await?;
    if result.backup_state() != was_backed_up {
        let detail = if result.backup_state() {
            format!("{} is now backed up (synced to other devices)", found.name)
        } else {
            format!("{} is no longer backed up", found.name)
        };
        let mut event = history::Event::from_origin(origin, found.user_id, Kind::PasskeyBackupChanged, t, &detail);
        event.session_public_id = session_public_id.map(str::to_owned);
        history::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Whether a passkey may be backed up (synced), and whether it is: read from its stored form
/// (webauthn-rs keeps its credential's fields private).
fn backup_flags(passkey: &Passkey) -> (bool, bool) {
    let stored = serde_json::to_value(passkey).unwrap_or_default();
    let flag = |name: &str| stored.pointer(&format!("/cred/{name}")).and_then(|v| v.as_bool()).unwrap_or(false);
    (flag("backup_eligible"), flag("backup_state"))
}

/// Options for a passkey of `me`'s own account (the code step, the re-authentication prompt):
/// they name the account's passkeys, and the state is bound to the account and this session.
pub async fn start_for_account(state: &AppState, me: &SignedIn, purpose: Purpose) -> Result<Started, AppError> {
    let passkeys: Vec<Passkey> = store::list(&state.db, me.user_id).await?.into_iter().map(|p| p.passkey).collect();
    if passkeys.is_empty() {
        return Err(AppError::Invalid("This account has no passkeys.".into()));
    }
    let (options, authentication) = ceremony::webauthn(state)?.start_passkey_authentication(&passkeys)?;
    let binding = Binding::Session { user_id: me.user_id, handle: &me.handle };
    started(ceremony::seal(state, purpose, &binding, &authentication), &options)
}

/// How a passkey of the account's own checked out.
#[derive(Debug, PartialEq, Eq)]
enum AccountPasskey {
    Accepted,
    /// Refused; the account's budget allows more.
    Refused(AppError),
    /// This failure locked the account's second factor: the caller ends the session.
    LockedOut,
}

/// A passkey of `me`'s account, within the account's second-factor budget (reserved first, shared
/// with codes): any failure, even a state that does not open or another account's passkey, is one
/// attempt of that budget, recorded with `failure_detail`.
async fn check_account_passkey(
    state: &AppState,
    me: &SignedIn,
    assertion: Assertion<'_>,
    purpose: Purpose,
    failure_detail: &str,
    origin: &RequestOrigin,
) -> Result<AccountPasskey, AppError> {
    let binding = Binding::Session { user_id: me.user_id, handle: &me.handle };
    let permit = throttle::reserve(&state.db, &[Limit::second_factor(me.user_id)]).await?;
    let opened = async {
        let authentication: PasskeyAuthentication =
            ceremony::take_once(state, assertion.ceremony, purpose, &binding).await?;
        let credential: PublicKeyCredential =
            serde_json::from_str(assertion.credential_json).map_err(|_| AppError::BadRequest)?;
        let credential_id = data_encoding::BASE64URL_NOPAD.encode(credential.get_credential_id());
        let found = store::list(&state.db, me.user_id)
            .await?
            .into_iter()
            .find(|p| data_encoding::BASE64URL_NOPAD.encode(p.passkey.cred_id().as_ref()) == credential_id)
            .ok_or_else(|| AppError::Invalid(NOT_ACCEPTED.into()))?;
        Ok::<_, AppError>((authentication, credential, found))
    }
    .await;
    let attempt =
        Attempt { session_public_id: Some(&me.handle), origin, failure_detail, failure_kind: Kind::CodeFailed };
    let refusal = match opened {
        Ok((authentication, credential, found)) => {
            match ceremony::webauthn(state)?.finish_passkey_authentication(&credential, &authentication) {
                Ok(result) => {
                    permit.succeeded(&state.db).await?;
                    crate::core::metrics::second_factor("passed_passkey");
                    after_use(state, found, &result, Some(&me.handle), origin).await?;
                    return Ok(AccountPasskey::Accepted);
                }
                Err(err) => refused(state, &found, &permit, attempt, err).await?,
            }
        }
        Err(err) => {
            record_failure(state, me.user_id, &permit, attempt).await?;
            err
        }
    };
    Ok(if permit.locks() { AccountPasskey::LockedOut } else { AccountPasskey::Refused(refusal) })
}

/// A passkey instead of a code at the code step of the half-signed-in session `me`, within the
/// account's second-factor budget like a code. When accepted, the half-signed-in row ends (once)
/// and a full session starts under a fresh id; when a failure locks the budget, every
/// half-signed-in session of the account ends and this browser starts again with its password.
pub async fn finish_code_step(
    state: &AppState,
    session: &tower_sessions::Session,
    me: &SignedIn,
    assertion: Assertion<'_>,
    origin: RequestOrigin,
) -> Result<CodeStep, AppError> {
    use crate::core::metrics::{sign_in, sign_in_refused, SignInOutcome};
    match check_account_passkey(state, me, assertion, Purpose::CodeStep, "Passkey not accepted", &origin)
        .await
        .map_err(sign_in_refused)?
    {
        AccountPasskey::Accepted => {
            if !lifecycle::finish_password_step(&state.db, &me.id_hash).await? {
                return Err(AppError::NotSignedIn);
            }
            let start = Start::SignIn(SignInMethod::PasswordAndPasskey);
            start_session(session, state, me.user_id, start, me.remember, origin).await?;
            Ok(CodeStep::SignedIn)
        }
        AccountPasskey::Refused(err) => {
            sign_in(SignInOutcome::CodeFailed);
            Err(err)
        }
        AccountPasskey::LockedOut => {
            sign_in(SignInOutcome::CodeFailed);
            lifecycle::end_sessions_now(&state.db, Sessions::CodeStepOf(me.user_id), EndReason::SignedOut).await?;
            forget(session).await?;
            Ok(CodeStep::LockedOut)
        }
    }
}

/// How confirming it's you with a passkey ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reauthentication {
    /// Proven (the passkey verified the person): recorded, and the session runs on under a new id.
    Confirmed,
    /// This failure locked the account's second factor, so the session was signed out (as after
    /// wrong answers at the prompt).
    SignedOut,
}

/// Confirming it's you with a passkey of the account, instead of the password (and code): a
/// passkey with user verification is both factors. Within the account's second-factor budget.
pub async fn reauthenticate(
    state: &AppState,
    session: &tower_sessions::Session,
    me: &SignedIn,
    assertion: Assertion<'_>,
    origin: &RequestOrigin,
) -> Result<Reauthentication, AppError> {
    let detail = "Passkey not accepted when confirming it was you";
    match check_account_passkey(state, me, assertion, Purpose::Reauth, detail, origin).await? {
        AccountPasskey::Accepted => {
            record_reauthentication(session, me, state.db.clock.now()).await?;
            Ok(Reauthentication::Confirmed)
        }
        AccountPasskey::Refused(err) => Err(err),
        AccountPasskey::LockedOut => {
            sign_out(session, state).await?;
            Ok(Reauthentication::SignedOut)
        }
    }
}

/// Renames the account's passkey `id` (with a `passkey_renamed` event).
pub async fn rename(
    state: &AppState,
    me: &SignedIn,
    id: i64,
    typed: &str,
    origin: &RequestOrigin,
) -> Result<(), AppError> {
    let name = clean_name(typed, &origin.user_agent)?;
    let mut tx = state.db.pool.begin().await?;
    let Some(old) = store::rename(&mut tx, me.user_id, id, &name).await? else {
        return Err(AppError::NotFound);
    };
    if old != name {
        let detail = format!("{old} → {name}");
        let mut event =
            history::Event::from_origin(origin, me.user_id, Kind::PasskeyRenamed, state.db.clock.now(), &detail);
        event.session_public_id = Some(me.handle.clone());
        history::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Removes the account's passkey `id` (the caller checked the re-authentication), with a
/// `passkey_removed` event and a notice, in one transaction.
pub async fn remove(state: &AppState, me: &SignedIn, id: i64, origin: &RequestOrigin) -> Result<(), AppError> {
    let mut tx = state.db.pool.begin().await?;
    let Some(name) = store::remove(&mut tx, me.user_id, id).await? else {
        return Err(AppError::NotFound);
    };
    let mut event = history::Event::from_origin(origin, me.user_id, Kind::PasskeyRemoved, state.db.clock.now(), &name);
    event.session_public_id = Some(me.handle.clone());
    history::record(&mut tx, &event).await?;
    crate::mail::notices::for_event(&mut tx, state, &event, None).await?;
    tx.commit().await?;
    Ok(())
}
