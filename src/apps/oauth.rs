//! The two OAuth endpoints: `POST /oauth/device` (RFC 8628 device authorization) and
//! `POST /oauth/token` (the device-code grant of RFC 8628 and the refresh grant of RFC 6749).
//! Both take form fields, answer JSON, and refuse with a 400 carrying an RFC error code.

use axum::{
    extract::{rejection::FormRejection, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Form, Json,
};
use serde::Deserialize;
use serde_json::json;

use super::codes::client_name;
use super::grants::{self, Poll};
use super::tokens::{self, Lifetimes, Refreshed, TokenPair};
use super::{CODE_LIFETIME_SECS, POLL_INTERVAL_SECS};
use crate::core::origin::RequestOrigin;
use crate::core::state::AppState;
use crate::core::throttle::{reserve, Limit, Permits};
use crate::errors::AppError;

/// The device-code grant's `grant_type`.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// An OAuth error answer: its status, its RFC error code and a sentence for people.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: &'static str,
    retry_after_secs: Option<i64>,
}

impl OAuthError {
    const fn bad(code: &'static str, description: &'static str) -> OAuthError {
        OAuthError { status: StatusCode::BAD_REQUEST, code, description, retry_after_secs: None }
    }
}

const MALFORMED: OAuthError =
    OAuthError::bad("invalid_request", "Send the fields as application/x-www-form-urlencoded, as RFC 6749 describes.");
const BAD_CLIENT: OAuthError =
    OAuthError::bad("invalid_client", "client_id must be the app's name: 1 to 64 characters, no control characters.");
const INVALID_GRANT: OAuthError =
    OAuthError::bad("invalid_grant", "This code or token is not valid: unknown, used, expired or signed out.");

/// A form that could not be read: too large (413), or not a form at all.
fn unreadable(rejection: FormRejection) -> OAuthError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        OAuthError { status: StatusCode::PAYLOAD_TOO_LARGE, description: "The request is too large.", ..MALFORMED }
    } else {
        MALFORMED
    }
}

impl From<AppError> for OAuthError {
    fn from(err: AppError) -> OAuthError {
        match err {
            AppError::TooManyAttempts { retry_after_secs } => OAuthError {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "too_many_requests",
                description: "Too many requests. Wait before trying again.",
                retry_after_secs: Some(retry_after_secs),
            },
            other => {
                // AppError logs internals and keeps them out of the answer.
                let status = StatusCode::from_u16(other.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                OAuthError {
                    status,
                    code: "server_error",
                    description: "Something went wrong.",
                    retry_after_secs: None,
                }
            }
        }
    }
}

impl From<sqlx::Error> for OAuthError {
    fn from(err: sqlx::Error) -> OAuthError {
        OAuthError::from(AppError::from(err))
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, Json(json!({ "error": self.code, "error_description": self.description }))).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after_secs {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                headers.insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// The fields of `POST /oauth/device`.
#[derive(Deserialize)]
pub struct DeviceRequest {
    client_id: Option<String>,
}

/// `POST /oauth/device`: a new pairing request for the app named by `client_id`. Limited per
/// client address, so nobody can fill the table with codes.
pub async fn device_authorization(
    State(state): State<AppState>,
    origin: RequestOrigin,
    form: Result<Form<DeviceRequest>, FormRejection>,
) -> Result<Response, OAuthError> {
    let Form(form) = form.map_err(unreadable)?;
    let name = form.client_id.as_deref().and_then(client_name).ok_or(BAD_CLIENT)?;
    let _counted: Permits = reserve(&state.db, &[Limit::device_authorization_ip(&origin.ip)]).await?;
    let mut conn = state.db.pool.acquire().await?;
    let grant = grants::create(&mut conn, &state.secrets, &name, &origin, state.db.clock.now()).await?;
    let verification_uri = format!("{}{}", state.config.public_url, crate::routes::CONNECT);
    let body = json!({
        "device_code": grant.device_code,
        "user_code": grant.user_code,
        "verification_uri_complete": format!("{verification_uri}?code={}", grant.user_code),
        "verification_uri": verification_uri,
        "expires_in": CODE_LIFETIME_SECS,
        "interval": POLL_INTERVAL_SECS,
    });
    Ok(no_store(Json(body).into_response()))
}

/// The fields of `POST /oauth/token`.
#[derive(Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    device_code: Option<String>,
    refresh_token: Option<String>,
}

/// `POST /oauth/token`: tokens for an approved device code, or a new pair for a refresh token.
/// Every request reserves an attempt on its client address's limit first; answers other than
/// an unusable code or token give it back, so polling and refreshing never run into it.
pub async fn token(
    State(state): State<AppState>,
    origin: RequestOrigin,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Result<Response, OAuthError> {
    let Form(form) = form.map_err(unreadable)?;
    let permits = reserve(&state.db, &[Limit::token_endpoint_ip(&origin.ip)]).await?;
    let outcome = match form.grant_type.as_deref() {
        Some(DEVICE_CODE_GRANT) => match form.device_code.as_deref() {
            Some(code) => device_code_grant(&state, code).await,
            None => Err(MALFORMED),
        },
        Some("refresh_token") => match form.refresh_token.as_deref() {
            Some(presented) => match tokens::refresh(&state, presented, &origin, state.db.clock.now()).await? {
                Refreshed::Tokens(pair) => Ok(pair),
                Refreshed::Invalid | Refreshed::Reused => Err(INVALID_GRANT),
            },
            None => Err(MALFORMED),
        },
        Some(_) => Err(OAuthError::bad(
            "unsupported_grant_type",
            "grant_type must be urn:ietf:params:oauth:grant-type:device_code or refresh_token.",
        )),
        None => Err(MALFORMED),
    };
    match &outcome {
        Err(err) if err.code == INVALID_GRANT.code || err.code == "expired_token" => {
            let mut conn = state.db.pool.acquire().await?;
            permits.failed(&mut conn).await?;
        }
        _ => permits.succeeded(&state.db).await?,
    }
    let pair = outcome?;
    let body = json!({
        "access_token": pair.access_token,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token,
    });
    Ok(no_store(Json(body).into_response()))
}

async fn device_code_grant(state: &AppState, device_code: &str) -> Result<TokenPair, OAuthError> {
    let t = state.db.clock.now();
    let mut tx = state.db.pool.begin().await?;
    let polled = grants::poll(&mut tx, device_code, t).await?;
    let result = match polled {
        Poll::Approved(approved) => {
            let lifetimes = Lifetimes::from_config(&state.config);
            match tokens::open_connection(&mut tx, state.db.is_sqlite, &approved, lifetimes, t).await? {
                Some((pair, _handle)) => Ok(pair),
                None => Err(OAuthError::bad("access_denied", "The account is disabled.")),
            }
        }
        Poll::Pending => Err(OAuthError::bad("authorization_pending", "Waiting for the person to enter the code.")),
        Poll::SlowDown => Err(OAuthError::bad("slow_down", "Polling too often: wait 5 seconds longer between polls.")),
        Poll::Denied => Err(OAuthError::bad("access_denied", "The person denied the connection.")),
        Poll::Expired => Err(OAuthError::bad("expired_token", "The code expired. Ask for a new one.")),
        Poll::Invalid => Err(INVALID_GRANT),
    };
    tx.commit().await?;
    result
}

/// Token answers must not be kept by caches (RFC 6749 section 5.1).
fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
