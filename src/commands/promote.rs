//! `shipfront promote NAME`: makes what preview NAME shows live. The preview's release is
//! switched to as a rollback of an atomic site switches: one conditional pointer write, no
//! upload, no invalidation, then the release's own routing function and headers published;
//! recorded as "promote NAME (ID)". What reviewers saw is exactly what goes live.

use crate::config::RollbackConfig;
use crate::core::error::Result;

/// Runs `shipfront promote`.
pub(crate) async fn run(config: RollbackConfig) -> Result<()> {
    super::rollback::run(config).await
}
