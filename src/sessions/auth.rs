//! Who is signed in: the [`SessionAuth`] kept in the session, starting and ending sessions, and
//! the guard that sends signed-out visitors of protected pages to sign-in.

use axum::{
    extract::{Request, State},
    http::{header, Method},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use serde::{Deserialize, Serialize};
use tower_sessions::{session::Id, Expiry, Session};

use super::store::{hash_id, EndReason, KeycardStore, PASSWORD_STEP_LIFETIME};
use crate::core::{db::now, state::AppState, web::ClientIp};
use crate::errors::AppError;

/// The key under which [`SessionAuth`] sits in the session data.
pub const AUTH_KEY: &str = "auth";
/// Longest user-agent text kept with a session.
const MAX_USER_AGENT: usize = 512;

/// How far sign-in has got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Password correct; the second step is still owed.
    PasswordVerified,
    Complete,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::PasswordVerified => "password_verified",
            Stage::Complete => "complete",
        }
    }
    pub fn parse(text: &str) -> Option<Stage> {
        match text {
            "password_verified" => Some(Stage::PasswordVerified),
            "complete" => Some(Stage::Complete),
            _ => None,
        }
    }
}

/// How the session signed in (shown on the devices page).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInMethod {
    Password,
    PasswordAndCode,
    RecoveryCode,
}

impl SignInMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Password => "password",
            SignInMethod::PasswordAndCode => "password_and_code",
            SignInMethod::RecoveryCode => "recovery_code",
        }
    }
}

/// What a signed-in session knows about itself. Mirrored into the `sessions` row's columns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: i64,
    pub stage: Stage,
    pub method: SignInMethod,
    pub remember: bool,
    pub signed_in_at: i64,
    pub absolute_expires_at: i64,
    pub ip: String,
    pub user_agent: String,
    /// The row's public handle (devices page, history). Set by the store: when the row is
    /// created, and from the row on every load; kept when the id is rotated.
    #[serde(default)]
    pub public_id: Option<String>,
}

impl SessionAuth {
    pub fn from_record(record: &tower_sessions::session::Record) -> Option<SessionAuth> {
        serde_json::from_value(record.data.get(AUTH_KEY)?.clone()).ok()
    }
}

/// Where a request came from, for the session row.
#[derive(Clone, Debug)]
pub struct RequestOrigin {
    pub ip: String,
    pub user_agent: String,
}

impl RequestOrigin {
    pub fn from_parts(parts: &axum::http::request::Parts) -> RequestOrigin {
        let ip = parts.extensions.get::<ClientIp>().map(|ClientIp(ip)| ip.to_string()).unwrap_or_default();
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(MAX_USER_AGENT)
            .collect();
        RequestOrigin { ip, user_agent }
    }
}

/// Starts a signed-in session under a fresh id (no fixation: whatever id the browser had is
/// dropped). `remember` keeps the cookie across browser restarts for the longer lifetime.
pub async fn start_session(
    session: &Session,
    state: &AppState,
    user_id: i64,
    stage: Stage,
    method: SignInMethod,
    remember: bool,
    origin: RequestOrigin,
) -> Result<(), AppError> {
    let t = now();
    let lifetime = match (stage, remember) {
        (Stage::PasswordVerified, _) => PASSWORD_STEP_LIFETIME,
        (Stage::Complete, true) => state.config.remember_lifetime,
        (Stage::Complete, false) => state.config.absolute_lifetime,
    };
    let auth = SessionAuth {
        user_id,
        stage,
        method,
        remember,
        signed_in_at: t,
        absolute_expires_at: t + lifetime.as_secs() as i64,
        ip: origin.ip,
        user_agent: origin.user_agent,
        public_id: None,
    };
    session.clear().await;
    session.cycle_id().await.map_err(AppError::internal)?;
    session.insert(AUTH_KEY, &auth).await.map_err(AppError::internal)?;
    session.set_expiry(Some(if remember && stage == Stage::Complete {
        Expiry::AtDateTime(time::OffsetDateTime::now_utc() + lifetime)
    } else {
        Expiry::OnSessionEnd
    }));
    // Saved now rather than when the response leaves, so a failure is an error for this request.
    session.save().await.map_err(AppError::internal)?;
    Ok(())
}

/// Issues this session a new id and keeps everything else: its data, its row's handle, lifetime
/// and history, and its cookie's persistence. Used after a re-authentication and a password change
/// (ASVS 5.0 7.2.4), so a session id seen before the proof is worthless after it.
pub async fn rotate_id(session: &Session) -> Result<(), AppError> {
    let auth = require_signed_in(session).await?;
    session.cycle_id().await.map_err(AppError::internal)?;
    if auth.remember {
        let until = time::OffsetDateTime::from_unix_timestamp(auth.absolute_expires_at).map_err(AppError::internal)?;
        session.set_expiry(Some(Expiry::AtDateTime(until)));
    }
    session.save().await.map_err(AppError::internal)
}

/// The signed-in state of this session, if any.
pub async fn current_auth(session: &Session) -> Result<Option<SessionAuth>, AppError> {
    session.get::<SessionAuth>(AUTH_KEY).await.map_err(AppError::internal)
}

/// The user of a fully signed-in session, or [`AppError::NotSignedIn`].
pub async fn require_signed_in(session: &Session) -> Result<SessionAuth, AppError> {
    match current_auth(session).await? {
        Some(auth) if auth.stage == Stage::Complete => Ok(auth),
        _ => Err(AppError::NotSignedIn),
    }
}

/// Like [`require_signed_in`], for server functions that load a page's data: when the request's
/// cookie names a session that was ended (from another device, or by expiry) the error says so.
/// A client-side navigation meets the end of a session here, not in [`guard_pages`], and this
/// request's answer already clears the cookie, so the reason must travel with the error.
pub async fn require_signed_in_for_page(session: &Session, state: &AppState) -> Result<SessionAuth, AppError> {
    match require_signed_in(session).await {
        Err(AppError::NotSignedIn) => {
            let parts = leptos::prelude::use_context::<axum::http::request::Parts>();
            let cookie = parts.and_then(|p| session_cookie(&p.headers, state.config.cookie_name()));
            Err(match ended_reason(state, cookie).await {
                Some(EndReason::Revoked) => AppError::SignedOutElsewhere,
                Some(EndReason::Expired) => AppError::SessionExpired,
                _ => AppError::NotSignedIn,
            })
        }
        other => other,
    }
}

/// Signs this session out: the row is marked ended and the cookie is cleared.
pub async fn sign_out(session: &Session, store: &KeycardStore) -> Result<(), AppError> {
    if let Some(id) = session.id() {
        store.end(&hash_id(&id), EndReason::SignedOut).await.map_err(AppError::internal)?;
    }
    session.flush().await.map_err(AppError::internal)?;
    Ok(())
}

/// Who may open a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Anyone,
    SignedIn,
    /// Only between a correct password and the code (the `PasswordVerified` stage).
    CodeStep,
}

pub fn page_access(path: &str) -> Access {
    match path {
        "/login/code" => Access::CodeStep,
        "/" | "/devices" | "/history" | "/security" => Access::SignedIn,
        p if p.starts_with("/security/") => Access::SignedIn,
        _ => Access::Anyone,
    }
}

/// Sends signed-out visitors of protected pages to `/login?next=…`, with the reason when their
/// session ended (signed out elsewhere, expired); a session still owing the code goes to the code
/// step for every protected page, and only such a session may open the code step. Runs inside the
/// session layer.
pub async fn guard_pages(State(state): State<AppState>, session: Session, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) || page_access(req.uri().path()) == Access::Anyone {
        return next.run(req).await;
    }
    let auth = match current_auth(&session).await {
        Ok(auth) => auth,
        Err(err) => {
            return crate::core::web::error_page(
                axum::http::StatusCode::from_u16(err.status()).unwrap_or_default(),
                &err.to_string(),
            )
        }
    };
    let stage = auth.as_ref().map(|a| a.stage);
    let access = page_access(req.uri().path());
    match (access, stage) {
        (Access::SignedIn, Some(Stage::Complete)) | (Access::CodeStep, Some(Stage::PasswordVerified)) => {
            return next.run(req).await;
        }
        (Access::SignedIn, Some(Stage::PasswordVerified)) => {
            let wanted = req.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
            return Redirect::to(&format!("/login/code?next={}", urlencode(wanted))).into_response();
        }
        // Already fully signed in: nothing to enter.
        (Access::CodeStep, Some(Stage::Complete)) => return Redirect::to("/").into_response(),
        _ => {}
    }
    let mut target = if access == Access::CodeStep {
        "/login?".to_owned()
    } else {
        let wanted = req.uri().path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
        format!("/login?next={}&", urlencode(wanted))
    };
    let cookie = session_cookie(req.headers(), state.config.cookie_name());
    if let Some(reason) = ended_reason(&state, cookie).await {
        target.push_str(match reason {
            EndReason::Revoked => "ended=elsewhere",
            EndReason::Expired => "ended=expired",
            EndReason::SignedOut => "",
        });
    }
    let target = target.trim_end_matches(['&', '?']);
    Redirect::to(target).into_response()
}

/// The session id in the request's cookie, if it parses as one.
fn session_cookie(headers: &axum::http::HeaderMap, cookie_name: &str) -> Option<Id> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie_name)
        .and_then(|(_, value)| value.parse().ok())
}

/// For a cookie that no longer loads a session: why that session ended.
async fn ended_reason(state: &AppState, cookie: Option<Id>) -> Option<EndReason> {
    state.sessions.end_reason(&hash_id(&cookie?)).await.ok().flatten()
}

pub fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
