//! Where to go after sign-in: only a path on this site, never another origin.

/// Longest `next` kept; anything longer goes to `/`.
const MAX_NEXT_LEN: usize = 512;

/// Returns `raw` when it is a same-site path (one leading `/`, no `//` or `/\` that browsers read
/// as another host, no control characters or backslashes); otherwise `/`.
pub fn safe_next(raw: Option<&str>) -> String {
    match raw {
        Some(path) if is_same_site_path(path) => path.to_owned(),
        _ => "/".to_owned(),
    }
}

pub fn is_same_site_path(path: &str) -> bool {
    path.len() <= MAX_NEXT_LEN
        && path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(|c| c.is_control() || c.is_whitespace())
        // Sign-in pages as targets would loop straight back to a form.
        && !path.starts_with("/login")
        && !path.starts_with("/api/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_same_site_paths() {
        assert_eq!(safe_next(Some("/devices")), "/devices");
        assert_eq!(safe_next(Some("/history?kind=sign_in")), "/history?kind=sign_in");
        assert_eq!(safe_next(Some("/")), "/");
    }

    #[test]
    fn refuses_other_origins_and_odd_paths() {
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
            "/login?next=/",
            "/api/logout",
            " /devices",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some(&format!("/{}", "a".repeat(600)))), "/");
    }
}
