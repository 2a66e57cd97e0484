//! Preview deploys of an atomic site (`deploy --preview NAME`), decided purely: a preview is a
//! release that `live` does not point at; the KeyValueStore key `p/NAME` does, and the routing
//! function serves it on the host `NAME.<preview_domain>`. Its name is checked as a DNS label
//! before any write; its entry in the bucket's state says which release it shows, since when,
//! and keeps that release from retention.

use serde::{Deserialize, Serialize};

/// The KVS keys of previews start with this; the rest is the preview's name.
pub const KEY_PREFIX: &str = "p/";

/// The folder of preview entries under the state prefix.
pub const ENTRIES_DIR: &str = "previews/";

/// The KVS key that points at what preview `name` shows.
#[must_use]
pub fn key(name: &str) -> String {
    format!("{KEY_PREFIX}{name}")
}

/// The address preview `name` is served at.
#[must_use]
pub fn url(name: &str, domain: &str) -> String {
    format!("https://{name}.{domain}/")
}

/// The key of preview `name`'s entry under `state_prefix`.
#[must_use]
pub fn entry_key(state_prefix: &str, name: &str) -> String {
    format!("{state_prefix}{ENTRIES_DIR}{name}.json")
}

/// The name of the preview whose entry is at `key`, if it is one.
#[must_use]
pub fn entry_name<'k>(state_prefix: &str, key: &'k str) -> Option<&'k str> {
    key.strip_prefix(state_prefix)?
        .strip_prefix(ENTRIES_DIR)?
        .strip_suffix(".json")
        .filter(|name| check_name(name).is_ok())
}

/// What the bucket keeps of a preview: which release it shows, since when, where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub release: String,
    /// RFC 3339 UTC, when the preview last changed.
    pub time: String,
    pub url: String,
}

/// `name` when it is a DNS label a preview host can start with: 1 to 63 lower-case letters,
/// digits and `-`, neither first nor last a `-`; else why not.
///
/// # Errors
/// What is wrong with the name, and how to make it right.
pub fn check_name(name: &str) -> Result<&str, String> {
    if name.is_empty() || name.len() > 63 {
        return Err(format!(
            "a preview name is a DNS label of 1 to 63 characters; `{name}` has {}",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        let hint = if c.is_ascii_uppercase() {
            format!(" (try `{}`)", name.to_ascii_lowercase())
        } else {
            String::new()
        };
        return Err(format!(
            "`{name}` is not a DNS label: `{}` is not allowed, only a-z, 0-9 and `-`{hint}",
            c.escape_default()
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(format!(
            "`{name}` is not a DNS label: it may not start or end with `-`"
        ));
    }
    Ok(name)
}

/// `domain` when previews can be served under it (`preview.example.com`): a DNS name of
/// labels as `check_name` wants them, at least two, no wildcard, no trailing dot, at most 190
/// characters so `NAME.` fits before it; else why not.
///
/// # Errors
/// What is wrong with the domain.
pub fn check_domain(domain: &str) -> Result<&str, String> {
    let why = |what: &str| format!("preview_domain `{domain}`: {what}");
    if domain.len() > 190 {
        return Err(why(
            "at most 190 characters, so a preview's name fits before it",
        ));
    }
    if domain.starts_with("*.") {
        return Err(why(
            "name the domain itself (`preview.example.com`); the distribution's alternate \
             name is the wildcard `*.preview.example.com`",
        ));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(why(
            "a domain of at least two labels, e.g. `preview.example.com`",
        ));
    }
    for label in labels {
        check_name(label).map_err(|e| why(&e))?;
    }
    Ok(domain)
}

/// Whether the preview `name` fits on `domain` (a host name is at most 253 characters).
///
/// # Errors
/// When `NAME.domain` is too long.
pub fn check_host(name: &str, domain: &str) -> Result<String, String> {
    let host = format!("{name}.{domain}");
    if host.len() > 253 {
        return Err(format!(
            "`{host}` is longer than a host name may be (253 characters)"
        ));
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_names_are_dns_labels() {
        let long = "a".repeat(63);
        let too_long = "a".repeat(64);
        let cases: [(&str, bool); 12] = [
            ("pr-123", true),
            ("a", true),
            ("0", true),
            (&long, true),
            (&too_long, false),
            ("", false),
            ("PR-1", false),
            ("pr_1", false),
            ("-pr", false),
            ("pr-", false),
            ("pr.1", false),
            ("feature/x", false),
        ];
        for (name, fine) in cases {
            assert_eq!(check_name(name).is_ok(), fine, "{name:?}");
        }
        assert!(check_name("PR-1").unwrap_err().contains("try `pr-1`"));
    }

    #[test]
    fn preview_domains_are_dns_names_without_wildcards() {
        let cases = [
            ("preview.example.com", true),
            ("example.com", true),
            ("com", false),
            ("*.preview.example.com", false),
            ("preview.example.com.", false),
            ("Preview.example.com", false),
            ("pre_view.example.com", false),
            ("", false),
        ];
        for (domain, fine) in cases {
            assert_eq!(check_domain(domain).is_ok(), fine, "{domain:?}");
        }
        assert!(check_domain("*.x.com").unwrap_err().contains("wildcard"));
        let name = "a".repeat(63);
        let domain = format!(
            "{}.{}.{}.com",
            "b".repeat(62),
            "c".repeat(62),
            "d".repeat(60)
        );
        assert_eq!(domain.len(), 190);
        assert!(check_domain(&domain).is_ok());
        assert!(check_host(&name, &domain).is_err());
        assert_eq!(
            check_host("pr-1", "p.example.com").unwrap(),
            "pr-1.p.example.com"
        );
    }

    #[test]
    fn entries_are_named_by_their_key() {
        let key = entry_key(".shipfront/", "pr-7");
        assert_eq!(key, ".shipfront/previews/pr-7.json");
        assert_eq!(entry_name(".shipfront/", &key), Some("pr-7"));
        assert_eq!(
            entry_name(".shipfront/", ".shipfront/previews/Bad.json"),
            None
        );
        assert_eq!(
            entry_name(".shipfront/", ".shipfront/releases/x.json"),
            None
        );
        assert_eq!(self::key("pr-7"), "p/pr-7");
        assert_eq!(
            url("pr-7", "preview.example.com"),
            "https://pr-7.preview.example.com/"
        );
    }
}
