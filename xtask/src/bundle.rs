//! The browser bundle: the `keycard-browser` crate (the islands) linked as a cdylib for
//! `wasm32-unknown-unknown` (feature `hydrate`), the wasm-bindgen step (as a library, so its
//! version is the one in Cargo.lock), then wasm-opt (binaryen 132 from npm; Debian's binaryen 108
//! writes bundles that never hydrate).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{profile_dir, run};

/// The name the bundle's files carry before their hash (`output-name` in Cargo.toml).
pub const OUTPUT_NAME: &str = "keycard";
/// The only binaryen whose output is known to hydrate here (scripts/setup installs it).
const WASM_OPT_MAJOR: &str = "132";

/// The wasm-bindgen step's output: `keycard.js`, `keycard_bg.wasm` and any `snippets/`.
pub struct Bundle {
    pub dir: PathBuf,
}

impl Bundle {
    pub fn js(&self) -> PathBuf {
        self.dir.join(format!("{OUTPUT_NAME}.js"))
    }
    pub fn wasm(&self) -> PathBuf {
        self.dir.join(format!("{OUTPUT_NAME}_bg.wasm"))
    }
    pub fn snippets(&self) -> PathBuf {
        self.dir.join("snippets")
    }
}

/// The crate that is the bundle, and its file name as cargo writes it.
const CRATE: &str = "keycard-browser";
const CRATE_FILE: &str = "keycard_browser.wasm";

/// Builds the bundle with `cargo_rustc` (`cargo rustc` in the repository) and Cargo profile
/// `profile`, under `target/front`. Only this build links the crate as a cdylib: as a dependency
/// of the server it is a plain rlib.
pub fn build(mut cargo_rustc: Command, target: &Path, profile: &str) -> Result<Bundle, String> {
    let front = target.join("front");
    cargo_rustc
        .args(["--package", CRATE, "--lib", "--crate-type", "cdylib", "--target", "wasm32-unknown-unknown"])
        .args(["--features", "hydrate", "--profile", profile, "--target-dir"])
        .arg(&front);
    run("the browser bundle's build", &mut cargo_rustc)?;
    let input = profile_dir(&front.join("wasm32-unknown-unknown"), profile).join(CRATE_FILE);
    let bundle = Bundle { dir: front.join("bindgen") };
    if bundle.dir.exists() {
        std::fs::remove_dir_all(&bundle.dir).map_err(|e| format!("could not clear {}: {e}", bundle.dir.display()))?;
    }
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&input)
        .web(true)
        .and_then(|bindgen| bindgen.out_name(OUTPUT_NAME).typescript(false).generate(&bundle.dir))
        .map_err(|e| format!("the wasm-bindgen step on {}: {e:#}", input.display()))?;
    if profile != "dev" {
        optimise(&bundle.wasm())?;
    }
    Ok(bundle)
}

/// wasm-opt for size, in place, with the features the Rust target emits.
fn optimise(wasm: &Path) -> Result<(), String> {
    let version = Command::new("wasm-opt").arg("--version").output().map_err(|e| {
        format!("wasm-opt was not found on PATH ({e}); scripts/setup installs binaryen {WASM_OPT_MAJOR} from npm")
    })?;
    let version = String::from_utf8_lossy(&version.stdout);
    if !version.contains(&format!("version {WASM_OPT_MAJOR}")) {
        return Err(format!(
            "wasm-opt on PATH is `{}`; Keycard needs binaryen {WASM_OPT_MAJOR} (scripts/setup installs it from \
             npm): other versions have written bundles that never hydrate",
            version.trim()
        ));
    }
    run(
        "wasm-opt",
        Command::new("wasm-opt")
            .args(["-Oz", "--enable-bulk-memory", "--enable-nontrapping-float-to-int"])
            .arg(wasm)
            .arg("-o")
            .arg(wasm),
    )
}
