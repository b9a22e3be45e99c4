//! `keycard admin keys …`: the keys Keycard signs ID tokens and logout tokens with.

use super::AdminError;
use crate::core::state::AppState;
use crate::moment::moment;
use crate::oidc::keys::{self, PUBLISHED_AFTER_RETIREMENT_SECS};

/// `keys rotate`: a new key signs from now on; the others stay published a day longer.
pub(super) async fn rotate(state: &AppState) -> Result<String, AdminError> {
    let Some(kid) = keys::rotate(&state.db, &state.secrets, state.db.clock.now()).await? else {
        return Err(AdminError::Refused(
            "another rotation stored its key at the same moment; nothing changed here (`keycard admin keys list` \
             shows the key that signs)"
                .into(),
        ));
    };
    Ok(format!(
        "new signing key {kid}: it signs from now on; the keys it replaces stay published for {} hours, so \
         that the tokens they signed can still be checked\n",
        PUBLISHED_AFTER_RETIREMENT_SECS / 3600
    ))
}

/// `keys list`: every key kept, newest first, and whether it signs or is only published.
pub(super) async fn list(state: &AppState) -> Result<String, AdminError> {
    let now = state.db.clock.now();
    let when = |at: i64| moment(at, now).exact;
    let all = keys::all(&state.db).await?;
    let mut out = String::new();
    for key in &all {
        let status = match key.retired_at {
            None => "signs".to_owned(),
            Some(at) if at + PUBLISHED_AFTER_RETIREMENT_SECS > now => {
                format!("replaced {}, published until {}", when(at), when(at + PUBLISHED_AFTER_RETIREMENT_SECS))
            }
            Some(at) => format!("replaced {}, no longer published", when(at)),
        };
        out.push_str(&format!("{}  made {}  {status}\n", key.kid, when(key.created_at)));
    }
    out.push_str(&format!("{} key(s)\n", all.len()));
    Ok(out)
}
