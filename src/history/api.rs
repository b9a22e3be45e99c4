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
    let (events, next_before) = super::store::list(&ctx.state.db, auth.user_id, kind, before, PAGE_SIZE)
        .await
        .map_err(AppError::internal)?;
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

#[cfg(feature = "ssr")]
async fn current_public_id(ctx: &crate::core::server::RequestContext) -> Result<String, AppError> {
    use sqlx::Row;
    let Some(id) = ctx.session.id() else { return Ok(String::new()) };
    let row = sqlx::query("SELECT public_id FROM sessions WHERE id_hash = $1")
        .bind(crate::sessions::store::hash_id(&id))
        .fetch_optional(&ctx.state.db.pool)
        .await
        .map_err(AppError::internal)?;
    Ok(row.and_then(|r| r.get::<Option<String>, _>(0)).unwrap_or_default())
}

/// Open new-device alerts raised by the account's other sessions (none when signed out).
#[server(prefix = "/api", endpoint = "history/alerts")]
pub async fn open_alerts() -> Result<Vec<AlertView>, AppError> {
    use crate::core::{db::now, server::RequestContext};
    let ctx = RequestContext::get().await?;
    let Ok(auth) = crate::sessions::auth::require_signed_in(&ctx.session).await else { return Ok(Vec::new()) };
    let current = current_public_id(&ctx).await?;
    let alerts = super::store::open_alerts(&ctx.state.db, auth.user_id, &current).await.map_err(AppError::internal)?;
    let t = now();
    Ok(alerts
        .into_iter()
        .map(|a| AlertView {
            id: a.id,
            device: device_name(&a.user_agent),
            ip: a.ip,
            when: crate::sessions::devices::moment(a.at, t),
        })
        .collect())
}

/// "It was me": the alert goes away.
#[server(prefix = "/api", endpoint = "history/alerts/ack")]
pub async fn acknowledge_alert(alert: i64) -> Result<(), AppError> {
    use crate::core::{db::now, server::RequestContext};
    let ctx = RequestContext::get().await?;
    let auth = crate::sessions::auth::require_signed_in(&ctx.session).await?;
    if !super::store::acknowledge(&ctx.state.db, auth.user_id, alert, now()).await.map_err(AppError::internal)? {
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
    if !super::store::not_me(&ctx.state.db, auth.user_id, alert, &current, now()).await.map_err(AppError::internal)? {
        return Err(AppError::NotFound);
    }
    leptos_axum::redirect("/security/password");
    Ok(())
}
