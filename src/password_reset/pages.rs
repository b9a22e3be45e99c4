//! `/login/forgot` (field **Email**, button **Send reset link**) and `/login/reset` (field **New
//! password**, and **Authentication code** when two-step is on; button **Set new password**).
//! Plain forms: they work without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{reset_by_mail_available, reset_link, RequestPasswordReset, SetNewPassword};
use super::{LINK_SENT, NO_MAIL};
use crate::ui::{action_error, CodeField, NewPasswordField};

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let error = move || action_error(action.value().get());
    let query = use_query_map();
    let notice = move || {
        query.with(|q| {
            if q.get("sent").as_deref() == Some("1") {
                Some(LINK_SENT)
            } else if q.get("not_me").as_deref() == Some("1") {
                Some(crate::alerts::NOT_ME_DONE)
            } else {
                None
            }
        })
    };
    let available = Resource::new(|| (), |_| reset_by_mail_available());
    view! {
        <Title text="Forgot your password"/>
        <section class="card narrow">
            <h1>"Forgot your password?"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    if available.await != Ok(true) {
                        return view! { <p class="notice" role="status">{NO_MAIL}</p> }.into_any();
                    }
                    view! {
                        {move || notice().map(|text| view! { <p class="notice" role="status">{text}</p> })}
                        <p>"Enter the email address of your account: we will send it a link to choose a new password."</p>
                        <ActionForm action=action>
                            <label for="forgot-email">"Email"</label>
                            <input id="forgot-email" type="email" name="email" autocomplete="username" required
                                maxlength="254"/>
                            {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                            <button type="submit">"Send reset link"</button>
                        </ActionForm>
                    }
                    .into_any()
                })}
            </Suspense>
            <p><a href="/login">"Back to sign-in"</a></p>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<SetNewPassword>::new();
    let error = move || action_error(action.value().get());
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token")).unwrap_or_default();
    let link = Resource::new(token, reset_link);
    view! {
        <Title text="Choose a new password"/>
        <section class="card narrow">
            <h1>"Choose a new password"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match link.await {
                        Ok(link) => view! {
                            <p>"Choosing a new password signs out every device signed in to your account."</p>
                            <ActionForm action=action>
                                <input type="hidden" name="token" value=token/>
                                <NewPasswordField id="reset-password" name="new_password" label="New password"/>
                                {link.needs_code.then(|| view! {
                                    <CodeField id="reset-code" help="Two-step sign-in is on: the 6-digit code from your \
                                        authenticator app, or a recovery code."/>
                                })}
                                {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                                <button type="submit">"Set new password"</button>
                            </ActionForm>
                        }
                        .into_any(),
                        Err(err) => view! {
                            <p class="error" role="alert">{err.to_string()}</p>
                            <p><a href="/login/forgot">"Ask for a new link"</a></p>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
