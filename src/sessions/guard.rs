//! The page guard: a page the route table protects ([`crate::routes`]) opens only for the
//! principal it allows. Signed-out visitors go to `/login?next=…`, with the reason when their
//! session ended (signed out elsewhere, expired); a session still owing the second step goes to
//! the code step for every protected page, and only such a session may open the code step.
//! Runs after [`super::principal::load`].

use axum::{
    extract::Request,
    http::Method,
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

use crate::core::principal::{EndReason, Principal, Stage};
use crate::routes::{page_access, urlencode, Access, CODE_STEP, HOME, SIGN_IN};

pub async fn guard_pages(req: Request, next: Next) -> Response {
    let access = page_access(req.uri().path());
    if !matches!(*req.method(), Method::GET | Method::HEAD) || access == Access::Anyone {
        return next.run(req).await;
    }
    let principal = req.extensions().get::<Principal>().cloned().unwrap_or_default();
    let wanted = req.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or(HOME);
    let stage = match &principal {
        Principal::Session(s) => Some(s.stage),
        _ => None,
    };
    match (access, stage) {
        (Access::SignedIn, Some(Stage::Complete)) | (Access::CodeStep, Some(Stage::PasswordVerified)) => {
            return next.run(req).await;
        }
        (Access::SignedIn, Some(Stage::PasswordVerified)) => {
            return Redirect::to(&format!("{CODE_STEP}?next={}", urlencode(wanted))).into_response();
        }
        // Already fully signed in: nothing to enter.
        (Access::CodeStep, Some(Stage::Complete)) => return Redirect::to(HOME).into_response(),
        _ => {}
    }
    let mut target = if access == Access::CodeStep {
        format!("{SIGN_IN}?")
    } else {
        format!("{SIGN_IN}?next={}&", urlencode(wanted))
    };
    if let Principal::Ended(reason) = principal {
        target.push_str(match reason {
            EndReason::SignedOutElsewhere | EndReason::TokenReused => "ended=elsewhere",
            EndReason::Expired => "ended=expired",
            EndReason::AccountDisabled => "ended=disabled",
            EndReason::SignedOut => "",
        });
    }
    Redirect::to(target.trim_end_matches(['&', '?'])).into_response()
}
