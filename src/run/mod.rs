//! What the commands share that does IO through the ports: applying a plan (the lock, execution
//! in phases, invalidation, the record), surveying the bucket, the edge, scanning the build
//! folder, progress and output, GitHub Actions reporting. Never the SDK: that is `aws`'s.

pub mod apply;
pub mod edge;
pub mod execute;
#[cfg(test)]
pub mod fixtures;
pub mod github;
pub mod lock;
pub mod output;
pub mod progress;
pub mod scan;
pub mod survey;
