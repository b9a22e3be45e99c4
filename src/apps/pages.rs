//! `/connect`: a person connects an app that showed them a pairing code. Two steps: type the code
//! (field **Code**), then, having seen which app asks and from where, **Connect** or **Deny**.
//! The app's link (`/connect?code=…`) lands on the second step. Plain forms: no JavaScript needed.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{pairing_request, ConnectApp, DenyApp};
use super::{PairingView, CODE_NOT_FOUND, CONNECTED, DENIED};
use crate::ui::{action_error, SignedOutNotice, When};

#[component]
pub fn ConnectPage() -> impl IntoView {
    let query = use_query_map();
    let code = move || query.with(|q| q.get("code")).unwrap_or_default();
    let done = move || query.with(|q| q.get("done"));
    let request = Resource::new(code, pairing_request);
    let connect = ServerAction::<ConnectApp>::new();
    let deny = ServerAction::<DenyApp>::new();
    let error = move || action_error(connect.value().get()).or_else(|| action_error(deny.value().get()));
    view! {
        <Title text="Connect an app"/>
        <section class="card narrow">
            <h1>"Connect an app"</h1>
            {move || match done().as_deref() {
                Some("connected") => Some(view! { <p class="notice" role="status">{CONNECTED}</p> }),
                Some("denied") => Some(view! { <p class="notice" role="status">{DENIED}</p> }),
                _ => None,
            }}
            {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match request.await {
                        Ok(Some(pairing)) => view! { <Decide pairing connect deny/> }.into_any(),
                        Ok(None) => {
                            let typed = code();
                            let mistyped = !typed.trim().is_empty();
                            view! {
                                {mistyped.then(|| view! { <p class="error" role="alert">{CODE_NOT_FOUND}</p> })}
                                <EnterCode typed/>
                            }.into_any()
                        }
                        // Signed out, or too many codes that named nothing (it says how long to wait).
                        Err(err) => view! { <SignedOutNotice err/> }.into_any(),
                    }
                })}
            </Suspense>
            <p><a href="/devices">"Your devices and connected apps"</a></p>
        </section>
    }
}

/// Step one: the code the app shows.
#[component]
fn EnterCode(typed: String) -> impl IntoView {
    view! {
        <p>"Enter the code your app or command-line tool shows. Only enter a code from an app you started yourself, just now."</p>
        <form method="get" action="/connect">
            <label for="connect-code">"Code"</label>
            <input id="connect-code" name="code" required autocomplete="off" autocapitalize="characters"
                spellcheck="false" maxlength="32" placeholder="WDJB-MJHT" value=typed/>
            <button type="submit">"Continue"</button>
        </form>
    }
}

/// Step two: which app asks, from where, and the decision.
#[component]
fn Decide(pairing: PairingView, connect: ServerAction<ConnectApp>, deny: ServerAction<DenyApp>) -> impl IntoView {
    let code = pairing.code.clone();
    let hidden_code = pairing.code.clone();
    view! {
        <p><strong>{pairing.client_name.clone()}</strong> " wants to connect to your account."</p>
        <dl class="device-facts">
            <dt>"Asked from"</dt><dd>{pairing.device.clone()}</dd>
            <dt>"IP address"</dt><dd>{pairing.ip.clone()}</dd>
            <dt>"Asked"</dt><dd><When moment=pairing.asked.clone()/></dd>
        </dl>
        <p class="help">
            "It will be able to see your account's devices and history and sign devices out, until you sign it out on "
            <a href="/devices">"Devices"</a> ". If you did not start this, choose Deny."
        </p>
        <ActionForm action=connect attr:class="inline">
            <label for="connect-code">"Code"</label>
            <input id="connect-code" name="code" readonly value=code/>
            <button type="submit">"Connect"</button>
        </ActionForm>
        <ActionForm action=deny attr:class="inline">
            <input type="hidden" name="code" value=hidden_code/>
            <button type="submit" class="secondary">"Deny"</button>
        </ActionForm>
    }
}
