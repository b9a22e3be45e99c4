//! The HTML shell, the Leptos routes (the pages of [`crate::routes`]) and the page frame.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

use crate::accounts::pages::{HomePage, LoginPage, SignUpPage};
use crate::accounts::verification::pages::{VerificationBanner, VerifyEmailPage};
use crate::alerts::pages::{AlertBanner, NotMePage};
use crate::apps::pages::ConnectPage;
use crate::devices::pages::DevicesPage;
use crate::history::pages::HistoryPage;
use crate::passkeys::pages::PasskeysPage;
use crate::password_reset::pages::{ForgotPasswordPage, ResetPasswordPage};
use crate::reauth::pages::ReauthPage;
use crate::security_page::pages::{DeletePage, EmailPage, PasswordPage, SecurityPage};
use crate::sessions::api::SignOut;
use crate::two_step::pages::{CodeStepPage, TwoStepPage};
use keycard_browser::PageReady;

/// Keycard's icon, inline: a few hundred bytes in each page instead of a request that a cache
/// would have to revalidate on every page load.
const FAVICON: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E\
%3Crect width='32' height='32' rx='7' fill='%232151c9'/%3E%3Ccircle cx='12' cy='16' r='5' fill='none' \
stroke='%23fff' stroke-width='2.5'/%3E%3Cpath d='M17 16h10M23 16v4M27 16v3' stroke='%23fff' stroke-width='2.5' \
stroke-linecap='round'/%3E%3C/svg%3E";

/// The HTML around every page (server only). Only the islands (`crate::islands`) hydrate.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::core::web::provide_page_csp();
    #[cfg(feature = "ssr")]
    let stylesheet = crate::core::assets::stylesheet_href();
    #[cfg(not(feature = "ssr"))]
    let stylesheet = String::new();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <meta name="description" content="Your Keycard account: sign-in, two-step, devices and history."/>
                <link rel="stylesheet" href=stylesheet/>
                <link rel="icon" type="image/svg+xml" href=FAVICON/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Every page is rendered with its data (SsrMode::Async) so it works without JavaScript.
    view! {
        <Title formatter=|page: String| format!("{page} · Keycard")/>
        <Router>
            <Frame>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/signup") view=SignUpPage ssr=SsrMode::Async/>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=path!("/devices") view=DevicesPage ssr=SsrMode::Async/>
                    <Route path=path!("/history") view=HistoryPage ssr=SsrMode::Async/>
                    <Route path=path!("/login/code") view=CodeStepPage ssr=SsrMode::Async/>
                    <Route path=path!("/login/forgot") view=ForgotPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/login/reset") view=ResetPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/login/not-me") view=NotMePage ssr=SsrMode::Async/>
                    <Route path=path!("/security/two-step") view=TwoStepPage ssr=SsrMode::Async/>
                    <Route path=path!("/security/confirm") view=ReauthPage ssr=SsrMode::Async/>
                    <Route path=path!("/security") view=SecurityPage ssr=SsrMode::Async/>
                    <Route path=path!("/security/password") view=PasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/security/email") view=EmailPage ssr=SsrMode::Async/>
                    <Route path=path!("/security/delete") view=DeletePage ssr=SsrMode::Async/>
                    <Route path=path!("/verify-email") view=VerifyEmailPage ssr=SsrMode::Async/>
                    <Route path=path!("/connect") view=ConnectPage ssr=SsrMode::Async/>
                    <Route path=path!("/security/passkeys") view=PasskeysPage ssr=SsrMode::Async/>
                </Routes>
            </Frame>
        </Router>
    }
}

/// What the page frame shows about the signed-in account, read from the request's principal
/// while rendering: no query, resource or server-function call of its own.
#[derive(Clone, Debug, Default)]
struct FrameFacts {
    /// The signed-in email, for the header (`None` when not signed in).
    email: Option<String>,
    /// The address the verification banner asks to confirm.
    address_to_confirm: Option<String>,
    /// Whether the session has alerts to answer (only then does the callout load them).
    open_alerts: bool,
}

impl FrameFacts {
    #[cfg(feature = "ssr")]
    fn of_this_request() -> FrameFacts {
        let Ok(me) = crate::core::principal::signed_in() else {
            return FrameFacts::default();
        };
        let address_to_confirm = crate::core::state::AppState::current()
            .ok()
            .and_then(|state| crate::accounts::verification::service::address_to_confirm(&me, &state.config));
        FrameFacts { open_alerts: me.open_alerts > 0, address_to_confirm, email: Some(me.email) }
    }

    /// The frame is server HTML (not an island): it never renders in the browser.
    #[cfg(not(feature = "ssr"))]
    fn of_this_request() -> FrameFacts {
        FrameFacts::default()
    }
}

/// Header with the product name and, when signed in, the account and a **Sign out** button; then
/// the banners (alerts, an address to verify).
#[component]
fn Frame(children: Children) -> impl IntoView {
    let facts = FrameFacts::of_this_request();
    view! {
        <header class="top">
            <a class="brand" href="/">"Keycard"</a>
            {facts.email.map(|email| view! {
                <nav aria-label="Account">
                    <span class="who">{email}</span>
                    // A plain form: the frame is server HTML, never hydrated.
                    <form action=SignOut::PATH method="post" class="inline">
                        <button type="submit" class="link-button">"Sign out"</button>
                    </form>
                </nav>
            })}
        </header>
        <main>
            {facts.open_alerts.then(|| view! { <AlertBanner/> })}
            {facts.address_to_confirm.map(|email| view! { <VerificationBanner email/> })}
            {children()}
        </main>
        <PageReady/>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Not found"/>
        <section class="card">
            <h1>"Page not found"</h1>
            <p>"There is no page at this address."</p>
            <p><a href="/">"Go to your account"</a></p>
        </section>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    /// The Leptos routes and the route table's pages are the same list.
    #[tokio::test]
    async fn every_page_of_the_route_table_is_a_leptos_route() {
        let mut leptos_paths: Vec<String> =
            leptos_axum::generate_route_list(super::App).iter().map(|r| r.path().to_owned()).collect();
        leptos_paths.sort();
        leptos_paths.dedup();
        let mut table: Vec<String> = crate::routes::ROUTES
            .iter()
            .filter(|r| r.kind == crate::routes::Kind::Page)
            .map(|r| r.path.to_owned())
            .collect();
        table.sort();
        assert_eq!(leptos_paths, table);
    }
}
