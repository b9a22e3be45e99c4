//! The alert callout the page frame shows at the top of every page of a signed-in session: a sign-in from a
//! new device, or someone who knew the password but failed the two-step code, with **This wasn't
//! me** and **It was me**. Plain POST forms, so it works without JavaScript.

use leptos::prelude::*;

use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{not_me_link_usable, open_alerts, AcknowledgeAlert, NotMe, NotMeFromMail};
use super::NOT_ME_LINK_UNUSABLE;
use crate::history::Kind;
use crate::ui::{action_error, When};

/// Alerts raised by other sessions of this account, until answered. Rendered by the frame, only
/// when the session's principal counts open alerts (so a page without any runs no query for them).
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
                let heading = match alerts.as_slice() {
                    [one] => match one.kind {
                        Kind::RefreshTokenReused => "An app connection was ended".to_owned(),
                        Kind::SecondFactorLocked => "Failed two-step sign-in".to_owned(),
                        _ => "New sign-in".to_owned(),
                    },
                    several => format!("New sign-ins and activity to check ({})", several.len()),
                };
                (!alerts.is_empty()).then(|| view! {
                    <section class="callout" aria-labelledby="alerts-heading">
                        <h2 id="alerts-heading">{heading}</h2>
                        {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                        <ul class="alerts">
                        {alerts.into_iter().map(|alert| {
                            let from = if alert.device.is_empty() { alert.ip.clone() } else { format!("{} ({})", alert.device, alert.ip) };
                            view! {
                                <li class="alert">
                                    {if alert.kind == Kind::RefreshTokenReused {
                                        view! {
                                            <p>
                                                "An app's connection to your account was ended: one of its old refresh tokens was used again, from "
                                                {from} ", " <When moment=alert.when.clone() exact=true/>
                                                ". Someone may hold a copy of that app's tokens; connect the app again, and if you don't know why, "
                                                <a href="/security/password">"change your password"</a>
                                                "."
                                            </p>
                                        }.into_any()
                                    } else if alert.kind == Kind::SecondFactorLocked {
                                        view! {
                                            <p>
                                                "Someone entered your password but failed the two-step code, from " {from} ", "
                                                <When moment=alert.when.clone() exact=true/>
                                                ". If it was not you, "
                                                <a href="/security/password">"change your password"</a>
                                                "."
                                            </p>
                                        }.into_any()
                                    } else {
                                        view! {
                                            <p>
                                                "New sign-in to your account from " {from} ", "
                                                <When moment=alert.when.clone() exact=true/>
                                                "."
                                            </p>
                                        }.into_any()
                                    }}
                                    <div class="alert-actions">
                                        <ActionForm action=ack attr:class="inline">
                                            <input type="hidden" name="alert" value=alert.id/>
                                            <button type="submit" class="secondary">"It was me"</button>
                                        </ActionForm>
                                        <ActionForm action=not_me attr:class="inline">
                                            <input type="hidden" name="alert" value=alert.id/>
                                            <button type="submit" class="danger">"This wasn't me"</button>
                                        </ActionForm>
                                    </div>
                                </li>
                            }
                        }).collect_view()}
                        </ul>
                        <p class="help"><a href="/security#something-wrong">"What to do if something looks wrong"</a></p>
                    </section>
                })
            })}
        </Suspense>
    }
}

/// `/login/not-me?token=…`, from a new-sign-in notice: a button signs the named session out (the
/// GET itself changes nothing: mail scanners open links).
#[component]
pub fn NotMePage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token")).unwrap_or_default();
    let usable = Resource::new(token, not_me_link_usable);
    let action = ServerAction::<NotMeFromMail>::new();
    let error = move || action_error(action.value().get());
    view! {
        <Title text="This wasn't me"/>
        <section class="card narrow">
            <h1>"This wasn't me"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    if usable.await != Ok(true) {
                        return view! { <p class="error" role="alert">{NOT_ME_LINK_UNUSABLE}</p> }.into_any();
                    }
                    view! {
                        <p>"Sign out the sign-in the mail told you about. Then choose a new password."</p>
                        <ActionForm action=action>
                            <input type="hidden" name="token" value=token/>
                            {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                            <button type="submit">"Sign it out"</button>
                        </ActionForm>
                    }
                    .into_any()
                })}
            </Suspense>
        </section>
    }
}
