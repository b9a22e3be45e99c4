//! The parts of Keycard that run in the browser. Every page is server-rendered HTML whose forms
//! work without JavaScript; only these islands hydrate, so the browser bundle holds only them
//! (plus `show_local_times`, run by the entry point `hydrate`). Each one adds to a page that
//! already works without it. The server renders them into its pages (feature `ssr`); the bundle
//! is this crate for wasm32 (feature `hydrate`), and nothing else of Keycard.

use leptos::prelude::*;

/// Browser entry point, called before the islands hydrate (Leptos' loader then hydrates each
/// `<leptos-island>` in document order): shows times in the person's time zone.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    show_local_times();
}

/// A submit button for a destructive action: styled as one, and with JavaScript it asks
/// `question` first (cancelling leaves everything as it was). Without JavaScript the action's
/// own confirmation is the safeguard (the re-authentication prompt before turning two-step off or
/// new recovery codes); signing out other devices is undone by signing in again.
#[island]
pub fn ConfirmButton(label: String, question: String, disabled: bool) -> impl IntoView {
    let ask = move |ev: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        if !window().confirm_with_message(&question).unwrap_or(false) {
            ev.prevent_default();
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&ev, &question);
    };
    view! { <button type="submit" class="danger" disabled=disabled on:click=ask>{label}</button> }
}

/// **Copy**: puts `text` on the clipboard. Hidden until the island runs (without JavaScript it
/// could do nothing); a polite live region says whether it worked.
#[island]
pub fn CopyButton(text: String) -> impl IntoView {
    let (ready, set_ready) = signal(false);
    let (said, say) = signal(String::new());
    Effect::new(move |_| set_ready.set(true));
    let copy = move |_: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            let promise = window().navigator().clipboard().write_text(&text);
            leptos::task::spawn_local(async move {
                let copied = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
                say.set(if copied { "Copied." } else { "Could not copy: select the codes and copy them." }.into());
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&text, say);
    };
    view! {
        <button type="button" class="secondary" hidden=move || !ready.get() on:click=copy>"Copy"</button>
        <span class="help" aria-live="polite">{move || said.get()}</span>
    }
}

/// Marks the page as ready (`data-hydrated` on `<body>`; the browser tests wait for it). The frame
/// renders it last, and islands hydrate in document order, so every island before it is live.
#[island]
pub fn PageReady() -> impl IntoView {
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// Rewrites each `<time datetime>` for the person's time zone: its `title`, and the text of an
/// `.exact` part inside it (the server writes UTC, naming the zone, for browsers without JavaScript).
#[cfg(feature = "hydrate")]
pub fn show_local_times() {
    use wasm_bindgen::{JsCast, JsValue};
    let Ok(times) = document().query_selector_all("time[datetime]") else { return };
    let options = js_sys::Object::new();
    for (key, value) in [
        ("year", "numeric"),
        ("month", "short"),
        ("day", "numeric"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("hourCycle", "h23"),
        ("timeZoneName", "short"),
    ] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    let language = window().navigator().language().unwrap_or_else(|| "en".into());
    for index in 0..times.length() {
        let Some(time) = times.item(index).and_then(|node| node.dyn_into::<web_sys::Element>().ok()) else { continue };
        let Some(iso) = time.get_attribute("datetime") else { continue };
        let date = js_sys::Date::new(&JsValue::from_str(&iso));
        if date.get_time().is_nan() {
            continue;
        }
        let local: String = date.to_locale_string(&language, &options).into();
        let _ = time.set_attribute("title", &local);
        if let Ok(Some(exact)) = time.query_selector(".exact") {
            exact.set_text_content(Some(&local));
        }
    }
}
