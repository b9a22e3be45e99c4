//! Server functions of the History page and the new-device banner. Thin: check the session,
//! call [`super::store`], word times on the server, redirect after actions (plain POST forms).

use leptos::prelude::*;

use super::{AlertView, HistoryPageView};
use crate::errors::AppError;

/// Events shown per page.
pub const PAGE_SIZE: i64 = 25;

/// One page of the signed-in account's history, newest first, optionally of one kind, with ids
/// below `before`.
#[server(prefix = "/api", endpoint = "history")]
pub async fn history_page(kind: Option<String>, before: Option<i64>) -> Result<HistoryPageView, AppError> {
    use crate::core::{db::now, server::RequestContext};
    let ctx = RequestContext::get().await?;
    let auth = crate::sessions::auth::require_signed_in_for_page(&ctx.session, &ctx.state).await?;
    let kind = kind.as_deref().and_then(super::Kind::parse);
    let (events, next_before) =
        super::store::list(&ctx.state.db, auth.user_id, kind, before, PAGE_SIZE).await.map_err(AppError::internal)?;
    let t = now();
    let events = events.into_iter().map(|e| view_of(e, t)).collect();
    Ok(HistoryPageView { events, next_before, kind })
}

#[cfg(feature = "ssr")]
fn device_name(user_agent: &str) -> String {
    if user_agent.is_empty() {
        String::new()
    } else {
        crate::sessions::ua::describe(user_agent).name
    }
}

#[cfg(feature = "ssr")]
fn view_of(e: super::store::StoredEvent, now: i64) -> super::EventView {
    super::EventView {
        id: e.id,
        kind: e.kind,
        label: e.kind.label().to_owned(),
        detail: e.detail,
        device: device_name(&e.user_agent),
        ip: e.ip,
        when: crate::sessions::devices::moment(e.at, now),
        new_device: e.alert,
    }
}

/// The signed-in session as a viewer of alerts.
#[cfg(feature = "ssr")]
fn viewer(auth: &crate::sessions::auth::SessionAuth) -> super::store::Viewer<'_> {
    super::store::Viewer { public_id: auth.public_id.as_deref().unwrap_or_default() }
}

/// Open alerts this session may answer: raised by the account's other sessions after this one
/// signed in (none when signed out).
#[server(prefix = "/api", endpoint = "history/alerts")]
pub async fn open_alerts() -> Result<Vec<AlertView>, AppError> {
    use crate::core::{db::now, server::RequestContext};
    let ctx = RequestContext::get().await?;
    let Ok(auth) = crate::sessions::auth::require_signed_in(&ctx.session).await else {
        return Ok(Vec::new());
    };
    let alerts = super::store::open_alerts(&ctx.state.db, auth.user_id, viewer(&auth)).await?;
    let t = now();
    Ok(alerts
        .into_iter()
        .map(|a| AlertView {
            id: a.id,
            kind: a.kind,
            device: device_name(&a.user_agent),
            ip: a.ip,
            when: crate::sessions::devices::moment(a.at, t),
        })
        .collect())
}

/// "It was me": the alert goes away (404 for an alert this session may not answer).
#[server(prefix = "/api", endpoint = "history/alerts/ack")]
pub async fn acknowledge_alert(alert: i64) -> Result<(), AppError> {
    use crate::core::{db::now, server::RequestContext};
    let ctx = RequestContext::get().await?;
    let auth = crate::sessions::auth::require_signed_in(&ctx.session).await?;
    if !super::store::acknowledge(&ctx.state.db, auth.user_id, alert, viewer(&auth), now()).await? {
        return Err(AppError::NotFound);
    }
    leptos_axum::redirect("/history");
    Ok(())
}

/// "This wasn't me": the session that raised the alert is signed out, then on to changing the
/// password.
#[server(prefix = "/api", endpoint = "history/alerts/not-me")]
pub async fn not_me(alert: i64) -> Result<(), AppError> {
    use crate::core::{db::now, server::RequestContext};
    let ctx = RequestContext::get().await?;
    let auth = crate::sessions::auth::require_signed_in(&ctx.session).await?;
    let current = ctx.session.id().map(|id| crate::sessions::store::hash_id(&id)).ok_or(AppError::NotSignedIn)?;
    if !super::store::not_me(&ctx.state.db, auth.user_id, alert, viewer(&auth), &current, now()).await? {
        return Err(AppError::NotFound);
    }
    leptos_axum::redirect("/security/password");
    Ok(())
}
