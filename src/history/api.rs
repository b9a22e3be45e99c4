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
    use crate::core::{db::now, principal::signed_in_for_page, state::AppState};
    let me = signed_in_for_page()?;
    let kind = kind.as_deref().and_then(super::Kind::parse);
    let (events, next_before) =
        super::store::list(&AppState::current()?.db, me.user_id, kind, before, PAGE_SIZE).await?;
    let t = now();
    let events = events.into_iter().map(|e| view_of(e, t)).collect();
    Ok(HistoryPageView { events, next_before, kind })
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
