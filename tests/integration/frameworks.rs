//! Real framework output is the test: `testdata/frameworks/<name>/v1..v3.tsv` list the files of
//! builds made with each framework's own toolchain (default settings, a one-line source edit
//! between versions; `testdata/frameworks/README.md` says how). The expected headers below are
//! written from each framework's documented output layout, not from shipfront's rules, so a
//! wrong guess fails here. The emulator tests rebuild the folders with tiny bodies that differ
//! exactly where the real files differed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use globset::{Glob, GlobMatcher};
use shipfront::core::fingerprint::Evidence;
use shipfront::core::object_headers::HeaderPolicy;

use crate::harness::{Run, Site, World, repo_root};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "public, max-age=0, must-revalidate";
const HOUR: &str = "public, max-age=3600";

/// One file of a fixture build.
#[derive(Debug, Clone)]
struct Entry {
    path: String,
    md5: String,
}

/// A framework's builds, oldest first.
struct Fixture {
    name: String,
    versions: Vec<Vec<Entry>>,
}

fn fixtures() -> Vec<Fixture> {
    let root = repo_root().join("testdata/frameworks");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    names.sort();
    names.into_iter().map(|name| fixture(&root, name)).collect()
}

fn fixture(root: &Path, name: String) -> Fixture {
    let versions = (1..)
        .map(|v| root.join(&name).join(format!("v{v}.tsv")))
        .take_while(|p| p.exists())
        .map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|line| {
                    let cols: Vec<&str> = line.split('\t').collect();
                    assert_eq!(cols.len(), 3, "{name}: bad fixture line {line:?}");
                    Entry {
                        path: cols[0].to_owned(),
                        md5: cols[2].to_owned(),
                    }
                })
                .collect()
        })
        .collect::<Vec<Vec<Entry>>>();
    assert!(versions.len() >= 2, "{name}: needs at least v1 and v2");
    Fixture { name, versions }
}

/// What each framework's output needs, first match wins: `immutable` only where the framework
/// puts content hashes in names, `revalidate` for pages and per-build data, the hour for files
/// that keep their name (`public/` copies, feeds, sitemaps), `left out` for build-folder noise.
fn expectations(framework: &str) -> Vec<(&'static str, &'static str)> {
    let pages = ("**/*.html", "revalidate");
    let rest = ("**", "hour");
    let specific: Vec<(&str, &str)> = match framework {
        "vite-react" => vec![("assets/**", "immutable")],
        "vitepress" => vec![("hashmap.json", "revalidate"), ("assets/**", "immutable")],
        "astro" => vec![("_astro/**", "immutable")],
        "sveltekit" | "sveltekit-spa" => vec![
            ("_app/version.json", "revalidate"),
            ("_app/immutable/**", "immutable"),
        ],
        "next" => vec![("_next/static/**", "immutable"), ("**/*.txt", "revalidate")],
        "nuxt" => vec![
            ("**/_payload.json", "revalidate"),
            ("_nuxt/builds/**", "revalidate"),
            ("_nuxt/**", "immutable"),
        ],
        "docusaurus" => vec![(".nojekyll", "left out"), ("assets/**", "immutable")],
        "gatsby" => vec![
            ("page-data/**", "revalidate"),
            ("~partytown/**", "hour"),
            ("*-[0-9a-f]*.js", "immutable"),
            ("*-[0-9a-f]*.js.map", "immutable"),
            ("*-[0-9a-f]*.js.LICENSE.txt", "immutable"),
        ],
        "mkdocs-material" => vec![
            ("assets/javascripts/bundle.*", "immutable"),
            ("assets/javascripts/workers/search.*", "immutable"),
            ("assets/stylesheets/*.min.css*", "immutable"),
        ],
        "hugo" => vec![
            ("css/main.min.*.css", "immutable"),
            ("js/main.*.js", "immutable"),
        ],
        "angular" => vec![
            ("ngsw.json", "revalidate"),
            ("ngsw-worker.js", "revalidate"),
            ("safety-worker.js", "revalidate"),
            ("worker-basic.min.js", "hour"),
            ("manifest.webmanifest", "revalidate"),
            ("*-[A-Z0-9]*.js", "immutable"),
            ("*-[A-Z0-9]*.css", "immutable"),
        ],
        other => panic!("no expectations written for fixture `{other}`"),
    };
    std::iter::once(pages)
        .chain(specific)
        .chain([rest])
        .collect()
}

fn matchers(framework: &str) -> Vec<(GlobMatcher, &'static str)> {
    expectations(framework)
        .into_iter()
        .map(|(glob, class)| (Glob::new(glob).unwrap().compile_matcher(), class))
        .collect()
}

fn expected_class(matchers: &[(GlobMatcher, &'static str)], rel: &str) -> &'static str {
    matchers
        .iter()
        .find(|(m, _)| m.is_match(rel))
        .map(|(_, class)| *class)
        .unwrap()
}

fn cache_control(class: &str) -> &'static str {
    match class {
        "immutable" => IMMUTABLE,
        "revalidate" => REVALIDATE,
        "hour" => HOUR,
        other => panic!("no Cache-Control for `{other}`"),
    }
}

/// The Content-Type each extension in the fixtures must get.
fn expected_content_type(rel: &str) -> &'static str {
    let name = rel.rsplit('/').next().unwrap();
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "xml" | "xsl" => "text/xml; charset=utf-8",
        "svg" => "image/svg+xml; charset=utf-8",
        "webmanifest" => "application/manifest+json; charset=utf-8",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "gz" => "application/gzip",
        other => panic!("no expected Content-Type for `.{other}` ({rel})"),
    }
}

/// Whether a page open before a deploy may still fetch this file: fingerprinted files, and
/// scripts, styles, fonts and source maps whatever their names (the version-skew promise).
fn fetched_by_open_pages(class: &str, rel: &str) -> bool {
    let ext = rel.rsplit_once('.').map_or("", |(_, e)| e);
    class == "immutable"
        || (class != "revalidate"
            && matches!(
                ext,
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
            ))
}

#[test]
fn every_file_of_every_framework_fixture_gets_the_expected_headers() {
    let policy = HeaderPolicy::default();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for fixture in fixtures() {
        let matchers = matchers(&fixture.name);
        for (v, files) in fixture.versions.iter().enumerate() {
            let evidence = Evidence::new(files.iter().map(|e| e.path.as_str()));
            for entry in files {
                let class = expected_class(&matchers, &entry.path);
                if class == "left out" {
                    continue;
                }
                let got = policy.headers_for(&entry.path, &evidence);
                let want = (expected_content_type(&entry.path), cache_control(class));
                if (got.content_type.as_str(), got.cache_control.as_str()) != want {
                    wrong.push(format!(
                        "{}/v{} {}: got {} / {} ({}), want {} / {}",
                        fixture.name,
                        v + 1,
                        entry.path,
                        got.content_type,
                        got.cache_control,
                        got.reason,
                        want.0,
                        want.1
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(checked > 1000, "only {checked} files checked");
}

#[test]
fn names_with_sizes_dates_and_versions_are_never_immutable() {
    let names = [
        "og-image-1200x630.png",
        "hero-1920x1080.webp",
        "logo-v20240601.svg",
        "brochure-2025Q4EN.pdf",
        "report.20240101.pdf",
        "banner-640x480@2x.png",
        "photo-2024-06-01.jpg",
        "changelog-v1.2.3.html",
        "app-v2_1_0.zip",
        "jquery-3.6.0.min.js",
        "team-Acme2024.png",
        "icon-DataGrid.svg",
        "logo-FEATURED.png",
        "release-notes.2025Q1.pdf",
        "Product-Sheet-EN.pdf",
        "Logo-Dark-RGB.svg",
        "Team-Photo-NYC.jpg",
        "Annual-Report-Q3-2024.pdf",
        "chart-Q4Results.png",
        "release-notes-v2Beta.md",
        "og-1200x630-OG.png",
        "thumb-640x360-HD.jpg",
        "hero_Large.webp",
        "favicon-32x32.png",
        "android-chrome-192x192.png",
        "Screenshot-2024-06-01-at-12.34.56.png",
        "IMG_20240601_123456.jpg",
        "483f84f7-d833-4a12-b041-ea7e1ce48558.png",
        "OpenSans-SemiBoldItalic.woff2",
        "KaTeX_Main-Regular.woff2",
        "btn-PlayNow1.svg",
        "logo-AcmeCorp.svg",
    ];
    // Alone, and all together in one folder (so folder statistics cannot be fooled either).
    let together: Vec<String> = names.iter().map(|n| format!("media/{n}")).collect();
    let evidence = Evidence::new(together.iter().map(String::as_str));
    let policy = HeaderPolicy::default();
    for name in names {
        let alone = policy.headers_for(name, &Evidence::new([name]));
        let in_folder = policy.headers_for(&format!("media/{name}"), &evidence);
        for h in [alone, in_folder] {
            assert_ne!(h.cache_control, IMMUTABLE, "{name}: {}", h.reason);
        }
    }
}

/// A file copied into a real hashed folder (Vite copies `public/assets/` into `dist/assets/`)
/// has no hash: the folder's evidence does not cover it.
#[test]
fn a_file_without_a_hash_in_a_hashed_folder_is_not_immutable() {
    let vite = fixtures()
        .into_iter()
        .find(|f| f.name == "vite-react")
        .unwrap();
    let policy = HeaderPolicy::default();
    for extra in [
        "assets/data.json",
        "assets/og-overview.png",
        "assets/settings.js",
    ] {
        let mut rels: Vec<&str> = vite.versions[0].iter().map(|e| e.path.as_str()).collect();
        rels.push(extra);
        let evidence = Evidence::new(rels.iter().copied());
        let h = policy.headers_for(extra, &evidence);
        assert_eq!(h.cache_control, HOUR, "{extra}: {}", h.reason);
        let bundle = policy.headers_for("assets/index-GpEN3EET.js", &evidence);
        assert_eq!(bundle.cache_control, IMMUTABLE, "{}", bundle.reason);
    }
}

#[test]
fn only_a_build_folder_with_old_builds_left_in_it_gets_the_stale_variants_warning() {
    for fixture in fixtures() {
        for (v, files) in fixture.versions.iter().enumerate() {
            let evidence = Evidence::new(files.iter().map(|e| e.path.as_str()));
            // Hugo's v2 and v3 were built into the v1 folder, as `hugo` does by default; v3's
            // CSS edit left the old stylesheet beside the new one.
            let want = fixture.name == "hugo" && v == 2;
            assert_eq!(
                !evidence.warnings().is_empty(),
                want,
                "{}/v{}: {:?}",
                fixture.name,
                v + 1,
                evidence.warnings()
            );
            if want {
                assert!(evidence.warnings()[0].contains("hugo --cleanDestinationDir"));
            }
        }
    }
}

/// Writes a fixture version as a build folder: tiny bodies, equal exactly where the real files
/// were equal.
fn build(files: &[Entry]) -> Site {
    let site = Site::new();
    for e in files {
        site.file(&e.path, format!("{}\n{}\n", e.path, e.md5));
    }
    site
}

/// Deploys `site` (without progress lines) and checks it succeeded.
fn deploy(world: &World, site: &Site) -> Run {
    world
        .shipfront("deploy")
        .site(site)
        .args(&["--no-progress"])
        .ok()
}

/// v1 -> v2 -> v3 of every framework on the emulator, then v3 again:
/// - after each deploy the bucket holds the build, with the expected headers;
/// - every file of the previous release that an open page may fetch is still there; HTML and
///   page data of the previous release are gone at once;
/// - files whose grace ended (left the tree two releases ago) are gone;
/// - redeploying the identical build writes nothing: no object version, no record.
#[test]
fn successive_framework_builds_keep_what_open_pages_fetch_and_redeploys_write_nothing() {
    for fixture in fixtures() {
        let world = World::new(&format!("fw-{}", fixture.name));
        let matchers = matchers(&fixture.name);
        let class = |rel: &str| expected_class(&matchers, rel);
        let mut history: Vec<BTreeSet<String>> = Vec::new();
        for (v, files) in fixture.versions.iter().enumerate() {
            let site = build(files);
            deploy(&world, &site);
            let now = world.objects();
            let tree: BTreeSet<String> = files
                .iter()
                .map(|e| e.path.clone())
                .filter(|p| class(p) != "left out")
                .collect();
            for path in &tree {
                assert!(
                    now.contains_key(path),
                    "{}/v{}: {path} missing",
                    fixture.name,
                    v + 1
                );
            }
            let label = format!("{}/v{}", fixture.name, v + 1);
            if let Some(previous) = history.last() {
                for path in previous.difference(&tree) {
                    let kept = now.contains_key(path);
                    let open_pages = fetched_by_open_pages(class(path), path);
                    assert_eq!(kept, open_pages, "{label}: previous release's {path}");
                }
            }
            if history.len() >= 2 {
                let before_previous = &history[history.len() - 2];
                for path in before_previous.difference(&history[history.len() - 1]) {
                    if !tree.contains(path) {
                        assert!(!now.contains_key(path), "{label}: grace of {path} ended");
                    }
                }
            }
            history.push(tree);
        }
        // The headers S3 holds for the last build.
        let last = history.last().unwrap();
        for path in last {
            let (ctype, cache) = world.headers(path);
            let want = (expected_content_type(path), cache_control(class(path)));
            assert_eq!(
                (ctype.as_str(), cache.as_str()),
                want,
                "{}: {path}",
                fixture.name
            );
        }
        // A CI re-run of the same build: nothing written, the grace not used up.
        let versions = world.version_count();
        let objects = world.all_objects();
        let site = build(fixture.versions.last().unwrap());
        let run = deploy(&world, &site);
        assert!(
            !run.stdout.contains("release "),
            "{}: {}",
            fixture.name,
            run.stdout
        );
        assert_eq!(
            world.version_count(),
            versions,
            "{}: new versions",
            fixture.name
        );
        assert_eq!(
            world.all_objects(),
            objects,
            "{}: objects changed",
            fixture.name
        );
    }
}

/// Counts lines of `testdata/frameworks/*/v*.tsv`, so the fixtures stay small.
#[test]
fn framework_fixtures_stay_small() {
    let mut lines = BTreeMap::new();
    for f in fixtures() {
        let n: usize = f.versions.iter().map(Vec::len).sum();
        lines.insert(f.name.clone(), n);
        assert!(n < 2000, "{}: {n} lines", f.name);
    }
    assert!(lines.len() >= 8, "{lines:?}");
}
