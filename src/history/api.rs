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
/// behind both [`history_page`] and the page's route layer (`core::page_data::preload`).
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
    let t = db.clock.now();
    let events = events.into_iter().map(|e| view_of(e, t)).collect();
    Ok(HistoryPageView { events, next_before, kind })
}

/// The page the address asks for (`kind`, `before`, the first of each). Values no form or link
/// sends, an unknown kind or a `before` that is not a number, are ignored.
#[cfg(feature = "ssr")]
impl crate::core::page_data::PageData for HistoryPageView {
    async fn read(
        state: &crate::core::state::AppState,
        me: Result<crate::core::principal::SignedIn, AppError>,
        uri: &axum::http::Uri,
    ) -> Result<Self, AppError> {
        let (mut kind, mut before) = (None, None);
        for (key, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
            match key.as_ref() {
                "kind" if kind.is_none() => kind = Some(value.into_owned()),
                "before" if before.is_none() => before = Some(value.parse::<i64>().ok()),
                _ => {}
            }
        }
        page_data(&state.db, me, kind.as_deref(), before.flatten()).await
    }
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
