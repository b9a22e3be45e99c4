//! `keycard admin …`: commands an operator runs on the server's machine, against the same database
//! as the server. Each command that changes anything does it in one transaction, with the history
//! events (and, with mail on, the notices) of what it did, so it takes effect on every instance at
//! the next request and nothing is ever half done.
//!
//! Layout: this file parses the command line and dispatches; [`accounts`] creates, lists,
//! disables and enables accounts and resets two-step sign-in; [`sessions`] lists and ends
//! sessions; [`purge`] deletes expired data now; [`apps`] registers the apps that sign people in
//! through Keycard; [`keys`] rotates the keys Keycard signs ID tokens with.

pub mod accounts;
pub mod apps;
pub mod keys;
pub mod purge;
pub mod sessions;

use crate::core::state::AppState;

pub use sessions::{live_sessions, sign_out_account, sign_out_everyone, LiveSession};

/// The commands, each with its one-line summary and its `--help` text.
const COMMANDS: [(&str, &str, &str); 11] = [
    (
        "create-user",
        "create-user <email>       create an account; the password is read from standard input",
        "Creates an account with this email. The password is never an argument (it would show in the\n\
         process list): type it at the prompt, or pipe it on standard input (one line). It must pass\n\
         the same rules as at sign-up. With mail on, a link to confirm the address is mailed.",
    ),
    (
        "users",
        "users                     list accounts: two-step state, last sign-in, disabled or not",
        "Lists every account, oldest first: email, when it was created, whether two-step sign-in is\n\
         on (and recovery codes left), its last sign-in, and whether it is disabled.",
    ),
    (
        "reset-two-step",
        "reset-two-step <email>    turn two-step sign-in off for someone who lost their authenticator",
        "Turns two-step sign-in off for the account: its authenticator secret and recovery codes are\n\
         deleted and a sign-in waiting at the code step ends. The account's history records it and,\n\
         with mail on, the person is told by mail. Check who is asking before you run it: afterwards\n\
         the password alone signs in, until they turn two-step on again.",
    ),
    (
        "disable",
        "disable <email>           end every session and app connection, refuse sign-in",
        "Disables the account: every session and app connection ends at once (on every instance)\n\
         and sign-in is refused until `keycard admin enable`. Only someone who types the right\n\
         password learns the account is disabled; others get the usual wrong-password answer.",
    ),
    (
        "enable",
        "enable <email>            let a disabled account sign in again",
        "Enables a disabled account: it can sign in again (no session comes back).",
    ),
    (
        "sessions",
        "sessions <email>          list the account's live sessions (device, IP, method, times)",
        "Lists the account's live sessions and app connections, most recently active first.",
    ),
    (
        "sign-out",
        "sign-out <email>          end every session of the account (e.g. a stolen laptop)",
        "Ends every session and app connection of the account; each ends on its next request.",
    ),
    (
        "sign-out-everyone",
        "sign-out-everyone         end every session of every account (e.g. after a breach)",
        "Ends every session and app connection of every account.",
    ),
    (
        "purge",
        "purge                     delete expired data now, instead of waiting for the periodic task",
        "Ends sessions past their lifetime and deletes what the periodic task would: sessions ended\n\
         over 30 days ago, history past KEYCARD_HISTORY_RETENTION_DAYS, lapsed sign-in limits, expired\n\
         mail links, app tokens and pairing requests, and signing keys no longer published. One\n\
         transaction: on a large database it holds the write lock until it is done.",
    ),
    (
        "apps",
        "apps <command>            register the apps that sign people in through Keycard (OpenID Connect)",
        "Registers, lists, shows and removes the apps that sign people in through Keycard, and rotates\n\
         their secrets: `keycard admin apps --help` lists the commands.",
    ),
    (
        "keys",
        "keys <rotate|list>        the keys ID tokens are signed with: make a new one, or list them",
        "keys rotate: makes a new signing key, which signs every token from now on; the keys it\n\
         replaces stay published at /oauth/jwks for 24 hours, so tokens they signed can still be checked.\n\
         keys list: every key kept, newest first, and whether it signs or is only published.",
    ),
];

/// `keycard admin` without a valid command, or with `--help`.
pub fn usage() -> String {
    let mut text = String::from("usage: keycard admin <command> [<email>]\n\ncommands:\n");
    for (_, summary, _) in COMMANDS {
        text.push_str("  ");
        text.push_str(summary);
        text.push('\n');
    }
    text.push_str("\n`keycard admin <command> --help` explains one command.\n");
    text
}

fn command_help(name: &str) -> Option<String> {
    let (_, summary, long) = COMMANDS.iter().find(|(n, _, _)| *n == name)?;
    let synopsis = summary.split("  ").next().unwrap_or(name).trim_end();
    Some(format!("usage: keycard admin {synopsis}\n\n{long}\n"))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminCommand {
    CreateUser { email: String },
    Users,
    ResetTwoStep { email: String },
    Disable { email: String },
    Enable { email: String },
    Sessions { email: String },
    SignOut { email: String },
    SignOutEveryone,
    Purge,
    Apps(apps::AppsCommand),
    RotateKeys,
    Keys,
}

/// What the words after `admin` asked for, when not a command to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotACommand {
    /// `--help` (or `help`): print this and succeed.
    Help(String),
    /// Not a valid command line: print this and fail.
    Usage(String),
}

impl AdminCommand {
    /// Parses the words after `admin`.
    pub fn parse(args: &[String]) -> Result<AdminCommand, NotACommand> {
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        let email = |w: &str| w.to_owned();
        match words.as_slice() {
            [] | ["--help" | "-h" | "help"] => Err(NotACommand::Help(usage())),
            ["apps", rest @ ..] => apps::parse(rest),
            ["help", name] | [name, "--help" | "-h", ..] => match command_help(name) {
                Some(help) => Err(NotACommand::Help(help)),
                None => Err(NotACommand::Usage(format!("unknown command {name:?}\n\n{}", usage()))),
            },
            ["create-user", e] => Ok(AdminCommand::CreateUser { email: email(e) }),
            ["users"] => Ok(AdminCommand::Users),
            ["reset-two-step", e] => Ok(AdminCommand::ResetTwoStep { email: email(e) }),
            ["disable", e] => Ok(AdminCommand::Disable { email: email(e) }),
            ["enable", e] => Ok(AdminCommand::Enable { email: email(e) }),
            ["sessions", e] => Ok(AdminCommand::Sessions { email: email(e) }),
            ["sign-out", e] => Ok(AdminCommand::SignOut { email: email(e) }),
            ["sign-out-everyone"] => Ok(AdminCommand::SignOutEveryone),
            ["purge"] => Ok(AdminCommand::Purge),
            ["keys", "rotate"] => Ok(AdminCommand::RotateKeys),
            ["keys", "list"] => Ok(AdminCommand::Keys),
            [name, ..] => Err(NotACommand::Usage(match command_help(name) {
                // A known command with the wrong arguments: say how it is used.
                Some(help) => help,
                None => format!("unknown command {name:?}\n\n{}", usage()),
            })),
        }
    }
}

/// What went wrong, worded for the operator's terminal. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no account has the email {0:?}")]
    UnknownAccount(String),
    /// The command cannot do what was asked (the text says why).
    #[error("{0}")]
    Refused(String),
    #[error("could not read the password: {0}")]
    Input(#[from] std::io::Error),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl From<crate::errors::AppError> for AdminError {
    fn from(err: crate::errors::AppError) -> AdminError {
        AdminError::Refused(err.to_string())
    }
}

/// Runs a command and returns what to print. `read_password` is asked only by `create-user`.
pub async fn run(
    state: &AppState,
    command: &AdminCommand,
    read_password: impl FnOnce() -> std::io::Result<String>,
) -> Result<String, AdminError> {
    match command {
        AdminCommand::CreateUser { email } => accounts::create_user(state, email, &read_password()?).await,
        AdminCommand::Users => accounts::list_users(state).await,
        AdminCommand::ResetTwoStep { email } => accounts::reset_two_step(state, email).await,
        AdminCommand::Disable { email } => accounts::disable(state, email).await,
        AdminCommand::Enable { email } => accounts::enable(state, email).await,
        AdminCommand::Sessions { email } => sessions::list(state, email).await,
        AdminCommand::SignOut { email } => sessions::sign_out(state, email).await,
        AdminCommand::SignOutEveryone => sessions::sign_out_all(state).await,
        AdminCommand::Purge => purge::run(state).await,
        AdminCommand::Apps(command) => apps::run(state, command).await,
        AdminCommand::RotateKeys => keys::rotate(state).await,
        AdminCommand::Keys => keys::list(state).await,
    }
}

/// The id of the account with this email (any case or spacing), or [`AdminError::UnknownAccount`].
pub(crate) async fn account_id(state: &AppState, email: &str) -> Result<i64, AdminError> {
    let key = crate::accounts::service::parse_email(email).map(|e| e.key).unwrap_or_default();
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email_key = $1")
        .bind(&key)
        .fetch_optional(&state.db.pool)
        .await?;
    id.ok_or_else(|| AdminError::UnknownAccount(email.to_owned()))
}

/// An event done by an administrator: no browser, no address.
pub(crate) fn admin_event(
    user_id: i64,
    kind: crate::history::Kind,
    at: i64,
    detail: &str,
) -> crate::history::store::Event {
    crate::history::store::Event::from_origin(&OPERATOR, user_id, kind, at, detail)
}

/// Where the operator's commands come from: no browser and no address to show.
pub(crate) const OPERATOR: crate::core::origin::RequestOrigin =
    crate::core::origin::RequestOrigin { ip: String::new(), user_agent: String::new() };

#[cfg(test)]
mod tests {
    use super::{AdminCommand, NotACommand, COMMANDS};

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn parses_every_command_and_refuses_anything_else() {
        let e = || "a@example.com".to_owned();
        for (words, command) in [
            (&["create-user", "a@example.com"][..], AdminCommand::CreateUser { email: e() }),
            (&["users"], AdminCommand::Users),
            (&["reset-two-step", "a@example.com"], AdminCommand::ResetTwoStep { email: e() }),
            (&["disable", "a@example.com"], AdminCommand::Disable { email: e() }),
            (&["enable", "a@example.com"], AdminCommand::Enable { email: e() }),
            (&["sessions", "a@example.com"], AdminCommand::Sessions { email: e() }),
            (&["sign-out", "a@example.com"], AdminCommand::SignOut { email: e() }),
            (&["sign-out-everyone"], AdminCommand::SignOutEveryone),
            (&["purge"], AdminCommand::Purge),
        ] {
            assert_eq!(AdminCommand::parse(&args(words)), Ok(command), "{words:?}");
        }
        for bad in [&["sign-out"][..], &["sessions", "a", "b"], &["drop-tables"], &["users", "x"], &["create-user"]] {
            assert!(matches!(AdminCommand::parse(&args(bad)), Err(NotACommand::Usage(_))), "{bad:?}");
        }
    }

    #[test]
    fn every_command_has_help_and_the_overview_names_them_all() {
        let Err(NotACommand::Help(overview)) = AdminCommand::parse(&args(&["--help"])) else { panic!() };
        for (name, _, _) in COMMANDS {
            assert!(overview.contains(&format!("  {name} ")), "{name} in {overview}");
            let Err(NotACommand::Help(help)) = AdminCommand::parse(&args(&[name, "--help"])) else { panic!("{name}") };
            assert!(help.starts_with(&format!("usage: keycard admin {name}")), "{help}");
            assert!(help.lines().count() >= 3, "{help}");
        }
        assert!(matches!(AdminCommand::parse(&args(&["nope", "--help"])), Err(NotACommand::Usage(_))));
    }
}
