//! Re-authentication for sensitive changes (turning two-step off, new recovery codes, and later
//! password changes): the person enters the password (and a current code when two-step is on) on
//! `/security/confirm`; the time is kept in the session as `reauth_at`; sensitive server
//! functions call [`require_recent`], which sends a stale session to the prompt and back.

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

/// Checks the password and, when two-step is on, a current code (or a recovery code), then
/// records the time in the session.
#[cfg(feature = "ssr")]
pub async fn confirm(
    state: &crate::core::state::AppState,
    session: &tower_sessions::Session,
    user_id: i64,
    password: &str,
    code: Option<&str>,
) -> Result<(), AppError> {
    use crate::accounts::password::{off_thread, verify_password};
    let phc = crate::accounts::store::password_hash_by_id(&state.db, user_id)
        .await
        .map_err(AppError::internal)?
        .ok_or(AppError::NotSignedIn)?;
    let password = password.to_owned();
    if !off_thread(move || verify_password(&password, &phc)).await? {
        return Err(AppError::Invalid("That password is not correct.".into()));
    }
    if crate::two_step::store::is_enabled(&state.db, user_id).await.map_err(AppError::internal)? {
        let code = code.map(str::trim).filter(|c| !c.is_empty()).ok_or(AppError::WrongCode)?;
        crate::two_step::service::check_factor(state, user_id, code).await?;
    }
    session.insert(REAUTH_KEY, crate::core::db::now()).await.map_err(AppError::internal)
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
    confirm(&ctx.state, &ctx.session, auth.user_id, &password, code.as_deref()).await?;
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
