//! The built site's static files (`target/site`): the browser bundle and the stylesheet.
//!
//! `cargo xtask build` (xtask/src/site.rs) names the bundle and the stylesheet after a hash of
//! their content (`keycard.<hash>.wasm`), lists the hashes in `hash.txt` beside the binary, and
//! writes brotli and gzip copies beside each file. A hashed name never changes
//! meaning, so it is served with `Cache-Control: public, max-age=31536000, immutable`: no later
//! page load fetches it again. Anything else under `/pkg/` (unhashed names, as a site without `hash.txt` has) must be
//! revalidated. Compressed copies are chosen by the request's `Accept-Encoding`.
//!
//! Pages name the bundle `keycard.<js hash>.<wasm hash>.js` and `….wasm` ([`AssetHashes::bundle_name`]),
//! which this router answers with the two hashed files: given `hash-files`, Leptos' hydration
//! scripts would read `hash.txt` from disk on every page they render (Leptos 0.8.23), while one
//! output name is only formatted. A name carrying both hashes is as immutable as each file.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tower_http::services::ServeDir;

use crate::routes::ASSETS_PREFIX;

/// The bundle's and the stylesheet's name before their hash (`output-name` in Cargo.toml).
pub const OUTPUT_NAME: &str = "keycard";
/// Sent with a file whose name carries its content hash.
const FOREVER: &str = "public, max-age=31536000, immutable";
/// Sent with every other static file.
const REVALIDATE: &str = "no-cache";

/// The content hashes of one build (`hash.txt`); empty for a build without them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssetHashes {
    pub js: Option<String>,
    pub wasm: Option<String>,
    pub css: Option<String>,
}

impl AssetHashes {
    /// Reads `js: <hash>` lines as `cargo xtask build` writes them (Leptos' format); unknown lines are ignored.
    pub fn parse(text: &str) -> AssetHashes {
        let mut hashes = AssetHashes::default();
        for (kind, hash) in text.lines().filter_map(|line| line.split_once(':')) {
            let hash = Some(hash.trim().to_owned()).filter(|h| !h.is_empty());
            match kind.trim() {
                "js" => hashes.js = hash,
                "wasm" => hashes.wasm = hash,
                "css" => hashes.css = hash,
                _ => {}
            }
        }
        hashes
    }

    /// Those of the running binary's build: `hash.txt` beside it, where Leptos looks too.
    pub fn of_this_build() -> &'static AssetHashes {
        static HASHES: OnceLock<AssetHashes> = OnceLock::new();
        HASHES.get_or_init(|| {
            hash_file_path()
                .and_then(|path| std::fs::read_to_string(path).ok())
                .map(|text| AssetHashes::parse(&text))
                .unwrap_or_default()
        })
    }

    /// Whether the build named its files after their content.
    pub fn present(&self) -> bool {
        self.js.is_some() && self.wasm.is_some() && self.css.is_some()
    }

    /// The bundle's name as pages give it, `keycard.<js hash>.<wasm hash>` (see the module's
    /// documentation), when the build has both hashes.
    pub fn bundle_name(&self) -> Option<String> {
        Some(format!("{OUTPUT_NAME}.{}.{}", self.js.as_ref()?, self.wasm.as_ref()?))
    }

    /// The hashed file behind the bundle's name at `path`: `/pkg/keycard.<js>.<wasm>.js` is
    /// `/pkg/keycard.<js>.js`, `….wasm` is `/pkg/keycard.<wasm>.wasm`; `None` for any other path.
    fn file_behind(&self, path: &str) -> Option<String> {
        let (js, wasm) = (self.js.as_ref()?, self.wasm.as_ref()?);
        let alias = format!("{ASSETS_PREFIX}{}.", self.bundle_name()?);
        match path.strip_prefix(alias.as_str())? {
            "js" => Some(format!("{ASSETS_PREFIX}{OUTPUT_NAME}.{js}.js")),
            "wasm" => Some(format!("{ASSETS_PREFIX}{OUTPUT_NAME}.{wasm}.wasm")),
            _ => None,
        }
    }

    /// Whether `file_name` (e.g. `keycard.<hash>.wasm.br`) is one of this build's hashed files.
    fn names(&self, file_name: &str) -> bool {
        let mut parts = file_name.split('.');
        let _stem = parts.next();
        let hash = parts.next().unwrap_or_default();
        [&self.js, &self.wasm, &self.css].into_iter().flatten().any(|known| known == hash)
    }
}

/// Where Leptos (`LEPTOS_HASH_FILE_NAME`, default `hash.txt`) expects the hash file: beside the binary.
pub fn hash_file_path() -> Option<PathBuf> {
    let name = std::env::var("LEPTOS_HASH_FILE_NAME").unwrap_or_else(|_| "hash.txt".into());
    Some(std::env::current_exe().ok()?.parent()?.join(name))
}

/// The stylesheet's address, e.g. `/pkg/keycard.<hash>.css`.
pub fn stylesheet_href() -> String {
    match &AssetHashes::of_this_build().css {
        Some(hash) => format!("{ASSETS_PREFIX}{OUTPUT_NAME}.{hash}.css"),
        None => format!("{ASSETS_PREFIX}{OUTPUT_NAME}.css"),
    }
}

/// `/pkg/…` from `site_root`, outside the session layer (assets read no
/// cookie); `hashes` are the build's ([`AssetHashes::of_this_build`]).
pub fn router<S: Clone + Send + Sync + 'static>(site_root: &Path, hashes: AssetHashes) -> Router<S> {
    let pkg = ServeDir::new(site_root.join(ASSETS_PREFIX.trim_matches('/'))).precompressed_br().precompressed_gzip();
    Router::new().nest_service(ASSETS_PREFIX.trim_end_matches('/'), pkg).layer(axum::middleware::from_fn(
        move |mut req: Request, next: Next| {
            let policy = cache_policy(&hashes, req.uri().path());
            if let Some(file) = hashes.file_behind(req.uri().path()).and_then(|path| path.parse().ok()) {
                *req.uri_mut() = file;
            }
            cache_control(policy, req, next)
        },
    ))
}

/// Sets `policy` on a successful answer of [`router`].
async fn cache_control(policy: &'static str, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
        // The same address answers brotli, gzip or plain: caches must keep them apart.
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// How long a browser may keep the file at `path` without asking again.
pub fn cache_policy(hashes: &AssetHashes, path: &str) -> &'static str {
    let file_name = path.rsplit('/').next().unwrap_or_default();
    if path.starts_with(ASSETS_PREFIX) && hashes.names(file_name) {
        FOREVER
    } else {
        REVALIDATE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_hash_file_cargo_leptos_writes() {
        let hashes = AssetHashes::parse("js: abc-_1\nwasm: def2\ncss: ghi3\nmanifest: x\n");
        assert_eq!(hashes.js.as_deref(), Some("abc-_1"));
        assert_eq!(hashes.wasm.as_deref(), Some("def2"));
        assert_eq!(hashes.css.as_deref(), Some("ghi3"));
        assert!(hashes.present());
        assert!(hashes.names("keycard.def2.wasm"));
        assert!(hashes.names("keycard.def2.wasm.br"));
        assert!(!hashes.names("keycard.wasm"));
        assert!(!hashes.names("keycard.other.wasm"));
        assert!(!AssetHashes::parse("").present());
    }

    #[test]
    fn the_bundle_name_carries_both_hashes_and_names_both_files() {
        let hashes = AssetHashes::parse("js: J1\nwasm: W1\ncss: C1\n");
        assert_eq!(hashes.bundle_name().as_deref(), Some("keycard.J1.W1"));
        assert_eq!(hashes.file_behind("/pkg/keycard.J1.W1.js").as_deref(), Some("/pkg/keycard.J1.js"));
        assert_eq!(hashes.file_behind("/pkg/keycard.J1.W1.wasm").as_deref(), Some("/pkg/keycard.W1.wasm"));
        for other in ["/pkg/keycard.J1.W1.css", "/pkg/keycard.J1.W2.wasm", "/pkg/keycard.J1.js", "/keycard.J1.W1.js"] {
            assert_eq!(hashes.file_behind(other), None, "{other}");
        }
        assert_eq!(cache_policy(&hashes, "/pkg/keycard.J1.W1.wasm"), FOREVER);
        assert_eq!(AssetHashes::parse("js: J1\n").bundle_name(), None);
    }
}
