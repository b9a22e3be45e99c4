//! Small widgets every page uses: a failed action's message, the notice shown when a page's data
//! could not be loaded, and a time element. No domain imports: pages import this, never the reverse.

use leptos::prelude::*;

use crate::errors::AppError;
use crate::moment::Moment;

/// The message of a failed action, for a `role="alert"` paragraph.
pub fn action_error<T>(value: Option<Result<T, AppError>>) -> Option<String> {
    value.and_then(|result| result.err()).map(|err| err.to_string())
}

/// A time shown relatively, with the exact UTC time on hover.
#[component]
pub fn When(moment: Moment) -> impl IntoView {
    view! { <time datetime=moment.iso title=moment.exact>{moment.relative}</time> }
}

/// Shown when a page's data could not be loaded; a signed-out browser is sent to sign-in.
#[component]
pub fn SignedOutNotice(err: AppError) -> impl IntoView {
    let signed_out = matches!(err, AppError::NotSignedIn | AppError::SignedOutElsewhere | AppError::SessionExpired);
    if signed_out {
        #[cfg(feature = "hydrate")]
        {
            // Says why on the sign-in page, as the server's guard does for full page loads.
            let ended = match err {
                AppError::SignedOutElsewhere => "&ended=elsewhere",
                AppError::SessionExpired => "&ended=expired",
                _ => "",
            };
            let here = leptos::prelude::window().location().pathname().unwrap_or_else(|_| "/".into());
            let _ = leptos::prelude::window()
                .location()
                .assign(&format!("/login?next={}{ended}", crate::routes::urlencode(&here)));
        }
    }
    view! {
        <section class="card">
            <p class="error" role="alert">{err.to_string()}</p>
            {signed_out.then(|| view! { <p><a href="/login">"Sign in"</a></p> })}
        </section>
    }
}
