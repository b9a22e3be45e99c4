//! The re-authentication prompt: password (and code) before a sensitive change.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{reauth_needs_code, ConfirmIdentity};
use crate::ui::{action_error, CodeField, PasskeyWayIn, SignedOutNotice};

/// `/security/confirm`: password (and code) before a sensitive change.
#[component]
pub fn ReauthPage() -> impl IntoView {
    let action = ServerAction::<ConfirmIdentity>::new();
    let error = move || action_error(action.value().get());
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let needs_code = Resource::new(|| (), |_| reauth_needs_code());
    view! {
        <Title text="Confirm it's you"/>
        <section class="card narrow">
            <h1>"Confirm it's you"</h1>
            <p>"This change needs your password again."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match needs_code.await {
                        Ok(needs_code) => view! {
                            <ActionForm action=action>
                                <input type="hidden" name="next" value=next/>
                                <label for="reauth-password">"Password"</label>
                                <input id="reauth-password" type="password" name="password"
                                    autocomplete="current-password" required maxlength="1024"/>
                                {needs_code.then(|| view! {
                                    <CodeField id="reauth-code"
                                        help="The 6-digit code from your authenticator app, or a recovery code."/>
                                })}
                                {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                                <button type="submit">"Confirm"</button>
                            </ActionForm>
                        }.into_any(),
                        Err(err) => view! { <SignedOutNotice err/> }.into_any(),
                    }
                })}
            </Suspense>
            <PasskeyWayIn step="reauth" path="/security/confirm"/>
        </section>
    }
}
