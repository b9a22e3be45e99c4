//! The JSON API for connected apps, under `/api/v1/`: who am I, the account's sessions and app
//! connections, signing one out, and the OpenAPI document describing it all
//! (`openapi.json` beside this file). Authenticated only by `Authorization: Bearer` with an access
//! token ([`Bearer`]); a cookie is never read here.

use axum::{
    extract::{FromRequestParts, Path, State},
    http::{header, request::Parts, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use super::tokens::{authenticate, AppPrincipal};
use crate::core::state::AppState;
use crate::errors::AppError;

/// The API's description, served at `/api/v1/openapi.json` and checked by the tests.
pub const OPENAPI: &str = include_str!("openapi.json");

/// An API error: a stable `error` code and a sentence.
#[derive(Debug)]
pub enum ApiError {
    /// Missing, malformed, unknown or expired access token, or a connection that has ended.
    InvalidToken,
    NotFound,
    Internal(AppError),
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> ApiError {
        ApiError::Internal(AppError::from(err))
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> ApiError {
        ApiError::Internal(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, description) = match &self {
            ApiError::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The access token is missing, expired or no longer valid. Refresh it, or connect again.",
            ),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found", "There is no such session on this account."),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong."),
        };
        let mut response = (status, Json(json!({ "error": code, "error_description": description }))).into_response();
        if matches!(self, ApiError::InvalidToken) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"keycard\", error=\"invalid_token\""),
            );
        }
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The app connection an `Authorization: Bearer` access token names, while it is live.
pub struct Bearer(pub AppPrincipal);

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or(ApiError::InvalidToken)?;
        let interval = state.config.last_seen_interval.as_secs() as i64;
        match authenticate(&state.db, token, state.db.clock.now(), interval).await? {
            Some(principal) => Ok(Bearer(principal)),
            None => Err(ApiError::InvalidToken),
        }
    }
}

/// `GET /api/v1/me`.
#[derive(Serialize)]
pub struct Me {
    email: String,
    email_verified: bool,
    two_step_enabled: bool,
    connection: Connection,
}

#[derive(Serialize)]
struct Connection {
    handle: String,
    client_name: String,
}

pub async fn me(State(state): State<AppState>, Bearer(app): Bearer) -> Result<Json<Me>, ApiError> {
    let two_step = sqlx::query("SELECT COUNT(*) FROM totp_secrets WHERE user_id = $1 AND enabled_at IS NOT NULL")
        .bind(app.user_id)
        .fetch_one(&state.db.pool)
        .await?
        .get::<i64, _>(0)
        > 0;
    Ok(Json(Me {
        email: app.email,
        email_verified: app.email_verified,
        two_step_enabled: two_step,
        connection: Connection { handle: app.handle, client_name: app.client_name },
    }))
}

/// One live browser session or app connection, with the devices page's facts.
#[derive(Serialize)]
pub struct SessionItem {
    handle: String,
    kind: &'static str,
    name: String,
    device: String,
    ip: String,
    signed_in_at: String,
    last_active_at: String,
    method: String,
    current: bool,
}

/// `GET /api/v1/sessions`: the account's live sessions and app connections, newest activity first.
pub async fn sessions(State(state): State<AppState>, Bearer(app): Bearer) -> Result<Response, ApiError> {
    let view = crate::devices::service::list(&state.db, app.user_id, &app.id_hash, state.db.clock.now()).await?;
    let items: Vec<SessionItem> = view
        .active
        .into_iter()
        .map(|d| SessionItem {
            handle: d.handle,
            kind: if d.app { "app" } else { "browser" },
            name: d.name,
            device: d.device,
            ip: d.ip,
            signed_in_at: d.signed_in.iso,
            last_active_at: d.last_active.iso,
            method: d.method,
            current: d.current,
        })
        .collect();
    Ok(Json(json!({ "sessions": items })).into_response())
}

/// `DELETE /api/v1/sessions/{handle}`: signs that session or app connection out (an app may end
/// its own connection this way). 404 for anything that is not a live session of this account.
pub async fn sign_out_session(
    State(state): State<AppState>,
    Bearer(app): Bearer,
    Path(handle): Path<String>,
) -> Result<StatusCode, ApiError> {
    if handle.len() > 64 {
        return Err(ApiError::NotFound);
    }
    // No session is excluded: the asking connection may sign itself out.
    if crate::devices::service::sign_out_device(&state.db, app.user_id, &handle, "", state.db.clock.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// A method an address does not take (`GET /oauth/token`): JSON like every other answer here,
/// rather than the HTML error page, keeping the `Allow` header.
pub async fn method_not_allowed_as_json(response: Response) -> Response {
    let bare = !response.headers().contains_key(header::CONTENT_TYPE);
    if response.status() != StatusCode::METHOD_NOT_ALLOWED || !bare {
        return response;
    }
    let body = json!({ "error": "method_not_allowed", "error_description": "This address does not take that method." });
    let mut answer = (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        answer.headers_mut().insert(header::ALLOW, allow.clone());
    }
    answer
}

/// Every other address under `/api/v1/`: a JSON 404 rather than a page.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}
