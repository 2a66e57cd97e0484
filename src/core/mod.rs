//! The pure core: what shipfront decides, with no IO, no configuration loading, no output and no
//! SDK (DESIGN.md section 7). It is handed what it needs, and the architecture test keeps every
//! file here free of IO and of imports from the layers above.

pub mod atomic;
pub mod delivery;
pub mod error;
pub mod etag;
pub mod exec_report;
pub mod fingerprint;
pub mod invalidate;
pub(crate) mod new_release;
pub mod object_headers;
pub mod objects;
pub mod plan;
pub mod preview;
pub mod release;
pub(crate) mod report;
pub mod response_headers;
pub mod routing;
pub mod spa;
pub mod verdicts;
pub mod verify;
pub mod viewer;
pub(crate) mod workflow;
