//! The token file (written privately and atomically) and refreshing the token pair: refresh
//! tokens rotate, so a lost answer is never replayed.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use crate::{now_secs, unexpected, unreachable_server, Context, Failure, OAuthError, Outcome};

/// Refresh this many seconds before the access token's recorded expiry.
pub(crate) const EXPIRY_MARGIN_SECS: u64 = 10;

/// The token file's contents.
#[derive(Serialize, Deserialize)]
pub(crate) struct SavedTokens {
    pub(crate) server: String,
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    pub(crate) access_expires_at: u64,
}

impl fmt::Debug for SavedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SavedTokens")
            .field("server", &self.server)
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .field("access_expires_at", &self.access_expires_at)
            .finish()
    }
}

/// A successful answer from `/oauth/token`.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    #[serde(default)]
    pub(crate) token_type: String,
    pub(crate) expires_in: u64,
    pub(crate) refresh_token: String,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &"[redacted]")
            .finish()
    }
}

pub(crate) fn load_tokens(ctx: &Context) -> Outcome<SavedTokens> {
    let not_connected = || Failure::new(3, "Not connected: run keycard-cli connect");
    let text = match std::fs::read_to_string(&ctx.token_file) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_connected()),
        Err(e) => return Err(Failure::error(format!("Could not read {}: {e}", ctx.token_file.display()))),
    };
    // Report only the position of a parse error: serde's message could quote part of a token.
    let tokens: SavedTokens = serde_json::from_str(&text).map_err(|e| {
        Failure::error(format!(
            "The token file {} is damaged (line {}, column {}); delete it and run keycard-cli connect",
            ctx.token_file.display(),
            e.line(),
            e.column()
        ))
    })?;
    if tokens.server.trim_end_matches('/') != ctx.server {
        return Err(Failure::new(
            3,
            format!(
                "Not connected to {} (the saved connection is for {}): run keycard-cli connect",
                ctx.server, tokens.server
            ),
        ));
    }
    Ok(tokens)
}

/// Writes the token file atomically: a private temporary file next to it, then a rename.
pub(crate) fn save_tokens(path: &Path, tokens: &SavedTokens) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_private_dir(&dir)?;

    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "tokens".into());
    let temp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let body = serde_json::to_vec_pretty(tokens).map_err(io::Error::other)?;

    let _ = std::fs::remove_file(&temp);
    let result = write_private_file(&temp, &body).and_then(|()| std::fs::rename(&temp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(unix)]
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)
}

pub(crate) fn write_private_file(path: &Path, body: &[u8]) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(body)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

pub(crate) fn forget_tokens(ctx: &Context) {
    match std::fs::remove_file(&ctx.token_file) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => eprintln!("Could not delete {}: {e}", ctx.token_file.display()),
    }
}

pub(crate) fn store_token_response(ctx: &Context, answer: TokenResponse) -> Outcome<SavedTokens> {
    let tokens = SavedTokens {
        server: ctx.server.clone(),
        access_token: answer.access_token,
        refresh_token: answer.refresh_token,
        access_expires_at: now_secs().saturating_add(answer.expires_in),
    };
    save_tokens(&ctx.token_file, &tokens).map_err(|e| {
        Failure::error(format!(
            "Could not save the new tokens to {}: {e}; run keycard-cli connect again",
            ctx.token_file.display()
        ))
    })?;
    Ok(tokens)
}

/// Exchanges the refresh token for a new pair and saves it before returning.
/// Unless `force` is set, a newer, still-valid pair written meanwhile by another run is used instead.
pub(crate) fn refresh(ctx: &Context, tokens: &mut SavedTokens, force: bool) -> Outcome<()> {
    // Another run of this tool may have refreshed since we read the file; using the refresh token it
    // replaced would end the connection, so pick up the newer pair if there is one.
    if let Ok(latest) = load_tokens(ctx) {
        if latest.refresh_token != tokens.refresh_token {
            *tokens = latest;
            if !force && now_secs().saturating_add(EXPIRY_MARGIN_SECS) < tokens.access_expires_at {
                return Ok(());
            }
        }
    }

    let lost = || Failure::error("The refresh answer was lost; if this keeps failing, run connect again.");
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens.refresh_token.as_str()),
        ("client_id", ctx.client_name.as_str()),
    ];
    let response = match ctx.http.post(format!("{}/oauth/token", ctx.server)).form(&form).send() {
        Ok(response) => response,
        // Nothing reached the server, so the refresh token is still good.
        Err(e) if e.is_connect() => return Err(unreachable_server(ctx, &e)),
        // The server may have rotated the token and the answer went missing: never replay it.
        Err(_) => return Err(lost()),
    };

    match response.status() {
        StatusCode::OK => {
            let answer: TokenResponse = response.json().map_err(|_| lost())?;
            *tokens = store_token_response(ctx, answer)?;
            Ok(())
        }
        StatusCode::BAD_REQUEST => {
            let body = response.text().unwrap_or_default();
            match serde_json::from_str::<OAuthError>(&body) {
                Ok(err) if err.error == "invalid_grant" => {
                    forget_tokens(ctx);
                    Err(Failure::new(3, "Signed out (401): this connection was ended. Run keycard-cli connect again."))
                }
                _ => Err(Failure::error(format!("Refresh failed: unexpected answer 400 Bad Request: {}", body.trim()))),
            }
        }
        _ => Err(unexpected("Refresh failed", response)),
    }
}
