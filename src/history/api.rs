//! Server functions of the History page. Thin: read the signed-in principal, call
//! [`super::store`], word times on the server.

use leptos::prelude::*;

use super::HistoryPageView;
use crate::errors::AppError;

/// Events shown per page.
pub const PAGE_SIZE: i64 = 25;

/// One page of the signed-in account's history, newest first, optionally of one kind, with ids
/// below `before`.
#[server(prefix = "/api", endpoint = "history")]
pub async fn history_page(kind: Option<String>, before: Option<i64>) -> Result<HistoryPageView, AppError> {
    use crate::core::{principal::signed_in_for_page, state::AppState};
    page_data(&AppState::current()?.db, signed_in_for_page(), kind.as_deref(), before).await
}

/// The page's data for the request's signed-in session (or why there is none): the one read
/// behind both [`history_page`] and the page's route layer ([`preload`]).
#[cfg(feature = "ssr")]
async fn page_data(
    db: &crate::core::db::Db,
    me: Result<crate::core::principal::SignedIn, AppError>,
    kind: Option<&str>,
    before: Option<i64>,
) -> Result<HistoryPageView, AppError> {
    let me = me?;
    let kind = kind.and_then(super::Kind::parse);
    let (events, next_before) = super::store::list(db, me.user_id, kind, before, PAGE_SIZE).await?;
    let t = crate::core::db::now();
    let events = events.into_iter().map(|e| view_of(e, t)).collect();
    Ok(HistoryPageView { events, next_before, kind })
}

/// The route layer of `/history`: reads the page the address asks for (`kind`, `before`, the
/// first of each) before it renders (see `crate::core::page_data`). Values no form or link sends,
/// an unknown kind or a `before` that is not a number, are ignored. Inside the page guard.
#[cfg(feature = "ssr")]
pub async fn preload(
    axum::extract::State(state): axum::extract::State<crate::core::state::AppState>,
    principal: crate::core::principal::Principal,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (mut kind, mut before) = (None, None);
    for (key, value) in form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "kind" if kind.is_none() => kind = Some(value.into_owned()),
            "before" if before.is_none() => before = Some(value.parse::<i64>().ok()),
            _ => {}
        }
    }
    let data = page_data(&state.db, principal.signed_in_for_page(), kind.as_deref(), before.flatten()).await;
    crate::core::page_data::attach(data, request, next).await
}

#[cfg(feature = "ssr")]
fn view_of(e: super::store::StoredEvent, now: i64) -> super::EventView {
    super::EventView {
        id: e.id,
        kind: e.kind,
        label: e.kind.label().to_owned(),
        detail: e.detail,
        device: super::device_name(&e.user_agent),
        ip: e.ip,
        when: crate::moment::moment(e.at, now),
        new_device: e.alert,
    }
}
