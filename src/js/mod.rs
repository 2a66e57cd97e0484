//! The JavaScript engine adapter: runs the generated viewer-request CloudFront Function as
//! CloudFront would, in QuickJS (`rquickjs`), behind the `ViewerFunction` port. The only user of
//! the engine, as `aws` is of the SDK.

mod quickjs;

pub use quickjs::QuickJs;
