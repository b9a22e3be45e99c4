//! Every request gets an id: in its log line, in the `X-Request-Id` answer header, and on error
//! pages ("quote this id"), so a person's report leads an operator to the exact log lines. The id
//! is Keycard's own (random, 64 bits): one sent by the client is not trusted into the logs; a
//! proxy can log the answer's header to correlate.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

pub const HEADER: &str = "x-request-id";

/// A request's id (16 hex characters), in the request's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of the request being answered on this task, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(|id| id.0.clone()).ok()
}

/// Outermost layer: assigns the id before anything logs, answers it in [`HEADER`].
pub async fn assign(mut req: Request, next: Next) -> Response {
    let id = RequestId(hex::encode(rand::random::<[u8; 8]>()));
    req.extensions_mut().insert(id.clone());
    let header = HeaderValue::from_str(&id.0).ok();
    let mut response = CURRENT.scope(id, next.run(req)).await;
    if let Some(value) = header {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
