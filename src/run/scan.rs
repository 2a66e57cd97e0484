//! Turns the build folder into a `LocalTree`: which files deploy under which keys, and the hashes
//! that let the plan skip everything S3 already holds. This is the only module that reads the
//! site's files; every file is read once, streaming, on all cores.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use md5::{Digest, Md5};
use rayon::prelude::*;

use crate::core::error::{Error, Result};
use crate::core::etag::MultipartDigest;
use crate::core::objects::{LocalFile, LocalTree};

/// Files that operating systems drop into folders and nobody means to publish.
const OS_JUNK: &[&str] = &[".DS_Store", "Thumbs.db"];

/// Per-folder exclusion files, in .gitignore syntax.
pub const IGNORE_FILE: &str = ".shipfrontignore";

/// What to scan and how to hash it.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Key prefix, already normalised (empty or ending in `/`).
    pub prefix: String,
    /// `--exclude` globs, relative to the folder.
    pub excludes: Vec<String>,
    /// Files at or above this size are uploaded in parts of this size, and get a multipart ETag.
    pub part_size: u64,
    /// Deploy `X.br` / `X.gz` beside `X` too (left out by default, see `LeftOut`).
    pub upload_precompressed: bool,
}

impl ScanOptions {
    /// The build folder as a deploy to the bucket's root scans it, leaving out `excludes`: for
    /// the commands that look at a build without deploying it (`routing`, `doctor DIR`).
    #[must_use]
    pub fn as_deployed(excludes: Vec<String>) -> Self {
        ScanOptions {
            prefix: String::new(),
            excludes,
            part_size: crate::config::DEFAULT_PART_SIZE_MIB << 20,
            upload_precompressed: false,
        }
    }
}

/// Checks that `dir` is a folder we can deploy, before anything else happens.
pub fn check_folder(dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::NotAFolder(dir.to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::FolderMissing(dir.to_owned()))
        }
        Err(source) => Err(Error::Unreadable {
            path: dir.to_owned(),
            source,
        }),
    }
}

/// Walks `dir` and hashes every file that deploys.
///
/// Hidden files deploy (`.well-known/` must); `.gitignore` files are not honoured (a build folder
/// is output, not source); OS junk is skipped; `.shipfrontignore` files and `--exclude` globs
/// exclude. Symlinks are not followed into folders, and one that points outside `dir` is an
/// error, so a deploy can never publish a file from elsewhere on the machine.
pub fn scan(dir: &Path, opts: &ScanOptions) -> Result<LocalTree> {
    check_folder(dir)?;
    let root = dir.canonicalize().map_err(|source| Error::Unreadable {
        path: dir.to_owned(),
        source,
    })?;
    let excludes = compile_excludes(&opts.excludes)?;
    let mut found = Vec::new();
    let mut warnings = Vec::new();

    let walker = ignore::WalkBuilder::new(&root)
        .standard_filters(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .follow_links(false)
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| walk_error(dir, e))?;
        let Some(file_type) = entry.file_type() else {
            continue; // stdin; never produced for a folder walk
        };
        if file_type.is_dir() {
            continue;
        }
        let path = entry.path();
        let rel = relative_key(&root, path)?;
        let name = rel.rsplit('/').next().unwrap_or(&rel);
        if OS_JUNK.contains(&name) || name == IGNORE_FILE || excludes.is_match(&rel) {
            continue;
        }
        if !deployable(dir, &root, &rel, path, file_type, &mut warnings)? {
            continue;
        }
        check_key(&format!("{}{rel}", opts.prefix), &rel)?;
        found.push((rel, path.to_owned()));
    }
    let notes = leave_out_noise(&mut found, opts.upload_precompressed);

    let mut files = found
        .into_par_iter()
        // One read buffer per worker thread: allocating (and zeroing) one per file cost more
        // than hashing a small file.
        .map_init(
            || vec![0u8; READ_BUFFER],
            |buf, (rel, path)| {
                let (size, md5, multipart) =
                    hash_file(&path, opts.part_size, buf).map_err(|source| Error::Unreadable {
                        path: display_path(dir, &rel),
                        source,
                    })?;
                Ok(std::sync::Arc::new(LocalFile {
                    key: format!("{}{rel}", opts.prefix),
                    rel,
                    path,
                    size,
                    md5,
                    multipart,
                }))
            },
        )
        .collect::<Result<Vec<_>>>()?;
    files.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(LocalTree {
        files,
        warnings,
        notes,
    })
}

/// Files that build tools leave in the folder but a bucket behind CloudFront must not serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LeftOut {
    /// `X.br` or `X.gz` next to `X`: S3 cannot pick an encoding per request (it would serve the
    /// compressed bytes under their own name only), and CloudFront compresses on its own.
    /// Sitemaps (`sitemap.xml.gz`) are files in their own right and deploy.
    Precompressed,
    /// `.nojekyll`: a GitHub Pages switch, meaningless elsewhere.
    NoJekyll,
    /// `_redirects` at the root: read by the routing function (`shipfront routing`), not served.
    Redirects,
}

impl LeftOut {
    fn of(
        rel: &str,
        all: &std::collections::BTreeSet<&str>,
        upload_precompressed: bool,
    ) -> Option<LeftOut> {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        if name == ".nojekyll" {
            return Some(LeftOut::NoJekyll);
        }
        if rel == crate::core::routing::REDIRECTS_FILE {
            return Some(LeftOut::Redirects);
        }
        if upload_precompressed {
            return None;
        }
        let original = rel
            .strip_suffix(".br")
            .or_else(|| rel.strip_suffix(".gz"))?;
        let sitemap = name.starts_with("sitemap") && name.ends_with(".xml.gz");
        (all.contains(original) && !sitemap).then_some(LeftOut::Precompressed)
    }

    fn note(self, count: usize, first: &str) -> String {
        match self {
            LeftOut::Precompressed => format!(
                "left out {count} precompressed copies (`.br`/`.gz` beside the file, e.g. \
                 `{first}`): S3 cannot choose an encoding per request, and CloudFront \
                 compresses on its own (--upload-precompressed deploys them)"
            ),
            LeftOut::Redirects => format!(
                "left out `{first}`: its redirects are served by the routing function \
                 (`shipfront routing`), not as a file"
            ),
            LeftOut::NoJekyll => format!(
                "left out `{first}`{}: a GitHub Pages switch, meaningless on S3",
                if count > 1 {
                    format!(" and {} more", count - 1)
                } else {
                    String::new()
                }
            ),
        }
    }
}

/// Drops the build-folder noise from `found` and returns one note per kind dropped.
fn leave_out_noise(found: &mut Vec<(String, PathBuf)>, upload_precompressed: bool) -> Vec<String> {
    let all: std::collections::BTreeSet<&str> = found.iter().map(|(r, _)| r.as_str()).collect();
    let mut dropped: std::collections::BTreeMap<LeftOut, Vec<String>> = Default::default();
    for rel in &all {
        if let Some(kind) = LeftOut::of(rel, &all, upload_precompressed) {
            dropped.entry(kind).or_default().push((*rel).to_owned());
        }
    }
    drop(all);
    let gone: std::collections::BTreeSet<&String> = dropped.values().flatten().collect();
    found.retain(|(rel, _)| !gone.contains(rel));
    dropped
        .iter()
        .map(|(kind, rels)| kind.note(rels.len(), &rels[0]))
        .collect()
}

/// Whether a walked entry is a file to deploy: a symlink must stay inside the folder (else the
/// scan is refused) and lead to a file; a folder link, a named pipe (whose read would block
/// forever), a socket or a device is skipped with a warning.
fn deployable(
    dir: &Path,
    root: &Path,
    rel: &str,
    path: &Path,
    file_type: std::fs::FileType,
    warnings: &mut Vec<String>,
) -> Result<bool> {
    if file_type.is_symlink() {
        let target = path.canonicalize().map_err(|source| Error::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        if !target.starts_with(root) {
            return Err(Error::SymlinkEscapes {
                link: display_path(dir, rel),
                target,
            });
        }
        if target.is_dir() {
            warnings.push(format!(
                "skipped `{rel}`: a symlink to a folder is not followed"
            ));
            return Ok(false);
        }
    }
    // A named pipe would block the read forever; sockets and devices are no site files.
    let regular = if file_type.is_symlink() {
        path.is_file()
    } else {
        file_type.is_file()
    };
    if !regular {
        warnings.push(format!(
            "skipped `{}`: not a regular file (a named pipe, socket or device)",
            rel.escape_debug()
        ));
        return Ok(false);
    }
    Ok(true)
}

/// S3 keys are at most 1024 bytes of UTF-8.
const MAX_KEY_BYTES: usize = 1024;

/// Refuses a name whose key S3 cannot store, or cannot list back as it was written: listings
/// are XML, which cannot carry most control characters and turns a carriage return into a line
/// feed, so such an object could never be compared, updated or deleted again.
fn check_key(key: &str, rel: &str) -> Result<()> {
    let name = || rel.escape_debug().to_string();
    if let Some(c) = rel
        .chars()
        .find(|c| c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}'))
    {
        return Err(Error::BadName {
            name: name(),
            why: format!(
                "contains the control character U+{:04X}, which S3 listings cannot carry back",
                u32::from(c)
            ),
        });
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::BadName {
            name: name(),
            why: format!(
                "makes a key of {} bytes, over S3's limit of {MAX_KEY_BYTES}",
                key.len()
            ),
        });
    }
    Ok(())
}

/// The path as the user would write it: their folder argument joined with the relative path.
fn display_path(dir: &Path, rel: &str) -> PathBuf {
    dir.join(rel)
}

fn relative_key(root: &Path, path: &Path) -> Result<String> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let mut parts = Vec::new();
    for component in rel.components() {
        let s = component
            .as_os_str()
            .to_str()
            .ok_or_else(|| Error::NonUtf8Name(path.to_owned()))?;
        parts.push(s);
    }
    Ok(parts.join("/"))
}

fn walk_error(dir: &Path, err: ignore::Error) -> Error {
    fn find(err: &ignore::Error) -> (Option<PathBuf>, Option<std::io::ErrorKind>) {
        match err {
            ignore::Error::WithPath { path, err } => (Some(path.clone()), find(err).1),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                find(err)
            }
            ignore::Error::Io(io) => (None, Some(io.kind())),
            _ => (None, None),
        }
    }
    let (path, kind) = find(&err);
    Error::Unreadable {
        path: path.unwrap_or_else(|| dir.to_owned()),
        source: std::io::Error::new(kind.unwrap_or(std::io::ErrorKind::Other), err.to_string()),
    }
}

fn compile_excludes(globs: &[String]) -> Result<GlobSet> {
    let mut set = GlobSetBuilder::new();
    for g in globs {
        let glob = GlobBuilder::new(g)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::Usage(format!("invalid --exclude glob `{g}`: {e}")))?;
        set.add(glob);
        // `--exclude drafts` (or `drafts/`) leaves out the whole folder, as users expect.
        let dir_glob = format!("{}/**", g.trim_end_matches('/'));
        if let Ok(glob) = GlobBuilder::new(&dir_glob).literal_separator(true).build() {
            set.add(glob);
        }
    }
    set.build()
        .map_err(|e| Error::Usage(format!("invalid --exclude globs: {e}")))
}

/// Size of the read buffer of each hashing thread.
const READ_BUFFER: usize = 1 << 20;

/// Reads a file once, computing its MD5 and, at or above `part_size`, the MD5 of each part.
fn hash_file(
    path: &Path,
    part_size: u64,
    buf: &mut [u8],
) -> std::io::Result<(u64, [u8; 16], Option<MultipartDigest>)> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let multipart = len >= part_size && part_size > 0;
    let mut whole = Md5::new();
    let mut part = Md5::new();
    let mut part_filled = 0u64;
    let mut part_md5s = Vec::new();
    let mut size = 0u64;
    loop {
        let n = file.read(buf)?;
        if n == 0 {
            break;
        }
        let mut chunk = &buf[..n];
        size += n as u64;
        whole.update(chunk);
        if multipart {
            while !chunk.is_empty() {
                let room = usize::try_from(part_size - part_filled).unwrap_or(usize::MAX);
                let take = room.min(chunk.len());
                part.update(&chunk[..take]);
                part_filled += take as u64;
                chunk = &chunk[take..];
                if part_filled == part_size {
                    part_md5s.push(part.finalize_reset().into());
                    part_filled = 0;
                }
            }
        }
    }
    if multipart && part_filled > 0 {
        part_md5s.push(part.finalize().into());
    }
    let digest = multipart.then_some(MultipartDigest {
        part_size,
        part_md5s,
    });
    Ok((size, whole.finalize().into(), digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::etag::hex;
    use std::fs;

    fn opts() -> ScanOptions {
        ScanOptions {
            prefix: String::new(),
            excludes: vec![],
            part_size: 16 << 20,
            upload_precompressed: false,
        }
    }

    fn write(root: &Path, rel: &str, body: &[u8]) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, body).unwrap();
    }

    /// A build folder on disk holding `files`, `(path, body)` each.
    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, body) in files {
            write(dir.path(), rel, body.as_bytes());
        }
        dir
    }

    /// A build folder on disk holding a file of one byte at each of `rels`.
    fn folder_of(rels: &[&str]) -> tempfile::TempDir {
        let files: Vec<(&str, &str)> = rels.iter().map(|rel| (*rel, "x")).collect();
        folder(&files)
    }

    fn keys(tree: &LocalTree) -> Vec<&str> {
        tree.files.iter().map(|f| f.key.as_str()).collect()
    }

    #[test]
    fn includes_hidden_skips_junk_and_ignores_gitignore() {
        let dir = folder(&[
            ("index.html", "<h1>hi</h1>"),
            (".well-known/security.txt", "Contact: x"),
            (".DS_Store", "junk"),
            ("img/Thumbs.db", "junk"),
            (".gitignore", "*.html\n"),
        ]);
        let root = dir.path();
        let tree = scan(root, &opts()).unwrap();
        assert_eq!(
            keys(&tree),
            [".gitignore", ".well-known/security.txt", "index.html"]
        );
    }

    #[test]
    fn precompressed_siblings_and_nojekyll_are_left_out_with_a_note() {
        let dir = folder_of(&[
            "index.html",
            "index.html.br",
            "index.html.gz",
            "assets/app.js",
            "assets/app.js.gz",
            "downloads/data.csv.gz",
            "sitemap.xml",
            "sitemap.xml.gz",
            ".nojekyll",
            "_redirects",
            "docs/_redirects",
        ]);
        let root = dir.path();
        let tree = scan(root, &opts()).unwrap();
        assert_eq!(
            keys(&tree),
            [
                "assets/app.js",
                "docs/_redirects",
                "downloads/data.csv.gz",
                "index.html",
                "sitemap.xml",
                "sitemap.xml.gz"
            ]
        );
        assert_eq!(
            tree.notes,
            [
                "left out 3 precompressed copies (`.br`/`.gz` beside the file, e.g. \
                 `assets/app.js.gz`): S3 cannot choose an encoding per request, and CloudFront \
                 compresses on its own (--upload-precompressed deploys them)",
                "left out `.nojekyll`: a GitHub Pages switch, meaningless on S3",
                "left out `_redirects`: its redirects are served by the routing function \
                 (`shipfront routing`), not as a file"
            ]
        );
        let mut o = opts();
        o.upload_precompressed = true;
        let tree = scan(root, &o).unwrap();
        assert_eq!(tree.files.len(), 9, "{:?}", keys(&tree));
        assert_eq!(tree.notes.len(), 2, "{:?}", tree.notes);
    }

    #[test]
    fn shipfrontignore_and_exclude_globs() {
        let dir = folder(&[
            ("index.html", "x"),
            (".shipfrontignore", "*.map\nprivate/\n"),
            ("a.js.map", "x"),
            ("assets/b.js.map", "x"),
            ("private/secret.txt", "x"),
            ("drafts/one.html", "x"),
            ("notes.md", "x"),
        ]);
        let root = dir.path();
        let mut o = opts();
        o.excludes = vec!["drafts".into(), "*.md".into()];
        let tree = scan(root, &o).unwrap();
        assert_eq!(keys(&tree), ["index.html"]);
    }

    #[test]
    fn keys_keep_special_characters_and_prefix() {
        let dir = folder_of(&[
            "docs/getting started.html",
            "a+b.txt",
            "c#d.txt",
            "café/ü.txt",
        ]);
        let root = dir.path();
        let mut o = opts();
        o.prefix = "site/".into();
        let tree = scan(root, &o).unwrap();
        assert_eq!(
            keys(&tree),
            [
                "site/a+b.txt",
                "site/c#d.txt",
                "site/café/ü.txt",
                "site/docs/getting started.html"
            ]
        );
        assert_eq!(tree.files[0].rel, "a+b.txt");
    }

    #[test]
    fn md5_and_multipart_etag() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "small.txt", b"hello");
        // 2.5 parts of 1 KiB: parts of 1024, 1024 and 512 bytes.
        let big: Vec<u8> = (0..2560u32).map(|i| (i % 251) as u8).collect();
        write(root, "big.bin", &big);
        write(root, "exact.bin", &big[..1024]);
        let mut o = opts();
        o.part_size = 1024;
        let tree = scan(root, &o).unwrap();
        let by_key = |k: &str| tree.files.iter().find(|f| f.key == k).unwrap();

        let small = by_key("small.txt");
        assert_eq!(hex(&small.md5), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(small.expected_etag(), "5d41402abc4b2a76b9719d911017c592");
        assert!(small.multipart.is_none());

        let big_file = by_key("big.bin");
        let m = big_file.multipart.as_ref().unwrap();
        let parts: Vec<[u8; 16]> = [&big[..1024], &big[1024..2048], &big[2048..]]
            .iter()
            .map(|p| Md5::digest(p).into())
            .collect();
        assert_eq!(m.part_md5s, parts);
        let mut concat = Vec::new();
        parts.iter().for_each(|p| concat.extend_from_slice(p));
        assert_eq!(
            big_file.expected_etag(),
            format!("{}-3", hex(&Md5::digest(&concat)))
        );
        assert_eq!(big_file.md5, <[u8; 16]>::from(Md5::digest(&big)));

        // A file of exactly one part size is one part.
        assert!(by_key("exact.bin").expected_etag().ends_with("-1"));
    }

    #[test]
    fn names_s3_cannot_list_back_are_refused_naming_the_file() {
        let cases = [
            ("a\u{1}b.html", Some("U+0001")),
            ("esc\u{1b}[31m.txt", Some("U+001B")),
            ("two\nlines.html", Some("U+000A")),
            ("cr\r.html", Some("U+000D")),
            ("tab\there.html", Some("U+0009")),
            ("del\u{7f}.html", Some("U+007F")),
            ("nonchar\u{ffff}.html", Some("U+FFFF")),
            ("docs/getting started.html", None),
            ("ünïcødé/日本語.html", None),
            ("a+b=c&d#e%f.html", None),
        ];
        for (name, refused) in cases {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), "index.html", b"x");
            write(dir.path(), name, b"x");
            match (scan(dir.path(), &opts()), refused) {
                (Err(e @ Error::BadName { .. }), Some(code)) => {
                    let text = e.to_string();
                    assert!(text.contains(code), "{text}");
                    assert!(text.contains(&name.escape_debug().to_string()), "{text}");
                    assert_eq!(e.exit_code(), 2);
                }
                (Ok(tree), None) => assert!(keys(&tree).contains(&name)),
                (other, _) => panic!("{name:?}: {:?}", other.map(|t| keys(&t).join(","))),
            }
        }
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &"x".repeat(200), b"x");
        let long = ScanOptions {
            prefix: format!("{}/", "p".repeat(900)),
            ..opts()
        };
        let err = scan(dir.path(), &long).unwrap_err();
        assert!(err.to_string().contains("over S3's limit of 1024"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn pipes_and_sockets_are_skipped_with_a_warning_never_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "index.html", b"x");
        let made = std::process::Command::new("mkfifo")
            .arg(root.join("pipe"))
            .status()
            .unwrap();
        assert!(made.success());
        let _socket = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();
        std::os::unix::fs::symlink(root.join("pipe"), root.join("to-pipe")).unwrap();
        // A read of the pipe would block this test forever.
        let tree = scan(root, &opts()).unwrap();
        assert_eq!(keys(&tree), ["index.html"]);
        assert_eq!(tree.warnings.len(), 3, "{:?}", tree.warnings);
        assert!(
            tree.warnings
                .iter()
                .all(|w| w.contains("not a regular file")),
            "{:?}",
            tree.warnings
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_deploy_outside_refused() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), b"s").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "main.js", b"x");
        std::os::unix::fs::symlink(root.join("main.js"), root.join("latest.js")).unwrap();
        std::os::unix::fs::symlink(root.join("sub"), root.join("linkdir")).unwrap();
        write(root, "sub/a.txt", b"x");
        let tree = scan(root, &opts()).unwrap();
        assert_eq!(keys(&tree), ["latest.js", "main.js", "sub/a.txt"]);
        assert_eq!(tree.warnings.len(), 1, "{:?}", tree.warnings);

        std::os::unix::fs::symlink(outside.path().join("secret"), root.join("leak")).unwrap();
        let err = scan(root, &opts()).unwrap_err();
        assert!(matches!(err, Error::SymlinkEscapes { .. }), "{err}");
        assert!(err.to_string().contains("leak"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_name_refused() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"bad\xffname.txt");
        fs::write(dir.path().join(name), b"x").unwrap();
        let err = scan(dir.path(), &opts()).unwrap_err();
        assert!(matches!(err, Error::NonUtf8Name(_)), "{err}");
    }

    #[test]
    fn missing_folder_and_file_instead_of_folder() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert!(matches!(
            scan(&missing, &opts()),
            Err(Error::FolderMissing(_))
        ));
        let file = dir.path().join("f.txt");
        fs::write(&file, b"x").unwrap();
        assert!(matches!(scan(&file, &opts()), Err(Error::NotAFolder(_))));
    }
}
