//! `GET /history/export.json` and `/history/export.csv`: the signed-in account's own history as
//! a download. Plain axum handlers (a file download, not a page); the session is checked here,
//! as the page guard covers pages only. Like other sensitive actions it needs a recent
//! re-authentication: without one the browser goes to the prompt, which returns to the download
//! links on the History page.

use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Redirect, Response},
};
use serde::Serialize;
use tower_sessions::Session;

use super::store::{self, StoredEvent};
use crate::core::state::AppState;
use crate::sessions::auth::require_signed_in;

/// One exported event. Times are Unix seconds and RFC 3339 UTC.
#[derive(Debug, Serialize)]
pub struct ExportRow {
    pub id: i64,
    pub kind: &'static str,
    pub event: &'static str,
    pub at: i64,
    pub at_utc: String,
    pub detail: String,
    pub ip: String,
    pub user_agent: String,
    pub new_device: bool,
}

impl From<StoredEvent> for ExportRow {
    fn from(e: StoredEvent) -> Self {
        ExportRow {
            id: e.id,
            kind: e.kind.as_str(),
            event: e.kind.label(),
            at: e.at,
            at_utc: crate::sessions::devices::moment(e.at, e.at).iso,
            detail: e.detail,
            ip: e.ip,
            user_agent: e.user_agent,
            new_device: e.alert,
        }
    }
}

/// Where the re-authentication prompt sends the person back to: the download links.
pub const EXPORT_LINKS_PATH: &str = "/history#export";

async fn rows(state: &AppState, session: &Session) -> Result<Vec<ExportRow>, Response> {
    let auth = require_signed_in(session).await.map_err(|_| Redirect::to("/login?next=/history").into_response())?;
    let recent = crate::sessions::reauth::is_recent(session, state.config.reauth_window).await.unwrap_or(false);
    if !recent {
        return Err(Redirect::to(&crate::sessions::reauth::prompt_path(EXPORT_LINKS_PATH)).into_response());
    }
    let events = store::all(&state.db, auth.user_id).await.map_err(|err| {
        tracing::error!(error = %err, "history export failed");
        crate::core::web::error_page(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong. Try again.")
    })?;
    Ok(events.into_iter().map(ExportRow::from).collect())
}

fn download(content_type: &'static str, filename: &'static str, body: String) -> Response {
    let disposition = HeaderValue::from_static(filename);
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type)), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}

pub async fn json(State(state): State<AppState>, session: Session) -> Response {
    match rows(&state, &session).await {
        Ok(rows) => download(
            "application/json",
            "attachment; filename=\"keycard-history.json\"",
            serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into()),
        ),
        Err(response) => response,
    }
}

pub async fn csv(State(state): State<AppState>, session: Session) -> Response {
    match rows(&state, &session).await {
        Ok(rows) => download("text/csv; charset=utf-8", "attachment; filename=\"keycard-history.csv\"", to_csv(&rows)),
        Err(response) => response,
    }
}

pub fn to_csv(rows: &[ExportRow]) -> String {
    let mut out = String::from("id,kind,event,at,at_utc,detail,ip,user_agent,new_device\r\n");
    for r in rows {
        let fields = [
            r.id.to_string(),
            r.kind.to_owned(),
            r.event.to_owned(),
            r.at.to_string(),
            r.at_utc.clone(),
            r.detail.clone(),
            r.ip.clone(),
            r.user_agent.clone(),
            r.new_device.to_string(),
        ];
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

/// RFC 4180 quoting; a field that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
/// CR at the start) gets a leading `'` so it stays text (user agents come from the browser).
pub fn csv_field(field: &str) -> String {
    let guarded = if field.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{field}") } else { field.to_owned() };
    if guarded.contains([',', '"', '\n', '\r']) || guarded != field {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    }
}
