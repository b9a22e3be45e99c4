//! `keycard admin …`: commands an operator runs on the server's machine, against the same database
//! as the server (ASVS 7.4.5: an administrator can end the sessions of one account or of all).
//! Ending is marking the rows ended, so it takes effect on each session's very next request on
//! every instance; each account affected gets a history event in the same transaction.
//!
//! ```text
//! keycard admin sessions <email>        list the account's live sessions
//! keycard admin sign-out <email>        end every session of the account
//! keycard admin sign-out-everyone       end every session of every account
//! ```

use std::collections::BTreeMap;

use sqlx::Row;

use super::store::EndReason;
use crate::core::db::{now, Db};
use crate::history::{store as history, Kind};

pub const USAGE: &str = "usage: keycard admin sessions <email> | sign-out <email> | sign-out-everyone";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminCommand {
    Sessions { email: String },
    SignOut { email: String },
    SignOutEveryone,
}

impl AdminCommand {
    /// Parses the words after `admin`.
    pub fn parse(args: &[String]) -> Result<AdminCommand, String> {
        match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["sessions", email] => Ok(AdminCommand::Sessions { email: (*email).to_owned() }),
            ["sign-out", email] => Ok(AdminCommand::SignOut { email: (*email).to_owned() }),
            ["sign-out-everyone"] => Ok(AdminCommand::SignOutEveryone),
            _ => Err(USAGE.to_owned()),
        }
    }
}

/// What went wrong, worded for the operator's terminal.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no account has the email {0:?}")]
    UnknownAccount(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// One live session as the operator sees it (never its id or id hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveSession {
    pub handle: String,
    pub device: String,
    pub ip: String,
    pub method: String,
    pub signed_in_at: i64,
    pub last_seen_at: i64,
}

/// Runs a command and returns what to print.
pub async fn run(db: &Db, command: &AdminCommand) -> Result<String, AdminError> {
    match command {
        AdminCommand::Sessions { email } => {
            let sessions = live_sessions(db, account_id(db, email).await?, now()).await?;
            let mut out = format!("{} live session(s) of {email}\n", sessions.len());
            for s in sessions {
                let signed_in = crate::sessions::devices::moment(s.signed_in_at, now()).exact;
                let seen = crate::sessions::devices::moment(s.last_seen_at, now()).exact;
                out.push_str(&format!(
                    "{}  {}  {}  {}  signed in {signed_in}, last active {seen}\n",
                    s.handle, s.device, s.ip, s.method
                ));
            }
            Ok(out)
        }
        AdminCommand::SignOut { email } => {
            let ended = sign_out_account(db, account_id(db, email).await?, now()).await?;
            Ok(format!("signed out {ended} session(s) of {email}\n"))
        }
        AdminCommand::SignOutEveryone => {
            let (sessions, accounts) = sign_out_everyone(db, now()).await?;
            Ok(format!("signed out {sessions} session(s) of {accounts} account(s)\n"))
        }
    }
}

async fn account_id(db: &Db, email: &str) -> Result<i64, AdminError> {
    let key = crate::accounts::service::parse_email(email).map(|e| e.key).unwrap_or_default();
    let row = sqlx::query("SELECT id FROM users WHERE email_key = $1").bind(&key).fetch_optional(&db.pool).await?;
    row.map(|r| r.get(0)).ok_or_else(|| AdminError::UnknownAccount(email.to_owned()))
}

/// The live (not ended, not expired) sessions of `user_id`, newest activity first.
pub async fn live_sessions(db: &Db, user_id: i64, now: i64) -> Result<Vec<LiveSession>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT public_id, user_agent, ip, method, created_at, last_seen_at FROM sessions \
         WHERE user_id = $1 AND ended_at IS NULL AND idle_expires_at > $2 AND absolute_expires_at > $2 \
         ORDER BY last_seen_at DESC",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| LiveSession {
            handle: row.get::<Option<String>, _>(0).unwrap_or_default(),
            device: super::ua::describe(&row.get::<String, _>(1)).name,
            ip: row.get(2),
            method: super::devices::method_label(&row.get::<String, _>(3)).to_owned(),
            signed_in_at: row.get(4),
            last_seen_at: row.get(5),
        })
        .collect())
}

/// Ends every session of `user_id`, with one history event when any was live. Returns how many.
pub async fn sign_out_account(db: &Db, user_id: i64, now: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let ended = sqlx::query(
        "UPDATE sessions SET ended_at = $1, end_reason = $2, data = '{}' WHERE user_id = $3 AND ended_at IS NULL",
    )
    .bind(now)
    .bind(EndReason::Revoked.as_str())
    .bind(user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if ended > 0 {
        history::record(&mut tx, &admin_event(user_id, now, ended)).await?;
    }
    tx.commit().await?;
    Ok(ended)
}

/// Ends every session of every account, each account's history event in the same transaction.
/// Returns (sessions ended, accounts affected).
pub async fn sign_out_everyone(db: &Db, now: i64) -> Result<(u64, u64), sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let rows = sqlx::query(
        "UPDATE sessions SET ended_at = $1, end_reason = $2, data = '{}' WHERE ended_at IS NULL RETURNING user_id",
    )
    .bind(now)
    .bind(EndReason::Revoked.as_str())
    .fetch_all(&mut *tx)
    .await?;
    let mut per_account: BTreeMap<i64, u64> = BTreeMap::new();
    for row in &rows {
        *per_account.entry(row.get::<i64, _>(0)).or_default() += 1;
    }
    for (&user_id, &ended) in &per_account {
        history::record(&mut tx, &admin_event(user_id, now, ended)).await?;
    }
    tx.commit().await?;
    Ok((rows.len() as u64, per_account.len() as u64))
}

fn admin_event(user_id: i64, at: i64, ended: u64) -> history::Event {
    let detail = if ended == 1 { "1 session signed out".to_owned() } else { format!("{ended} sessions signed out") };
    history::Event {
        user_id,
        kind: Kind::SignedOutByAdmin,
        at,
        ip: String::new(),
        user_agent: String::new(),
        detail,
        session_public_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::AdminCommand;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn parses_the_three_commands_and_refuses_anything_else() {
        assert_eq!(
            AdminCommand::parse(&args(&["sessions", "a@example.com"])),
            Ok(AdminCommand::Sessions { email: "a@example.com".into() })
        );
        assert_eq!(
            AdminCommand::parse(&args(&["sign-out", "a@example.com"])),
            Ok(AdminCommand::SignOut { email: "a@example.com".into() })
        );
        assert_eq!(AdminCommand::parse(&args(&["sign-out-everyone"])), Ok(AdminCommand::SignOutEveryone));
        for bad in [&[][..], &["sign-out"], &["sessions", "a", "b"], &["drop-tables"]] {
            assert!(AdminCommand::parse(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
