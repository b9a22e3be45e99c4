//! `connect`: the device authorization grant (RFC 8628): a code to approve in a signed-in
//! browser, then polling for the tokens.

use std::fmt;
use std::thread;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde::Deserialize;

use crate::tokens::{store_token_response, TokenResponse};
use crate::{
    env_nonempty, print_line, read_answer, unexpected, unreachable_server, Context, Failure, OAuthError, Outcome,
};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The answer from `/oauth/device`.
#[derive(Deserialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    expires_in: u64,
    #[serde(default = "default_interval")]
    interval: u64,
}

fn default_interval() -> u64 {
    5
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("device_code", &"[redacted]")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_in", &self.expires_in)
            .field("interval", &self.interval)
            .finish()
    }
}

pub(crate) fn connect(ctx: &Context) -> Outcome<()> {
    let response = ctx
        .http
        .post(format!("{}/oauth/device", ctx.server))
        .form(&[("client_id", ctx.client_name.as_str())])
        .send()
        .map_err(|e| unreachable_server(ctx, &e))?;
    let device: DeviceAuthorization = match response.status() {
        StatusCode::OK => read_answer(response)?,
        StatusCode::BAD_REQUEST | StatusCode::TOO_MANY_REQUESTS => {
            let body = response.text().unwrap_or_default();
            return Err(match serde_json::from_str::<OAuthError>(&body) {
                Ok(err) => Failure::error(format!("Could not start connecting: {}", err.describe())),
                Err(_) => Failure::error(format!("Could not start connecting: {}", body.trim())),
            });
        }
        _ => return Err(unexpected("Could not start connecting", response)),
    };

    print_line(&format!("Open {} and enter {}", device.verification_uri, device.user_code));
    print_line(&format!("Or open {}", device.verification_uri_complete));

    let deadline = Instant::now() + Duration::from_secs(device.expires_in);
    let override_ms = env_nonempty("KEYCARD_CLI_POLL_MS").and_then(|v| v.parse::<u64>().ok());
    let mut wait = match override_ms {
        Some(ms) => Duration::from_millis(ms),
        None => Duration::from_secs(device.interval.max(1)),
    };
    let slow_down = |wait: Duration| match override_ms {
        Some(_) => wait.saturating_mul(2),
        None => wait + Duration::from_secs(5),
    };
    let expired = || Failure::new(4, "The code expired; run connect again.");

    let form = [
        ("grant_type", DEVICE_GRANT),
        ("device_code", device.device_code.as_str()),
        ("client_id", ctx.client_name.as_str()),
    ];
    loop {
        if Instant::now() + wait > deadline {
            return Err(expired());
        }
        thread::sleep(wait);

        let response = match ctx.http.post(format!("{}/oauth/token", ctx.server)).form(&form).send() {
            Ok(response) => response,
            Err(e) => {
                // A poll is harmless to repeat; keep going until the code expires.
                eprintln!("Could not reach {} ({e}); still waiting.", ctx.server);
                continue;
            }
        };
        match response.status() {
            StatusCode::OK => {
                let answer: TokenResponse = read_answer(response)?;
                store_token_response(ctx, answer)?;
                print_line("Connected.");
                return Ok(());
            }
            StatusCode::BAD_REQUEST | StatusCode::TOO_MANY_REQUESTS => {
                let status = response.status();
                let body = response.text().unwrap_or_default();
                let err = match serde_json::from_str::<OAuthError>(&body) {
                    Ok(err) => err,
                    Err(_) => return Err(Failure::error(format!("Connecting failed: {status}: {}", body.trim()))),
                };
                match err.error.as_str() {
                    "authorization_pending" => {}
                    "slow_down" | "too_many_requests" => wait = slow_down(wait),
                    "access_denied" => return Err(Failure::new(4, "The connection was denied.")),
                    "expired_token" => return Err(expired()),
                    _ => return Err(Failure::error(format!("Connecting failed: {}", err.describe()))),
                }
            }
            _ => return Err(unexpected("Connecting failed", response)),
        }
    }
}
