//! `shipfront init`: writes a commented `shipfront.toml` and, with `--github`, the deploy and
//! rollback workflows, so a new project starts from settings that work and explain themselves.
//! Rendering is pure; `run` refuses to overwrite anything unless told to.

use std::path::{Path, PathBuf};

use crate::cli::InitArgs;
use crate::config::DEFAULT_CONFIG_FILE;
use crate::core::error::{Error, Result};

const CONFIG_TEMPLATE: &str = include_str!("templates/shipfront.toml");
const DEPLOY_WORKFLOW: &str = include_str!("templates/deploy.yml");
const ROLLBACK_WORKFLOW: &str = include_str!("templates/rollback.yml");
const PREVIEW_WORKFLOW: &str = include_str!("templates/preview.yml");

/// Where the workflows go, relative to the project.
pub(crate) const WORKFLOWS_DIR: &str = ".github/workflows";

/// The action the workflows use: this repository, at this version's tag.
pub(crate) const ACTION: &str = concat!("shipfront/shipfront@v", env!("CARGO_PKG_VERSION"));

/// Placeholder values for what `init` was not told.
const EXAMPLE_BUCKET: &str = "www-example-com";
const EXAMPLE_DISTRIBUTION: &str = "E2EXAMPLE";
const EXAMPLE_ROLE: &str = "arn:aws:iam::123456789012:role/shipfront-deploy";
const EXAMPLE_REGION: &str = "us-east-1";

/// What `init` knows about the project.
#[derive(Debug, Clone, Default)]
pub(crate) struct Answers {
    pub(crate) bucket: Option<String>,
    pub(crate) distribution_id: Option<String>,
    pub(crate) dir: String,
    pub(crate) region: Option<String>,
    pub(crate) role_arn: Option<String>,
    /// Atomic releases (`--atomic`).
    pub(crate) atomic: bool,
}

/// The files `init` writes: path relative to the project, and content.
#[must_use]
pub(crate) fn render(answers: &Answers, github: bool) -> Vec<(PathBuf, String)> {
    let setting = |key: &str, value: Option<&String>, example: &str, why: &str| match value {
        Some(v) => format!("{key} = {}", toml_string(v)),
        None => format!("# {key} = \"{example}\"   # {why}"),
    };
    let atomic = if answers.atomic {
        "atomic = true"
    } else {
        "# atomic = true"
    };
    let previews = if answers.atomic {
        "preview_domain = \"preview.example.com\"   # the distribution serves *.preview.example.com"
    } else {
        "# preview_domain = \"preview.example.com\""
    };
    let config = CONFIG_TEMPLATE
        .replace("{{atomic}}", atomic)
        .replace("{{preview_domain}}", previews)
        .replace(
            "{{bucket}}",
            &setting(
                "bucket",
                answers.bucket.as_ref(),
                EXAMPLE_BUCKET,
                "required here or as --bucket",
            ),
        )
        .replace(
            "{{distribution_id}}",
            &setting(
                "distribution_id",
                answers.distribution_id.as_ref(),
                EXAMPLE_DISTRIBUTION,
                "optional",
            ),
        );
    let mut files = vec![(PathBuf::from(DEFAULT_CONFIG_FILE), config)];
    if github {
        let workflow = |template: &str| {
            template
                .replace("{{action}}", ACTION)
                .replace("{{dir}}", &answers.dir)
                .replace(
                    "{{bucket}}",
                    answers.bucket.as_deref().unwrap_or(EXAMPLE_BUCKET),
                )
                .replace(
                    "{{distribution_id}}",
                    answers
                        .distribution_id
                        .as_deref()
                        .unwrap_or(EXAMPLE_DISTRIBUTION),
                )
                .replace(
                    "{{region}}",
                    answers.region.as_deref().unwrap_or(EXAMPLE_REGION),
                )
                .replace(
                    "{{role_arn}}",
                    answers.role_arn.as_deref().unwrap_or(EXAMPLE_ROLE),
                )
        };
        let dir = Path::new(WORKFLOWS_DIR);
        files.push((dir.join("deploy.yml"), workflow(DEPLOY_WORKFLOW)));
        files.push((dir.join("rollback.yml"), workflow(ROLLBACK_WORKFLOW)));
        // Previews are releases of an atomic site.
        if answers.atomic {
            files.push((dir.join("preview.yml"), workflow(PREVIEW_WORKFLOW)));
        }
    }
    files
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Values that end up in YAML or TOML unquoted must be plain names.
fn check_plain(flag: &str, value: Option<&String>) -> Result<()> {
    match value {
        Some(v)
            if v.is_empty()
                || !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:/@".contains(c)) =>
        {
            Err(Error::Usage(format!(
                "invalid {flag} `{v}`: use letters, digits and - _ . : / @ only"
            )))
        }
        _ => Ok(()),
    }
}

/// Writes the files into the working directory. Refuses, before writing anything, when one
/// exists (unless `--force`).
pub(crate) fn run(args: InitArgs) -> Result<()> {
    for (flag, value) in [
        ("--bucket", args.bucket.as_ref()),
        ("--distribution-id", args.distribution_id.as_ref()),
        ("--dir", Some(&args.dir)),
        ("--region", args.region.as_ref()),
        ("--role-arn", args.role_arn.as_ref()),
    ] {
        check_plain(flag, value)?;
    }
    let answers = Answers {
        bucket: args.bucket,
        distribution_id: args.distribution_id,
        dir: args.dir.trim_end_matches('/').to_owned(),
        region: args.region,
        role_arn: args.role_arn,
        atomic: args.atomic,
    };
    let files = render(&answers, args.github);
    if !args.force {
        let existing: Vec<String> = files
            .iter()
            .filter(|(path, _)| path.exists())
            .map(|(path, _)| path.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(Error::Usage(format!(
                "{} already exist{}: nothing was written; pass --force to overwrite",
                existing.join(", "),
                if existing.len() == 1 { "s" } else { "" }
            )));
        }
    }
    for (path, content) in &files {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| Error::WriteFailed {
                path: parent.to_owned(),
                source,
            })?;
        }
        std::fs::write(path, content).map_err(|source| Error::WriteFailed {
            path: path.clone(),
            source,
        })?;
        crate::run::output::line(&format!("wrote {}", path.display()));
    }
    crate::run::output::line(&format!(
        "next: fill in what is commented out in {DEFAULT_CONFIG_FILE}, then run \
         `shipfront doctor` and `shipfront deploy {} --dry-run`",
        answers.dir
    ));
    if args.github {
        crate::run::output::line(
            "in the workflows, set role-to-assume to a role GitHub's OIDC provider may assume \
             (the README's IAM section lists what it needs)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_parses_with_and_without_answers() {
        for answers in [
            Answers {
                dir: "dist".into(),
                ..Answers::default()
            },
            Answers {
                bucket: Some("my-site".into()),
                distribution_id: Some("E123".into()),
                dir: "build".into(),
                atomic: true,
                ..Answers::default()
            },
        ] {
            let files = render(&answers, false);
            assert_eq!(files.len(), 1);
            let parsed = crate::config::parse_file(Path::new("shipfront.toml"), &files[0].1)
                .unwrap_or_else(|e| panic!("{e}\n{}", files[0].1));
            assert_eq!(parsed.bucket, answers.bucket);
            assert_eq!(parsed.distribution_id, answers.distribution_id);
            assert_eq!(parsed.deploy.max_deletes, Some(256));
            assert_eq!(parsed.atomic, answers.atomic.then_some(true));
        }
    }

    #[test]
    fn workflows_carry_the_answers_and_no_placeholder() {
        let files = render(
            &Answers {
                bucket: Some("my-site".into()),
                dir: "public".into(),
                ..Answers::default()
            },
            true,
        );
        let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
        assert_eq!(
            names,
            [
                "shipfront.toml",
                ".github/workflows/deploy.yml",
                ".github/workflows/rollback.yml"
            ]
        );
        for (path, text) in &files {
            let without_expressions = text.replace("${{", "");
            assert!(
                !without_expressions.contains("{{"),
                "{} keeps a placeholder:\n{text}",
                path.display()
            );
        }
        let deploy = &files[1].1;
        assert!(deploy.contains("bucket: my-site"), "{deploy}");
        assert!(deploy.contains("dir: public"), "{deploy}");
        assert!(deploy.contains(&format!("uses: {ACTION}")), "{deploy}");
        assert!(deploy.contains("id-token: write"), "{deploy}");
        assert!(files[2].1.contains("command: rollback"));
    }

    #[test]
    fn the_readme_shows_the_workflows_init_writes() {
        let readme = include_str!("../../README.md");
        let files = render(
            &Answers {
                dir: "dist".into(),
                atomic: true,
                ..Answers::default()
            },
            true,
        );
        assert_eq!(files.len(), 4, "the preview workflow with --atomic");
        for (path, text) in &files[1..] {
            assert!(
                readme.contains(&format!("```yaml\n{text}```")),
                "README.md lacks {} as `shipfront init --github` writes it",
                path.display()
            );
        }
    }

    #[test]
    fn values_that_would_break_the_files_are_refused() {
        for (value, ok) in [
            ("my-site", true),
            ("arn:aws:iam::1:role/x", true),
            ("a\"b", false),
            ("a b", false),
            ("x\ny", false),
            ("", false),
        ] {
            assert_eq!(
                check_plain("--bucket", Some(&value.to_owned())).is_ok(),
                ok,
                "{value:?}"
            );
        }
    }
}
