//! The alert banner the page frame shows on every page of a signed-in session: a sign-in from a
//! new device, or someone who knew the password but failed the two-step code, with **This wasn't
//! me** and **It was me**. Plain POST forms, so it works without JavaScript.

use leptos::prelude::*;

use super::api::{open_alerts, AcknowledgeAlert, NotMe};
use crate::history::Kind;
use crate::ui::{action_error, When};

/// Alerts raised by other sessions of this account, until answered. Rendered by the frame.
#[component]
pub fn AlertBanner() -> impl IntoView {
    let alerts = Resource::new(|| (), |_| open_alerts());
    let ack = ServerAction::<AcknowledgeAlert>::new();
    let not_me = ServerAction::<NotMe>::new();
    let error = move || action_error(ack.value().get()).or_else(|| action_error(not_me.value().get()));
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let alerts = alerts.await.unwrap_or_default();
                (!alerts.is_empty()).then(|| view! {
                    <section class="alert-banner" role="alert" aria-label="New sign-in">
                        {move || error().map(|message| view! { <p class="error">{message}</p> })}
                        {alerts.into_iter().map(|alert| {
                            let from = if alert.device.is_empty() { alert.ip.clone() } else { format!("{} ({})", alert.device, alert.ip) };
                            view! {
                                <div class="alert">
                                    {if alert.kind == Kind::SecondFactorLocked {
                                        view! {
                                            <p>
                                                "Someone entered your password but failed the two-step code, from " {from} ", "
                                                <When moment=alert.when.clone()/>
                                                ". If it was not you, "
                                                <a href="/security/password">"change your password"</a>
                                                "."
                                            </p>
                                        }.into_any()
                                    } else {
                                        view! {
                                            <p>
                                                "New sign-in to your account from " {from} ", "
                                                <When moment=alert.when.clone()/>
                                                "."
                                            </p>
                                        }.into_any()
                                    }}
                                    <ActionForm action=not_me attr:class="inline">
                                        <input type="hidden" name="alert" value=alert.id/>
                                        <button type="submit">"This wasn't me"</button>
                                    </ActionForm>
                                    <ActionForm action=ack attr:class="inline">
                                        <input type="hidden" name="alert" value=alert.id/>
                                        <button type="submit" class="secondary">"It was me"</button>
                                    </ActionForm>
                                    " "<a href="/security#something-wrong">"What to do if something looks wrong"</a>
                                </div>
                            }
                        }).collect_view()}
                    </section>
                })
            })}
        </Suspense>
    }
}
