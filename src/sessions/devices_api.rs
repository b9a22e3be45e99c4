//! Server functions of the devices page. Thin: check the session, call [`super::devices`],
//! go back to `/devices`. Every action is a POST of a plain form (works without JavaScript).

use leptos::prelude::*;

use super::DevicesView;
use crate::errors::AppError;

/// The signed-in account's sessions, with relative times worded on the server.
#[server(prefix = "/api", endpoint = "devices")]
pub async fn list_devices() -> Result<DevicesView, AppError> {
    use crate::core::{db::now, server::RequestContext};
    let ctx = RequestContext::get().await?;
    let auth = super::auth::require_signed_in_for_page(&ctx.session, &ctx.state).await?;
    let current = ctx.session.id().map(|id| super::store::hash_id(&id));
    super::devices::list(&ctx.state.db, auth.user_id, current.as_deref(), now()).await.map_err(AppError::internal)
}

/// Signs out one other session of this account, named by its public handle. Another account's
/// session, an ended one or an unknown handle: 404, nothing changes.
#[server(prefix = "/api", endpoint = "devices/sign-out")]
pub async fn revoke_device(handle: String) -> Result<(), AppError> {
    use crate::core::{db::now, server::RequestContext};
    if handle.len() > 64 {
        return Err(AppError::NotFound);
    }
    let ctx = RequestContext::get().await?;
    let auth = super::auth::require_signed_in(&ctx.session).await?;
    let current = ctx.session.id().map(|id| super::store::hash_id(&id)).ok_or(AppError::NotSignedIn)?;
    let ended = super::devices::revoke(&ctx.state.db, auth.user_id, &handle, &current, now())
        .await
        .map_err(AppError::internal)?;
    if !ended {
        return Err(AppError::NotFound);
    }
    leptos_axum::redirect("/devices");
    Ok(())
}

/// Signs out every other session of this account at once.
#[server(prefix = "/api", endpoint = "devices/sign-out-others")]
pub async fn revoke_other_devices() -> Result<(), AppError> {
    use crate::core::{db::now, server::RequestContext};
    let ctx = RequestContext::get().await?;
    let auth = super::auth::require_signed_in(&ctx.session).await?;
    let current = ctx.session.id().map(|id| super::store::hash_id(&id)).ok_or(AppError::NotSignedIn)?;
    super::devices::revoke_others(&ctx.state.db, auth.user_id, &current, now()).await.map_err(AppError::internal)?;
    leptos_axum::redirect("/devices");
    Ok(())
}
