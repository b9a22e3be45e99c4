//! `/security/passkeys`: the account's passkeys, with **Add a passkey** (through the browser
//! script `passkeys.js`, since the browser makes the passkey), and per passkey a rename form and
//! **Remove** (plain forms that work without JavaScript).

use leptos::prelude::*;
use leptos_meta::Title;

use super::api::{passkeys_page, RemovePasskey, RenamePasskey};
use super::{PasskeyView, PasskeysPageView, MAX_NAME_CHARS};
use crate::ui::{action_error, SignedOutNotice, When};
use keycard_browser::ConfirmButton;

#[component]
pub fn PasskeysPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| passkeys_page());
    view! {
        <Title text="Passkeys"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => view! { <PasskeysCard view/> }.into_any(),
                    Err(err) => view! { <SignedOutNotice err/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PasskeysCard(view: PasskeysPageView) -> impl IntoView {
    let PasskeysPageView { passkeys, origin } = view;
    let count = passkeys.len();
    let elsewhere = format!("{origin}{}", crate::routes::PASSKEYS);
    view! {
        <section class="card">
            <h1>"Passkeys"</h1>
            <p>
                "A passkey signs you in with your fingerprint, face or device PIN instead of your password. \
                 It only works on Keycard's own address, so a fake sign-in page cannot use it."
            </p>
            // Shown until the browser script runs (and hides it): a <noscript> is not shown by every way of
            // turning scripts off.
            <p class="notice" data-passkey-needs-script>
                "Adding a passkey and signing in with one need JavaScript: your browser makes and uses the \
                 passkey. Renaming and removing passkeys, and signing in with your password, work without it."
            </p>
            <p class="notice" data-passkey-elsewhere hidden>
                "Passkeys for this Keycard belong to " <a href=elsewhere.clone()>{origin.clone()}</a>
                ". Open Keycard there to add or use one."
            </p>
            <p class="notice" data-passkey-unsupported hidden>
                "This browser cannot make passkeys. Your password and authenticator codes keep working."
            </p>
            <form class="passkey-add" data-passkey-add data-passkey-origin=origin hidden>
                <label for="passkey-name">"Passkey name"</label>
                <input id="passkey-name" type="text" name="name" maxlength=MAX_NAME_CHARS.to_string()
                    autocomplete="off" aria-describedby="passkey-name-help"/>
                <p id="passkey-name-help" class="help">
                    "Something that tells your passkeys apart, like “Work laptop”. Leave it empty to use this browser's name."
                </p>
                <p class="error" role="alert" data-passkey-error hidden></p>
                <button type="submit">"Add a passkey"</button>
            </form>
            <h2>"Your passkeys"</h2>
            {if count == 0 {
                view! { <p class="empty">"You have no passkeys yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="passkeys" aria-label="Your passkeys">
                        {passkeys.into_iter().map(|passkey| view! { <PasskeyItem passkey/> }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
            <p><a href="/security">"Back to security"</a></p>
        </section>
        <script type="module" src=crate::routes::PASSKEYS_SCRIPT></script>
    }
}

#[component]
fn PasskeyItem(passkey: PasskeyView) -> impl IntoView {
    let rename = ServerAction::<RenamePasskey>::new();
    let rename_error = move || action_error(rename.value().get());
    let remove = ServerAction::<RemovePasskey>::new();
    let remove_error = move || action_error(remove.value().get());
    let PasskeyView { id, name, created, last_used, kind } = passkey;
    let field = format!("passkey-{id}-name");
    let question = format!("Remove the passkey “{name}”? It will no longer sign in to Keycard.");
    view! {
        <li class="passkey">
            <h3>{name.clone()}</h3>
            <p class="meta">
                <span class="kind">{kind}</span>
                " · added " <When moment=created/>
                " · " {match last_used {
                    Some(moment) => view! { "last used " <When moment/> }.into_any(),
                    None => view! { "never used yet" }.into_any(),
                }}
            </p>
            <ActionForm action=rename attr:class="inline">
                <input type="hidden" name="id" value=id.to_string()/>
                <label for=field.clone()>{format!("New name for {name}")}</label>
                <input id=field type="text" name="name" value=name.clone() maxlength=MAX_NAME_CHARS.to_string() required/>
                <button type="submit" class="secondary">"Rename"</button>
                {move || rename_error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            </ActionForm>
            <ActionForm action=remove attr:class="inline">
                <input type="hidden" name="id" value=id.to_string()/>
                <ConfirmButton label="Remove".to_owned() question disabled=false/>
                {move || remove_error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            </ActionForm>
        </li>
    }
}
