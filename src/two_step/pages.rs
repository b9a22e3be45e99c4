//! The two-step page (`/security/two-step`) and the code step (`/login/code`). Plain forms that
//! work without JavaScript; every change ends in a redirect and a fresh render.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{
    two_step_status, ConfirmTwoStep, RegenerateRecoveryCodes, TurnOffTwoStep, TurnOnTwoStep, VerifySignInCode,
};
use super::{Enrolment, TwoStepView};
use crate::ui::{action_error, CodeField, PasskeyWayIn, SignedOutNotice};
use keycard_browser::{ConfirmButton, CopyButton};

#[component]
pub fn TwoStepPage() -> impl IntoView {
    let status = Resource::new(|| (), |_| two_step_status());
    view! {
        <Title text="Two-step sign-in"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(view) => view! { <TwoStepCard view/> }.into_any(),
                    Err(err) => view! { <SignedOutNotice err/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TwoStepCard(view: TwoStepView) -> impl IntoView {
    let TwoStepView { enabled, pending, recovery_codes_left, fresh_recovery_codes } = view;
    let body = if enabled {
        view! { <EnabledPanel recovery_codes_left/> }.into_any()
    } else if let Some(enrolment) = pending {
        view! { <EnrolmentPanel enrolment/> }.into_any()
    } else {
        view! { <OffPanel/> }.into_any()
    };
    view! {
        <section class="card">
            <h1>"Two-step sign-in"</h1>
            <p class="status" role="status">
                {if enabled { "Two-step sign-in is on." } else { "Two-step sign-in is off." }}
            </p>
            {(!fresh_recovery_codes.is_empty()).then(|| view! { <FreshCodes codes=fresh_recovery_codes/> })}
            {body}
            <p><a href="/">"Back to your account"</a></p>
        </section>
    }
}

#[component]
fn OffPanel() -> impl IntoView {
    let action = ServerAction::<TurnOnTwoStep>::new();
    let error = move || action_error(action.value().get());
    view! {
        <p>
            "After your password, Keycard will also ask for a 6-digit code from an authenticator app on your \
             phone, so a stolen password alone is not enough to get into your account."
        </p>
        <ActionForm action=action>
            {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            <button type="submit">"Turn on two-step sign-in"</button>
        </ActionForm>
    }
}

#[component]
fn EnrolmentPanel(enrolment: Enrolment) -> impl IntoView {
    let action = ServerAction::<ConfirmTwoStep>::new();
    let error = move || action_error(action.value().get());
    let Enrolment { setup_key, otpauth_uri, qr_svg } = enrolment;
    view! {
        <h2>"Set up your authenticator app"</h2>
        <ol>
            <li>"Open an authenticator app on your phone and add an account."</li>
            <li>
                "Scan this QR code"
                <div class="qr" role="img" aria-label="QR code for your authenticator app" inner_html=qr_svg></div>
                <p><a href=otpauth_uri>"Open in an authenticator app on this device"</a></p>
            </li>
            <li>
                <p id="setup-key-label">"Or type this setup key:"</p>
                <p><code class="setup-key" aria-label="Setup key">{setup_key}</code></p>
                <p class="help">"Choose a time-based code with 6 digits if the app asks."</p>
            </li>
            <li>"Enter the code the app shows to confirm."</li>
        </ol>
        <ActionForm action=action>
            <label for="enrol-code">"Authentication code"</label>
            <input id="enrol-code" type="text" name="code" inputmode="numeric" autocomplete="one-time-code"
                required maxlength="64" pattern="[0-9 ]*"/>
            {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            <button type="submit">"Confirm"</button>
        </ActionForm>
        <p class="help">"Two-step sign-in stays off until you confirm a code."</p>
    }
}

#[component]
fn EnabledPanel(recovery_codes_left: i64) -> impl IntoView {
    let regenerate = ServerAction::<RegenerateRecoveryCodes>::new();
    let regenerate_error = move || action_error(regenerate.value().get());
    let turn_off = ServerAction::<TurnOffTwoStep>::new();
    let turn_off_error = move || action_error(turn_off.value().get());
    let left = match recovery_codes_left {
        1 => "You have 1 recovery code left.".to_string(),
        n => format!("You have {n} recovery codes left."),
    };
    view! {
        <p>"After your password, Keycard asks for the code from your authenticator app."</p>
        <h2>"Recovery codes"</h2>
        <p class="recovery-left">{left}</p>
        <p class="help">"Each recovery code works once, instead of a code from the app. Making new ones replaces all of the old ones."</p>
        <ActionForm action=regenerate>
            {move || regenerate_error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            <ConfirmButton label="Regenerate recovery codes".to_owned()
                question="Make new recovery codes? Your current ones will stop working.".to_owned() disabled=false/>
        </ActionForm>
        <h2>"Turn off"</h2>
        <ActionForm action=turn_off>
            {move || turn_off_error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            <ConfirmButton label="Turn off two-step sign-in".to_owned()
                question="Turn off two-step sign-in? Your password alone will then sign in to your account.".to_owned() disabled=false/>
        </ActionForm>
    }
}

#[component]
fn FreshCodes(codes: Vec<String>) -> impl IntoView {
    let text = recovery_codes_file(&codes);
    let download = format!("data:text/plain;charset=utf-8,{}", crate::routes::urlencode(&text));
    view! {
        <div class="fresh-codes" role="region" aria-labelledby="fresh-codes-title">
            <h2 id="fresh-codes-title">"Save your recovery codes"</h2>
            <p>
                "If you lose your phone, each of these codes lets you sign in once. Save them somewhere safe \
                 now, for example in your password manager: they are shown only this once."
            </p>
            <ul class="recovery-codes" aria-label="Recovery codes">
                {codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
            </ul>
            <div class="code-actions">
                <CopyButton text/>
                <a class="button secondary" href=download download="keycard-recovery-codes.txt">"Download"</a>
            </div>
        </div>
    }
}

/// The text Copy and Download give: a line saying what the codes are, then one code per line.
fn recovery_codes_file(codes: &[String]) -> String {
    let mut text =
        String::from("Keycard recovery codes. Each one signs you in once, instead of a code from your app.\n\n");
    for code in codes {
        text.push_str(code);
        text.push('\n');
    }
    text
}

/// `/login/code`: the second step after a correct password.
#[component]
pub fn CodeStepPage() -> impl IntoView {
    let action = ServerAction::<VerifySignInCode>::new();
    let error = move || action_error(action.value().get());
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    view! {
        <Title text="Enter your code"/>
        <section class="card narrow">
            <h1>"Two-step sign-in"</h1>
            <p>"Enter the 6-digit code from your authenticator app."</p>
            <ActionForm action=action>
                <input type="hidden" name="next" value=next/>
                <CodeField id="code" help="Lost your phone? Enter one of your recovery codes instead." autofocus=true/>
                {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                <button type="submit">"Verify"</button>
            </ActionForm>
            <PasskeyWayIn step="code-step" path="/login"/>
            <p><a href="/login">"Sign in with another account"</a></p>
        </section>
    }
}
