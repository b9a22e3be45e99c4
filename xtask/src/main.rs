//! Keycard's build tool: `cargo xtask build` compiles the server and the site it serves
//! (`target/site`: the browser bundle, the stylesheet, precompressed copies) without cargo-leptos.
//!
//! Layout:
//! - [`bundle`]: the browser bundle (the library for wasm32, the wasm-bindgen step as a library,
//!   wasm-opt from npm).
//! - [`site`]: the site folder (content-hashed names, `hash.txt`, brotli and gzip copies).
//! - [`lockfile`]: the check that the wasm-bindgen step matches the `wasm-bindgen` crate.
//!
//! The server and the bundle build side by side (the bundle in `target/front`, so the two cargo
//! runs do not wait on each other's lock); `hash.txt` lands beside the server binary, where
//! Keycard and Leptos read it.

mod bundle;
mod lockfile;
mod site;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask build [--profile P] [--bundle-profile B] [--no-server] [--locked]

Builds target/<P>/keycard (Cargo profile P, default `release`) and the site in target/site,
whose browser bundle is built with Cargo profile B (default `wasm-release`; wasm-opt runs
unless B is `dev`). hash.txt, which names the site's hashed files, goes beside the binary.
--no-server builds only the site (for a binary another cargo command built); --locked is
passed to both cargo builds (Cargo.lock must not change).";

/// What `cargo xtask build` was asked for.
#[derive(Debug, PartialEq, Eq)]
struct BuildArgs {
    profile: String,
    bundle_profile: String,
    server: bool,
    locked: bool,
}

impl BuildArgs {
    /// `cargo <subcommand>` in the repository with the arguments both builds share.
    fn cargo(&self, root: &Path, subcommand: &str) -> Command {
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        command.current_dir(root).arg(subcommand);
        if self.locked {
            command.arg("--locked");
        }
        command
    }
}

fn parse(args: &[String]) -> Result<BuildArgs, String> {
    let mut rest = args.iter();
    if rest.next().map(String::as_str) != Some("build") {
        return Err(USAGE.into());
    }
    let mut parsed =
        BuildArgs { profile: "release".into(), bundle_profile: "wasm-release".into(), server: true, locked: false };
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--profile" => parsed.profile = rest.next().ok_or("--profile needs a value")?.clone(),
            "--bundle-profile" => parsed.bundle_profile = rest.next().ok_or("--bundle-profile needs a value")?.clone(),
            "--no-server" => parsed.server = false,
            "--locked" => parsed.locked = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n\n{USAGE}")),
        }
    }
    Ok(parsed)
}

/// The repository's root (this crate's parent folder).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new(".")).to_path_buf()
}

/// Cargo's target folder: `CARGO_TARGET_DIR`, else `target/` in the repository.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"))
}

/// The folder a profile's binaries land in (`dev` builds into `debug`).
fn profile_dir(target: &Path, profile: &str) -> PathBuf {
    target.join(match profile {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    })
}

/// Runs `command`, failing with `what` when it does not succeed.
fn run(what: &str, command: &mut Command) -> Result<(), String> {
    let status = command.status().map_err(|e| format!("{what}: could not start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn build_server(root: &Path, args: &BuildArgs) -> Result<(), String> {
    let mut cargo_build = args.cargo(root, "build");
    cargo_build.args(["--package", "keycard", "--bin", "keycard", "--features", "ssr", "--profile"]).arg(&args.profile);
    run("the server build", &mut cargo_build)
}

fn build(args: &BuildArgs) -> Result<(), String> {
    let root = workspace_root();
    let target = target_dir(&root);
    lockfile::check_wasm_bindgen(&root.join("Cargo.lock"))?;
    let started = std::time::Instant::now();
    let bundle = std::thread::scope(|scope| {
        let server = args.server.then(|| scope.spawn(|| build_server(&root, args)));
        let bundle = bundle::build(args.cargo(&root, "rustc"), &target, &args.bundle_profile);
        match server.map(|handle| handle.join()) {
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err("the server build's thread panicked".to_string()),
            _ => bundle,
        }
    })?;
    let hash_file = profile_dir(&target, &args.profile).join("hash.txt");
    site::assemble(&root, &target.join("site"), &bundle, &hash_file)?;
    eprintln!("xtask: built in {:.0} s; site in {}", started.elapsed().as_secs_f64(), target.join("site").display());
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args).and_then(|parsed| build(&parsed)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn build_defaults_to_the_published_profiles() {
        let parsed = parse(&args("build")).expect("parses");
        assert_eq!(
            parsed,
            BuildArgs { profile: "release".into(), bundle_profile: "wasm-release".into(), server: true, locked: false }
        );
    }

    #[test]
    fn build_takes_both_profiles_and_no_server() {
        let parsed = parse(&args("build --profile dev --bundle-profile dev --no-server --locked")).expect("parses");
        assert_eq!(
            parsed,
            BuildArgs { profile: "dev".into(), bundle_profile: "dev".into(), server: false, locked: true }
        );
    }

    #[test]
    fn unknown_commands_and_arguments_are_refused() {
        assert_eq!(parse(&args("serve")), Err(USAGE.to_string()));
        assert!(parse(&args("build --fast")).is_err_and(|e| e.starts_with("unknown argument --fast")));
        assert_eq!(parse(&args("build --profile")), Err("--profile needs a value".to_string()));
    }

    #[test]
    fn dev_profiles_build_into_debug() {
        let target = Path::new("/t");
        assert_eq!(profile_dir(target, "dev"), Path::new("/t/debug"));
        assert_eq!(profile_dir(target, "release"), Path::new("/t/release"));
        assert_eq!(profile_dir(target, "fast-release"), Path::new("/t/fast-release"));
    }
}
