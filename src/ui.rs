//! Small widgets every page uses: a failed action's message, the notice shown when a page's data
//! could not be loaded, and a time element. No domain imports: pages import this, never the reverse.

use leptos::prelude::*;

use crate::errors::AppError;
use crate::moment::Moment;

/// The message of a failed action, for a `role="alert"` paragraph.
pub fn action_error<T>(value: Option<Result<T, AppError>>) -> Option<String> {
    value.and_then(|result| result.err()).map(|err| err.to_string())
}

/// The message of a failed plain-form post to the server function `S` that sent the browser back
/// to this page (without JavaScript Leptos carries the error in the address): what
/// `ServerAction::<S>::new().value()` holds on the server, for a page that never hydrates and so
/// needs no action.
pub fn form_error<S>() -> Option<String>
where
    S: leptos::server_fn::ServerFn<Error = AppError>,
{
    use_context::<ServerActionError>()
        .filter(|error| error.path() == S::PATH)
        .map(|error| leptos::server_fn::error::ServerFnUrlError::<AppError>::decode_err(error.err()).to_string())
}

/// A time shown relatively, with the exact time on hover; with `exact`, also written out. The
/// server writes UTC (naming the zone); once JavaScript runs, the person's own time zone
/// (`keycard_browser::show_local_times`).
#[component]
pub fn When(moment: Moment, #[prop(optional)] exact: bool) -> impl IntoView {
    let written = exact.then(|| view! { " (" <span class="exact">{moment.exact.clone()}</span> ")" });
    view! { <time datetime=moment.iso title=moment.exact>{moment.relative}{written}</time> }
}

/// Shown when a page's data could not be loaded (the page guard sends a signed-out browser to
/// sign-in before any page renders; this is for a session that ended during the render).
#[component]
pub fn SignedOutNotice(err: AppError) -> impl IntoView {
    let signed_out = matches!(err, AppError::NotSignedIn | AppError::SignedOutElsewhere | AppError::SessionExpired);
    view! {
        <section class="card">
            <p class="error" role="alert">{err.to_string()}</p>
            {signed_out.then(|| view! { <p><a href="/login">"Sign in"</a></p> })}
        </section>
    }
}

/// A small picture of the kind of device ("Computer", "Phone", "Tablet", "App", …), drawn inline
/// (no icon font, no request). Decorative: the kind is written beside it.
#[component]
pub fn DeviceIcon(kind: String) -> impl IntoView {
    // 24×24 outlines, stroked in the text colour.
    let path = match kind.as_str() {
        "Computer" => "M4 5h16v10H4z M2 19h20",
        "Phone" => "M8 2h8a1 1 0 0 1 1 1v18a1 1 0 0 1-1 1H8a1 1 0 0 1-1-1V3a1 1 0 0 1 1-1z M11 18h2",
        "Tablet" => "M5 2h14a1 1 0 0 1 1 1v18a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V3a1 1 0 0 1 1-1z M11 18h2",
        "App" => "M3 4h18v16H3z M7 9l3 3-3 3 M12 15h5",
        _ => "M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .8-1 1.4v.8 M12 17h.01",
    };
    view! {
        <svg class="device-icon" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">
            <path d=path fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"/>
        </svg>
    }
}

/// The passkey way in on the sign-in page (`step = "sign-in"`: **Sign in with a passkey**), at
/// the code step (`"code-step"`: instead of a code) and on the re-authentication prompt
/// (`"reauth"`: instead of the password and code). Hidden until the browser script
/// (`passkeys.js`) finds passkeys usable here; until it runs, a note says they need JavaScript.
#[component]
pub fn PasskeyWayIn(step: &'static str, path: &'static str) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let origin = crate::core::state::AppState::current()
        .map(|state| state.config.relying_party().origin_text())
        .unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    let origin = String::new();
    let elsewhere = format!("{origin}{path}");
    const SIGN_IN_NEEDS_SCRIPT: &str =
        "Signing in with a passkey needs JavaScript; every other way in works without it.";
    let (label, needs_script) = match step {
        "sign-in" => ("Sign in with a passkey", SIGN_IN_NEEDS_SCRIPT),
        "reauth" => {
            ("Confirm with a passkey", "Confirming with a passkey needs JavaScript; your password works without it.")
        }
        _ => ("Use a passkey instead", SIGN_IN_NEEDS_SCRIPT),
    };
    view! {
        <div class="passkey-way-in" data-passkey=step data-passkey-origin=origin.clone() hidden>
            <p class="or">"or"</p>
            <button type="button" class="secondary">{label}</button>
            <p class="error" role="alert" data-passkey-error hidden></p>
        </div>
        <p class="help" data-passkey-elsewhere hidden>
            "Passkeys for this Keycard work at " <a href=elsewhere>{origin}</a> "."
        </p>
        // Hidden by the browser script when it runs.
        <p class="help" data-passkey-needs-script>{needs_script}</p>
        <script type="module" src=crate::routes::PASSKEYS_SCRIPT></script>
    }
}

/// A field for choosing a new password, with the rule beside it (sign-up, the password page, a
/// reset link); its help paragraph is `{id}-help`.
#[component]
pub fn NewPasswordField(id: &'static str, name: &'static str, label: &'static str) -> impl IntoView {
    let help = format!("{id}-help");
    view! {
        <label for=id>{label}</label>
        <input id=id type="password" name=name autocomplete="new-password"
            required minlength="8" maxlength="1024" aria-describedby=help.clone()/>
        <p id=help class="help">
            "At least 8 characters. A phrase of a few unrelated words is easy to remember and hard to guess."
        </p>
    }
}

/// The **Authentication code** field of a second step (a 6-digit code or a recovery code), named
/// `code`, with `help` beside it in `{id}-help`.
#[component]
pub fn CodeField(id: &'static str, help: &'static str, #[prop(optional)] autofocus: bool) -> impl IntoView {
    let help_id = format!("{id}-help");
    view! {
        <label for=id>"Authentication code"</label>
        <input id=id type="text" name="code" inputmode="numeric" autocomplete="one-time-code"
            required maxlength="64" autofocus=autofocus aria-describedby=help_id.clone()/>
        <p id=help_id class="help">{help}</p>
    }
}
