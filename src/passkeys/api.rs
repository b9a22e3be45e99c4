//! Server functions for passkeys. Thin: read the principal, call [`super::service`].
//!
//! Two sorts: the passkeys page's data and its plain forms (rename, remove), which redirect like
//! every form; and the ceremony steps the browser script (`passkeys.js`) calls with `fetch`, which
//! answer a [`CeremonyReply`] as JSON — with the error's status and wording when refused.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::PasskeysPageView;
use crate::errors::AppError;

/// The answer of a ceremony step to the browser script.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CeremonyReply {
    /// The sealed ceremony state, to send back with the browser's answer.
    pub ceremony: Option<String>,
    /// The options for `navigator.credentials.create/get` (JSON text).
    pub options: Option<String>,
    /// Where the browser goes next (signed in, or to the re-authentication prompt).
    pub redirect: Option<String>,
    /// Why the step was refused, in words for the page.
    pub error: Option<String>,
}

/// Longest sealed state or credential accepted (a credential is a few hundred bytes to a few KB).
#[cfg(feature = "ssr")]
const MAX_CEREMONY_FIELD: usize = 32 * 1024;

#[cfg(feature = "ssr")]
fn check_sizes(fields: &[&str]) -> Result<(), AppError> {
    if fields.iter().any(|f| f.len() > MAX_CEREMONY_FIELD) {
        return Err(AppError::BadRequest);
    }
    Ok(())
}

/// A refusal as the script reads it: the error's status (and `Retry-After`) on the response, its
/// words in `error`.
#[cfg(feature = "ssr")]
fn reply(result: Result<CeremonyReply, AppError>) -> Result<CeremonyReply, AppError> {
    use axum::http::{header, HeaderValue, StatusCode};
    match result {
        Ok(reply) => Ok(reply),
        Err(AppError::Internal) => Err(AppError::Internal),
        Err(err) => {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST));
                if let Some(secs) = err.retry_after() {
                    response.insert_header(header::RETRY_AFTER, HeaderValue::from(secs));
                }
            }
            Ok(CeremonyReply { error: Some(err.to_string()), ..CeremonyReply::default() })
        }
    }
}

#[cfg(feature = "ssr")]
fn options_reply(started: super::service::Started) -> CeremonyReply {
    CeremonyReply {
        ceremony: Some(started.ceremony),
        options: Some(started.options.to_string()),
        ..CeremonyReply::default()
    }
}

/// The browser's answer to a ceremony, its fields checked for size first.
#[cfg(feature = "ssr")]
fn assertion<'a>(
    ceremony: &'a str,
    credential: &'a str,
    next: Option<&str>,
) -> Result<super::service::Assertion<'a>, AppError> {
    check_sizes(&[ceremony, credential, next.unwrap_or_default()])?;
    Ok(super::service::Assertion { ceremony, credential_json: credential })
}

/// The two ceremonies with the account's own passkeys: instead of a code at the code step, and
/// confirming it's you.
#[cfg(feature = "ssr")]
#[derive(Clone, Copy)]
enum AccountStep {
    CodeStep,
    Reauth,
}

#[cfg(feature = "ssr")]
impl AccountStep {
    /// The session this step is for: half signed in at the code step, signed in to confirm.
    fn principal(self) -> Result<crate::core::principal::SignedIn, AppError> {
        match self {
            AccountStep::CodeStep => crate::core::principal::code_step(),
            AccountStep::Reauth => crate::core::principal::signed_in(),
        }
    }

    /// First step: options naming the account's passkeys.
    async fn options(self) -> Result<CeremonyReply, AppError> {
        use super::ceremony::Purpose;
        use crate::core::state::AppState;
        let purpose = match self {
            AccountStep::CodeStep => Purpose::CodeStep,
            AccountStep::Reauth => Purpose::Reauth,
        };
        let started =
            async { super::service::start_for_account(&AppState::current()?, &self.principal()?, purpose).await };
        reply(started.await.map(options_reply))
    }

    /// Second step: the browser's answer checked; where the browser goes next.
    async fn finish(self, ceremony: &str, credential: &str, next: Option<&str>) -> Result<CeremonyReply, AppError> {
        use super::service::{finish_code_step, reauthenticate, Reauthentication};
        use crate::core::request::RequestContext;
        use crate::two_step::service::CodeStep;
        let finished = async {
            let assertion = assertion(ceremony, credential, next)?;
            let (me, ctx) = (self.principal()?, RequestContext::current()?);
            Ok(match self {
                AccountStep::CodeStep => {
                    match finish_code_step(&ctx.state, &ctx.session, &me, assertion, ctx.origin).await? {
                        CodeStep::SignedIn => crate::sessions::next::safe_next(next),
                        CodeStep::LockedOut => "/login?ended=codes".to_owned(),
                    }
                }
                AccountStep::Reauth => {
                    match reauthenticate(&ctx.state, &ctx.session, &me, assertion, &ctx.origin).await? {
                        Reauthentication::Confirmed => crate::reauth::return_path(next),
                        Reauthentication::SignedOut => "/login?ended=locked".to_owned(),
                    }
                }
            })
        };
        reply(finished.await.map(redirect_reply))
    }
}

#[cfg(feature = "ssr")]
fn redirect_reply(to: String) -> CeremonyReply {
    CeremonyReply { redirect: Some(to), ..CeremonyReply::default() }
}

/// The passkeys page's data.
#[server(prefix = "/api", endpoint = "passkeys")]
pub async fn passkeys_page() -> Result<PasskeysPageView, AppError> {
    use crate::core::{principal::signed_in_for_page, state::AppState};
    let me = signed_in_for_page()?;
    super::service::page(&AppState::current()?, me.user_id).await
}

/// **Add a passkey**, first step (needs a recent re-authentication, like turning two-step on:
/// a stolen cookie must not add the thief's passkey): the options for the browser.
#[server(prefix = "/api", endpoint = "passkey_add_options")]
pub async fn passkey_add_options() -> Result<CeremonyReply, AppError> {
    use crate::core::{principal::signed_in, state::AppState};
    reply(
        async {
            let me = signed_in()?;
            let state = AppState::current()?;
            if !me.reauthenticated_within(state.config.reauth_window, state.db.clock.now()) {
                return Ok(redirect_reply(crate::routes::reauth_prompt(crate::routes::PASSKEYS)));
            }
            Ok(options_reply(super::service::start_registration(&state, &me).await?))
        }
        .await,
    )
}

/// **Add a passkey**, second step: the new credential, with its **Passkey name**.
#[server(prefix = "/api", endpoint = "passkey_add")]
pub async fn passkey_add(
    ceremony: String,
    credential: String,
    name: Option<String>,
) -> Result<CeremonyReply, AppError> {
    use super::service::{finish_registration, Registration};
    use crate::core::{principal::signed_in, request::RequestContext};
    reply(
        async {
            check_sizes(&[&ceremony, &credential])?;
            let me = signed_in()?;
            let RequestContext { state, origin, .. } = RequestContext::current()?;
            if !me.reauthenticated_within(state.config.reauth_window, state.db.clock.now()) {
                return Ok(redirect_reply(crate::routes::reauth_prompt(crate::routes::PASSKEYS)));
            }
            let registration = Registration {
                ceremony: &ceremony,
                name: name.as_deref().unwrap_or_default(),
                credential_json: &credential,
            };
            finish_registration(&state, &me, registration, &origin).await?;
            Ok(redirect_reply(crate::routes::PASSKEYS.to_owned()))
        }
        .await,
    )
}

/// **Sign in with a passkey**, first step: options for any passkey of this site (the browser
/// lets the person choose; conditional UI offers them in the email field's autofill).
#[server(prefix = "/api", endpoint = "passkey_sign_in_options")]
pub async fn passkey_sign_in_options() -> Result<CeremonyReply, AppError> {
    use crate::core::state::AppState;
    reply(async { Ok(options_reply(super::service::start_sign_in(&AppState::current()?)?)) }.await)
}

/// **Sign in with a passkey**, second step: the assertion. A complete sign-in (a new session under
/// a fresh id), then on to `next`.
#[server(prefix = "/api", endpoint = "passkey_sign_in")]
pub async fn passkey_sign_in(
    ceremony: String,
    credential: String,
    remember: Option<String>,
    next: Option<String>,
) -> Result<CeremonyReply, AppError> {
    use super::service::finish_sign_in;
    use crate::core::request::RequestContext;
    use crate::sessions::{keys::SignInMethod, next::safe_next, sign_in::start_session, sign_in::Start};
    reply(
        async {
            let assertion = assertion(&ceremony, &credential, next.as_deref())?;
            let ctx = RequestContext::current()?;
            let user_id = finish_sign_in(&ctx.state, assertion, &ctx.origin)
                .await
                .map_err(crate::core::metrics::sign_in_refused)?;
            let start = Start::SignIn(SignInMethod::Passkey);
            start_session(&ctx.session, &ctx.state, user_id, start, remember.is_some(), ctx.origin).await?;
            Ok(redirect_reply(safe_next(next.as_deref())))
        }
        .await,
    )
}

/// A passkey at the code step, first step: options naming the account's own passkeys.
#[server(prefix = "/api", endpoint = "passkey_code_step_options")]
pub async fn passkey_code_step_options() -> Result<CeremonyReply, AppError> {
    AccountStep::CodeStep.options().await
}

/// A passkey at the code step, second step: the assertion, instead of a code.
#[server(prefix = "/api", endpoint = "passkey_code_step")]
pub async fn passkey_code_step(
    ceremony: String,
    credential: String,
    next: Option<String>,
) -> Result<CeremonyReply, AppError> {
    AccountStep::CodeStep.finish(&ceremony, &credential, next.as_deref()).await
}

/// Confirming it's you with a passkey, first step: options naming the account's passkeys.
#[server(prefix = "/api", endpoint = "passkey_reauth_options")]
pub async fn passkey_reauth_options() -> Result<CeremonyReply, AppError> {
    AccountStep::Reauth.options().await
}

/// Confirming it's you with a passkey, second step: the assertion; on success back to `next` (the
/// two-step page by default, as the password prompt).
#[server(prefix = "/api", endpoint = "passkey_reauth")]
pub async fn passkey_reauth(
    ceremony: String,
    credential: String,
    next: Option<String>,
) -> Result<CeremonyReply, AppError> {
    AccountStep::Reauth.finish(&ceremony, &credential, next.as_deref()).await
}

/// Renames a passkey (a plain form; no re-authentication: a name grants nothing).
#[server(prefix = "/api", endpoint = "passkey_rename")]
pub async fn rename_passkey(id: i64, name: String) -> Result<(), AppError> {
    use crate::core::{principal::signed_in, request::RequestContext};
    if name.len() > 1024 {
        return Err(AppError::BadRequest);
    }
    let me = signed_in()?;
    let ctx = RequestContext::current()?;
    super::service::rename(&ctx.state, &me, id, &name, &ctx.origin).await?;
    leptos_axum::redirect(crate::routes::PASSKEYS);
    Ok(())
}

/// **Remove** a passkey (needs a recent re-authentication, the same as turning two-step off).
#[server(prefix = "/api", endpoint = "passkey_remove")]
pub async fn remove_passkey(id: i64) -> Result<(), AppError> {
    use crate::core::{principal::require_recent_reauth, principal::signed_in, request::RequestContext};
    let me = signed_in()?;
    let ctx = RequestContext::current()?;
    if !require_recent_reauth(&me, &ctx.state, crate::routes::PASSKEYS) {
        return Ok(());
    }
    super::service::remove(&ctx.state, &me, id, &ctx.origin).await?;
    leptos_axum::redirect(crate::routes::PASSKEYS);
    Ok(())
}
