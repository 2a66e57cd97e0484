//! What the commands share that does IO through the ports: applying a plan (the lock, execution
//! in phases, invalidation, the record), surveying the bucket, the edge, scanning the build
//! folder, progress and output, GitHub Actions reporting. Never the SDK: that is `aws`'s.

pub(crate) mod apply;
pub(crate) mod atomic;
pub(crate) mod edge;
pub mod execute;
#[cfg(test)]
pub(crate) mod fixtures;
pub(crate) mod github;
pub(crate) mod lease;
pub(crate) mod lock;
pub(crate) mod output;
pub(crate) mod previews;
pub(crate) mod progress;
pub mod scan;
pub(crate) mod survey;
pub mod switch;
pub mod verify;
