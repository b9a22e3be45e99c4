//! `GET /history/export.json` and `/history/export.csv`: the signed-in account's own history as
//! a download. Plain axum handlers (a file download, not a page); the principal is checked here,
//! as the page guard covers pages only. Like other sensitive actions it needs a recent
//! re-authentication: without one the browser goes to the prompt, which returns to the download
//! links on the History page.
//!
//! The download is streamed: events are read [`EXPORT_PAGE_SIZE`] at a time (keyset pages of
//! [`store::list`], newest first) as the client takes them, so memory does not grow with the
//! history. An export holds at most [`MAX_EXPORT_EVENTS`] events: the newest ones (retention
//! normally keeps a history far smaller). The request time limit covers only the start of the
//! answer, not the download itself.

use super::store::{self, StoredEvent};
use crate::core::principal::Principal;
use crate::core::{db::Db, state::AppState};
use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Redirect, Response},
};
use serde::Serialize;

/// The most events one export holds (the newest ones).
pub const MAX_EXPORT_EVENTS: usize = 100_000;

/// Events read per database query while streaming an export.
pub const EXPORT_PAGE_SIZE: usize = 500;

const CSV_HEADER: &str = "id,kind,event,at,at_utc,detail,ip,user_agent,new_device\r\n";

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
            at_utc: crate::moment::moment(e.at, e.at).iso,
            detail: e.detail,
            ip: e.ip,
            user_agent: e.user_agent,
            new_device: e.alert,
        }
    }
}

/// Where the re-authentication prompt sends the person back to: the download links.
pub const EXPORT_LINKS_PATH: &str = "/history#export";

/// The two download formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A JSON array of [`ExportRow`] objects, one per line.
    Json,
    /// RFC 4180 CSV with a header line; fields as [`to_csv`] writes them.
    Csv,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    fn disposition(self) -> &'static str {
        match self {
            Format::Json => "attachment; filename=\"keycard-history.json\"",
            Format::Csv => "attachment; filename=\"keycard-history.csv\"",
        }
    }

    fn opening(self) -> &'static str {
        match self {
            Format::Json => "[",
            Format::Csv => CSV_HEADER,
        }
    }

    fn closing(self) -> &'static str {
        match self {
            Format::Json => "\n]\n",
            Format::Csv => "",
        }
    }

    /// Appends `events`; `first` says whether any row came before (JSON needs commas between).
    fn write(self, out: &mut String, events: Vec<StoredEvent>, first: &mut bool) {
        for event in events {
            let row = ExportRow::from(event);
            match self {
                Format::Json => {
                    out.push_str(if *first { "\n" } else { ",\n" });
                    out.push_str(&serde_json::to_string(&row).unwrap_or_else(|_| "null".into()));
                }
                Format::Csv => csv_line(out, &row),
            }
            *first = false;
        }
    }
}

/// The signed-in account whose history may be downloaded now, or the answer to give instead.
fn authorize(state: &AppState, principal: Principal) -> Result<i64, Redirect> {
    let me = principal.signed_in().map_err(|_| Redirect::to("/login?next=/history"))?;
    if !me.reauthenticated_within(state.config.reauth_window, state.db.clock.now()) {
        return Err(Redirect::to(&crate::routes::reauth_prompt(EXPORT_LINKS_PATH)));
    }
    Ok(me.user_id)
}

async fn download(state: AppState, principal: Principal, format: Format) -> Response {
    let user_id = match authorize(&state, principal) {
        Ok(user_id) => user_id,
        Err(redirect) => return redirect.into_response(),
    };
    match export_body(&state.db, user_id, format, MAX_EXPORT_EVENTS).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(format.content_type())),
                (header::CONTENT_DISPOSITION, HeaderValue::from_static(format.disposition())),
            ],
            body,
        )
            .into_response(),
        // Logged (as an outage or an internal error) by the conversion.
        Err(err) => crate::core::web::app_error_page(&crate::errors::AppError::from(err)),
    }
}

pub async fn json(State(state): State<AppState>, principal: Principal) -> Response {
    download(state, principal, Format::Json).await
}

pub async fn csv(State(state): State<AppState>, principal: Principal) -> Response {
    download(state, principal, Format::Csv).await
}

/// What the streamed body does next.
enum Step {
    /// Read the page of events with ids below this (`None`: the newest).
    Page(Option<i64>),
    Close,
    Done,
}

struct Cursor {
    db: Db,
    user_id: i64,
    format: Format,
    /// Events still allowed in this export.
    left: usize,
    first: bool,
    step: Step,
}

impl Cursor {
    /// The next chunk of the body, or `None` at its end.
    async fn next_chunk(&mut self) -> Option<Result<String, sqlx::Error>> {
        match self.step {
            Step::Done => None,
            Step::Close => {
                self.step = Step::Done;
                let closing = self.format.closing();
                (!closing.is_empty()).then(|| Ok(closing.to_owned()))
            }
            Step::Page(before) => {
                let limit = self.left.min(EXPORT_PAGE_SIZE) as i64;
                match store::list(&self.db, self.user_id, None, before, limit).await {
                    Ok((events, next)) => {
                        self.left = self.left.saturating_sub(events.len());
                        self.step = match next {
                            Some(before) if self.left > 0 => Step::Page(Some(before)),
                            _ => Step::Close,
                        };
                        let mut chunk = String::new();
                        self.format.write(&mut chunk, events, &mut self.first);
                        Some(Ok(chunk))
                    }
                    Err(err) => {
                        tracing::error!(error = %err, "history export stopped part-way");
                        self.step = Step::Done;
                        Some(Err(err))
                    }
                }
            }
        }
    }
}

/// The body of an export of `user_id`'s history in `format`: newest first, at most `max_events`
/// events, read [`EXPORT_PAGE_SIZE`] at a time while the client downloads. The first page is
/// read before this returns, so a database that fails at once gives an error page; a later
/// failure aborts the body, so the client sees a broken download rather than a short file.
pub async fn export_body(db: &Db, user_id: i64, format: Format, max_events: usize) -> Result<Body, sqlx::Error> {
    let mut cursor = Cursor { db: db.clone(), user_id, format, left: max_events, first: true, step: Step::Page(None) };
    let mut opening = String::from(format.opening());
    if let Some(first_page) = cursor.next_chunk().await {
        opening.push_str(&first_page?);
    }
    let stream = futures_util::stream::unfold((Some(opening), cursor), |(opening, mut cursor)| async move {
        let chunk = match opening {
            Some(opening) => Ok(opening),
            None => cursor.next_chunk().await?,
        };
        Some((chunk, (None, cursor)))
    });
    // Fused: the compression layer may poll once more after the end, which `unfold` forbids.
    Ok(Body::from_stream(futures_util::StreamExt::fuse(stream)))
}

/// The whole CSV of `rows` (the download writes the same lines page by page).
pub fn to_csv(rows: &[ExportRow]) -> String {
    let mut out = String::from(CSV_HEADER);
    for row in rows {
        csv_line(&mut out, row);
    }
    out
}

fn csv_line(out: &mut String, r: &ExportRow) {
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

/// RFC 4180 quoting; a field that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
/// CR at the start) gets a leading `'` so it stays text (user agents come from the browser).
pub fn csv_field(field: &str) -> String {
    let guarded =
        if field.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{field}") } else { field.to_owned() };
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
