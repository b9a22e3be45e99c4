//! A page's data read before its render, so the page renders in one synchronous pass.
//!
//! A Leptos `Resource` read under `<Suspense>` costs, on the server, an async derived value, a
//! suspense boundary and a first "dry" pass that builds the page's view once only to drop it
//! before the real one: on the devices page about a fifth of the request's instructions. A page
//! whose data is cheap to read before rendering gets it from a route layer instead: the page's
//! data type says how it is read ([`PageData`]), the layer ([`preload`]) awaits the read and puts
//! the result ([`Preloaded`]) into the request's extensions, and the page takes it with
//! [`preloaded`] while rendering (pages are server HTML in islands mode, so nothing of it runs in
//! the browser).

use std::future::Future;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::Response;

use super::principal::{Principal, SignedIn};
use super::state::AppState;
use crate::errors::AppError;

/// The data of a page that a route layer reads before the page renders.
pub trait PageData: Clone + Send + Sync + Sized + 'static {
    /// Reads the data for the request's signed-in session, or says why there is none (`me` is
    /// the principal as a page sees it); `uri` is the page's address, with its query.
    fn read(
        state: &AppState,
        me: Result<SignedIn, AppError>,
        uri: &Uri,
    ) -> impl Future<Output = Result<Self, AppError>> + Send;
}

/// The data a route layer read for the page of this request, or why it could not.
#[derive(Debug)]
pub struct Preloaded<T>(pub Arc<Result<T, AppError>>);

// Not derived: a derive would ask `T: Clone`, and cloning shares the `Arc`.
impl<T> Clone for Preloaded<T> {
    fn clone(&self) -> Self {
        Preloaded(Arc::clone(&self.0))
    }
}

impl<T> Preloaded<T> {
    pub fn new(data: Result<T, AppError>) -> Self {
        Preloaded(Arc::new(data))
    }
}

/// The route layer of a page whose data is `T`: reads it, puts it (or why it could not be read)
/// into the request, and lets the page render. Wired inside the page guard, so only a signed-in
/// browser gets here (`T::read` still refuses any other).
pub async fn preload<T: PageData>(
    State(state): State<AppState>,
    principal: Principal,
    mut request: Request,
    next: Next,
) -> Response {
    let data = T::read(&state, principal.signed_in_for_page(), request.uri()).await;
    request.extensions_mut().insert(Preloaded::new(data));
    next.run(request).await
}

/// While rendering a page: the data its route layer read. Without one (a route wired without
/// its layer) the page shows an internal error rather than rendering empty.
pub fn preloaded<T: Clone + Send + Sync + 'static>() -> Result<T, AppError> {
    leptos::prelude::with_context::<axum::http::request::Parts, _>(|parts| {
        parts.extensions.get::<Preloaded<T>>().map(|data| (*data.0).clone())
    })
    .flatten()
    .unwrap_or_else(|| Err(AppError::internal("page data was not read before the render")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos::prelude::{provide_context, Owner};

    fn rendering_with(parts: axum::http::request::Parts) -> Result<String, AppError> {
        Owner::new().with(|| {
            provide_context(parts);
            preloaded::<String>()
        })
    }

    #[test]
    fn a_page_takes_what_its_route_layer_read_and_fails_loudly_without_it() {
        let (mut parts, ()) = axum::http::Request::new(()).into_parts();
        assert_eq!(rendering_with(parts.clone()), Err(AppError::Internal), "no layer: an error, not an empty page");
        parts.extensions.insert(Preloaded::<String>::new(Ok("two devices".to_owned())));
        assert_eq!(rendering_with(parts.clone()), Ok("two devices".to_owned()));
        // The layer's own refusal reaches the page as it was.
        parts.extensions.insert(Preloaded::<String>::new(Err(AppError::SignedOutElsewhere)));
        assert_eq!(rendering_with(parts), Err(AppError::SignedOutElsewhere));
    }
}
