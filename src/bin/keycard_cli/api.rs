//! Calling Keycard's API with the saved access token: `me`, `sessions`, `sign-out`.

use reqwest::blocking::Response;
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;

use crate::tokens::{load_tokens, refresh, SavedTokens, EXPIRY_MARGIN_SECS};
use crate::{now_secs, print_line, read_answer, unexpected, unreachable_server, Context, Failure, Outcome};

/// Sends an authenticated API request, refreshing the access token when it is (nearly) expired or
/// when the API rejects it, and retrying at most once.
pub(crate) fn call_api(ctx: &Context, method: Method, url: Url) -> Outcome<Response> {
    let mut tokens = load_tokens(ctx)?;
    if now_secs().saturating_add(EXPIRY_MARGIN_SECS) >= tokens.access_expires_at {
        refresh(ctx, &mut tokens, false)?;
    }
    let send = |tokens: &SavedTokens| {
        ctx.http
            .request(method.clone(), url.clone())
            .bearer_auth(&tokens.access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .map_err(|e| unreachable_server(ctx, &e))
    };
    let response = send(&tokens)?;
    if response.status() != StatusCode::UNAUTHORIZED {
        return Ok(response);
    }
    refresh(ctx, &mut tokens, false)?;
    send(&tokens)
}

pub(crate) fn api_url(ctx: &Context, segments: &[&str]) -> Outcome<Url> {
    let mut url =
        Url::parse(&ctx.server).map_err(|e| Failure::error(format!("Bad server address {}: {e}", ctx.server)))?;
    {
        let mut path =
            url.path_segments_mut().map_err(|()| Failure::error(format!("Bad server address {}", ctx.server)))?;
        path.pop_if_empty();
        path.extend(["api", "v1"]);
        // Each segment is percent-encoded, so a handle cannot escape its place in the path.
        path.extend(segments);
    }
    Ok(url)
}

pub(crate) fn show_me(ctx: &Context) -> Outcome<()> {
    let response = call_api(ctx, Method::GET, api_url(ctx, &["me"])?)?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("Request failed", response));
    }
    let body: serde_json::Value =
        response.json().map_err(|e| Failure::error(format!("The server's answer was not JSON: {e}")))?;
    let pretty = serde_json::to_string_pretty(&body).map_err(|e| Failure::error(e.to_string()))?;
    print_line(&pretty);
    Ok(())
}

pub(crate) fn list_sessions(ctx: &Context) -> Outcome<()> {
    let response = call_api(ctx, Method::GET, api_url(ctx, &["sessions"])?)?;
    if response.status() != StatusCode::OK {
        return Err(unexpected("Request failed", response));
    }
    let list: SessionList = read_answer(response)?;
    for item in list.sessions {
        let marker = if item.current { "  (this connection)" } else { "" };
        print_line(&format!(
            "{}  {}  {}  last active {}{marker}",
            item.handle, item.name, item.ip, item.last_active_at
        ));
    }
    Ok(())
}

pub(crate) fn sign_out(ctx: &Context, handle: &str) -> Outcome<()> {
    let response = call_api(ctx, Method::DELETE, api_url(ctx, &["sessions", handle])?)?;
    match response.status() {
        status if status.is_success() => {
            print_line("Signed out.");
            Ok(())
        }
        StatusCode::NOT_FOUND => Err(Failure::error("No such session.")),
        _ => Err(unexpected("Request failed", response)),
    }
}

#[derive(Deserialize)]
struct SessionList {
    sessions: Vec<SessionItem>,
}

#[derive(Deserialize)]
struct SessionItem {
    #[serde(default)]
    handle: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    last_active_at: String,
    #[serde(default)]
    current: bool,
}
