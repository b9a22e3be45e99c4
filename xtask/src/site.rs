//! The site folder Keycard serves (`target/site`): `pkg/` holds the bundle and the stylesheet
//! under names that carry a hash of their content (`keycard.<hash>.wasm`), so they can be cached
//! for good, with brotli and gzip copies beside every file; `public/` is copied to the top. The
//! hashes go to `hash.txt` (`js: …`, `wasm: …`, `css: …`, as Leptos reads it) beside the server
//! binary.

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::bundle::{Bundle, OUTPUT_NAME};

fn io<'a>(what: &'a str, path: &'a Path) -> impl FnOnce(std::io::Error) -> String + 'a {
    move |e| format!("could not {what} {}: {e}", path.display())
}

/// The first 16 hex digits of the content's SHA-256: enough that two builds never share a name.
pub fn content_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// `hash.txt`'s text for the three hashes.
pub fn hash_file_text(js: &str, wasm: &str, css: &str) -> String {
    format!("js: {js}\nwasm: {wasm}\ncss: {css}\n")
}

/// Copies the folder `from` into `to`, leaving out dot files (`.gitkeep`).
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(io("create", to))?;
    for entry in std::fs::read_dir(from).map_err(io("read", from))? {
        let entry = entry.map_err(io("read", from))?;
        let (path, name) = (entry.path(), entry.file_name());
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            copy_tree(&path, &to.join(&name))?;
        } else {
            std::fs::copy(&path, to.join(&name)).map_err(io("copy", &path))?;
        }
    }
    Ok(())
}

/// Writes `<file>.br` (quality 11) and `<file>.gz` (best) beside every file under `dir`.
pub fn precompress(dir: &Path) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).map_err(io("read", dir))? {
        let path = entry.map_err(io("read", dir))?.path();
        if path.is_dir() {
            precompress(&path)?;
            continue;
        }
        if path.extension().is_some_and(|ext| ext == "br" || ext == "gz") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(io("read", &path))?;
        let mut brotli = brotli::CompressorWriter::new(Vec::new(), 64 * 1024, 11, 22);
        brotli.write_all(&bytes).map_err(io("compress", &path))?;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gzip.write_all(&bytes).map_err(io("compress", &path))?;
        let gzip = gzip.finish().map_err(io("compress", &path))?;
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let br_path = path.with_file_name(format!("{name}.br"));
        std::fs::write(&br_path, brotli.into_inner()).map_err(io("write", &br_path))?;
        let gz_path = path.with_file_name(format!("{name}.gz"));
        std::fs::write(&gz_path, gzip).map_err(io("write", &gz_path))?;
    }
    Ok(())
}

/// Puts the site together in `site_root` from `bundle`, `style/main.css` and `public/`, and
/// writes `hash_file`.
pub fn assemble(root: &Path, site_root: &Path, bundle: &Bundle, hash_file: &Path) -> Result<(), String> {
    if site_root.exists() {
        std::fs::remove_dir_all(site_root).map_err(io("clear", site_root))?;
    }
    let pkg = site_root.join("pkg");
    std::fs::create_dir_all(&pkg).map_err(io("create", &pkg))?;
    copy_tree(&root.join("public"), site_root)?;

    let mut hashes = Vec::new();
    for (source, extension) in [(bundle.js(), "js"), (bundle.wasm(), "wasm"), (root.join("style/main.css"), "css")] {
        let bytes = std::fs::read(&source).map_err(io("read", &source))?;
        let hash = content_hash(&bytes);
        let dest = pkg.join(format!("{OUTPUT_NAME}.{hash}.{extension}"));
        std::fs::write(&dest, &bytes).map_err(io("write", &dest))?;
        hashes.push(hash);
    }
    // wasm-bindgen's JavaScript snippets are imported by their own names: not renamed.
    if bundle.snippets().is_dir() {
        copy_tree(&bundle.snippets(), &pkg.join("snippets"))?;
    }
    precompress(site_root)?;

    if let Some(parent) = hash_file.parent() {
        std::fs::create_dir_all(parent).map_err(io("create", parent))?;
    }
    let text = hash_file_text(&hashes[0], &hashes[1], &hashes[2]);
    std::fs::write(hash_file, text).map_err(io("write", hash_file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_hash_is_sixteen_hex_digits_of_sha256() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223…
        assert_eq!(content_hash(b"abc"), "ba7816bf8f01cfea");
    }

    #[test]
    fn the_hash_file_is_in_leptos_format() {
        assert_eq!(hash_file_text("j", "w", "c"), "js: j\nwasm: w\ncss: c\n");
    }

    #[test]
    fn precompressed_copies_decode_to_the_file() {
        let dir = std::env::temp_dir().join(format!("xtask-precompress-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pkg")).expect("temp dir");
        let text = "body { color: red; }\n".repeat(100);
        std::fs::write(dir.join("pkg/a.css"), &text).expect("write");
        precompress(&dir).expect("precompress");
        precompress(&dir).expect("a second run skips the compressed copies");

        let mut from_gzip = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(dir.join("pkg/a.css.gz")).expect("gz"))
            .read_to_string(&mut from_gzip)
            .expect("gunzip");
        let mut from_brotli = String::new();
        brotli::Decompressor::new(std::fs::File::open(dir.join("pkg/a.css.br")).expect("br"), 4096)
            .read_to_string(&mut from_brotli)
            .expect("unbrotli");
        assert_eq!((from_gzip.as_str(), from_brotli.as_str()), (text.as_str(), text.as_str()));
        let names: std::collections::BTreeSet<_> = std::fs::read_dir(dir.join("pkg"))
            .expect("list")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        assert_eq!(names.into_iter().collect::<Vec<_>>(), ["a.css", "a.css.br", "a.css.gz"]);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
