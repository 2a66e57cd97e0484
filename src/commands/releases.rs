//! `shipfront releases`: the release records, newest first, each compared with the bucket to say
//! which one is live.

use std::sync::Arc;

use crate::aws;
use crate::config::ReleasesConfig;
use crate::core::error::Result;
use crate::core::{objects, release, report};
use crate::run::{output, survey};
use crate::store::{Cdn, KeyValueStore};

/// Lists the release records, newest first; the newest is the live one.
pub(crate) async fn run(config: ReleasesConfig) -> Result<()> {
    let (sdk, store) = aws::connect(&config.site.bucket, &config.site.aws).await?;
    let pointer = match config
        .distribution_id
        .as_deref()
        .filter(|_| config.site.atomic)
    {
        Some(distribution) => {
            let cdn = aws::CloudFrontCdn::new(&sdk);
            let name = config.site.key_value_store_name(distribution);
            Some(pointer_view(&cdn, &name, |arn| aws::KvsStore::new(&sdk, arn)).await?)
        }
        None => None,
    };
    let store = Arc::new(store);
    let survey::Records {
        keys,
        newest,
        splits,
    } = survey::records(&*store, &config.site.state_prefix).await?;
    // The bucket says which release is live: the one whose versions are current. Its versions
    // are listed in ranges split at the newest record's keys, as a rollback lists them.
    let versions = if keys.is_empty() {
        std::collections::BTreeMap::new()
    } else {
        survey::versions_split(&store, &config.site.prefix, &splits).await?
    };
    let current = objects::current_of(&versions);
    // One record at a time: compared, counted, then its objects let go. The walk starts at the
    // newest, read already.
    let mut newest = Some(newest);
    let (mut records, mut compared) = (Vec::new(), Vec::new());
    for key in keys.iter().rev() {
        let record = match newest.take() {
            Some(record) => record,
            None => survey::read_record(&*store, key).await?,
        };
        compared.push(
            record
                .as_ref()
                .map(|r| release::Compared::with(r, &current)),
        );
        records.push(match record {
            Some(record) => {
                // An atomic release is restorable while its objects are all there.
                let missing = if record.atomic.is_some() {
                    let gone = record.objects.keys().filter(|k| !current.contains_key(*k));
                    gone.count()
                } else {
                    release::missing_versions(&record, &versions)
                };
                report::Listed::read(record, missing)
            }
            None => report::Listed::Unreadable {
                id: release::record_id(&config.site.state_prefix, key)
                    .unwrap_or(key)
                    .to_owned(),
            },
        });
    }
    let live = match &pointer {
        // An atomic site's live release is the one its pointer names, whatever the bucket holds.
        Some(pointer) => records.iter().position(|listed| match listed {
            report::Listed::Read { record, .. } => pointer.release.as_ref() == Some(&record.id),
            report::Listed::Unreadable { id } => pointer.release.as_ref() == Some(id),
        }),
        None => release::live_of(&compared, !current.is_empty()),
    };
    print(&config, &records, live, pointer.as_ref())
}

/// Prints the releases (newest first, `live` marked) as a table or as the `--json` document.
fn print(
    config: &ReleasesConfig,
    records: &[report::Listed],
    live: Option<usize>,
    pointer: Option<&report::PointerView>,
) -> Result<()> {
    let dir = release::releases_prefix(&config.site.state_prefix);
    output::to_stdout(|stdout| {
        if config.json {
            let document = report::ReleasesOutput {
                schema: report::JSON_SCHEMA,
                releases: records
                    .iter()
                    .enumerate()
                    .map(|(i, r)| report::ReleaseSummary::of(r, live == Some(i)))
                    .collect(),
                pointer,
            };
            serde_json::to_writer_pretty(&mut *stdout, &document)?;
            writeln!(stdout)
        } else if records.is_empty() {
            writeln!(
                stdout,
                "no releases recorded in s3://{}/{dir}: a deploy that changes something records \
                 one",
                config.site.bucket
            )
        } else {
            if let Some(pointer) = pointer {
                writeln!(stdout, "{pointer}")?;
            }
            writeln!(stdout, "{}", report::releases_table(records, live))
        }
    })
}

/// What the `live` key of KeyValueStore `name` holds, read through `open` (the data plane).
async fn pointer_view<C: Cdn, K: KeyValueStore>(
    cdn: &C,
    name: &str,
    open: impl FnOnce(&str) -> K,
) -> Result<report::PointerView> {
    let facts = crate::run::atomic::existing_store(cdn, name).await?;
    let (live, etag) = crate::run::atomic::pointer_and_etag(&open(&facts.arn)).await?;
    Ok(report::PointerView {
        key_value_store: name.to_owned(),
        release: live.map(|(_, pointer)| pointer.release),
        etag,
    })
}
