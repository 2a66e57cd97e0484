//! The commands, one file each: thin scripts over `run` (which does the shared IO through the
//! ports), `core` (which decides) and `aws` (which connects). Also how a failed command's error
//! reaches the user.

pub(crate) mod completions;
pub(crate) mod deploy;
pub(crate) mod doctor;
#[cfg(test)]
pub(crate) mod in_memory;
pub(crate) mod init;
pub(crate) mod previews;
pub(crate) mod promote;
pub(crate) mod releases;
pub(crate) mod rollback;
pub(crate) mod routing;
pub(crate) mod serve;
pub(crate) mod verify;

use std::sync::Arc;

use crate::aws::{self, CloudFrontCdn, S3Store};
use crate::config::{Publish, Site};
use crate::core::error::{Error, Result};
use crate::core::{plan, workflow};
use crate::run::{github, output};

/// The bucket of `site` and, when `publish` names a distribution, CloudFront: what deploy and
/// rollback publish to.
async fn connect(site: &Site, publish: &Publish) -> Result<(Arc<S3Store>, Option<CloudFrontCdn>)> {
    let (sdk, store) = aws::connect(&site.bucket, &site.aws).await?;
    let cdn = publish
        .distribution_id
        .as_ref()
        .map(|_| CloudFrontCdn::new(&sdk));
    Ok((Arc::new(store), cdn))
}

/// The ports of an atomic site: the bucket, CloudFront, and how to reach the KeyValueStore
/// whose ARN CloudFront gives.
async fn connect_atomic(
    site: &Site,
    publish: &Publish,
) -> Result<(
    Arc<S3Store>,
    Option<CloudFrontCdn>,
    impl FnOnce(&str) -> aws::KvsStore,
)> {
    let (sdk, store) = aws::connect(&site.bucket, &site.aws).await?;
    let cdn = publish
        .distribution_id
        .as_ref()
        .map(|_| CloudFrontCdn::new(&sdk));
    Ok((Arc::new(store), cdn, move |arn: &str| {
        aws::KvsStore::new(&sdk, arn)
    }))
}

/// Prints a failed command's error: a workflow annotation in GitHub Actions (with the job
/// summary told too), `error: ...` elsewhere.
pub fn report_error(command: &str, err: &Error) {
    let message = err.to_string();
    if github::in_actions() {
        github::print_annotation(&workflow::annotation(
            "error",
            &format!("shipfront {command} failed"),
            &message,
        ));
    } else {
        output::err_line(&format!("error: {}", plan::shown(&message)));
    }
    github::publish_failure(command, &message);
}

/// In GitHub Actions, repeats a command-line error clap is about to print as an annotation.
pub fn usage_error(e: &clap::Error) {
    if e.use_stderr() && github::in_actions() {
        let text = e.render().to_string();
        let message = text.trim().trim_start_matches("error: ");
        output::line(&workflow::annotation(
            "error",
            "shipfront: invalid command line",
            message,
        ));
    }
}
