//! The link's page (`/verify-email`) and the banner the page frame shows until the address is
//! verified. Plain POST forms, so both work without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{verification_link_usable, ConfirmEmail, SendVerificationAgain};
use super::{CONFIRMED, LINK_UNUSABLE};
use crate::ui::action_error;

/// `/verify-email?token=…`: a button that uses the link (never the GET itself, which mail
/// scanners make), then `?done=1` with the confirmation.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token")).unwrap_or_default();
    let done = move || query.with(|q| q.get("done").as_deref() == Some("1"));
    let usable = Resource::new(token, |token| async move {
        if token.is_empty() {
            Ok(false)
        } else {
            verification_link_usable(token).await
        }
    });
    let action = ServerAction::<ConfirmEmail>::new();
    let error = move || action_error(action.value().get());
    view! {
        <Title text="Confirm your email address"/>
        <section class="card narrow">
            <h1>"Confirm your email address"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    let (done, token) = (done(), token());
                    Suspend::new(async move {
                        if done {
                            return view! {
                                <p class="notice" role="status">{CONFIRMED}</p>
                                <p><a href="/">"Go to your account"</a></p>
                            }
                            .into_any();
                        }
                        match usable.await {
                            Ok(true) => view! {
                                <p>"Press the button to confirm that this address is yours."</p>
                                <ActionForm action=action>
                                    <input type="hidden" name="token" value=token/>
                                    {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                                    <button type="submit">"Confirm my email address"</button>
                                </ActionForm>
                            }
                            .into_any(),
                            _ => view! {
                                <p class="error" role="alert">{LINK_UNUSABLE}</p>
                                <p>"Sign in to Keycard to have a new link sent: the banner at the top of the page offers it."</p>
                            }
                            .into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

/// Asks a signed-in account whose address is not verified (with mail on) to verify it, with
/// **Send the link again**. Rendered by the page frame.
#[component]
pub fn VerificationBanner(
    /// The address to confirm (`service::address_to_confirm`, read by the frame).
    email: String,
) -> impl IntoView {
    let resend = ServerAction::<SendVerificationAgain>::new();
    let error = move || action_error(resend.value().get());
    let query = use_query_map();
    let sent = move || query.with(|q| q.get("verification").as_deref() == Some("sent"));
    view! {
        <aside class="notice verify-banner" aria-label="Confirm your email address">
            <p>{format!("Confirm your email address: we sent a link to {email}.")}</p>
            {move || sent().then(|| view! { <p>"A new link is on its way; it works for 24 hours."</p> })}
            {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            <ActionForm action=resend attr:class="inline">
                <button type="submit" class="secondary">"Send the link again"</button>
            </ActionForm>
        </aside>
    }
}
