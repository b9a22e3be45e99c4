//! The two-step flows as plain functions over [`AppState`]: enrolment, checking a second factor
//! (with the code-step throttle), recovery codes, turning off. Server functions call these; so do
//! the tests.

use tower_sessions::Session;

use super::{recovery, store, totp, Enrolment, TwoStepView};
use crate::core::origin::RequestOrigin;
use crate::core::principal::{EndReason, SignedIn};
use crate::core::state::AppState;
use crate::core::throttle::{self, Limit, Permits};
use crate::errors::AppError;
use crate::sessions::keys::{SignInMethod, FRESH_RECOVERY_CODES};
use crate::sessions::lifecycle::{self, Sessions};
use crate::sessions::sign_in::{start_session, Start};
use crate::sessions::sign_out::forget;

fn secret_context(user_id: i64) -> String {
    format!("totp-secret:user:{user_id}")
}

fn fresh_codes_context(user_id: i64) -> String {
    format!("fresh-recovery-codes:user:{user_id}")
}

/// Which second factor was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    Code,
    RecoveryCode,
}

/// What the two-step page shows for this account. Fresh recovery codes are taken out of the
/// session: they are shown once.
pub async fn status(state: &AppState, session: &Session, user_id: i64, email: &str) -> Result<TwoStepView, AppError> {
    let row = store::totp_row(&state.db, user_id).await?;
    let enabled = row.as_ref().is_some_and(|r| r.enabled);
    let pending = match row {
        Some(row) if !row.enabled => Some(enrolment(state, user_id, email, &row.secret)?),
        _ => None,
    };
    let recovery_codes_left = if enabled { store::recovery_codes_left(&state.db, user_id).await? } else { 0 };
    let fresh_recovery_codes = take_fresh_codes(state, session, user_id).await?;
    Ok(TwoStepView { enabled, pending, recovery_codes_left, fresh_recovery_codes })
}

fn open_secret(state: &AppState, user_id: i64, sealed: &str) -> Result<Vec<u8>, AppError> {
    state.secrets.open(&secret_context(user_id), sealed).map_err(|_| {
        AppError::internal(format!("the TOTP secret of user {user_id} does not open with this server's key"))
    })
}

fn enrolment(state: &AppState, user_id: i64, email: &str, sealed: &str) -> Result<Enrolment, AppError> {
    let secret = open_secret(state, user_id, sealed)?;
    let otpauth_uri = totp::otpauth_uri(&secret, &state.config.totp_issuer, email);
    let qr_svg = totp::qr_svg(&otpauth_uri).map_err(AppError::internal)?;
    Ok(Enrolment { setup_key: totp::setup_key(&secret), otpauth_uri, qr_svg })
}

/// Starts (or restarts) an enrolment with a fresh secret. Two-step stays off until
/// [`confirm_enrolment`]; a person who walks away leaves it off.
pub async fn begin_enrolment(state: &AppState, user_id: i64) -> Result<(), AppError> {
    let sealed = state.secrets.seal(&secret_context(user_id), &totp::new_secret());
    if !store::begin_enrolment(&state.db, user_id, &sealed, state.db.clock.now()).await? {
        return Err(AppError::Invalid("Two-step sign-in is already on.".into()));
    }
    Ok(())
}

/// Confirms the pending enrolment with a current code: two-step turns on and the first recovery
/// codes are made. Returns the codes (to show once).
pub async fn confirm_enrolment(
    state: &AppState,
    user_id: i64,
    code: &str,
    origin: &RequestOrigin,
) -> Result<Vec<String>, AppError> {
    let row = store::totp_row(&state.db, user_id).await?;
    let Some(row) = row.filter(|r| !r.enabled) else {
        return Err(AppError::Invalid("Start by choosing Turn on two-step sign-in.".into()));
    };
    let secret = open_secret(state, user_id, &row.secret)?;
    let totp::Check::Accepted(step) = totp::check(&secret, code, state.db.clock.now(), row.last_used_step) else {
        return Err(AppError::Invalid(
            "That code is not correct. Enter the 6-digit code your authenticator app shows now.".into(),
        ));
    };
    let codes = recovery::generate();
    let hashes = hash_codes(state, &codes);
    if !store::confirm_enrolment(state, user_id, step, &hashes, origin, state.db.clock.now()).await? {
        return Err(AppError::Invalid("Start by choosing Turn on two-step sign-in.".into()));
    }
    Ok(codes)
}

fn hash_codes(state: &AppState, codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .map(|c| recovery::hash(&state.secrets, &recovery::normalise(c).expect("generated codes are well formed")))
        .collect()
}

/// Checks a 6-digit code or a recovery code and consumes it. Nothing is counted here: every way in
/// calls [`check_factor_within_budget`], which reserves an attempt on the account first.
pub async fn check_factor(
    state: &AppState,
    user_id: i64,
    input: &str,
    origin: &RequestOrigin,
) -> Result<Factor, AppError> {
    let row = store::totp_row(&state.db, user_id).await?;
    let Some(row) = row.filter(|r| r.enabled) else {
        return Err(AppError::WrongCode);
    };
    if totp::normalise_code(input).is_some() {
        let secret = open_secret(state, user_id, &row.secret)?;
        return match totp::check(&secret, input, state.db.clock.now(), row.last_used_step) {
            totp::Check::Accepted(step) => {
                if store::use_step(&state.db, user_id, step).await? {
                    Ok(Factor::Code)
                } else {
                    // Another request used this step (or a newer one) between our read and write.
                    Err(AppError::CodeAlreadyUsed)
                }
            }
            totp::Check::Replayed => Err(AppError::CodeAlreadyUsed),
            totp::Check::Wrong => Err(AppError::WrongCode),
        };
    }
    let Some(normalised) = recovery::normalise(input) else {
        return Err(AppError::WrongCode);
    };
    let hash = recovery::hash(&state.secrets, &normalised);
    if store::use_recovery_code(state, user_id, &hash, origin, state.db.clock.now()).await? {
        Ok(Factor::RecoveryCode)
    } else {
        Err(AppError::WrongCode)
    }
}

/// The answer to a second factor typed at a way in (the code step, the re-authentication prompt).
#[derive(Debug, PartialEq, Eq)]
pub enum StepOutcome {
    Passed(Factor),
    /// Wrong or replayed; the account's budget allows more.
    Refused(AppError),
    /// This failure locked the account's second factor for a while: the caller ends the session
    /// that typed it.
    LockedOut,
}

/// Where a second factor was typed, for the history.
#[derive(Clone, Copy, Debug)]
pub struct Attempt<'a> {
    /// The session typing it (its public handle), which the history names.
    pub session_public_id: Option<&'a str>,
    /// Where it was typed from.
    pub origin: &'a RequestOrigin,
    /// "Wrong code" at sign-in, something more specific elsewhere.
    pub failure_detail: &'a str,
    /// The failure's event: `code_failed` for a second step, `sign_in_failed` for a passkey alone.
    pub failure_kind: crate::history::Kind,
}

/// [`check_factor`] within the account's second-factor budget ([`Limit::second_factor`]):
/// one attempt is reserved before the code is looked at (refused with 429 while the account is
/// locked), a correct code clears the budget, a wrong one is recorded with its `code_failed`
/// event, and a failure that locks the budget adds a `second_factor_locked` event (the first of
/// a series raises an alert on the account's other sessions).
pub async fn check_factor_within_budget(
    state: &AppState,
    user_id: i64,
    input: &str,
    attempt: Attempt<'_>,
) -> Result<StepOutcome, AppError> {
    use crate::core::metrics::second_factor;
    let permits = match throttle::reserve(&state.db, &[Limit::second_factor(user_id)]).await {
        Ok(permits) => permits,
        Err(err) => {
            if matches!(err, AppError::TooManyAttempts { .. }) {
                second_factor("throttled");
            }
            return Err(err);
        }
    };
    match check_factor(state, user_id, input, attempt.origin).await {
        Ok(factor) => {
            permits.succeeded(&state.db).await?;
            second_factor(match factor {
                Factor::Code => "passed_code",
                Factor::RecoveryCode => "passed_recovery_code",
            });
            Ok(StepOutcome::Passed(factor))
        }
        Err(err @ (AppError::WrongCode | AppError::CodeAlreadyUsed)) => {
            let locked = permits.locks();
            record_failure(state, user_id, &permits, attempt).await?;
            second_factor(match (&err, locked) {
                (_, true) => "locked",
                (AppError::CodeAlreadyUsed, _) => "replayed",
                _ => "wrong",
            });
            if locked {
                tracing::warn!(user_id, "second factor locked after wrong codes");
                return Ok(StepOutcome::LockedOut);
            }
            Ok(StepOutcome::Refused(err))
        }
        Err(other) => Err(other),
    }
}

/// How the code step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeStep {
    /// Signed in: a full session runs under a fresh id.
    SignedIn,
    /// This failure locked the account's second factor: every half-signed-in session of the
    /// account ended, this browser's cookie is cleared, and it starts again with the password.
    LockedOut,
}

/// The code step of the half-signed-in session `me`: the code is checked within the account's
/// budget; when right, the half-signed-in row is ended (exactly once, so concurrent correct codes
/// yield one session) and a full session starts under a fresh id.
pub async fn complete_sign_in(
    state: &AppState,
    session: &Session,
    me: &SignedIn,
    code: &str,
    origin: RequestOrigin,
) -> Result<CodeStep, AppError> {
    use crate::core::metrics::{sign_in, sign_in_refused, SignInOutcome};
    let attempt = Attempt {
        session_public_id: Some(&me.handle),
        origin: &origin,
        failure_detail: "Wrong code",
        failure_kind: crate::history::Kind::CodeFailed,
    };
    match check_factor_within_budget(state, me.user_id, code, attempt).await.map_err(sign_in_refused)? {
        StepOutcome::Passed(factor) => {
            if !lifecycle::finish_password_step(&state.db, &me.id_hash).await? {
                return Err(AppError::NotSignedIn);
            }
            let method = match factor {
                Factor::Code => SignInMethod::PasswordAndCode,
                Factor::RecoveryCode => SignInMethod::RecoveryCode,
            };
            start_session(session, state, me.user_id, Start::SignIn(method), me.remember, origin).await?;
            Ok(CodeStep::SignedIn)
        }
        StepOutcome::Refused(err) => Err(sign_in_refused(err)),
        StepOutcome::LockedOut => {
            sign_in(SignInOutcome::CodeFailed);
            lifecycle::end_sessions_now(&state.db, Sessions::CodeStepOf(me.user_id), EndReason::SignedOut).await?;
            forget(session).await?;
            Ok(CodeStep::LockedOut)
        }
    }
}

/// The failure's event (`code_failed` for a second step) and, when this failure locks the
/// budget, the lock's event, together.
pub async fn record_failure(
    state: &AppState,
    user_id: i64,
    permits: &Permits,
    attempt: Attempt<'_>,
) -> Result<(), AppError> {
    use crate::history::{store as history, Kind};
    let at = state.db.clock.now();
    let event = |kind: Kind, detail: &str| {
        let mut event = history::Event::from_origin(attempt.origin, user_id, kind, at, detail);
        event.session_public_id = attempt.session_public_id.map(str::to_owned);
        event
    };
    let mut tx = state.db.pool.begin().await?;
    permits.failed(&mut tx).await?;
    history::record(&mut tx, &event(attempt.failure_kind, attempt.failure_detail)).await?;
    if let Some(permit) = permits.held.iter().find(|p| p.locks()) {
        let wait = crate::errors::wait_text(permit.limit.block_after(permit.attempts));
        let lock = event(Kind::SecondFactorLocked, &format!("{} wrong codes; next try in {wait}", permit.attempts));
        if permit.first_lock() {
            // The first lock of a series raises an alert and sends the owner a notice.
            history::record_alert(&mut tx, &lock).await?;
            crate::mail::notices::for_event(&mut tx, state, &lock, None).await?;
        } else {
            history::record(&mut tx, &lock).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A new set of recovery codes replaces the old one (in one transaction). Returns the codes.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    user_id: i64,
    origin: &RequestOrigin,
) -> Result<Vec<String>, AppError> {
    let codes = recovery::generate();
    let hashes = hash_codes(state, &codes);
    if !store::replace_recovery_codes(state, user_id, &hashes, origin, state.db.clock.now()).await? {
        return Err(AppError::Invalid("Two-step sign-in is off.".into()));
    }
    Ok(codes)
}

/// Turns two-step off: the secret and the recovery codes are deleted.
pub async fn disable(state: &AppState, user_id: i64, origin: &RequestOrigin) -> Result<(), AppError> {
    Ok(store::disable(state, user_id, origin).await?)
}

/// Keeps just-made codes in the session, sealed, until the page shows them once.
pub async fn stash_fresh_codes(
    state: &AppState,
    session: &Session,
    user_id: i64,
    codes: &[String],
) -> Result<(), AppError> {
    let json = serde_json::to_vec(codes)?;
    let sealed = state.secrets.seal(&fresh_codes_context(user_id), &json);
    FRESH_RECOVERY_CODES.insert(session, &sealed).await
}

async fn take_fresh_codes(state: &AppState, session: &Session, user_id: i64) -> Result<Vec<String>, AppError> {
    let Some(sealed) = FRESH_RECOVERY_CODES.take_shown_once(session).await? else {
        return Ok(Vec::new());
    };
    let json = state.secrets.open(&fresh_codes_context(user_id), &sealed).unwrap_or_default();
    Ok(serde_json::from_slice(&json).unwrap_or_default())
}
