//! The apps registered to sign people in through Keycard (OpenID Connect clients), as the operator
//! registers them with `keycard admin apps …`: each with the redirect URIs it may be sent back to,
//! matched exactly as written, and, unless it is public (a single-page, mobile or command-line app
//! that cannot keep a secret), a client secret stored only as its SHA-256.

use sqlx::Row;

use crate::apps::codes::Secret;
use crate::core::db::Db;

/// Longest app name accepted (it is shown on the consent page and the devices page).
pub const MAX_NAME_CHARS: usize = 100;
/// Longest URI accepted.
pub const MAX_URI_CHARS: usize = 2000;

/// What the operator registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApp {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// No client secret: PKCE alone proves the app's requests (as for every app).
    pub public: bool,
}

/// A registered app as stored (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredApp {
    pub client_id: String,
    pub name: String,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub created_at: i64,
    pub secret_rotated_at: Option<i64>,
}

/// What a registered URI is for: each allows different schemes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriUse {
    /// Where the authorization answer goes (`--redirect-uri`).
    Redirect,
    /// Where a person goes after signing out through the app (`--post-logout-redirect-uri`).
    PostLogout,
    /// Where Keycard posts logout tokens, server to server (`--backchannel-logout-uri`).
    BackchannelLogout,
}

impl UriUse {
    fn option(self) -> &'static str {
        match self {
            UriUse::Redirect => "--redirect-uri",
            UriUse::PostLogout => "--post-logout-redirect-uri",
            UriUse::BackchannelLogout => "--backchannel-logout-uri",
        }
    }
}

/// Checks a URI to register and returns it as it will be matched. Exact matching only works when
/// there is one way to write each URI, so a URI must be written as the URL standard serialises it
/// (`https://App.Example` is refused with the form to write instead: `https://app.example/`).
/// `https` everywhere; `http` only to this machine (`localhost`, `127.0.0.0/8`, `[::1]`); for a
/// public app's redirect, also a private-use scheme named after a domain (`com.example.app:/cb`,
/// RFC 8252 section 7.1). Never a fragment (RFC 6749 section 3.1.2) or a user name or password.
pub fn check_uri(raw: &str, what: UriUse, public: bool) -> Result<String, String> {
    let option = what.option();
    if raw.is_empty() || raw.chars().count() > MAX_URI_CHARS || raw.chars().any(char::is_control) {
        return Err(format!("{option}: give a URI of at most {MAX_URI_CHARS} characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("{option}: {raw:?} is not an absolute URI ({e})"))?;
    if url.as_str() != raw {
        return Err(format!("{option}: write {raw:?} as {:?} (URIs are matched exactly as written)", url.as_str()));
    }
    if url.fragment().is_some() {
        return Err(format!("{option}: {raw:?} has a fragment (#…), which a redirect may not carry"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{option}: {raw:?} has a user name or password in it"));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(raw.to_owned()),
        "http" if loopback => Ok(raw.to_owned()),
        "http" => Err(format!("{option}: {raw:?} is plain http to another machine; use https (http is for localhost)")),
        scheme if what == UriUse::Redirect && public && scheme.contains('.') => Ok(raw.to_owned()),
        scheme => Err(format!(
            "{option}: {raw:?}: the scheme {scheme:?} is not https{}",
            if what == UriUse::Redirect {
                " (a public app may also use a private-use scheme named after its domain, e.g. com.example.app:/callback)"
            } else {
                ""
            }
        )),
    }
}

/// Checks everything an operator gives before anything is stored.
pub fn check_new_app(new: &NewApp) -> Result<(), String> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(format!("--name: give a name of 1 to {MAX_NAME_CHARS} characters (people see it)"));
    }
    if new.redirect_uris.is_empty() {
        return Err("--redirect-uri: give at least one (the address the app receives sign-ins at)".into());
    }
    for uri in &new.redirect_uris {
        check_uri(uri, UriUse::Redirect, new.public)?;
    }
    for uri in &new.post_logout_redirect_uris {
        check_uri(uri, UriUse::PostLogout, new.public)?;
    }
    if let Some(uri) = &new.backchannel_logout_uri {
        check_uri(uri, UriUse::BackchannelLogout, new.public)?;
    }
    Ok(())
}

/// A new client id: 128 random bits, base64url (public: apps send it in the clear).
fn new_client_id() -> String {
    data_encoding::BASE64URL_NOPAD.encode(&rand::random::<[u8; 16]>())
}

/// The client secret's stored form.
fn secret_hash(secret: &str) -> String {
    Secret::ClientSecret.hash(secret).expect("a generated client secret is well formed")
}

/// Registers `new` (checked with [`check_new_app`] first). Returns the app and, for a confidential
/// app, its secret: the only time it is ever seen.
pub async fn register(db: &Db, new: &NewApp, at: i64) -> Result<(RegisteredApp, Option<String>), sqlx::Error> {
    let secret = (!new.public).then(|| Secret::ClientSecret.generate());
    let client_id = new_client_id();
    sqlx::query(
        "INSERT INTO oidc_clients (client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, \
         backchannel_logout_uri, created_at, secret_rotated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
    )
    .bind(&client_id)
    .bind(new.name.trim())
    .bind(secret.as_deref().map(secret_hash))
    .bind(new.redirect_uris.join("\n"))
    .bind(new.post_logout_redirect_uris.join("\n"))
    .bind(new.backchannel_logout_uri.as_deref())
    .bind(at)
    .execute(&db.pool)
    .await?;
    let app = find(db, &client_id).await?.expect("the app just inserted");
    Ok((app, secret))
}

const COLUMNS: &str = "client_id, name, secret_hash IS NULL, redirect_uris, post_logout_redirect_uris, \
                       backchannel_logout_uri, created_at, secret_rotated_at";

fn lines(text: String) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

fn app_from(row: &sqlx::any::AnyRow) -> Result<RegisteredApp, sqlx::Error> {
    Ok(RegisteredApp {
        client_id: row.try_get(0)?,
        name: row.try_get(1)?,
        public: crate::core::db::exists_column(row, 2)?,
        redirect_uris: lines(row.try_get(3)?),
        post_logout_redirect_uris: lines(row.try_get(4)?),
        backchannel_logout_uri: row.try_get(5)?,
        created_at: row.try_get(6)?,
        secret_rotated_at: row.try_get(7)?,
    })
}

/// The app with this client id.
pub async fn find(db: &Db, client_id: &str) -> Result<Option<RegisteredApp>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM oidc_clients WHERE client_id = $1");
    let row = sqlx::query(&sql).bind(client_id).fetch_optional(&db.pool).await?;
    row.as_ref().map(app_from).transpose()
}

/// The app with this client id and the stored form of its client secret (`None` for a public
/// app), in one read.
pub(super) async fn find_with_secret_hash(
    db: &Db,
    client_id: &str,
) -> Result<Option<(RegisteredApp, Option<String>)>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS}, secret_hash FROM oidc_clients WHERE client_id = $1");
    let row = sqlx::query(&sql).bind(client_id).fetch_optional(&db.pool).await?;
    row.map(|row| Ok((app_from(&row)?, row.try_get(8)?))).transpose()
}

/// Every registered app, oldest first.
pub async fn list(db: &Db) -> Result<Vec<RegisteredApp>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM oidc_clients ORDER BY id");
    sqlx::query(&sql).fetch_all(&db.pool).await?.iter().map(app_from).collect()
}

/// What rotating a secret found.
#[derive(PartialEq, Eq)]
pub enum Rotation {
    /// The new secret (the old one no longer works), shown once.
    Rotated(String),
    /// A public app has no secret to rotate.
    Public,
    UnknownApp,
}

/// `Debug` without the secret.
impl std::fmt::Debug for Rotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Rotation::Rotated(_) => "Rotated([redacted])",
            Rotation::Public => "Public",
            Rotation::UnknownApp => "UnknownApp",
        })
    }
}

/// Gives a confidential app a new secret at once; the old one stops working.
pub async fn rotate_secret(db: &Db, client_id: &str, at: i64) -> Result<Rotation, sqlx::Error> {
    let secret = Secret::ClientSecret.generate();
    let changed = sqlx::query(
        "UPDATE oidc_clients SET secret_hash = $1, secret_rotated_at = $2 WHERE client_id = $3 AND secret_hash IS NOT NULL",
    )
    .bind(secret_hash(&secret))
    .bind(at)
    .bind(client_id)
    .execute(&db.pool)
    .await?;
    if changed.rows_affected() == 1 {
        return Ok(Rotation::Rotated(secret));
    }
    Ok(if find(db, client_id).await?.is_some() { Rotation::Public } else { Rotation::UnknownApp })
}

/// Removes the app: it can sign nobody in any more. False when there is no such app.
pub async fn remove(db: &Db, client_id: &str) -> Result<bool, sqlx::Error> {
    let removed =
        sqlx::query("DELETE FROM oidc_clients WHERE client_id = $1").bind(client_id).execute(&db.pool).await?;
    Ok(removed.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::{check_uri, UriUse};

    #[test]
    fn uris_are_registered_only_in_the_form_they_will_be_matched_in() {
        let redirect = |raw: &str, public: bool| check_uri(raw, UriUse::Redirect, public);
        for good in [
            "https://app.example/callback",
            "https://app.example:8443/oidc/callback?tenant=1",
            "http://localhost:8080/callback",
            "http://127.0.0.1:5000/cb",
            "http://[::1]:5000/cb",
        ] {
            assert_eq!(redirect(good, false), Ok(good.to_owned()));
        }
        assert_eq!(redirect("com.example.app:/callback", true), Ok("com.example.app:/callback".to_owned()));
        for (bad, why) in [
            ("https://App.example/callback", "as \"https://app.example/callback\""),
            ("https://app.example", "as \"https://app.example/\""),
            ("https://app.example/cb#frag", "fragment"),
            ("https://user:pw@app.example/cb", "user name or password"),
            ("http://app.example/cb", "plain http to another machine"),
            ("com.example.app:/callback", "private-use scheme"),
            ("myapp:/callback", "the scheme \"myapp\" is not https"),
            ("/callback", "not an absolute URI"),
            ("", "at most 2000 characters"),
        ] {
            let err = redirect(bad, false).expect_err(bad);
            assert!(err.starts_with("--redirect-uri: ") && err.contains(why), "{bad}: {err}");
        }
        // A private-use scheme is for a public app's redirect only.
        let err = check_uri("com.example.app:/out", UriUse::PostLogout, true).unwrap_err();
        assert_eq!(
            err,
            "--post-logout-redirect-uri: \"com.example.app:/out\": the scheme \"com.example.app\" is not https"
        );
        assert!(check_uri("http://10.0.0.5/logout", UriUse::BackchannelLogout, false).is_err());
    }
}
