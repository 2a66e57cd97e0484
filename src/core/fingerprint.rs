//! Which files of a build are fingerprinted (their name changes whenever their bytes do, so
//! browsers may keep them a year) and which are per-build page data (same name, new bytes every
//! build, so they must revalidate), decided from evidence in the whole build, never from one
//! name shape. A wrong `immutable` cannot be undone (browsers keep it a year; no invalidation
//! reaches them), so where the evidence is thin the verdict is the hour. Pure: names in, verdicts
//! out, no reads, so it costs nothing on the identical-rebuild path.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// How long browsers and CloudFront may keep an object, before `[[rules]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheClass {
    /// Checked on every visit: HTML and per-build data.
    Revalidate,
    /// A year, never checked: fingerprinted files.
    Immutable,
    /// An hour: everything else.
    Hour,
}

/// A cache class and the evidence that decided it, e.g. `immutable: Astro _astro/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub class: CacheClass,
    pub why: String,
}

impl Verdict {
    fn new(class: CacheClass, why: impl fmt::Display) -> Self {
        let label = match class {
            CacheClass::Revalidate => "revalidate",
            CacheClass::Immutable => "immutable",
            CacheClass::Hour => "1 hour",
        };
        Verdict {
            class,
            why: format!("{label}: {why}"),
        }
    }
}

/// Frameworks recognised by a file only they write, which makes their output folders evidence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Markers {
    /// `_next/`: Next.js, whose RSC payloads (`*.txt`) are per-build page data.
    next: bool,
    /// `page-data/`: Gatsby, whose `static/` holds only hashed files.
    gatsby: bool,
    /// `asset-manifest.json` at the root: Create React App (`static/js|css|media/`).
    cra: bool,
    /// `assets/js/runtime~main.*.js`: Docusaurus (`assets/js|css|images|files/`).
    docusaurus: bool,
    /// `main-XXXXXXXX.js` or `polyfills-XXXXXXXX.js` at the root: Angular (or esbuild with
    /// `[name]-[hash]`), which names root scripts and styles `name-XXXXXXXX.ext` with a base32
    /// hash that the name test alone misses about one time in three (`GWRIWUJ5`).
    angular: bool,
}

impl Markers {
    fn observe(&mut self, rel: &str) {
        self.next |= rel.starts_with("_next/");
        self.gatsby |= rel.starts_with("page-data/");
        self.cra |= rel == "asset-manifest.json";
        self.docusaurus |= rel.starts_with("assets/js/runtime~main.");
        self.angular |= (rel.starts_with("main-") || rel.starts_with("polyfills-"))
            && rel.ends_with(".js")
            && esbuild_hash(rel).is_some();
    }
}

/// A folder whose files nearly all carry a hash-shaped segment of one length.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HashedFolder {
    files: usize,
    hashed: usize,
    hash_len: usize,
}

/// What the whole build says about its files. Built once per deploy from every path in it.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    markers: Markers,
    /// Folder (`""` for the root, else ending in `/`) -> its hash statistics.
    hashed_folders: BTreeMap<String, HashedFolder>,
    /// Paths whose bytes changed under the same name in a recorded release: never immutable.
    rewritten: BTreeSet<String>,
    /// One line per group of stale fingerprinted variants (see `variant_warnings`).
    warnings: Vec<String>,
}

/// Files in a folder before its hash statistics count as evidence, and the share of them that
/// may lack the common hash ("nearly every file": at most one in ten).
const MIN_FOLDER_FILES: usize = 3;

impl Evidence {
    /// The evidence of a build, from the paths of its files relative to the build folder.
    pub fn new<'a>(rels: impl IntoIterator<Item = &'a str>) -> Self {
        let mut markers = Markers::default();
        // folder -> (files, hash length -> files with a candidate of that length, strict ones)
        let mut folders: BTreeMap<&str, FolderTally> = BTreeMap::new();
        let mut variants: BTreeMap<(&str, String), usize> = BTreeMap::new();
        for rel in rels {
            markers.observe(rel);
            let (folder, name) = split(rel);
            folders.entry(folder).or_default().add(name);
            if let Some(base) = digest_variant(name) {
                *variants.entry((folder, base)).or_default() += 1;
            }
        }
        let hashed_folders = folders
            .into_iter()
            .filter_map(|(folder, tally)| Some((folder.to_owned(), tally.verdict()?)))
            .collect();
        let warnings = variants
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|((folder, base), n)| {
                format!(
                    "`{folder}` holds {n} fingerprinted variants of `{base}`: files of earlier \
                     builds are still in the build folder (Hugo never cleans it; build with \
                     `hugo --cleanDestinationDir`, or empty the folder before building)"
                )
            })
            .collect();
        Evidence {
            markers,
            hashed_folders,
            rewritten: BTreeSet::new(),
            warnings,
        }
    }

    /// Adds paths whose bytes changed under the same name: they are never fingerprinted again.
    #[must_use]
    pub fn with_rewritten(mut self, rels: impl IntoIterator<Item = String>) -> Self {
        self.rewritten.extend(rels);
        self
    }

    /// Paths known to have changed bytes under one name.
    #[must_use]
    pub fn rewritten(&self) -> &BTreeSet<String> {
        &self.rewritten
    }

    /// Warnings about the build folder itself (stale fingerprinted variants left by old builds).
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The cache class of `rel` and why.
    #[must_use]
    pub fn verdict(&self, rel: &str) -> Verdict {
        if is_html(rel) {
            return Verdict::new(CacheClass::Revalidate, "HTML page");
        }
        if let Some(kind) = self.page_data(rel) {
            return Verdict::new(CacheClass::Revalidate, kind);
        }
        if self.rewritten.contains(rel) {
            return Verdict::new(
                CacheClass::Hour,
                "its bytes changed under this name in an earlier release, so the name is no \
                 fingerprint",
            );
        }
        match self.fingerprint(rel) {
            Some(evidence) => Verdict::new(CacheClass::Immutable, evidence),
            None => Verdict::new(CacheClass::Hour, "not fingerprinted"),
        }
    }

    /// The evidence that `rel` is fingerprinted, history aside: a bundler's output folder, a
    /// folder of hashed names, or a real hash in the name.
    #[must_use]
    pub fn fingerprint(&self, rel: &str) -> Option<String> {
        if let Some(framework) = self.bundler_folder(rel) {
            return Some(framework.to_owned());
        }
        let (folder, name) = split(rel);
        // In a hashed folder, a name with a hash-shaped segment of the folder's hash length is
        // fingerprinted whatever letters its hash has; a name without one (a `data.json` or an
        // `og-overview.png` copied in) is not.
        let hash_slot = |len: usize| segments(name, true).any(|s| s.len() == len && hash_shaped(s));
        if let Some(f) = self
            .hashed_folders
            .get(folder)
            .filter(|f| hash_slot(f.hash_len))
        {
            let shown = if folder.is_empty() { "/" } else { folder };
            return Some(format!(
                "hashed folder `{shown}` ({} of {} files carry a hash of {} characters)",
                f.hashed, f.files, f.hash_len
            ));
        }
        hash_in_name(name).map(|hash| format!("hash `{hash}` in the name"))
    }

    /// Whether an open page may still fetch `rel` after a deploy removed it: fingerprinted
    /// files, and scripts, styles, fonts, wasm and source maps whatever their names. HTML and
    /// page data are fetched fresh, so they never are.
    #[must_use]
    pub fn fetched_by_open_pages(&self, rel: &str) -> bool {
        if is_html(rel) || self.page_data(rel).is_some() {
            return false;
        }
        let (_, name) = split(rel);
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        matches!(
            ext.as_str(),
            "js" | "mjs"
                | "cjs"
                | "css"
                | "woff"
                | "woff2"
                | "ttf"
                | "otf"
                | "eot"
                | "wasm"
                | "map"
        ) || self.fingerprint(rel).is_some()
    }

    /// Per-build data that keeps its name: it must be revalidated like HTML.
    fn page_data(&self, rel: &str) -> Option<&'static str> {
        let (_, name) = split(rel);
        let kind = match name {
            "sw.js"
            | "service-worker.js"
            | "ngsw-worker.js"
            | "safety-worker.js"
            | "flutter_service_worker.js" => "service worker",
            "ngsw.json" => "Angular service worker manifest",
            "manifest.json" => "web app manifest",
            _ if name.ends_with(".webmanifest") => "web app manifest",
            "flutter_bootstrap.js" | "version.json" => "build version file",
            "_payload.json" => "Nuxt page payload",
            _ if rel == "hashmap.json" => "VitePress page map",
            _ if rel.starts_with("page-data/") => "Gatsby page-data/",
            _ if rel.starts_with("_nuxt/builds/") => "Nuxt build manifest",
            _ if self.markers.next
                && !rel.starts_with("_next/")
                && name.ends_with(".txt")
                && !WELL_KNOWN_TEXT.contains(&name) =>
            {
                "Next.js RSC payload"
            }
            _ => return None,
        };
        Some(kind)
    }

    /// The bundler whose output folder holds `rel`, when that folder holds only hashed names.
    fn bundler_folder(&self, rel: &str) -> Option<&'static str> {
        // At the root or below any folder (a build for a sub-path), never inside a name.
        let under = |dir: &str| {
            rel.match_indices(dir)
                .any(|(i, _)| i == 0 || rel.as_bytes()[i - 1] == b'/')
        };
        let m = self.markers;
        if under("_next/static/") {
            Some("Next.js _next/static/")
        } else if under("_app/immutable/") {
            Some("SvelteKit _app/immutable/")
        } else if under("_astro/") {
            Some("Astro _astro/")
        } else if under("_nuxt/") && !under("_nuxt/builds/") {
            Some("Nuxt _nuxt/")
        } else if m.gatsby && rel.starts_with("static/") {
            Some("Gatsby static/")
        } else if m.cra
            && ["static/js/", "static/css/", "static/media/"]
                .iter()
                .any(|d| rel.starts_with(d))
        {
            Some("Create React App static/")
        } else if m.docusaurus
            && [
                "assets/js/",
                "assets/css/",
                "assets/images/",
                "assets/files/",
            ]
            .iter()
            .any(|d| rel.starts_with(d))
        {
            Some("Docusaurus assets/")
        } else if m.angular
            && esbuild_hash(rel).is_some()
            && (rel.ends_with(".js") || rel.ends_with(".css"))
        {
            Some("Angular esbuild output")
        } else {
            None
        }
    }
}

/// The hash of a root file named like esbuild's output, `name-XXXXXXXX.ext`.
fn esbuild_hash(rel: &str) -> Option<&str> {
    let stem = rel.split('.').next().filter(|_| !rel.contains('/'))?;
    let (_, hash) = stem.rsplit_once('-')?;
    base32_of_8(hash).then_some(hash)
}

/// Eight characters of esbuild's base32 alphabet (`A-Z2-7`).
fn base32_of_8(s: &str) -> bool {
    s.len() == 8
        && s.bytes()
            .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c))
}

/// Text files with a meaning of their own, never Next.js RSC payloads.
const WELL_KNOWN_TEXT: [&str; 6] = [
    "robots.txt",
    "humans.txt",
    "ads.txt",
    "app-ads.txt",
    "security.txt",
    "llms.txt",
];

/// `(folder, name)`: the folder is `""` or ends in `/`.
fn split(rel: &str) -> (&str, &str) {
    match rel.rfind('/') {
        Some(i) => (&rel[..=i], &rel[i + 1..]),
        None => ("", rel),
    }
}

/// Whether `rel` is an HTML page.
#[must_use]
pub fn is_html(rel: &str) -> bool {
    rel.rsplit_once('.')
        .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case("html") || ext.eq_ignore_ascii_case("htm"))
}

/// Counts, for one folder, how many files carry a hash-shaped segment of each length.
#[derive(Debug, Default)]
struct FolderTally {
    files: usize,
    /// length -> (files with a hash-shaped segment of that length, of which a real hash)
    by_len: BTreeMap<usize, (usize, usize)>,
}

impl FolderTally {
    fn add(&mut self, name: &str) {
        self.files += 1;
        let mut seen = BTreeSet::new();
        for segment in segments(name, true).filter(|s| hash_shaped(s)) {
            if seen.insert(segment.len()) {
                let entry = self.by_len.entry(segment.len()).or_default();
                entry.0 += 1;
                entry.1 += usize::from(is_hash(segment));
            }
        }
    }

    /// A hashed folder: at least `MIN_FOLDER_FILES` files, all but one in ten carry a
    /// hash-shaped segment of one length, and at least half of those are real hashes by the
    /// strict name test (so a folder of `photo-Acme2024.png`-like names never qualifies).
    fn verdict(&self) -> Option<HashedFolder> {
        if self.files < MIN_FOLDER_FILES {
            return None;
        }
        let allowed_misses = self.files / 10;
        self.by_len
            .iter()
            .filter(|(_, (with, strict))| {
                *with + allowed_misses >= self.files && *strict * 2 >= *with
            })
            .max_by_key(|(_, (with, _))| *with)
            .map(|(len, (with, _))| HashedFolder {
                files: self.files,
                hashed: *with,
                hash_len: *len,
            })
    }
}

/// The parts of a file name that may hold a hash: the name without its extension, split at dots
/// (`main.3f2a1b9c.chunk.js`), and the tails after each `-` of its first part
/// (`index-BbXQDiXP.js`, whose hash may itself hold a `-`: `index-Cwq-3PKq.js`). With
/// `whole_first`, the first part itself counts too (bundlers name chunks by hash alone:
/// `_nuxt/BxY3kD0a.js`); the strict name test leaves it out, since `deadbeef.js` may be a name.
fn segments(name: &str, whole_first: bool) -> impl Iterator<Item = &str> {
    let stem = name.rsplit_once('.').map_or("", |(stem, _)| stem);
    let mut parts = stem.split('.');
    let first = parts.next().unwrap_or_default();
    let uuid = uuid_start(first);
    let tails = first
        .match_indices('-')
        .filter(move |(i, _)| *i > 0 && uuid.is_none_or(|u| *i < u))
        .map(move |(i, _)| &first[i + 1..]);
    whole_first
        .then_some(first)
        .into_iter()
        .chain(tails)
        .chain(parts)
        .filter(|s| !s.is_empty())
}

/// Where a UUID (`8-4-4-4-12` hex) ends `part`, if one does: its groups identify, they do not
/// hash content (`uploads/483f84f7-d833-4a12-b041-ea7e1ce48558.png` may be rewritten).
fn uuid_start(part: &str) -> Option<usize> {
    let start = part.len().checked_sub(36)?;
    let uuid = part.get(start..)?;
    let shaped = uuid.split('-').map(str::len).eq([8, 4, 4, 4, 12])
        && uuid.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit());
    (shaped && (start == 0 || part.as_bytes()[start - 1] == b'-')).then_some(start)
}

/// The hash in a file name, when one of its segments is a real content hash by the strict test.
#[must_use]
pub fn hash_in_name(name: &str) -> Option<&str> {
    segments(name, false).find(|s| is_hash(s))
}

fn is_hash_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The strict test: a segment that is a content hash and nothing else could be.
/// - lower-case hex of 8 or more characters with both digits and letters (`3f2a1b9c`; webpack,
///   Hugo's 64-character SHA-256);
/// - base64url of exactly 8 with upper and lower case mixed at random, not in words
///   (`BbXQDiXP`, `Cwq-3PKq`, `CN1xVJS-`; Rollup and Vite);
/// - base32 of exactly 8 with digits among the letters (`HFJ5L6PZ`; esbuild), not a code
///   like `SKU23456`.
///
/// Never a size, date or version (`1200x630`, `20240601`, `v20240601`, `2025Q4EN`), nor a word
/// (`overview`, `DataGrid`). All-digit and all-letter hashes fail it; folder evidence catches
/// them.
#[must_use]
pub fn is_hash(s: &str) -> bool {
    let b = s.as_bytes();
    if !(8..=64).contains(&b.len()) || !b.iter().all(|c| is_hash_char(*c)) || not_a_hash(s) {
        return false;
    }
    let digit = b.iter().any(u8::is_ascii_digit);
    let lower = b.iter().any(u8::is_ascii_lowercase);
    let upper = b.iter().any(u8::is_ascii_uppercase);
    let hex = b
        .iter()
        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c));
    // Rollup, Vite and esbuild hashes are 8 characters; longer mixed-case segments are words
    // joined by `-` or `_` far more often than hashes (`Product-Sheet-EN`).
    (hex && digit && lower)
        || (base32_of_8(s) && digit && runs(s) > 2)
        || (b.len() == 8 && lower && upper && !wordish(s))
}

/// The looser test the folder statistics use: a segment shaped like a hash, even one the strict
/// test cannot tell from a word (`BpbWysRd`, `33089946`, `0bts8xcjgykqh`). Alone it proves
/// nothing; a folder where nearly every name has one of the same length does.
fn hash_shaped(s: &str) -> bool {
    let b = s.as_bytes();
    if !(6..=64).contains(&b.len()) || !b.iter().all(|c| is_hash_char(*c)) || not_a_hash(s) {
        return false;
    }
    let letters_only = b
        .iter()
        .all(|c| c.is_ascii_alphabetic() || *c == b'-' || *c == b'_');
    let one_case = !b.iter().any(u8::is_ascii_uppercase) || !b.iter().any(u8::is_ascii_lowercase);
    !(letters_only && one_case)
}

/// Words and words with a number, not random letters: every capital starts a run of small
/// letters, and letters and digits alternate at most twice (`DataGrid`, `Acme2024`, `Web3Auth`;
/// not `BbXQDiXP`, `By2_1cv3`).
fn wordish(s: &str) -> bool {
    let b = s.as_bytes();
    let capitals_start_words = b
        .iter()
        .enumerate()
        .all(|(i, c)| !c.is_ascii_uppercase() || b.get(i + 1).is_some_and(u8::is_ascii_lowercase));
    capitals_start_words && runs(s) <= 3
}

/// How many runs of letters and of digits `s` has, `-` and `_` ending a run: `SKU23456` has 2,
/// `HFJ5L6PZ` 5. Names and codes have few; hashes alternate at random.
fn runs(s: &str) -> usize {
    s.split(['-', '_'])
        .map(|part| {
            let kinds = part.bytes().map(|c| c.is_ascii_digit());
            let changes = kinds
                .clone()
                .zip(kinds.skip(1))
                .filter(|(a, b)| a != b)
                .count();
            usize::from(!part.is_empty()) + changes
        })
        .sum()
}

/// Sizes, dates, versions and words, which look like hashes to a careless test.
fn not_a_hash(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
    // 1200x630, 1920x1080, 640x480@2x
    let dimension = s
        .split_once('x')
        .is_some_and(|(w, h)| digits(w) && digits(h.split('@').next().unwrap_or_default()));
    // v20240601, v1-2-3, 2024-06-01, 1_0_2
    let version = {
        let t = s.strip_prefix(['v', 'V']).unwrap_or(s);
        t.split(['-', '_']).all(digits)
    };
    // 2025Q4EN, 2024w23, 1999abc: a year with letters after it
    let dated = s.len() > 4
        && digits(&s[..4])
        && (s.starts_with("19") || s.starts_with("20"))
        && !s[4..]
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
    // Dark-RGB, Sheet-EN, hero_Large: every part a word or a number.
    let words = s.split(['-', '_']).all(|part| {
        let b = part.as_bytes();
        let tail_lower = b.iter().skip(1).all(u8::is_ascii_lowercase);
        b.is_empty()
            || digits(part)
            || (b.iter().all(u8::is_ascii_alphabetic)
                && (tail_lower || b.iter().all(u8::is_ascii_uppercase)))
    });
    dimension || version || dated || words
}

/// For a name carrying a full-length digest (32+ hex, what Hugo's `fingerprint` and asset
/// pipelines write; bundlers' short hashes legitimately repeat a base name), the name with the
/// digest taken out: two files with the same result are variants of one asset.
fn digest_variant(name: &str) -> Option<String> {
    let digest = segments(name, false).find(|s| s.len() >= 32 && is_hash(s))?;
    Some(name.replacen(digest, "*", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_hash_test() {
        let cases = [
            // Real hashes
            ("3f2a1b9c", true),
            ("a5f9d56c", true),
            ("BbXQDiXP", true),
            ("Cwq-3PKq", true),
            ("CN1xVJS-", true),
            ("By2_1cv3", true),
            ("HFJ5L6PZ", true),
            ("SKU23456", false),
            ("AB234567", false),
            (
                "9ccb028ece9975a4adef99aebc196ca0818144c775eaf7c4ce60329dc4fd7ff1",
                true,
            ),
            // Not hashes: sizes, dates, versions, words
            ("1200x630", false),
            ("1920x1080", false),
            ("20240601", false),
            ("v20240601", false),
            ("2025Q4EN", false),
            ("2024-06-01", false),
            ("overview", false),
            ("DataGrid", false),
            ("FEATURED", false),
            ("Acme2024", false),
            ("deadbeef", false),
            ("33089946", false),
            ("abc1234", false),
            ("Dark-RGB", false),
            ("Sheet-EN", false),
            ("hero_Big", false),
            ("Q4Results", false),
            ("ab-cdEFG", true),
        ];
        for (s, want) in cases {
            assert_eq!(is_hash(s), want, "is_hash({s})");
        }
    }

    #[test]
    fn hash_in_names() {
        // Names with a build's hash in them, and the hash.
        let hashed = [
            ("main.3f2a1b9c.js", "3f2a1b9c"),
            ("index-BkQx9_2a.js", "BkQx9_2a"),
            ("index-BbXQDiXP.js", "BbXQDiXP"),
            ("astro.Cwq-3PKq.svg", "Cwq-3PKq"),
            ("index-Cwq-3PKq.js", "Cwq-3PKq"),
            ("inter-italic-latin-ext.CN1xVJS-.woff2", "CN1xVJS-"),
            ("main.3f2a1b9c.chunk.js", "3f2a1b9c"),
            ("index-GpEN3EET.js.map", "GpEN3EET"),
            ("photo-ea7e1ce48558.png", "ea7e1ce48558"),
        ];
        for (name, hash) in hashed {
            assert_eq!(hash_in_name(name), Some(hash), "hash_in_name({name})");
        }
        // Sizes, dates, versions, words and UUIDs: no hash.
        let plain = [
            "og-image-1200x630.png",
            "hero-1920x1080.webp",
            "logo-v20240601.svg",
            "brochure-2025Q4EN.pdf",
            "report.20240101.pdf",
            "settings-overview.js",
            "jquery-3.6.0.min.js",
            "deadbeef.js",
            "LICENSE",
            "Product-Sheet-EN.pdf",
            "Logo-Dark-RGB.svg",
            "Team-Photo-NYC.jpg",
            "Annual-Report-Q3-2024.pdf",
            "chart-Q4Results.png",
            "release-notes-v2Beta.md",
            "og-1200x630-OG.png",
            "thumb-640x360-HD.jpg",
            "483f84f7-d833-4a12-b041-ea7e1ce48558.png",
            "photo-483f84f7-d833-4a12-b041-ea7e1ce48558.png",
        ];
        for name in plain {
            assert_eq!(hash_in_name(name), None, "hash_in_name({name})");
        }
    }

    #[test]
    fn folder_evidence_takes_every_file_of_a_hashed_folder() {
        let ev = Evidence::new([
            "assets/index-BpbWysRd.js", // word-like hash: the name alone says nothing
            "assets/index-BbXQDiXP.css",
            "assets/markdown.md.BpbWysRd.js",
            "assets/react-CHdo91hT.svg",
            "index.html",
            "img/photo-Acme2024.png",
            "img/team-Crew2025.png",
            "img/logo-Logo2023.png",
        ]);
        assert!(
            ev.fingerprint("assets/index-BpbWysRd.js")
                .is_some_and(|w| w.contains("hashed folder `assets/`")),
            "{:?}",
            ev.fingerprint("assets/index-BpbWysRd.js")
        );
        assert_eq!(ev.fingerprint("img/photo-Acme2024.png"), None);
        // A file without a hash in a hashed folder is not fingerprinted by the folder.
        let hashed = [
            "assets/a-BbXQDiXP.js",
            "assets/b-CN1xVJS-.js",
            "assets/c-GpEN3EET.js",
            "assets/d-D64VDMd1.css",
            "assets/e-CHdo91hT.svg",
            "assets/f-BF8QNONU.svg",
            "assets/g-Cwq-3PKq.svg",
            "assets/h-By2_1cv3.js",
            "assets/i-BpbWysRd.js",
            "assets/j-Z4q0qtJS.js",
        ];
        for plain in ["assets/data.json", "assets/settings.js"] {
            let ev = Evidence::new(hashed.iter().copied().chain([plain]));
            let word_like = ev.fingerprint("assets/i-BpbWysRd.js");
            assert!(
                word_like
                    .as_deref()
                    .is_some_and(|w| w.contains("hashed folder")),
                "{word_like:?}"
            );
            assert_eq!(ev.fingerprint(plain), None, "{plain}");
        }
        assert_eq!(ev.fingerprint("index.html"), None);
    }

    #[test]
    fn verdicts_with_reasons() {
        let ev = Evidence::new([
            "_next/static/chunks/0bts8xcjgykqh.js",
            "about.txt",
            "robots.txt",
            "_astro/index.Cwq-3PKq.css",
            "public/og-image-1200x630.png",
            "_app/version.json",
        ])
        .with_rewritten(["assets/app.3f2a1b9c.js".to_owned()]);
        let cases = [
            (
                "_next/static/chunks/0bts8xcjgykqh.js",
                "immutable: Next.js _next/static/",
            ),
            ("_astro/index.Cwq-3PKq.css", "immutable: Astro _astro/"),
            ("about.txt", "revalidate: Next.js RSC payload"),
            ("robots.txt", "1 hour: not fingerprinted"),
            ("_app/version.json", "revalidate: build version file"),
            ("public/og-image-1200x630.png", "1 hour: not fingerprinted"),
            (
                "assets/main.3f2a1b9c.js",
                "immutable: hash `3f2a1b9c` in the name",
            ),
            ("index.html", "revalidate: HTML page"),
        ];
        for (rel, want) in cases {
            assert_eq!(ev.verdict(rel).why, want, "{rel}");
        }
        // Angular's all-letter base32 hashes: evidence from its entry script's name.
        let angular = Evidence::new(["main-GWRIWUJ5.js", "styles-HFJLPZQX.css", "index.html"]);
        assert_eq!(
            angular.verdict("styles-HFJLPZQX.css").why,
            "immutable: Angular esbuild output"
        );
        assert_eq!(
            Evidence::new(["styles-HFJLPZQX.css", "index.html"])
                .verdict("styles-HFJLPZQX.css")
                .why,
            "1 hour: not fingerprinted"
        );
        assert!(
            ev.verdict("assets/app.3f2a1b9c.js")
                .why
                .starts_with("1 hour: its bytes changed")
        );
    }

    #[test]
    fn digest_variants_are_warned_about_but_bundler_chunks_are_not() {
        let ev = Evidence::new([
            "css/main.min.9ccb028ece9975a4adef99aebc196ca0818144c775eaf7c4ce60329dc4fd7ff1.css",
            "css/main.min.ef504efc940c5541e8a8586345363ead7ea607ff21cdc1e807ca82491d0e7592.css",
            "assets/index-BbXQDiXP.js",
            "assets/index-GpEN3EET.js",
        ]);
        assert_eq!(ev.warnings().len(), 1, "{:?}", ev.warnings());
        assert!(ev.warnings()[0].contains("2 fingerprinted variants of `main.min.*.css`"));
        assert!(ev.warnings()[0].contains("hugo --cleanDestinationDir"));
    }
}
