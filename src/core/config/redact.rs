//! Settings that must never reach logs: a database URL's password and secret values.

/// A database URL fit for logs: the password of its user part (`postgres://user:pw@host/db`) and
/// any `password=` / `sslpassword=` query parameter read `[redacted]`.
pub fn redact_url_password(url: &str) -> String {
    const HIDDEN: &str = "[redacted]";
    let (before_query, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut out = String::with_capacity(url.len());
    match before_query.split_once("://") {
        Some((scheme, rest)) => {
            out.push_str(scheme);
            out.push_str("://");
            // The last `@` ends the user part, even when an unencoded password holds `/` or `@`.
            match rest.rsplit_once('@') {
                Some((userinfo, host_and_path)) => {
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push(':');
                            out.push_str(HIDDEN);
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push('@');
                    out.push_str(host_and_path);
                }
                None => out.push_str(rest),
            }
        }
        None => out.push_str(before_query),
    }
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.to_ascii_lowercase().contains("password") => {
                    format!("{key}={HIDDEN}")
                }
                _ => pair.to_owned(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

/// A configuration value that must never reach logs (`Debug` prints `[redacted]`).
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}
