//! Server functions of the devices page. Thin: read the signed-in principal, call
//! [`super::service`], go back to `/devices`. Every action is a POST of a plain form (works
//! without JavaScript).

use leptos::prelude::*;

use super::DevicesView;
use crate::errors::AppError;

/// The signed-in account's sessions, with relative times worded on the server.
#[server(prefix = "/api", endpoint = "devices")]
pub async fn list_devices() -> Result<DevicesView, AppError> {
    use crate::core::{principal::signed_in_for_page, state::AppState};
    page_data(&AppState::current()?.db, signed_in_for_page()).await
}

/// The devices page's data for the request's signed-in session (or why there is none): the one
/// read behind both [`list_devices`] and the page's route layer (`core::page_data::preload`).
#[cfg(feature = "ssr")]
async fn page_data(
    db: &crate::core::db::Db,
    me: Result<crate::core::principal::SignedIn, AppError>,
) -> Result<DevicesView, AppError> {
    let me = me?;
    Ok(super::service::list(db, me.user_id, &me.id_hash, db.clock.now()).await?)
}

#[cfg(feature = "ssr")]
impl crate::core::page_data::PageData for DevicesView {
    async fn read(
        state: &crate::core::state::AppState,
        me: Result<crate::core::principal::SignedIn, AppError>,
        _: &axum::http::Uri,
    ) -> Result<Self, AppError> {
        page_data(&state.db, me).await
    }
}

/// **Sign out** one other session of this account, named by its public handle. Another account's
/// session, an ended one or an unknown handle: 404, nothing changes.
#[server(prefix = "/api", endpoint = "devices/sign-out")]
pub async fn sign_out_device(handle: String) -> Result<(), AppError> {
    use crate::core::{principal::signed_in, state::AppState};
    if handle.len() > 64 {
        return Err(AppError::NotFound);
    }
    let me = signed_in()?;
    let state = AppState::current()?;
    if !super::service::sign_out_device(&state.db, me.user_id, &handle, &me.id_hash, state.db.clock.now()).await? {
        return Err(AppError::NotFound);
    }
    leptos_axum::redirect(crate::routes::DEVICES);
    Ok(())
}

/// **Sign out all other devices** of this account at once.
#[server(prefix = "/api", endpoint = "devices/sign-out-others")]
pub async fn sign_out_other_devices() -> Result<(), AppError> {
    use crate::core::{principal::signed_in, request::RequestContext};
    let me = signed_in()?;
    let RequestContext { state, origin, .. } = RequestContext::current()?;
    super::service::sign_out_other_devices(&state, me.user_id, &me.id_hash, &origin, state.db.clock.now()).await?;
    leptos_axum::redirect(crate::routes::DEVICES);
    Ok(())
}
