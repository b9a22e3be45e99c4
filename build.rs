//! Lists the migrations of each database for `core::db` to compile in (`include_str!`), so the
//! binary carries them without sqlx's `migrate!` macro (whose proc-macro crate builds a second,
//! host copy of sqlx's drivers and SQLite on every build).

use std::fmt::Write;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = String::from("// Written by build.rs from migrations/.\n");
    for (database, name) in [("sqlite", "SQLITE"), ("postgres", "POSTGRES")] {
        let dir = root.join("migrations").join(database);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|entry| entry.expect("a migration folder entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        files.sort();
        writeln!(out, "pub const {name}: &[(i64, &str, &str)] = &[").expect("a String takes writes");
        for path in &files {
            // `<version>_<description>.sql`, as sqlx names them.
            let stem = path.file_stem().expect("a file name").to_string_lossy();
            let (version, description) = stem
                .split_once('_')
                .and_then(|(version, description)| Some((version.parse::<i64>().ok()?, description.replace('_', " "))))
                .unwrap_or_else(|| panic!("{} is not named <version>_<description>.sql", path.display()));
            let sql = path.display().to_string();
            writeln!(out, "    ({version}, {description:?}, include_str!({sql:?})),").expect("written");
        }
        out.push_str("];\n");
    }
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("migrations.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
}
