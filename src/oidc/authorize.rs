//! Checking an authorization request (OpenID Connect Core 1.0 section 3.1.2.1, RFC 6749 section
//! 4.1.1, PKCE per RFC 7636): which app asks, where the answer may go, and what it asks for. Not yet
//! served: `/oauth/authorize` comes with the sign-in and consent steps it leads to.
//!
//! Where the answer may go decides how a problem is told. Only once the app is known and the
//! redirect URI is, byte for byte, one it registered may an error go back to it (RFC 6749 section
//! 4.1.2.1); before that Keycard's own page says what is wrong, so nobody can use Keycard to send a
//! browser to an address of their choosing. Every answer sent back names Keycard as its issuer
//! (`iss`, RFC 9207), so an app that talks to several providers can tell whose answer it is.

use std::collections::BTreeSet;

use super::clients::RegisteredApp;

/// Longest `state` and `nonce` accepted (each is echoed back, so it must not be unbounded).
pub const MAX_ECHOED_CHARS: usize = 2048;
/// Longest `login_hint` accepted (an email address, at most).
pub const MAX_LOGIN_HINT_CHARS: usize = 254;

/// The scopes Keycard grants; others are ignored, as OpenID Connect Core section 3.1.2.1 asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    OpenId,
    Profile,
    Email,
    /// A refresh token, to keep access while the person is away.
    OfflineAccess,
}

impl Scope {
    fn parse(word: &str) -> Option<Scope> {
        match word {
            "openid" => Some(Scope::OpenId),
            "profile" => Some(Scope::Profile),
            "email" => Some(Scope::Email),
            "offline_access" => Some(Scope::OfflineAccess),
            _ => None,
        }
    }
}

/// What `prompt` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Prompt {
    /// Show nothing: answer at once, or fail with `login_required` / `consent_required`.
    None,
    /// Ask for the password (and second factor) again, even when signed in.
    Login,
    /// Ask for consent again, even when it was given before.
    Consent,
}

/// An authorization request that checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: BTreeSet<Scope>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub prompt: BTreeSet<Prompt>,
    /// Seconds: a sign-in longer ago than this must be made again.
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    /// The PKCE challenge (S256: base64url of the verifier's SHA-256).
    pub code_challenge: String,
}

/// Why a request was refused, and where that is said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// On Keycard's own page: the app or its redirect URI cannot be trusted with the answer.
    Page(String),
    /// Back to the app, at its registered redirect URI.
    ToApp { redirect_uri: String, error: &'static str, description: String, state: Option<String> },
}

impl Refusal {
    /// Where the browser goes for a refusal sent back to the app: the redirect URI with `error`,
    /// `error_description`, `state` (when the app sent one) and `iss` added to its query.
    pub fn location(&self, issuer: &str) -> Option<String> {
        let Refusal::ToApp { redirect_uri, error, description, state } = self else { return None };
        let mut url = url::Url::parse(redirect_uri).ok()?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("error", error).append_pair("error_description", description);
            if let Some(state) = state {
                query.append_pair("state", state);
            }
            query.append_pair("iss", issuer);
        }
        Some(url.into())
    }
}

/// The request's parameters, each at most once (RFC 6749 section 3.1: a parameter sent twice is
/// an error). A repeated `client_id` or `redirect_uri` is told on Keycard's page, since it leaves
/// open where the answer would go.
pub struct Parameters<'a> {
    pairs: &'a [(String, String)],
}

impl<'a> Parameters<'a> {
    pub fn new(pairs: &'a [(String, String)]) -> Parameters<'a> {
        Parameters { pairs }
    }

    /// The value of `name`, `Ok(None)` when absent or empty, `Err(())` when given twice.
    fn one(&self, name: &str) -> Result<Option<&'a str>, ()> {
        let mut values = self.pairs.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str());
        match (values.next(), values.next()) {
            (Some(_), Some(_)) => Err(()),
            (Some(""), None) | (None, _) => Ok(None),
            (Some(value), None) => Ok(Some(value)),
        }
    }

    /// The app the request names: told on Keycard's page when missing or given twice.
    pub fn client_id(&self) -> Result<&'a str, Refusal> {
        match self.one("client_id") {
            Ok(Some(id)) => Ok(id),
            Ok(None) => {
                Err(Refusal::Page("The app sent you here without saying which app it is (no client_id).".into()))
            }
            Err(()) => Err(Refusal::Page("The app's request names more than one app (client_id given twice).".into())),
        }
    }
}

/// Checks the request against `app`, the registered app its `client_id` names (`None` when no app
/// has it).
pub fn check(params: &Parameters<'_>, app: Option<&RegisteredApp>) -> Result<AuthorizationRequest, Refusal> {
    let client_id = params.client_id()?;
    let Some(app) = app.filter(|app| app.client_id == client_id) else {
        return Err(Refusal::Page(format!("No app with the client id {client_id:?} is registered with this Keycard.")));
    };
    let redirect_uri = match params.one("redirect_uri") {
        Ok(Some(uri)) if app.redirect_uris.iter().any(|registered| registered == uri) => uri.to_owned(),
        Ok(Some(_)) => {
            return Err(Refusal::Page(format!(
                "{} asked to send you to an address it has not registered with this Keycard, so you were not sent \
                 there.",
                app.name
            )))
        }
        Ok(None) => {
            return Err(Refusal::Page(format!("{} did not say where to send you back (no redirect_uri).", app.name)))
        }
        Err(()) => return Err(Refusal::Page(format!("{} named more than one address to send you back to.", app.name))),
    };
    // From here on the app and the address are trusted with the answer. `state` goes back with
    // every answer that can carry it (a `state` given twice is refused, and none is echoed).
    let state_param = params.one("state");
    let state_fits = |s: &&str| s.chars().count() <= MAX_ECHOED_CHARS;
    let state = state_param.ok().flatten().filter(state_fits).map(str::to_owned);
    let refuse = |error: &'static str, description: &str| Refusal::ToApp {
        redirect_uri: redirect_uri.clone(),
        error,
        description: description.to_owned(),
        state: state.clone(),
    };
    let one = |name: &str| {
        params.one(name).map_err(|()| refuse("invalid_request", &format!("{name} is given more than once.")))
    };

    match state_param {
        Err(()) => return Err(refuse("invalid_request", "state is given more than once.")),
        Ok(Some(s)) if !state_fits(&s) => {
            return Err(refuse("invalid_request", &format!("state is longer than {MAX_ECHOED_CHARS} characters.")))
        }
        Ok(_) => {}
    }
    if one("request")?.is_some() {
        return Err(refuse(
            "request_not_supported",
            "Request objects are not supported: send the parameters as they are.",
        ));
    }
    if one("request_uri")?.is_some() {
        return Err(refuse(
            "request_uri_not_supported",
            "request_uri is not supported: send the parameters as they are.",
        ));
    }
    match one("response_type")? {
        Some("code") => {}
        Some(_) => {
            return Err(refuse(
                "unsupported_response_type",
                "Only the authorization code flow (response_type=code) is offered.",
            ))
        }
        None => return Err(refuse("invalid_request", "response_type is missing (use code).")),
    }
    match one("response_mode")? {
        None | Some("query") => {}
        Some(_) => return Err(refuse("invalid_request", "Only response_mode=query is offered.")),
    }
    let scopes: BTreeSet<Scope> = one("scope")?.unwrap_or("").split(' ').filter_map(Scope::parse).collect();
    if !scopes.contains(&Scope::OpenId) {
        return Err(refuse("invalid_scope", "The scope must include openid."));
    }
    let code_challenge = match (one("code_challenge")?, one("code_challenge_method")?) {
        (Some(challenge), Some("S256")) if is_s256_challenge(challenge) => challenge.to_owned(),
        (Some(_), Some("S256")) => {
            return Err(refuse("invalid_request", "code_challenge is not a base64url SHA-256 (43 characters)."))
        }
        (Some(_), Some(_) | None) => {
            return Err(refuse("invalid_request", "PKCE must use code_challenge_method=S256 (plain is not accepted)."))
        }
        (None, _) => return Err(refuse("invalid_request", "PKCE is required: send code_challenge with method S256.")),
    };
    let mut prompt = BTreeSet::new();
    for word in one("prompt")?.unwrap_or("").split(' ').filter(|w| !w.is_empty()) {
        prompt.insert(match word {
            "none" => Prompt::None,
            "login" => Prompt::Login,
            "consent" => Prompt::Consent,
            other => {
                return Err(refuse(
                    "invalid_request",
                    &format!("prompt={other} is not offered (none, login, consent)."),
                ))
            }
        });
    }
    if prompt.contains(&Prompt::None) && prompt.len() > 1 {
        return Err(refuse("invalid_request", "prompt=none cannot be combined with other values."));
    }
    let max_age = match one("max_age")? {
        None => None,
        Some(raw) => Some(
            raw.parse::<u64>().map_err(|_| refuse("invalid_request", "max_age must be a whole number of seconds."))?,
        ),
    };
    let nonce = one("nonce")?;
    if nonce.is_some_and(|n| n.chars().count() > MAX_ECHOED_CHARS) {
        return Err(refuse("invalid_request", &format!("nonce is longer than {MAX_ECHOED_CHARS} characters.")));
    }
    let login_hint = one("login_hint")?;
    if login_hint.is_some_and(|h| h.chars().count() > MAX_LOGIN_HINT_CHARS) {
        return Err(refuse("invalid_request", "login_hint is too long for an email address."));
    }
    Ok(AuthorizationRequest {
        client_id: client_id.to_owned(),
        redirect_uri,
        scopes,
        state,
        nonce: nonce.map(str::to_owned),
        prompt,
        max_age,
        login_hint: login_hint.map(str::to_owned),
        code_challenge,
    })
}

/// An S256 challenge is base64url (no padding) of 32 bytes: 43 characters of that alphabet.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && data_encoding::BASE64URL_NOPAD.decode(challenge.as_bytes()).is_ok_and(|b| b.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const CALLBACK: &str = "https://grafana.example/login/generic_oauth";

    fn app() -> RegisteredApp {
        RegisteredApp {
            client_id: "grafana-id".into(),
            name: "Grafana".into(),
            public: false,
            redirect_uris: vec![CALLBACK.into(), "http://127.0.0.1:8400/cb?tenant=a".into()],
            post_logout_redirect_uris: Vec::new(),
            backchannel_logout_uri: None,
            created_at: 0,
            secret_rotated_at: None,
        }
    }

    fn valid() -> Vec<(String, String)> {
        [
            ("client_id", "grafana-id"),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "openid email"),
            ("state", "af0ifjsldkj"),
            ("nonce", "n-0S6_WzA2Mj"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn with(changes: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
        let mut pairs = valid();
        for (name, value) in changes {
            pairs.retain(|(k, _)| k != name);
            if let Some(value) = value {
                pairs.push((name.to_string(), value.to_string()));
            }
        }
        pairs
    }

    fn checked(pairs: &[(String, String)]) -> Result<AuthorizationRequest, Refusal> {
        check(&Parameters::new(pairs), Some(&app()))
    }

    #[test]
    fn a_valid_request_is_read_whole() {
        let request = checked(&valid()).unwrap();
        assert_eq!(request.redirect_uri, CALLBACK);
        assert_eq!(request.scopes, BTreeSet::from([Scope::OpenId, Scope::Email]));
        assert_eq!(request.state.as_deref(), Some("af0ifjsldkj"));
        assert_eq!(request.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
        assert_eq!(request.code_challenge, CHALLENGE);
        let request = checked(&with(&[
            ("scope", Some("openid profile unknown offline_access")),
            ("prompt", Some("login consent")),
            ("max_age", Some("300")),
            ("login_hint", Some("ada@example.com")),
            ("redirect_uri", Some("http://127.0.0.1:8400/cb?tenant=a")),
        ]))
        .unwrap();
        assert_eq!(request.scopes, BTreeSet::from([Scope::OpenId, Scope::Profile, Scope::OfflineAccess]));
        assert_eq!(request.prompt, BTreeSet::from([Prompt::Login, Prompt::Consent]));
        assert_eq!(request.max_age, Some(300));
    }

    #[test]
    fn only_a_registered_redirect_uri_byte_for_byte_receives_anything() {
        for uri in [
            "https://Grafana.example/login/generic_oauth",
            "https://grafana.example/login/generic_oauth/",
            "https://grafana.example/login/generic_oauth/extra",
            "https://grafana.example/login/GENERIC_OAUTH",
            "https://user@grafana.example/login/generic_oauth",
            "https://grafana.example/login/generic_oauth#x",
            "https://grafana.example:8443/login/generic_oauth",
            "https://grafana.example/login/generic_oauth?next=/",
            "http://grafana.example/login/generic_oauth",
            "https://grafana.example.evil.example/login/generic_oauth",
            "http://127.0.0.1:8400/cb",
            "http://127.0.0.1:8401/cb?tenant=a",
        ] {
            let refusal = checked(&with(&[("redirect_uri", Some(uri))])).unwrap_err();
            assert!(
                matches!(&refusal, Refusal::Page(text) if text.contains("has not registered")),
                "{uri}: {refusal:?}"
            );
            assert_eq!(refusal.location("https://keycard.example"), None, "{uri}: never sent there");
        }
        assert!(matches!(checked(&with(&[("redirect_uri", None)])), Err(Refusal::Page(_))));
        let twice = [valid(), vec![("redirect_uri".into(), "https://evil.example/".into())]].concat();
        assert!(matches!(checked(&twice), Err(Refusal::Page(_))));
        // An unknown or missing app is told on the page too, whatever the redirect URI.
        assert!(matches!(check(&Parameters::new(&valid()), None), Err(Refusal::Page(t)) if t.contains("grafana-id")));
        assert!(matches!(checked(&with(&[("client_id", Some("other-id"))])), Err(Refusal::Page(_))));
        assert!(matches!(checked(&with(&[("client_id", None)])), Err(Refusal::Page(_))));
    }

    #[test]
    fn pkce_is_required_with_s256_and_a_well_formed_challenge() {
        for (changes, why) in [
            (vec![("code_challenge", None), ("code_challenge_method", None)], "PKCE is required"),
            (vec![("code_challenge_method", None)], "must use code_challenge_method=S256"),
            (vec![("code_challenge_method", Some("plain"))], "plain is not accepted"),
            (vec![("code_challenge", Some("short"))], "not a base64url SHA-256"),
            (vec![("code_challenge", Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"))], "not a base64url SHA-256"),
        ] {
            let refusal = checked(&with(&changes)).unwrap_err();
            let Refusal::ToApp { error, description, .. } = &refusal else { panic!("{refusal:?}") };
            assert_eq!(*error, "invalid_request");
            assert!(description.contains(why), "{description}");
        }
    }

    #[test]
    fn errors_go_back_to_the_app_with_state_and_issuer() {
        let refusal = checked(&with(&[("response_type", Some("token"))])).unwrap_err();
        assert_eq!(
            refusal.location("https://keycard.example").unwrap(),
            "https://grafana.example/login/generic_oauth?error=unsupported_response_type&error_description=Only+the+\
             authorization+code+flow+%28response_type%3Dcode%29+is+offered.&state=af0ifjsldkj&iss=https%3A%2F%2F\
             keycard.example"
        );
        // A redirect URI's own query is kept.
        let refusal =
            checked(&with(&[("redirect_uri", Some("http://127.0.0.1:8400/cb?tenant=a")), ("scope", Some("email"))]))
                .unwrap_err();
        let location = refusal.location("https://keycard.example").unwrap();
        assert!(location.starts_with("http://127.0.0.1:8400/cb?tenant=a&error=invalid_scope&"), "{location}");
        for (changes, error) in [
            (vec![("response_type", None)], "invalid_request"),
            (vec![("request", Some("eyJ..."))], "request_not_supported"),
            (vec![("request_uri", Some("https://evil.example/r"))], "request_uri_not_supported"),
            (vec![("response_mode", Some("fragment"))], "invalid_request"),
            (vec![("scope", Some("profile email"))], "invalid_scope"),
            (vec![("prompt", Some("none login"))], "invalid_request"),
            (vec![("prompt", Some("select_account"))], "invalid_request"),
            (vec![("max_age", Some("-1"))], "invalid_request"),
        ] {
            let refusal = checked(&with(&changes)).unwrap_err();
            assert!(matches!(&refusal, Refusal::ToApp { error: e, .. } if *e == error), "{changes:?}: {refusal:?}");
        }
        // A parameter given twice is refused; a doubled state is not echoed.
        let twice = [valid(), vec![("state".into(), "other".into())]].concat();
        let refusal = checked(&twice).unwrap_err();
        assert!(matches!(&refusal, Refusal::ToApp { error: "invalid_request", state: None, .. }), "{refusal:?}");
        let long = "x".repeat(MAX_ECHOED_CHARS + 1);
        let refusal = checked(&with(&[("state", Some(&long))])).unwrap_err();
        assert!(matches!(&refusal, Refusal::ToApp { error: "invalid_request", state: None, .. }), "{refusal:?}");
    }
}
