//! Sign-up, sign-in and the account home. Plain forms that POST (and work without JavaScript);
//! once hydrated, the same forms submit in the background.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{LogIn, SignUp};
use crate::errors::{
    ACCOUNT_DELETED, ACCOUNT_DISABLED, PASSWORD_RESET_DONE, SESSION_EXPIRED, SIGNED_OUT_ELSEWHERE, TOO_MANY_CODES,
    TOO_MANY_CONFIRMATIONS,
};
use crate::ui::{action_error, NewPasswordField, PasskeyWayIn, SignedOutNotice};

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = move || action_error(action.value().get());
    view! {
        <Title text="Create account"/>
        <section class="card narrow">
            <h1>"Create your Keycard account"</h1>
            <ActionForm action=action>
                <label for="email">"Email"</label>
                <input id="email" type="email" name="email" autocomplete="username" required maxlength="254"/>
                <NewPasswordField id="password" name="password" label="Password"/>
                {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                <button type="submit">"Create account"</button>
            </ActionForm>
            <p>"Already have an account? " <a href="/login">"Sign in"</a></p>
        </section>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    let error = move || action_error(action.value().get());
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let notice = move || {
        query.with(|q| match q.get("ended").as_deref() {
            _ if q.get("deleted").as_deref() == Some("1") => Some(ACCOUNT_DELETED),
            Some("elsewhere") => Some(SIGNED_OUT_ELSEWHERE),
            Some("expired") => Some(SESSION_EXPIRED),
            Some("disabled") => Some(ACCOUNT_DISABLED),
            Some("codes") => Some(TOO_MANY_CODES),
            Some("locked") => Some(TOO_MANY_CONFIRMATIONS),
            _ if q.get("reset").as_deref() == Some("1") => Some(PASSWORD_RESET_DONE),
            _ => None,
        })
    };
    view! {
        <Title text="Sign in"/>
        <section class="card narrow">
            <h1>"Sign in to Keycard"</h1>
            {move || notice().map(|text| view! { <p class="notice" role="status">{text}</p> })}
            <ActionForm action=action>
                <input type="hidden" name="next" value=next/>
                <label for="email">"Email"</label>
                <input id="email" type="email" name="email" autocomplete="username webauthn" required maxlength="254"/>
                <label for="password">"Password"</label>
                <input id="password" type="password" name="password" autocomplete="current-password"
                    required maxlength="1024"/>
                <label class="check">
                    <input type="checkbox" name="remember" value="on"/>
                    "Remember this device"
                </label>
                {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                <button type="submit">"Sign in"</button>
            </ActionForm>
            <PasskeyWayIn step="sign-in" path="/login"/>
            <p><a href="/login/forgot">"Forgot your password?"</a></p>
            <p>"New here? " <a href="/signup">"Create an account"</a></p>
        </section>
    }
}

/// Rendered in one synchronous pass: its only data is the request's principal.
#[component]
pub fn HomePage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let home = super::api::home_view();
    #[cfg(not(feature = "ssr"))]
    let home: Result<super::HomeView, crate::errors::AppError> = Err(crate::errors::AppError::Internal);
    let page = match home {
        Ok(home) => view! {
            <section class="card">
                <h1>"Hello, " {home.email}</h1>
                <p>"This is your Keycard account. From here you can review how your account is protected."</p>
                <nav aria-label="Your account" class="home-links">
                    <a href="/devices">"Devices"</a>
                    <a href="/history">"History"</a>
                    <a href="/security/two-step">"Two-step sign-in"</a>
                    <a href="/security/passkeys">"Passkeys"</a>
                    <a href="/security">"Security checkup and advice"</a>
                </nav>
            </section>
        }
        .into_any(),
        Err(err) => view! { <SignedOutNotice err/> }.into_any(),
    };
    view! {
        <Title text="Your account"/>
        {page}
    }
}
