//! `shipfront routing`: prints the CloudFront Function a deploy would publish for a build folder,
//! for review and for the tests that run it.

use crate::config::RoutingSettings;
use crate::core::error::{Error, Result};
use crate::core::objects::LocalTree;
use crate::core::routing;
use crate::run::{output, scan};

/// Prints the routing function of the build folder (for review, and for tests that run it).
pub(crate) fn run(settings: &RoutingSettings) -> Result<()> {
    let (_, source) = scan_and_generate(settings)?;
    output::to_stdout(|out| out.write_all(source.as_bytes()))
}

/// The build folder as a deploy scans it, and the routing function a deploy would publish for
/// it (`serve` runs the very same).
///
/// # Errors
/// A folder that cannot be scanned, an SPA without its fallback page, a function too large.
pub(crate) fn scan_and_generate(settings: &RoutingSettings) -> Result<(LocalTree, String)> {
    let options = scan::ScanOptions::as_deployed(settings.excludes.clone());
    let tree = scan::scan(&settings.dir, &options)?;
    if let routing::Mode::Spa { fallback } = &settings.routing.mode
        && !tree.files.iter().any(|f| &f.rel == fallback)
    {
        return Err(Error::Usage(format!(
            "`{}` has no `{fallback}`, the SPA's fallback page: check the folder or \
             --spa-fallback",
            settings.dir.display()
        )));
    }
    let rels = tree.files.iter().map(|f| f.rel.as_str());
    let source = if settings.atomic {
        let inputs = routing::RoutingInputs {
            config: settings.routing.clone(),
            layout: routing::Layout::of(rels),
        };
        crate::core::atomic::function(&inputs, crate::core::atomic::RELEASES_URL)
    } else {
        routing::function_source(rels, &settings.routing)
    }
    .map_err(|e| Error::Usage(e.to_string()))?;
    Ok((tree, source))
}
