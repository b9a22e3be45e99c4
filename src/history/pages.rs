//! The History page (`/history`: events newest first, filter by kind, "Older events" pages,
//! downloads). Plain GET
//! forms, so it works without JavaScript. Browser-supplied text is rendered as escaped text.
//! The download links are plain (`rel="external"`, so the client router leaves them to the
//! browser): the server answers with an attachment, or with a redirect to the password prompt.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{EventView, HistoryPageView, Kind};
use crate::ui::{SignedOutNotice, When};

/// The page's data is read by its route layer before the render (`core::page_data::preload`): it
/// renders in one synchronous pass, with no resource or suspense boundary.
#[component]
pub fn HistoryPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let events = crate::core::page_data::preloaded::<HistoryPageView>();
    #[cfg(not(feature = "ssr"))]
    let events: Result<HistoryPageView, crate::errors::AppError> = Err(crate::errors::AppError::Internal);
    let page = match events {
        Ok(page) => {
            let selected = page.kind.map(|k| k.as_str()).unwrap_or("");
            let older = page.next_before.map(|before| match page.kind {
                Some(kind) => format!("/history?kind={}&before={before}", kind.as_str()),
                None => format!("/history?before={before}"),
            });
            let empty = page.events.is_empty();
            view! {
                <section class="card">
                    <h1 id="history-heading">"History"</h1>
                    <p class="help">"Security events of your account, newest first."</p>
                    <form method="get" action="/history" class="inline">
                        <label for="history-kind">"Show"</label>
                        <select id="history-kind" name="kind">
                            <option value="" selected=selected.is_empty()>"All events"</option>
                            {Kind::ALL.into_iter().map(|k| view! {
                                <option value=k.as_str() selected=selected == k.as_str()>{k.label()}</option>
                            }).collect_view()}
                        </select>
                        <button type="submit">"Filter"</button>
                    </form>
                    {empty.then(|| view! { <p>"No events to show."</p> })}
                    <ol class="history" aria-labelledby="history-heading">
                        {page.events.into_iter().map(|event| view! { <EventRow event/> }).collect_view()}
                    </ol>
                    {older.map(|href| view! { <p><a href=href>"Older events"</a></p> })}
                    <p id="export">
                        "Download your history (asks for your password first if you have not entered it in the last few minutes): "
                        <a href="/history/export.json" rel="external">"JSON"</a>
                        " · "
                        <a href="/history/export.csv" rel="external">"CSV"</a>
                    </p>
                </section>
            }
            .into_any()
        }
        Err(err) => view! { <SignedOutNotice err/> }.into_any(),
    };
    view! {
        <Title text="History"/>
        {page}
    }
}

#[component]
fn EventRow(event: EventView) -> impl IntoView {
    let from = match (event.device.is_empty(), event.ip.is_empty()) {
        (true, true) => String::new(),
        (false, true) => event.device.clone(),
        (true, false) => event.ip.clone(),
        (false, false) => format!("{} · {}", event.device, event.ip),
    };
    view! {
        <li class="event" data-kind=event.kind.as_str()>
            <p>
                <strong>{event.label.clone()}</strong>
                {(!event.detail.is_empty()).then(|| view! { " · " {event.detail.clone()} })}
                {event.new_device.then(|| view! { " " <span class="badge">"New device"</span> })}
            </p>
            <p class="help">
                <When moment=event.when.clone() exact=true/>
                {(!from.is_empty()).then(|| view! { " · " {from.clone()} })}
            </p>
        </li>
    }
}
