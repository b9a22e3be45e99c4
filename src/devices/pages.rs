//! The devices page: every signed-in session of the account, newest activity first, with
//! **Sign out** for each other session, **Sign out all other devices**, and a collapsed
//! "Recently signed out" section. Plain POST forms, so it works without JavaScript.
//!
//! All text that comes from a browser (the user agent) is rendered as text nodes or attributes,
//! which Leptos escapes; nothing here uses `inner_html`.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;

use super::api::{SignOutDevice, SignOutOtherDevices};
use super::{DeviceView, DevicesView};
use crate::sessions::api::SignOut;
use crate::ui::{form_error, DeviceIcon, SignedOutNotice, When};
use keycard_browser::ConfirmButton;

/// The page's data, read by its route layer before the render (`core::page_data::preload`): the
/// page renders in one pass, with no resource or suspense boundary. Its forms are plain POST
/// forms (the page is server HTML; only the confirming button is an island).
#[component]
pub fn DevicesPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let devices = crate::core::page_data::preloaded::<DevicesView>();
    #[cfg(not(feature = "ssr"))]
    let devices: Result<DevicesView, crate::errors::AppError> = Err(crate::errors::AppError::Internal);
    let error = form_error::<SignOutDevice>().or_else(form_error::<SignOutOtherDevices>);
    let page = match devices {
        Ok(view) => {
            // With no other session the button stays, but there is nothing for it to do.
            let others = view.active.iter().filter(|d| !d.current).count();
            let has_recent = !view.recent.is_empty();
            view! {
                <section class="card">
                    <h1 id="devices-heading">"Devices"</h1>
                    <p class="help">
                        "Browsers, devices and connected apps signed in to your account, most recently active first. "
                        "If you don't recognise one, sign it out and change your password. "
                        <a href="/connect">"Connect an app"</a>
                    </p>
                    {error.map(|message| view! { <p class="error" role="alert">{message}</p> })}
                    <ul class="devices" aria-labelledby="devices-heading">
                        {view.active.into_iter().map(|device| view! { <DeviceRow device/> }).collect_view()}
                    </ul>
                    <div class="device-actions">
                        <form action=SignOutOtherDevices::PATH method="post" class="inline">
                            <ConfirmButton label="Sign out all other devices".to_owned() disabled=others == 0
                                question="Sign out every other browser, device and app? They will need your password to sign in again.".to_owned()/>
                        </form>
                        <form action=SignOut::PATH method="post" class="inline">
                            <button type="submit" class="secondary">"Sign out here"</button>
                        </form>
                    </div>
                </section>
                {has_recent.then(|| view! {
                    <section class="card">
                        <details>
                            <summary>"Recently signed out"</summary>
                            <ul class="devices ended">
                                {view.recent.into_iter().map(|device| view! { <EndedRow device/> }).collect_view()}
                            </ul>
                        </details>
                    </section>
                })}
            }
            .into_any()
        }
        Err(err) => view! { <SignedOutNotice err/> }.into_any(),
    };
    view! {
        <Title text="Devices"/>
        {page}
    }
}

#[component]
fn DeviceRow(device: DeviceView) -> impl IntoView {
    let button_name = format!("Sign out {}", device.name);
    view! {
        <li class="device" class:current=device.current>
            <p class="device-name">
                <DeviceIcon kind=device.kind.clone()/>
                <strong title=device.user_agent.clone()>{device.name.clone()}</strong>
                " · " {device.kind.clone()}
                {device.current.then(|| view! { " " <span class="badge">"This device"</span> })}
            </p>
            {if device.app {
                // An app connection: where it was connected from, and when it was last used.
                view! {
                    <dl class="device-facts">
                        <dt>"Connected from"</dt><dd>{device.device.clone()}</dd>
                        <dt>"IP address"</dt><dd>{device.ip.clone()}</dd>
                        <dt>"Connected"</dt><dd><When moment=device.signed_in.clone()/></dd>
                        <dt>"Last used"</dt><dd><When moment=device.last_active.clone()/></dd>
                        <dt>"Signed in with"</dt><dd>{device.method.clone()}</dd>
                    </dl>
                }.into_any()
            } else {
                view! {
                    <dl class="device-facts">
                        <dt>"IP address"</dt><dd>{device.ip.clone()}</dd>
                        <dt>"Signed in"</dt><dd><When moment=device.signed_in.clone()/></dd>
                        <dt>"Last active"</dt><dd><When moment=device.last_active.clone()/></dd>
                        <dt>"Signed in with"</dt><dd>{device.method.clone()}</dd>
                        {device.remembered_until.clone().map(|until| view! {
                            <dt>"Remembered"</dt><dd>"Until " <When moment=until/></dd>
                        })}
                    </dl>
                }.into_any()
            }}
            <p class="ua help">{device.user_agent.clone()}</p>
            {(!device.current).then(|| view! {
                <form action=SignOutDevice::PATH method="post" class="inline">
                    <input type="hidden" name="handle" value=device.handle.clone()/>
                    <button type="submit" class="danger-outline" aria-label=button_name>"Sign out"</button>
                </form>
            })}
        </li>
    }
}

#[component]
fn EndedRow(device: DeviceView) -> impl IntoView {
    let (ended_at, how) = device.ended.clone().unwrap_or_else(|| (device.last_active.clone(), String::new()));
    view! {
        <li class="device">
            <p class="device-name"><DeviceIcon kind=device.kind.clone()/>
                <strong title=device.user_agent.clone()>{device.name.clone()}</strong>
                " · " {device.kind.clone()}</p>
            <dl class="device-facts">
                <dt>"Ended"</dt><dd>{how} ", " <When moment=ended_at/></dd>
                <dt>"IP address"</dt><dd>{device.ip.clone()}</dd>
                <dt>"Signed in"</dt><dd><When moment=device.signed_in.clone()/></dd>
                <dt>"Last active"</dt><dd><When moment=device.last_active.clone()/></dd>
                <dt>"Signed in with"</dt><dd>{device.method.clone()}</dd>
            </dl>
        </li>
    }
}
