//! The wasm-bindgen step must be the very version of the `wasm-bindgen` crate the bundle links:
//! the JavaScript it writes calls into the wasm by names and layouts that change between
//! versions, and a mismatch builds a bundle that fails only in the browser. Both versions come
//! from the one Cargo.lock this tool is built from, so a dependency update that moves one and not
//! the other stops the build here, with the fix in the message.

use std::path::Path;

/// The version of every package named `name` in a Cargo.lock's text.
fn versions_of<'a>(lock: &'a str, name: &str) -> Vec<&'a str> {
    let quoted = |line: &'a str, key: &str| {
        line.strip_prefix(key)?.trim().strip_prefix('=')?.trim().strip_prefix('"')?.strip_suffix('"')
    };
    let mut found = Vec::new();
    let mut current: Option<&str> = None;
    for line in lock.lines().map(str::trim) {
        if line == "[[package]]" {
            current = None;
        } else if let Some(value) = quoted(line, "name") {
            current = Some(value);
        } else if let Some(version) = quoted(line, "version") {
            if current == Some(name) {
                found.push(version);
            }
        }
    }
    found
}

/// Checks a Cargo.lock's text: one `wasm-bindgen`, at the version of `wasm-bindgen-cli-support`.
pub fn check_versions(lock: &str) -> Result<(), String> {
    let crate_versions = versions_of(lock, "wasm-bindgen");
    let step_versions = versions_of(lock, "wasm-bindgen-cli-support");
    match (crate_versions.as_slice(), step_versions.as_slice()) {
        ([linked], [step]) if linked == step => Ok(()),
        ([linked], [step]) => Err(format!(
            "Cargo.lock has wasm-bindgen {linked} but the wasm-bindgen step (wasm-bindgen-cli-support) is \
             {step}: they must be equal, or the bundle fails in the browser. Set the same exact version \
             (`=x.y.z`) for `wasm-bindgen` in Cargo.toml and `wasm-bindgen-cli-support` in xtask/Cargo.toml."
        )),
        _ => Err(format!(
            "Cargo.lock should hold exactly one wasm-bindgen and one wasm-bindgen-cli-support; it holds \
             wasm-bindgen {crate_versions:?} and wasm-bindgen-cli-support {step_versions:?}"
        )),
    }
}

/// [`check_versions`] on the file at `path`.
pub fn check_wasm_bindgen(path: &Path) -> Result<(), String> {
    let lock = std::fs::read_to_string(path).map_err(|e| format!("could not read {}: {e}", path.display()))?;
    check_versions(&lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(bindgen: &str, step: &str) -> String {
        format!(
            "version = 4\n\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"{bindgen}\"\nsource = \"x\"\n\n\
             [[package]]\nname = \"wasm-bindgen-backend\"\nversion = \"9.9.9\"\n\n\
             [[package]]\nname = \"wasm-bindgen-cli-support\"\nversion = \"{step}\"\n"
        )
    }

    #[test]
    fn equal_versions_pass() {
        assert_eq!(check_versions(&lock("0.2.130", "0.2.130")), Ok(()));
    }

    #[test]
    fn different_versions_stop_the_build_with_the_fix() {
        let message = check_versions(&lock("0.2.131", "0.2.130")).expect_err("must refuse");
        assert!(message.starts_with("Cargo.lock has wasm-bindgen 0.2.131 but the wasm-bindgen step"), "{message}");
        assert!(message.contains("xtask/Cargo.toml"), "{message}");
    }

    #[test]
    fn a_missing_package_is_named() {
        let message =
            check_versions("[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n").expect_err("refuse");
        assert_eq!(
            message,
            "Cargo.lock should hold exactly one wasm-bindgen and one wasm-bindgen-cli-support; it holds \
             wasm-bindgen [\"0.2.130\"] and wasm-bindgen-cli-support []"
        );
    }

    #[test]
    fn the_repository_lock_file_passes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
        assert_eq!(check_wasm_bindgen(&root), Ok(()));
    }
}
