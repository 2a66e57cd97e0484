//! Integration tests: the real `shipfront` binary against the moto S3 emulator, through the real
//! AWS SDK. `scripts/test` installs the emulator; the harness starts it.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod action;
mod architecture;
mod atomic;
mod bad_input;
mod browser;
mod cloudfront;
mod completions;
mod deploy;
mod doctor;
mod faults;
mod frameworks;
mod harness;
mod headers_policy;
mod integrity;
mod json_shape;
mod lock;
mod previews;
mod releases;
mod rollback;
mod routing;
mod scale;
pub(crate) mod serve;
mod serve_bucket;
mod verify;
