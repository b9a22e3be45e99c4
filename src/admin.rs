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

use crate::core::db::{now, Db};
use crate::core::principal::EndReason;
use crate::history::{store as history, Kind};
use crate::moment::moment;
use crate::sessions::keys::SignInMethod;
use crate::sessions::lifecycle::{end_sessions, live_sql, EndedSession, Sessions};

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
                let signed_in = moment(s.signed_in_at, now()).exact;
                let seen = moment(s.last_seen_at, now()).exact;
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
    let sql = format!(
        "SELECT public_id, user_agent, ip, method, created_at, last_seen_at FROM sessions \
         WHERE user_id = $1 AND {} ORDER BY last_seen_at DESC",
        live_sql("$2")
    );
    let rows = sqlx::query(&sql).bind(user_id).bind(now).fetch_all(&db.pool).await?;
    Ok(rows
        .iter()
        .map(|row| LiveSession {
            handle: row.get::<Option<String>, _>(0).unwrap_or_default(),
            device: crate::core::user_agent::describe(&row.get::<String, _>(1)).name,
            ip: row.get(2),
            method: SignInMethod::label_of(&row.get::<String, _>(3)).to_owned(),
            signed_in_at: row.get(4),
            last_seen_at: row.get(5),
        })
        .collect())
}

/// Ends every live session of `user_id` (each with its `session_ended` event), with the
/// administrator's event when any was live. Returns how many.
pub async fn sign_out_account(db: &Db, user_id: i64, now: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let ended = end_sessions(&mut tx, Sessions::Account(user_id), EndReason::SignedOutElsewhere, now).await?;
    record_admin_events(&mut tx, &ended, now).await?;
    tx.commit().await?;
    Ok(ended.len() as u64)
}

/// Ends every live session of every account, each account's events in the same transaction.
/// Returns (sessions ended, accounts affected).
pub async fn sign_out_everyone(db: &Db, now: i64) -> Result<(u64, u64), sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let ended = end_sessions(&mut tx, Sessions::Everyone, EndReason::SignedOutElsewhere, now).await?;
    let accounts = record_admin_events(&mut tx, &ended, now).await?;
    tx.commit().await?;
    Ok((ended.len() as u64, accounts))
}

/// One `signed_out_by_admin` event per account that had sessions ended. Returns how many accounts.
async fn record_admin_events(
    conn: &mut sqlx::AnyConnection,
    ended: &[EndedSession],
    now: i64,
) -> Result<u64, sqlx::Error> {
    let mut per_account: BTreeMap<i64, u64> = BTreeMap::new();
    for session in ended {
        *per_account.entry(session.user_id).or_default() += 1;
    }
    for (&user_id, &count) in &per_account {
        history::record(&mut *conn, &admin_event(user_id, now, count)).await?;
    }
    Ok(per_account.len() as u64)
}

fn admin_event(user_id: i64, at: i64, ended: u64) -> history::Event {
    let detail = crate::devices::service::sessions_signed_out(ended, "");
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
