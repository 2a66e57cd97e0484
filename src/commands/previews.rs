//! `shipfront previews`: an atomic site's previews, from their entries in the bucket (name,
//! release, age, URL); `remove NAME` deletes a preview's KeyValueStore key, then its entry, so
//! its release is no longer kept for it; `prune --older-than AGE` removes those unchanged for
//! that long.

use std::time::SystemTime;

use serde::Serialize;

use crate::aws;
use crate::config::{PreviewsAction, PreviewsConfig};
use crate::core::error::{Error, Result};
use crate::core::preview::{self, Entry};
use crate::run::{atomic, output, previews, switch};
use crate::store::{KeyValueStore, ObjectStore};

/// One preview as listed.
#[derive(Debug, Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    entry: &'a Entry,
    /// Whole days since it last changed.
    age_days: u64,
}

/// The `--json` document: the previews listed, or those removed.
#[derive(Debug, Serialize)]
struct PreviewsOutput<'a> {
    schema: u32,
    previews: Vec<Listed<'a>>,
    /// The previews removed (or, in a dry run, that would be).
    #[serde(skip_serializing_if = "Option::is_none")]
    removed: Option<Vec<&'a str>>,
    dry_run: bool,
}

/// Runs `shipfront previews`.
pub(crate) async fn run(config: PreviewsConfig) -> Result<()> {
    let (sdk, store) = aws::connect(&config.site.bucket, &config.site.aws).await?;
    let entries = previews::entries(&store, &config.site.state_prefix).await?;
    let now = SystemTime::now();
    let going: Vec<&Entry> = match &config.action {
        PreviewsAction::List => return print(&config, &entries, None, now),
        PreviewsAction::Remove(name) => vec![named(&entries, name)?],
        PreviewsAction::Prune(age) => entries.iter().filter(|e| age_of(e, now) > *age).collect(),
    };
    if !config.dry_run && !going.is_empty() {
        let distribution = config.distribution_id.as_deref().unwrap_or_default();
        let cdn = aws::CloudFrontCdn::new(&sdk);
        let name = config.site.key_value_store_name(distribution);
        let facts = atomic::existing_store(&cdn, &name).await?;
        let kvs = aws::KvsStore::new(&sdk, &facts.arn);
        remove(&store, &kvs, &config.site.state_prefix, &going).await?;
    }
    let names: Vec<&str> = going.iter().map(|e| e.name.as_str()).collect();
    print(&config, &entries, Some(&names), now)
}

/// The entry of preview `name`, or why there is none.
fn named<'e>(entries: &'e [Entry], name: &str) -> Result<&'e Entry> {
    entries.iter().find(|e| e.name == name).ok_or_else(|| {
        Error::Usage(format!(
            "there is no preview `{name}`: `shipfront previews` lists them"
        ))
    })
}

/// How long ago `entry` last changed.
fn age_of(entry: &Entry, now: SystemTime) -> std::time::Duration {
    humantime::parse_rfc3339(&entry.time)
        .ok()
        .and_then(|t| now.duration_since(t).ok())
        .unwrap_or_default()
}

/// Removes each preview of `going`: its KeyValueStore key first (it is then served no more),
/// then its entry (its release is then no longer kept for it; the next deploy's retention
/// prunes it unless it is kept by count).
async fn remove<S: ObjectStore, K: KeyValueStore>(
    store: &S,
    kvs: &K,
    state_prefix: &str,
    going: &[&Entry],
) -> Result<()> {
    let keys: Vec<String> = going.iter().map(|e| preview::key(&e.name)).collect();
    switch::delete_keys(kvs, &keys).await?;
    for entry in going {
        previews::delete_entry(store, state_prefix, &entry.name).await?;
    }
    Ok(())
}

/// Prints the previews (or, with `removed`, what went) as a table or as JSON.
fn print(
    config: &PreviewsConfig,
    entries: &[Entry],
    removed: Option<&[&str]>,
    now: SystemTime,
) -> Result<()> {
    let days = |e: &Entry| age_of(e, now).as_secs() / 86_400;
    output::to_stdout(|stdout| {
        if config.json {
            let document = PreviewsOutput {
                schema: crate::core::report::JSON_SCHEMA,
                previews: entries
                    .iter()
                    .filter(|e| removed.is_none_or(|r| !r.contains(&e.name.as_str())))
                    .map(|entry| Listed {
                        entry,
                        age_days: days(entry),
                    })
                    .collect(),
                removed: removed.map(<[&str]>::to_vec),
                dry_run: config.dry_run,
            };
            serde_json::to_writer_pretty(&mut *stdout, &document)?;
            return writeln!(stdout);
        }
        if let Some(removed) = removed {
            let verb = if config.dry_run {
                "would remove"
            } else {
                "removed"
            };
            return match removed {
                [] => writeln!(stdout, "no preview to remove"),
                names => writeln!(stdout, "{verb} preview(s): {}", names.join(", ")),
            };
        }
        if entries.is_empty() {
            return writeln!(
                stdout,
                "no previews: `shipfront deploy DIR --preview NAME` makes one"
            );
        }
        let width = entries
            .iter()
            .map(|e| e.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            stdout,
            "{:width$}  {:27}  {:>4}  URL",
            "NAME", "RELEASE", "DAYS"
        )?;
        for entry in entries {
            writeln!(
                stdout,
                "{:width$}  {:27}  {:>4}  {}",
                entry.name,
                entry.release,
                days(entry),
                entry.url
            )?;
        }
        Ok(())
    })
}
