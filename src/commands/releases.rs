//! `shipfront releases`: the release records, newest first, each compared with the bucket to say
//! which one is live.

use std::sync::Arc;

use crate::aws;
use crate::config::ReleasesConfig;
use crate::core::error::Result;
use crate::core::{objects, release, report};
use crate::run::{output, survey};

/// Lists the release records, newest first; the newest is the live one.
pub(crate) async fn run(config: ReleasesConfig) -> Result<()> {
    let (_, store) = aws::connect(&config.site.bucket, &config.site.aws).await?;
    let store = Arc::new(store);
    let dir = release::releases_prefix(&config.site.state_prefix);
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
                let missing = release::missing_versions(&record, &versions);
                report::Listed::read(record, missing)
            }
            None => report::Listed::Unreadable {
                id: release::record_id(&config.site.state_prefix, key)
                    .unwrap_or(key)
                    .to_owned(),
            },
        });
    }
    let live = release::live_of(&compared, !current.is_empty());
    output::to_stdout(|stdout| {
        if config.json {
            let document = report::ReleasesOutput {
                schema: report::JSON_SCHEMA,
                releases: records
                    .iter()
                    .enumerate()
                    .map(|(i, r)| report::ReleaseSummary::of(r, live == Some(i)))
                    .collect(),
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
            writeln!(stdout, "{}", report::releases_table(&records, live))
        }
    })
}
