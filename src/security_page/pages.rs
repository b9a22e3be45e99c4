//! `/security` (checkup and guidance), `/security/password` and `/security/delete`. Plain forms
//! that POST (and work without JavaScript).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{
    delete_page, email_page, password_page, ChangeEmail, ChangePassword, DeleteAccount, SaveNoticeSettings,
    SignOutUnusedSessions,
};
use super::{NoticeChoice, NoticesByMail, SecurityView, SensitivePageView, LOW_RECOVERY_CODES};
use crate::errors::AppError;
use crate::ui::{action_error, CodeField, NewPasswordField, SignedOutNotice};

/// The checkup is read by the page's route layer before the render (`core::page_data::preload`):
/// the page renders in one synchronous pass, with no resource or suspense boundary.
#[component]
pub fn SecurityPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let data = crate::core::page_data::preloaded::<SecurityView>();
    #[cfg(not(feature = "ssr"))]
    let data: Result<SecurityView, AppError> = Err(AppError::Internal);
    let checkup = match data {
        Ok(view) => view! { <Checkup view/> }.into_any(),
        Err(err) => view! { <SignedOutNotice err/> }.into_any(),
    };
    let query = use_query_map();
    let notice = move || {
        query.with(|q| {
            if q.get("password").as_deref() == Some("changed") {
                Some("Your password was changed. Every other device was signed out.")
            } else if q.get("email").as_deref() == Some("changed") {
                Some("Your email address was changed. If mail is set up, confirm it with the link we sent to it.")
            } else if q.get("notices").as_deref() == Some("saved") {
                Some("Your notice settings were saved.")
            } else {
                None
            }
        })
    };
    view! {
        <Title text="Security checkup"/>
        {move || notice().map(|text| view! { <p class="notice" role="status">{text}</p> })}
        {checkup}
        <Guidance/>
    }
}

/// One checkup line: its state (ok or needs attention), what it means, and the fix.
#[component]
fn Item(ok: bool, title: &'static str, state: String, children: Children) -> impl IntoView {
    view! {
        <li class=if ok { "check ok" } else { "check attention" }>
            <strong>{title}</strong>": "
            <span class="state">{if ok { "OK" } else { "Needs attention" }}</span>" — "{state}
            <div class="fix">{children()}</div>
        </li>
    }
}

#[component]
fn Checkup(view: SecurityView) -> impl IntoView {
    let sign_out_unused = ServerAction::<SignOutUnusedSessions>::new();
    let c = view.checkup;
    let two_step_state =
        if c.two_step_on { "Two-step sign-in is on.".to_owned() } else { "Two-step sign-in is off.".to_owned() };
    let codes_ok = !c.two_step_on || c.recovery_codes_left >= LOW_RECOVERY_CODES;
    let codes_state = if c.two_step_on {
        format!("{} recovery codes left.", c.recovery_codes_left)
    } else {
        "No recovery codes: turn on two-step sign-in first.".to_owned()
    };
    let passkeys_state = match c.passkeys {
        0 => "No passkeys yet: add one to sign in without your password, safe from fake sign-in pages.".to_owned(),
        1 => "1 passkey.".to_owned(),
        n => format!("{n} passkeys."),
    };
    let stale_state = match c.stale_sessions {
        0 => "No sessions unused for more than 30 days.".to_owned(),
        1 => "1 session unused for more than 30 days.".to_owned(),
        n => format!("{n} sessions unused for more than 30 days."),
    };
    let failed_state = match (c.failed_sign_ins, view.last_failed) {
        (0, _) => "No failed sign-ins since your last visit.".to_owned(),
        (n, last) => format!(
            "{n} failed sign-in{} to your account since your last visit{}.",
            if n == 1 { "" } else { "s" },
            last.map(|l| format!(", the latest {l}")).unwrap_or_default()
        ),
    };
    let alerts_state = match c.open_alerts {
        0 => "No new sign-ins waiting for you to check.".to_owned(),
        1 => "1 new sign-in from a device not seen before is waiting for you to check.".to_owned(),
        n => format!("{n} new sign-ins from devices not seen before are waiting for you to check."),
    };
    let password_old = view.password_old;
    view! {
        <section class="card" aria-labelledby="checkup-heading">
            <h1 id="checkup-heading">"Security checkup"</h1>
            <ul class="checkup" aria-label="Checkup">
                <Item ok=c.two_step_on title="Two-step sign-in" state=two_step_state>
                    <a href="/security/two-step">{if c.two_step_on { "Manage two-step sign-in" } else { "Turn on two-step sign-in" }}</a>
                </Item>
                <Item ok=codes_ok title="Recovery codes" state=codes_state>
                    <a href="/security/two-step">{if c.two_step_on { "Get new recovery codes" } else { "Set up two-step sign-in" }}</a>
                </Item>
                <Item ok={c.passkeys > 0} title="Passkeys" state=passkeys_state>
                    <a href="/security/passkeys">{if c.passkeys > 0 { "Manage passkeys" } else { "Add a passkey" }}</a>
                </Item>
                <Item ok={c.stale_sessions == 0} title="Unused sessions" state=stale_state>
                    {(c.stale_sessions > 0).then(|| view! {
                        <ActionForm action=sign_out_unused attr:class="inline">
                            <button type="submit">"Sign out unused sessions"</button>
                        </ActionForm>
                    })}
                    " "<a href="/devices">"Review your devices"</a>
                </Item>
                <Item ok={c.failed_sign_ins == 0} title="Failed sign-ins" state=failed_state>
                    {(c.failed_sign_ins > 0).then(|| view! {
                        <span>"If that was not you, "</span><a href="/security/password">"change your password"</a>
                    })}
                </Item>
                <Item ok={c.open_alerts == 0} title="New sign-in alerts" state=alerts_state>
                    {(c.open_alerts > 0).then(|| view! {
                        <span>"Answer “It was me” or “This wasn't me” at the top of the page, or "</span>
                        <a href="/history?kind=signed_in">"review recent sign-ins"</a>
                    })}
                </Item>
                <Item ok={!password_old} title="Password" state=format!("Changed {}.", view.password_age)>
                    <a href="/security/password">"Change password"</a>
                </Item>
            </ul>
            <div id="notices">
                <p>{notices_text(&view.notices)}" "<a href="/security/email">"Change your email address"</a></p>
                {match view.notices.clone() {
                    NoticesByMail::To { choices, .. } => Some(view! { <NoticeSettings choices/> }),
                    _ => None,
                }}
            </div>
            <p><a href="/security/delete">"Delete your account"</a></p>
        </section>
    }
}

/// The optional notices as checkboxes; the critical ones are named as always sent.
#[component]
fn NoticeSettings(choices: Vec<NoticeChoice>) -> impl IntoView {
    let save = ServerAction::<SaveNoticeSettings>::new();
    view! {
        <ActionForm action=save>
            <fieldset>
                <legend>"Email me about"</legend>
                {choices.into_iter().map(|choice| {
                    let id = format!("notice-{}", choice.kind);
                    let label_for = id.clone();
                    view! {
                        <label class="check" for=label_for>
                            <input type="checkbox" id=id name=choice.kind value="on" checked=choice.on/>
                            {choice.label}
                        </label>
                    }
                }).collect_view()}
                <p class="help">"Always sent: password changed or reset, two-step sign-in turned off, \
                    someone failing the two-step code after entering your password."</p>
            </fieldset>
            <button type="submit">"Save notice settings"</button>
        </ActionForm>
    }
}

/// Where security notices go, in words.
fn notices_text(notices: &NoticesByMail) -> String {
    match notices {
        NoticesByMail::Off => "This Keycard has no mail set up: security notices (new sign-ins, password and two-step \
                               changes) appear only here, in the banner and in your history."
            .to_owned(),
        NoticesByMail::Unconfirmed => "Confirm your email address to get security notices by mail: until then they \
                                       appear only here, in the banner and in your history."
            .to_owned(),
        NoticesByMail::To { email, .. } => format!(
            "Security notices (new sign-ins, password and two-step changes, signed-out devices) are mailed to {email}."
        ),
    }
}

/// Plain-words advice (also the target of "what to do" links from alerts: `/security#guidance`).
#[component]
fn Guidance() -> impl IntoView {
    view! {
        <section class="card" id="guidance" aria-labelledby="guidance-heading">
            <h2 id="guidance-heading">"Staying safe"</h2>
            <h3>"Turn on two-step sign-in"</h3>
            <p>"With two-step sign-in, a stolen password is not enough: whoever signs in also needs a code from your phone. \
                Use an authenticator app such as Aegis, Google Authenticator, 1Password, Bitwarden or Microsoft Authenticator, \
                and keep your recovery codes somewhere safe, away from your phone."</p>
            <h3>"Add a passkey"</h3>
            <p>"A passkey signs you in with your fingerprint, face or device PIN. Your browser offers it only on Keycard's \
                own address, so unlike a password or a code it cannot be typed into a fake page. Add one on "
                <a href="/security/passkeys">"the passkeys page"</a>", ideally on two devices."</p>
            <h3>"Use a long, unique password"</h3>
            <p>"Use a different password for every site, so a leak elsewhere does not open Keycard. A password manager \
                remembers them for you; a phrase of a few unrelated words is long and easy to type."</p>
            <h3>"Recognise phishing"</h3>
            <p>"Before typing your password, check the address bar shows this site's address. Keycard never asks for your \
                password or a code by email, text message or phone: anyone who does is not us."</p>
            <h3>"Shared computers"</h3>
            <p>"On a computer others use, do not tick “Remember this device”, and press “Sign out” when you are done."</p>
            <h3>"Review your devices"</h3>
            <p>"Now and then, look at "<a href="/devices">"your devices"</a>" and sign out any you do not recognise or no longer use."</p>
            <h3 id="something-wrong">"If something looks wrong"</h3>
            <ol>
                <li><a href="/devices">"Sign out all other devices"</a>"."</li>
                <li><a href="/security/password">"Change your password"</a>" (this also signs out every other device)."</li>
                <li><a href="/security/two-step">"Regenerate your recovery codes"</a>" and turn on two-step sign-in if it is off."</li>
            </ol>
        </section>
    }
}

/// Shown while the browser is being sent to the re-authentication prompt (and as a link for
/// anyone whose browser does not follow).
#[component]
fn ConfirmFirst(return_to: &'static str) -> impl IntoView {
    let href = crate::routes::reauth_prompt(return_to);
    view! {
        <section class="card narrow">
            <p>"This change needs your password again."</p>
            <p><a href=href>"Confirm it's you"</a></p>
        </section>
    }
}

#[component]
pub fn PasswordPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| password_page());
    view! {
        <Title text="Change password"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => view! { <PasswordForm code_needed=page.code_needed/> }.into_any(),
                    Err(err) => view! { <SignedOutNotice err/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn sensitive(
    result: Result<SensitivePageView, AppError>,
    return_to: &'static str,
    form: impl FnOnce(SensitivePageView) -> AnyView,
) -> AnyView {
    match result {
        Ok(page) if page.confirmed => form(page),
        Ok(_) => view! { <ConfirmFirst return_to/> }.into_any(),
        Err(err) => view! { <SignedOutNotice err/> }.into_any(),
    }
}

#[component]
fn PasswordForm(code_needed: bool) -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let error = move || action_error(action.value().get());
    view! {
        <section class="card narrow">
            <h1>"Change password"</h1>
            <p>"Changing your password signs out every other device."</p>
            <ActionForm action=action>
                <label for="current-password">"Current password"</label>
                <input id="current-password" type="password" name="current_password"
                    autocomplete="current-password" required maxlength="1024"/>
                {code_needed.then(|| view! {
                    <CodeField id="password-code" help="From your authenticator app, or one of your recovery codes."/>
                })}
                <NewPasswordField id="new-password" name="new_password" label="New password"/>
                {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                <button type="submit">"Change password"</button>
            </ActionForm>
            <p><a href="/security">"Back to the security checkup"</a></p>
        </section>
    }
}

#[component]
pub fn EmailPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| email_page());
    view! {
        <Title text="Change email address"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                sensitive(data.await, crate::routes::EMAIL, |page| view! { <EmailForm email=page.email/> }.into_any())
            })}
        </Suspense>
    }
}

#[component]
fn EmailForm(email: String) -> impl IntoView {
    let action = ServerAction::<ChangeEmail>::new();
    let error = move || action_error(action.value().get());
    view! {
        <section class="card narrow">
            <h1>"Change email address"</h1>
            <p>"Your account's address is " <strong>{email}</strong> ". You sign in with the new address as soon as \
                you change it; we send it a link to confirm it, and tell the old address."</p>
            <ActionForm action=action>
                <label for="new-email">"New email address"</label>
                <input id="new-email" type="email" name="new_email" autocomplete="email" required maxlength="254"/>
                {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                <button type="submit">"Change email address"</button>
            </ActionForm>
            <p><a href="/security">"Back to the security checkup"</a></p>
        </section>
    }
}

#[component]
pub fn DeletePage() -> impl IntoView {
    let data = Resource::new(|| (), |_| delete_page());
    view! {
        <Title text="Delete account"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                sensitive(data.await, crate::routes::DELETE_ACCOUNT, |page| view! { <DeleteForm email=page.email/> }.into_any())
            })}
        </Suspense>
    }
}

#[component]
fn DeleteForm(email: String) -> impl IntoView {
    let action = ServerAction::<DeleteAccount>::new();
    let error = move || action_error(action.value().get());
    view! {
        <section class="card narrow">
            <h1>"Delete your account"</h1>
            <p>"This removes your account, signs out every device and erases your two-step settings, recovery codes \
                and history. It cannot be undone."</p>
            <ActionForm action=action>
                <label for="confirm-email">"Type your email address to confirm"</label>
                <input id="confirm-email" type="email" name="confirm_email" autocomplete="off" required
                    maxlength="254" placeholder=email/>
                {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                <button type="submit" class="danger">"Delete account"</button>
            </ActionForm>
            <p><a href="/security">"Keep my account"</a></p>
        </section>
    }
}
