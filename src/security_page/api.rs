//! Server functions of the Security page, the password page and account deletion. Thin: check
//! the session (and a recent re-authentication for sensitive changes), call the plain functions
//! in [`super::checkup`] and `crate::accounts`, redirect.

use leptos::prelude::*;

use super::{PasswordPageView, SecurityView, SensitivePageView};
use crate::errors::AppError;

/// The Security page's checkup.
#[server(prefix = "/api", endpoint = "security")]
pub async fn security_checkup() -> Result<SecurityView, AppError> {
    use crate::core::{principal::signed_in_for_page, state::AppState};
    page_data(&AppState::current()?, signed_in_for_page()).await
}

#[cfg(feature = "ssr")]
impl crate::core::page_data::PageData for SecurityView {
    async fn read(
        state: &crate::core::state::AppState,
        me: Result<crate::core::principal::SignedIn, AppError>,
        _: &axum::http::Uri,
    ) -> Result<Self, AppError> {
        page_data(state, me).await
    }
}

/// The checkup for the request's signed-in session (or why there is none): the one read behind
/// both [`security_checkup`] and the page's route layer (`core::page_data::preload`).
#[cfg(feature = "ssr")]
async fn page_data(
    state: &crate::core::state::AppState,
    me: Result<crate::core::principal::SignedIn, AppError>,
) -> Result<SecurityView, AppError> {
    use crate::moment::relative;
    let me = me?;
    let t = state.db.clock.now();
    let checkup = super::checkup::compute(&state.db, me.user_id, &me.handle, t).await?.ok_or(AppError::NotSignedIn)?;
    let notices = match (crate::mail::enabled(&state.config), me.email_verified) {
        (false, _) => super::NoticesByMail::Off,
        (true, false) => super::NoticesByMail::Unconfirmed,
        (true, true) => {
            let muted: Vec<&str> = crate::mail::notices::muted_kinds(&checkup.muted_notices).collect();
            let choices = crate::mail::notices::OPTIONAL
                .iter()
                .map(|(kind, label)| super::NoticeChoice {
                    kind: (*kind).to_owned(),
                    label: (*label).to_owned(),
                    on: !muted.contains(kind),
                })
                .collect();
            super::NoticesByMail::To { email: me.email.clone(), choices }
        }
    };
    Ok(SecurityView {
        password_age: relative(checkup.password_changed_at, t),
        password_old: t - checkup.password_changed_at > super::OLD_PASSWORD_SECS,
        last_failed: checkup.last_failed_at.map(|at| relative(at, t)),
        checkup,
        notices,
    })
}

/// Data of a page that performs a sensitive change (`return_to`): without a recent
/// re-authentication the browser is sent to the prompt, which comes back here.
#[cfg(feature = "ssr")]
async fn sensitive_page(return_to: &str) -> Result<SensitivePageView, AppError> {
    use crate::core::{principal::require_recent_reauth, principal::signed_in_for_page, state::AppState};
    let me = signed_in_for_page()?;
    let confirmed = require_recent_reauth(&me, &AppState::current()?, return_to);
    Ok(SensitivePageView { confirmed, email: me.email })
}

/// The password page's data: whether its form asks for a code beside the current password. The
/// form is its own re-authentication, so the page never sends anyone to the prompt first.
#[server(prefix = "/api", endpoint = "security/password-page")]
pub async fn password_page() -> Result<PasswordPageView, AppError> {
    use crate::core::{principal::signed_in_for_page, state::AppState};
    let me = signed_in_for_page()?;
    let state = AppState::current()?;
    Ok(PasswordPageView { code_needed: code_needed_for_password_change(&state, &me).await? })
}

/// A code is asked beside the current password when two-step is on, unless the session signed in
/// or re-authenticated within the window.
#[cfg(feature = "ssr")]
async fn code_needed_for_password_change(
    state: &crate::core::state::AppState,
    me: &crate::core::principal::SignedIn,
) -> Result<bool, AppError> {
    let recent = me.reauthenticated_within(state.config.reauth_window, state.db.clock.now());
    Ok(!recent && crate::two_step::store::is_enabled(&state.db, me.user_id).await?)
}

/// The email page's data (sends a session without recent re-authentication to the prompt).
#[server(prefix = "/api", endpoint = "security/email-page")]
pub async fn email_page() -> Result<SensitivePageView, AppError> {
    sensitive_page(crate::routes::EMAIL).await
}

/// **Change email address**: needs a recent re-authentication; the new address is unverified
/// until its link is used, and the old one is told.
#[server(prefix = "/api", endpoint = "security/email")]
pub async fn change_email(new_email: String) -> Result<(), AppError> {
    use crate::core::{principal::require_recent_reauth, principal::signed_in, request::RequestContext};
    if new_email.chars().count() > 1024 {
        return Err(AppError::BadRequest);
    }
    let me = signed_in()?;
    let RequestContext { state, origin, .. } = RequestContext::current()?;
    if !require_recent_reauth(&me, &state, crate::routes::EMAIL) {
        return Ok(());
    }
    crate::accounts::email_change::change_email(&state, &me, &new_email, &origin).await?;
    leptos_axum::redirect(&format!("{}?email=changed", crate::routes::SECURITY));
    Ok(())
}

/// The deletion page's data (sends a session without recent re-authentication to the prompt).
#[server(prefix = "/api", endpoint = "security/delete-page")]
pub async fn delete_page() -> Result<SensitivePageView, AppError> {
    sensitive_page(crate::routes::DELETE_ACCOUNT).await
}

/// **Sign out unused sessions**: those unused for more than 30 days.
#[server(prefix = "/api", endpoint = "security/sign-out-unused")]
pub async fn sign_out_unused_sessions() -> Result<(), AppError> {
    use crate::core::{principal::signed_in, request::RequestContext};
    let me = signed_in()?;
    let RequestContext { state, origin, .. } = RequestContext::current()?;
    super::checkup::sign_out_unused_sessions(&state.db, me.user_id, &me.id_hash, &origin, state.db.clock.now()).await?;
    leptos_axum::redirect(crate::routes::SECURITY);
    Ok(())
}

/// **Change password**: the current password, and a code when two-step is on and the session has
/// not re-authenticated within the window (the form is its own re-authentication, so nobody is
/// asked for the password twice in a row); signs out every other session and keeps this one
/// under a fresh id.
#[server(prefix = "/api", endpoint = "security/password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    code: Option<String>,
) -> Result<(), AppError> {
    use crate::accounts::password::MAX_PASSWORD_CHARS;
    use crate::accounts::password_change::{Asker, PasswordChange, PasswordChangeForm, SecondFactor};
    use crate::core::{principal::signed_in, request::RequestContext};
    use crate::sessions::{sign_in::record_reauthentication, sign_out::sign_out};
    if current_password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AppError::Invalid(crate::accounts::password_change::WRONG_CURRENT_PASSWORD.into()));
    }
    if new_password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AppError::Invalid(format!("Use at most {MAX_PASSWORD_CHARS} characters for your password.")));
    }
    if code.as_ref().is_some_and(|code| code.chars().count() > 64) {
        return Err(AppError::WrongCode);
    }
    let me = signed_in()?;
    let ctx = RequestContext::current()?;
    let code_needed = code_needed_for_password_change(&ctx.state, &me).await?;
    let code = code.as_deref().map(str::trim).filter(|code| !code.is_empty());
    let second_factor = match (code_needed, code) {
        (false, _) => None,
        (true, None) => return Err(AppError::WrongCode),
        (true, Some(code)) => Some(SecondFactor { code, session_handle: &me.handle }),
    };
    let asker = Asker { user_id: me.user_id, session_id_hash: &me.id_hash, origin: &ctx.origin };
    let form = PasswordChangeForm { current_password: &current_password, new_password: &new_password, second_factor };
    let change = crate::accounts::password_change::change_password(&ctx.state, asker, form).await?;
    if change == PasswordChange::Locked {
        sign_out(&ctx.session, &ctx.state).await?;
        leptos_axum::redirect("/login?ended=locked");
        return Ok(());
    }
    // The password (and a code when two-step is on) was just proven, as on the prompt: recorded,
    // and the session goes on under a fresh id.
    record_reauthentication(&ctx.session, &me, ctx.state.db.clock.now()).await?;
    leptos_axum::redirect("/security?password=changed");
    Ok(())
}

/// **Delete account**: needs a recent re-authentication and the account's email typed out;
/// removes everything, signs this browser out and says so on the sign-in page.
#[server(prefix = "/api", endpoint = "security/delete")]
pub async fn delete_account(confirm_email: String) -> Result<(), AppError> {
    use crate::core::{principal::require_recent_reauth, principal::signed_in, request::RequestContext};
    if confirm_email.chars().count() > 1024 {
        return Err(AppError::BadRequest);
    }
    let me = signed_in()?;
    let ctx = RequestContext::current()?;
    if !require_recent_reauth(&me, &ctx.state, crate::routes::DELETE_ACCOUNT) {
        return Ok(());
    }
    if !crate::accounts::deletion::confirms_email(&confirm_email, &me.email) {
        return Err(AppError::Invalid("Type your account's email address exactly to confirm.".into()));
    }
    crate::accounts::deletion::delete_account(&ctx.state.db, me.user_id).await?;
    // The row is gone: forgetting clears the cookie and the session data.
    crate::sessions::sign_out::forget(&ctx.session).await?;
    leptos_axum::redirect("/login?deleted=1");
    Ok(())
}

/// **Save notice settings**: which optional notices come by mail (a checked box is on). The
/// security-critical ones are always sent and cannot be turned off.
#[server(prefix = "/api", endpoint = "security/notices")]
pub async fn save_notice_settings(
    new_device: Option<String>,
    two_step_on: Option<String>,
    recovery_codes_regenerated: Option<String>,
    recovery_codes_low: Option<String>,
    other_devices_signed_out: Option<String>,
) -> Result<(), AppError> {
    use crate::core::{principal::signed_in, state::AppState};
    let me = signed_in()?;
    let wanted = [
        ("new_device", new_device.is_some()),
        ("two_step_on", two_step_on.is_some()),
        ("recovery_codes_regenerated", recovery_codes_regenerated.is_some()),
        ("recovery_codes_low", recovery_codes_low.is_some()),
        ("other_devices_signed_out", other_devices_signed_out.is_some()),
    ];
    crate::mail::notices::save_choices(&AppState::current()?.db, me.user_id, &wanted).await?;
    leptos_axum::redirect(&format!("{}?notices=saved#notices", crate::routes::SECURITY));
    Ok(())
}
