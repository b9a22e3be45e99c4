//! Server functions of the alert banner. Thin: read the signed-in principal, call
//! [`super::service`], redirect (plain POST forms).

use leptos::prelude::*;

use super::AlertView;
use crate::errors::AppError;

/// The signed-in session as a viewer of alerts.
#[cfg(feature = "ssr")]
fn viewer(me: &crate::core::principal::SignedIn) -> super::store::Viewer<'_> {
    super::store::Viewer { public_id: &me.handle }
}

/// Open alerts this session may answer: raised by the account's other sessions after this one
/// signed in (none when signed out).
#[server(prefix = "/api", endpoint = "history/alerts")]
pub async fn open_alerts() -> Result<Vec<AlertView>, AppError> {
    use crate::core::{principal::signed_in, state::AppState};
    use crate::history::device_name;
    let Ok(me) = signed_in() else {
        return Ok(Vec::new());
    };
    if me.open_alerts == 0 {
        return Ok(Vec::new());
    }
    let db = AppState::current()?.db.clone();
    let alerts = super::store::open_alerts(&db, me.user_id, viewer(&me)).await?;
    let t = db.clock.now();
    Ok(alerts
        .into_iter()
        .map(|a| AlertView {
            id: a.id,
            kind: a.kind,
            device: device_name(&a.user_agent),
            ip: a.ip,
            when: crate::moment::moment(a.at, t),
        })
        .collect())
}

/// **It was me**: the alert goes away (404 for an alert this session may not answer).
#[server(prefix = "/api", endpoint = "history/alerts/ack")]
pub async fn acknowledge_alert(alert: i64) -> Result<(), AppError> {
    use crate::core::{principal::signed_in, request::RequestContext};
    let me = signed_in()?;
    let RequestContext { state, origin, .. } = RequestContext::current()?;
    if !super::service::acknowledge(&state.db, me.user_id, alert, viewer(&me), &origin, state.db.clock.now()).await? {
        return Err(AppError::NotFound);
    }
    leptos_axum::redirect(crate::routes::HISTORY);
    Ok(())
}

/// **This wasn't me**: the session that raised the alert is signed out, then on to changing the
/// password.
#[server(prefix = "/api", endpoint = "history/alerts/not-me")]
pub async fn not_me(alert: i64) -> Result<(), AppError> {
    use crate::core::{principal::signed_in, request::RequestContext};
    let me = signed_in()?;
    let RequestContext { state, origin, .. } = RequestContext::current()?;
    let db = &state.db;
    if !super::service::not_me(db, me.user_id, alert, viewer(&me), &me.id_hash, &origin, db.clock.now()).await? {
        return Err(AppError::NotFound);
    }
    leptos_axum::redirect(crate::routes::PASSWORD);
    Ok(())
}

/// Whether a "This wasn't me" link from a mail still works.
#[server(prefix = "/api", endpoint = "login/not-me/check")]
pub async fn not_me_link_usable(token: String) -> Result<bool, AppError> {
    use crate::core::state::AppState;
    use crate::mail::links::{peek, Purpose};
    let state = AppState::current()?;
    Ok(peek(&state.db, Purpose::NotMe, &token, state.db.clock.now()).await?.is_some())
}

/// **Sign it out** on the page of a mail's "This wasn't me" link: the session it names ends; then
/// on to a new password (the password page when this browser is signed in to the account,
/// otherwise a reset link by mail).
#[server(prefix = "/api", endpoint = "login/not-me")]
pub async fn not_me_from_mail(token: String) -> Result<(), AppError> {
    use crate::core::{principal::signed_in, request::RequestContext};
    if token.len() > crate::mail::links::MAX_TOKEN_CHARS {
        return Err(AppError::BadRequest);
    }
    let RequestContext { state, origin, .. } = RequestContext::current()?;
    let Some(user_id) = super::service::not_me_by_link(&state.db, &token, &origin, state.db.clock.now()).await? else {
        return Err(AppError::Invalid(super::NOT_ME_LINK_UNUSABLE.into()));
    };
    if signed_in().is_ok_and(|me| me.user_id == user_id) {
        leptos_axum::redirect(crate::routes::PASSWORD);
    } else {
        leptos_axum::redirect(&format!("{}?not_me=1", crate::routes::FORGOT_PASSWORD));
    }
    Ok(())
}
