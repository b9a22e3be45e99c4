//! `keycard admin apps …`: registering the apps that sign people in through Keycard (OpenID
//! Connect), listing and showing them, rotating a secret, removing one.

use super::{AdminCommand, AdminError, NotACommand};
use crate::core::state::AppState;
use crate::moment::moment;
use crate::oidc::clients::{self, NewApp, RegisteredApp, Rotation};

/// The subcommands, each with its synopsis and its `--help` text.
const SUBCOMMANDS: [(&str, &str, &str); 5] = [
    (
        "add",
        "apps add --name NAME --redirect-uri URI [--redirect-uri URI …] [--post-logout-redirect-uri URI …] \
         [--backchannel-logout-uri URI] [--public]",
        "Registers an app. Prints its client id and, unless --public, its client secret: shown this once,\n\
         kept by Keycard only as a hash (the app sends it with client_secret_basic or client_secret_post).\n\
         --redirect-uri (one or more): where the app receives sign-ins, matched exactly as written;\n\
         https, or http to this machine only (localhost, 127.0.0.1, [::1]).\n\
         --post-logout-redirect-uri (any number): where a person may be sent after signing out through\n\
         the app. --backchannel-logout-uri: where Keycard posts a logout token when a session the app\n\
         signed in with ends.\n\
         --public: an app that cannot keep a secret (single-page, mobile, command-line); it gets none,\n\
         and may also use a private-use redirect scheme named after its domain (com.example.app:/cb).\n\
         Every app, public or not, must use PKCE (S256).",
    ),
    ("list", "apps list", "Lists the registered apps, oldest first: client id, name, public or confidential."),
    ("show", "apps show CLIENT_ID", "Shows one app: its name, redirect URIs, logout URIs and when it was registered."),
    (
        "rotate-secret",
        "apps rotate-secret CLIENT_ID",
        "Gives a confidential app a new client secret, shown once. The old secret stops working at once:\n\
         put the new one in the app's settings straight away.",
    ),
    (
        "remove",
        "apps remove CLIENT_ID",
        "Removes the app: it can no longer sign anyone in, and its client id and secret stop working.",
    ),
];

/// `keycard admin apps --help`.
pub(super) fn overview() -> String {
    let mut text = String::from(
        "usage: keycard admin apps <command> [options]\n\nThe apps that sign people in through Keycard (OpenID \
         Connect).\n`keycard admin apps <command> --help` explains one command.\n\ncommands:\n",
    );
    for (_, synopsis, _) in SUBCOMMANDS {
        text.push_str("  keycard admin ");
        text.push_str(synopsis);
        text.push('\n');
    }
    text
}

fn help(name: &str) -> Option<String> {
    let (_, synopsis, long) = SUBCOMMANDS.iter().find(|(n, _, _)| *n == name)?;
    Some(format!("usage: keycard admin {synopsis}\n\n{long}\n"))
}

/// A command of the `apps` group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppsCommand {
    Add(NewApp),
    List,
    Show { client_id: String },
    RotateSecret { client_id: String },
    Remove { client_id: String },
}

/// Parses the words after `admin apps`.
pub(super) fn parse(words: &[&str]) -> Result<AdminCommand, NotACommand> {
    let usage = |name: &str| NotACommand::Usage(help(name).unwrap_or_else(overview));
    let command = match words {
        [] | ["--help" | "-h" | "help"] => return Err(NotACommand::Help(overview())),
        [name, "--help" | "-h", ..] | ["help", name] => {
            return Err(help(name).map(NotACommand::Help).unwrap_or_else(|| unknown(name)))
        }
        ["add", options @ ..] => AppsCommand::Add(
            parse_add(options)
                .map_err(|problem| NotACommand::Usage(format!("{problem}\n\n{}", help("add").unwrap_or_default())))?,
        ),
        ["list"] => AppsCommand::List,
        ["show", id] => AppsCommand::Show { client_id: (*id).to_owned() },
        ["rotate-secret", id] => AppsCommand::RotateSecret { client_id: (*id).to_owned() },
        ["remove", id] => AppsCommand::Remove { client_id: (*id).to_owned() },
        [name, ..] if help(name).is_some() => return Err(usage(name)),
        [name, ..] => return Err(unknown(name)),
    };
    Ok(AdminCommand::Apps(command))
}

fn unknown(name: &str) -> NotACommand {
    NotACommand::Usage(format!("unknown apps command {name:?}\n\n{}", overview()))
}

/// `--name N --redirect-uri U …` (also `--name=N`): every URI checked before anything is stored.
fn parse_add(options: &[&str]) -> Result<NewApp, String> {
    let mut new = NewApp {
        name: String::new(),
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        backchannel_logout_uri: None,
        public: false,
    };
    let mut name = None;
    let mut words = options.iter();
    while let Some(word) = words.next() {
        if *word == "--public" {
            new.public = true;
            continue;
        }
        let (option, inline) = match word.split_once('=') {
            Some((option, value)) if word.starts_with("--") => (option, Some(value)),
            _ => (*word, None),
        };
        if !option.starts_with("--") {
            return Err(format!("unexpected {option:?} (options start with --)"));
        }
        if !["--name", "--redirect-uri", "--post-logout-redirect-uri", "--backchannel-logout-uri"].contains(&option) {
            return Err(format!("unknown option {option}"));
        }
        let value = match inline {
            Some(value) => value.to_owned(),
            None => words.next().map(|v| (*v).to_owned()).ok_or_else(|| format!("{option} needs a value"))?,
        };
        match option {
            "--name" if name.is_none() => name = Some(value),
            "--redirect-uri" => new.redirect_uris.push(value),
            "--post-logout-redirect-uri" => new.post_logout_redirect_uris.push(value),
            "--backchannel-logout-uri" if new.backchannel_logout_uri.is_none() => {
                new.backchannel_logout_uri = Some(value)
            }
            _ => return Err(format!("{option} given twice")),
        }
    }
    new.name = name.ok_or("--name: give the app's name (people see it)")?;
    clients::check_new_app(&new)?;
    Ok(new)
}

/// Runs an `apps` command and returns what to print.
pub(super) async fn run(state: &AppState, command: &AppsCommand) -> Result<String, AdminError> {
    let db = &state.db;
    let now = db.clock.now();
    match command {
        AppsCommand::Add(new) => {
            clients::check_new_app(new).map_err(AdminError::Refused)?;
            let (app, secret) = clients::register(db, new, now).await?;
            let mut out = format!("Registered {}.\n\n", app.name);
            out.push_str(&describe(&app, now));
            out.push_str(&match secret {
                Some(secret) => format!(
                    "\nclient_secret: {secret}\nThis secret is shown only now: put it in the app's settings. Keycard \
                     keeps only its hash;\n`keycard admin apps rotate-secret {}` makes a new one.\n",
                    app.client_id
                ),
                None => "\nA public app: no client secret (it proves its requests with PKCE alone).\n".to_owned(),
            });
            Ok(out)
        }
        AppsCommand::List => {
            let apps = clients::list(db).await?;
            let mut out = String::new();
            for app in &apps {
                let kind = if app.public { "public" } else { "confidential" };
                out.push_str(&format!(
                    "{}  {}  {kind}, registered {}\n",
                    app.client_id,
                    app.name,
                    moment(app.created_at, now).exact
                ));
            }
            out.push_str(&format!("{} app(s)\n", apps.len()));
            Ok(out)
        }
        AppsCommand::Show { client_id } => match clients::find(db, client_id).await? {
            Some(app) => Ok(describe(&app, now)),
            None => Err(unknown_app(client_id)),
        },
        AppsCommand::RotateSecret { client_id } => match clients::rotate_secret(db, client_id, now).await? {
            Rotation::Rotated(secret) => Ok(format!(
                "client_secret: {secret}\nThe old secret no longer works. This one is shown only now: put it in the \
                 app's settings.\n"
            )),
            Rotation::Public => Err(AdminError::Refused(format!(
                "{client_id} is a public app: it has no client secret to rotate; nothing changed"
            ))),
            Rotation::UnknownApp => Err(unknown_app(client_id)),
        },
        AppsCommand::Remove { client_id } => {
            let Some(app) = clients::find(db, client_id).await? else { return Err(unknown_app(client_id)) };
            if !clients::remove(db, client_id).await? {
                return Err(unknown_app(client_id));
            }
            Ok(format!("Removed {} ({client_id}): it can no longer sign anyone in.\n", app.name))
        }
    }
}

fn unknown_app(client_id: &str) -> AdminError {
    AdminError::Refused(format!("no app has the client id {client_id:?} (`keycard admin apps list` shows them)"))
}

/// An app as `show` prints it.
fn describe(app: &RegisteredApp, now: i64) -> String {
    let mut out = format!("client_id: {}\nname: {}\n", app.client_id, app.name);
    out.push_str(if app.public { "type: public (no client secret)\n" } else { "type: confidential (client secret)\n" });
    for uri in &app.redirect_uris {
        out.push_str(&format!("redirect_uri: {uri}\n"));
    }
    for uri in &app.post_logout_redirect_uris {
        out.push_str(&format!("post_logout_redirect_uri: {uri}\n"));
    }
    if let Some(uri) = &app.backchannel_logout_uri {
        out.push_str(&format!("backchannel_logout_uri: {uri}\n"));
    }
    out.push_str(&format!("registered: {}\n", moment(app.created_at, now).exact));
    if let Some(at) = app.secret_rotated_at {
        out.push_str(&format!("secret rotated: {}\n", moment(at, now).exact));
    }
    out
}
