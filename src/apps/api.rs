//! Server functions of `/connect`. Thin: read the signed-in principal, call [`super::service`],
//! redirect (plain POST forms, so the page works without JavaScript).

use leptos::prelude::*;

use super::PairingView;
use crate::errors::AppError;

/// Where the re-authentication prompt returns to: this page with the code typed.
#[cfg(feature = "ssr")]
fn return_to(code: &str) -> String {
    let code: String = code.chars().take(32).collect();
    format!("{}?code={}", crate::routes::CONNECT, crate::routes::urlencode(&code))
}

/// The pending pairing request a typed code names, for the confirmation step. Connecting an app
/// hands out a long-lived credential, so it needs a recent re-authentication (a stolen cookie
/// alone cannot connect one); then each look-up counts against the guessing limits unless the
/// code names a request.
#[server(prefix = "/api", endpoint = "connect/look-up")]
pub async fn pairing_request(code: String) -> Result<Option<PairingView>, AppError> {
    use crate::core::request::RequestContext;
    use crate::core::{principal::require_recent_reauth, principal::signed_in_for_page};
    let me = signed_in_for_page()?;
    if code.trim().is_empty() {
        return Ok(None);
    }
    let RequestContext { state, origin, .. } = RequestContext::current()?;
    if !require_recent_reauth(&me, &state, &return_to(&code)) {
        return Ok(None);
    }
    let found = super::service::look_up(&state, me.user_id, &origin.ip, &code).await?;
    Ok(found.map(|(code, pending)| PairingView {
        code,
        device: crate::core::user_agent::describe_or_quote(&pending.user_agent),
        client_name: pending.client_name,
        ip: pending.ip,
        asked: crate::moment::moment(pending.created_at, state.db.clock.now()),
    }))
}

/// **Connect**: the app that asked with this code receives its tokens on its next poll.
#[server(prefix = "/api", endpoint = "connect/approve")]
pub async fn connect_app(code: String) -> Result<(), AppError> {
    decide(code, true).await
}

/// **Deny**: the app that asked with this code is told no.
#[server(prefix = "/api", endpoint = "connect/deny")]
pub async fn deny_app(code: String) -> Result<(), AppError> {
    decide(code, false).await
}

#[cfg(feature = "ssr")]
async fn decide(code: String, approve: bool) -> Result<(), AppError> {
    use super::grants::Decision;
    use crate::core::{principal::require_recent_reauth, principal::signed_in, request::RequestContext};
    let me = signed_in()?;
    let RequestContext { state, origin, .. } = RequestContext::current()?;
    if !require_recent_reauth(&me, &state, &return_to(&code)) {
        return Ok(());
    }
    // The decision names its code too, so it goes through the same guessing limits.
    let not_found = || AppError::Invalid(super::CODE_NOT_FOUND.to_owned());
    let (code, _) = super::service::look_up(&state, me.user_id, &origin.ip, &code).await?.ok_or_else(not_found)?;
    let decision = if approve { Decision::Approve } else { Decision::Deny };
    if !super::service::record_decision(&state, me.user_id, &me.id_hash, &code, decision, &origin).await? {
        return Err(not_found());
    }
    leptos_axum::redirect(&format!("{}?done={}", crate::routes::CONNECT, if approve { "connected" } else { "denied" }));
    Ok(())
}
