//! Re-authentication for sensitive changes (turning two-step on or off, new recovery codes,
//! password change, deletion, history export): the person enters the password (and a current
//! code when two-step is on) on `/security/confirm`; the time is kept in the session as
//! `reauth_at` and the session gets a new id; sensitive server functions call [`require_recent`],
//! which sends a stale session to the prompt and back. Answers count against the same
//! per-account limits as sign-in ([`crate::core::throttle`]).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::app::action_error;
use crate::errors::AppError;

/// The prompt's address.
pub const PROMPT_PATH: &str = "/security/confirm";

/// Session key holding the Unix time of the last re-authentication.
#[cfg(feature = "ssr")]
pub const REAUTH_KEY: &str = "reauth_at";

/// The prompt, returning to `return_to` (a same-site path) afterwards.
pub fn prompt_path(return_to: &str) -> String {
    let mut path = String::from(PROMPT_PATH);
    path.push_str("?next=");
    for b in return_to.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => path.push(b as char),
            _ => path.push_str(&format!("%{b:02X}")),
        }
    }
    path
}

/// Whether this session re-authenticated within `window`.
#[cfg(feature = "ssr")]
pub async fn is_recent(session: &tower_sessions::Session, window: std::time::Duration) -> Result<bool, AppError> {
    let at: Option<i64> = session.get(REAUTH_KEY).await.map_err(AppError::internal)?;
    Ok(at.is_some_and(|at| {
        let age = crate::core::db::now() - at;
        (0..=window.as_secs() as i64).contains(&age)
    }))
}

/// For sensitive server functions: true when the session re-authenticated recently; otherwise
/// the browser is sent to the prompt (which returns to `return_to`) and the caller must stop.
#[cfg(feature = "ssr")]
pub async fn require_recent(
    session: &tower_sessions::Session,
    state: &crate::core::state::AppState,
    return_to: &str,
) -> Result<bool, AppError> {
    if is_recent(session, state.config.reauth_window).await? {
        return Ok(true);
    }
    leptos_axum::redirect(&prompt_path(return_to));
    Ok(false)
}

/// What the prompt's answer did.
#[cfg(feature = "ssr")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// Proven: the time is kept and the session runs on under a new id.
    Confirmed,
    /// This wrong answer locked the account's password or second-factor limit, so the session
    /// was signed out: a stolen cookie gets no more guesses than a sign-in would.
    SignedOut,
}

/// Checks the password and, when two-step is on, a current code (or a recovery code), within the
/// same per-account budgets as sign-in (failures are recorded in the history); then records the
/// time in the session and rotates its id.
#[cfg(feature = "ssr")]
pub async fn confirm(
    state: &crate::core::state::AppState,
    session: &tower_sessions::Session,
    auth: &super::auth::SessionAuth,
    password: &str,
    code: Option<&str>,
    ip: &str,
) -> Result<Confirmation, AppError> {
    use crate::accounts::service::{verify_account_password, PasswordCheck};
    use crate::two_step::service::{check_factor_within_budget, Attempt, StepOutcome};
    let two_step_on = crate::two_step::store::is_enabled(&state.db, auth.user_id).await?;
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    if two_step_on && code.is_none() {
        return Err(AppError::WrongCode);
    }
    match verify_account_password(state, auth.user_id, password, ip, "Wrong password when confirming it was you")
        .await?
    {
        PasswordCheck::Correct => {}
        PasswordCheck::Wrong { locked: false } => {
            return Err(AppError::Invalid("That password is not correct.".into()))
        }
        PasswordCheck::Wrong { locked: true } => return signed_out(state, session).await,
    }
    if let (true, Some(code)) = (two_step_on, code) {
        let attempt = Attempt {
            session_public_id: auth.public_id.as_deref(),
            failure_detail: "Wrong code when confirming it was you",
        };
        match check_factor_within_budget(state, auth.user_id, code, attempt).await? {
            StepOutcome::Passed(_) => {}
            StepOutcome::Refused(err) => return Err(err),
            StepOutcome::LockedOut => return signed_out(state, session).await,
        }
    }
    session.insert(REAUTH_KEY, crate::core::db::now()).await.map_err(AppError::internal)?;
    super::auth::rotate_id(session).await?;
    Ok(Confirmation::Confirmed)
}

#[cfg(feature = "ssr")]
async fn signed_out(
    state: &crate::core::state::AppState,
    session: &tower_sessions::Session,
) -> Result<Confirmation, AppError> {
    super::auth::sign_out(session, &state.sessions).await?;
    Ok(Confirmation::SignedOut)
}

/// Whether the prompt must ask for a code (two-step is on for this account).
#[server(prefix = "/api", endpoint = "reauth_info")]
pub async fn reauth_needs_code() -> Result<bool, AppError> {
    use crate::core::server::RequestContext;
    let ctx = RequestContext::get().await?;
    let auth = super::auth::require_signed_in(&ctx.session).await?;
    crate::two_step::store::is_enabled(&ctx.state.db, auth.user_id).await.map_err(AppError::internal)
}

/// The prompt's form: on success, back to `next` (a same-site path; the two-step page by default).
#[server(prefix = "/api", endpoint = "reauth")]
pub async fn confirm_identity(password: String, code: Option<String>, next: Option<String>) -> Result<(), AppError> {
    use crate::core::server::RequestContext;
    if password.chars().count() > 1024 || code.as_deref().is_some_and(|c| c.len() > 64) {
        return Err(AppError::BadRequest);
    }
    let ctx = RequestContext::get().await?;
    let auth = super::auth::require_signed_in(&ctx.session).await?;
    let confirmation = confirm(&ctx.state, &ctx.session, &auth, &password, code.as_deref(), &ctx.origin.ip).await?;
    if confirmation == Confirmation::SignedOut {
        leptos_axum::redirect("/login?ended=locked");
        return Ok(());
    }
    let next = match next.as_deref().filter(|n| !n.is_empty()) {
        Some(n) => super::next::safe_next(Some(n)),
        None => "/security/two-step".to_owned(),
    };
    leptos_axum::redirect(&next);
    Ok(())
}

/// `/security/confirm`: password (and code) before a sensitive change.
#[component]
pub fn ReauthPage() -> impl IntoView {
    let action = ServerAction::<ConfirmIdentity>::new();
    let error = move || action_error(action.value().get());
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let needs_code = Resource::new(|| (), |_| reauth_needs_code());
    view! {
        <Title text="Confirm it's you"/>
        <section class="card narrow">
            <h1>"Confirm it's you"</h1>
            <p>"This change needs your password again."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match needs_code.await {
                        Ok(needs_code) => view! {
                            <ActionForm action=action>
                                <input type="hidden" name="next" value=next/>
                                <label for="reauth-password">"Password"</label>
                                <input id="reauth-password" type="password" name="password"
                                    autocomplete="current-password" required maxlength="1024"/>
                                {needs_code.then(|| view! {
                                    <label for="reauth-code">"Authentication code"</label>
                                    <input id="reauth-code" type="text" name="code" inputmode="numeric"
                                        autocomplete="one-time-code" required maxlength="64"
                                        aria-describedby="reauth-code-help"/>
                                    <p id="reauth-code-help" class="help">
                                        "The 6-digit code from your authenticator app, or a recovery code."
                                    </p>
                                })}
                                {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                                <button type="submit">"Confirm"</button>
                            </ActionForm>
                        }.into_any(),
                        Err(err) => view! { <crate::accounts::pages::SignedOutNotice err/> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
