//! Accounts as the operator manages them: create one, list them, reset someone's two-step
//! sign-in, disable and enable. Each change is one transaction with its history event.

use sqlx::Row;

use super::{account_id, admin_event, AdminError};
use crate::accounts::password::{check_new_password_for, hash_password, off_thread};
use crate::accounts::service::{create_account, parse_email};
use crate::core::principal::EndReason;
use crate::core::state::AppState;
use crate::history::{store as history, Kind};
use crate::moment::moment;
use crate::sessions::lifecycle::{end_sessions, Sessions};

/// `create-user <email>`: the same rules as sign-up (no sign-up limit: the operator is trusted).
pub(super) async fn create_user(state: &AppState, raw_email: &str, password: &str) -> Result<String, AdminError> {
    let email = parse_email(raw_email)?;
    let password = check_new_password_for(&email.key, password.trim_end_matches(['\r', '\n'])).await?;
    let hash = off_thread(move || hash_password(&password)).await??;
    create_account(state, &email, &hash).await?;
    Ok(format!("created the account {}\n", email.display))
}

/// One account as `users` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    pub email: String,
    pub created_at: i64,
    /// Unused recovery codes when two-step sign-in is on; `None` when it is off.
    pub two_step_codes_left: Option<i64>,
    pub last_sign_in_at: Option<i64>,
    pub disabled_at: Option<i64>,
}

/// Every account, oldest first, in one read.
pub async fn users(state: &AppState) -> Result<Vec<UserRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT u.email, u.created_at, u.disabled_at, \
         (SELECT COUNT(*) FROM totp_secrets t WHERE t.user_id = u.id AND t.enabled_at IS NOT NULL), \
         (SELECT COUNT(*) FROM recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL), \
         (SELECT MAX(h.at) FROM history_events h WHERE h.user_id = u.id AND h.kind = 'signed_in') \
         FROM users u ORDER BY u.id",
    )
    .fetch_all(&state.db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| UserRow {
            email: row.get(0),
            created_at: row.get(1),
            disabled_at: row.get(2),
            two_step_codes_left: (row.get::<i64, _>(3) > 0).then(|| row.get(4)),
            last_sign_in_at: row.get(5),
        })
        .collect())
}

/// `users`: a table with a header, columns aligned.
pub(super) async fn list_users(state: &AppState) -> Result<String, AdminError> {
    let t = state.db.clock.now();
    let when = |at: i64| moment(at, t).exact;
    let mut table = vec![["EMAIL", "CREATED", "TWO-STEP", "LAST SIGN-IN", "STATUS"].map(str::to_owned)];
    let rows = users(state).await?;
    for user in &rows {
        table.push([
            user.email.clone(),
            when(user.created_at),
            match user.two_step_codes_left {
                Some(1) => "on, 1 recovery code left".to_owned(),
                Some(left) => format!("on, {left} recovery codes left"),
                None => "off".to_owned(),
            },
            user.last_sign_in_at.map(when).unwrap_or_else(|| "never".to_owned()),
            match user.disabled_at {
                Some(at) => format!("disabled since {}", when(at)),
                None => "active".to_owned(),
            },
        ]);
    }
    let mut widths = [0; 5];
    for line in &table {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in &table {
        let cells: Vec<String> = line.iter().zip(widths).map(|(cell, width)| format!("{cell:width$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&format!("{} account(s)\n", rows.len()));
    Ok(out)
}

/// `reset-two-step <email>`: two-step off, recorded as done by an administrator, with its notice.
pub(super) async fn reset_two_step(state: &AppState, email: &str) -> Result<String, AdminError> {
    let user_id = account_id(state, email).await?;
    if !crate::two_step::store::turn_off(state, user_id, Kind::TwoStepResetByAdmin, &super::OPERATOR).await? {
        return Err(AdminError::Refused(format!("two-step sign-in is not on for {email}; nothing changed")));
    }
    Ok(format!("two-step sign-in is off for {email}; their password alone signs in until they turn it on again\n"))
}

/// `disable <email>`: marked disabled, every session and app connection ended, one event.
pub(super) async fn disable(state: &AppState, email: &str) -> Result<String, AdminError> {
    let user_id = account_id(state, email).await?;
    let t = state.db.clock.now();
    let mut tx = state.db.pool.begin().await?;
    // First, so that on PostgreSQL a sign-in inserting a session (which share-locks this row)
    // either finished before (its session is ended below) or waits and then sees it disabled.
    let marked = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
        .bind(t)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    if marked.rows_affected() == 0 {
        return Err(AdminError::Refused(format!("{email} is already disabled; nothing changed")));
    }
    let ended = end_sessions(&mut tx, Sessions::Account(user_id), EndReason::AccountDisabled, t).await?;
    let detail = crate::history::sessions_signed_out(ended.len() as u64, "");
    history::record(&mut tx, &admin_event(user_id, Kind::AccountDisabled, t, &detail)).await?;
    tx.commit().await?;
    Ok(format!("disabled {email}; {detail}\n"))
}

/// `enable <email>`.
pub(super) async fn enable(state: &AppState, email: &str) -> Result<String, AdminError> {
    let user_id = account_id(state, email).await?;
    let t = state.db.clock.now();
    let mut tx = state.db.pool.begin().await?;
    let cleared = sqlx::query("UPDATE users SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    if cleared.rows_affected() == 0 {
        return Err(AdminError::Refused(format!("{email} is not disabled; nothing changed")));
    }
    history::record(&mut tx, &admin_event(user_id, Kind::AccountEnabled, t, "")).await?;
    tx.commit().await?;
    Ok(format!("enabled {email}; they can sign in again\n"))
}
