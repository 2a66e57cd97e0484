//! A viewer-request function in QuickJS: its own thread holds the engine (QuickJS runtimes are
//! not `Send`), loads the function once as a module with CloudFront's `cloudfront` module
//! beside it, and answers requests one at a time.

use std::collections::BTreeMap;
use std::sync::{Mutex, mpsc};

use rquickjs::loader::{BuiltinLoader, BuiltinResolver};
use rquickjs::promise::MaybePromise;
use rquickjs::{CatchResultExt, Context, Function, Module, Persistent, Runtime, Value};

use crate::core::viewer::{ViewerAnswer, ViewerRequest};
use crate::store::{FunctionFailed, ViewerFunction};

/// CloudFront's `cloudfront` module as the function imports it: `kvs()` reads the store given
/// to the engine (a missing key makes `get` throw, as CloudFront's does).
const CLOUDFRONT_MODULE: &str = r"
const store = globalThis.__shipfront_kvs;
export default {
  kvs: () => ({
    get: async (key, options) => {
      if (!Object.prototype.hasOwnProperty.call(store, key)) throw new Error('KeyNotFound: ' + key);
      const value = store[key];
      return options && options.format === 'json' ? JSON.parse(value) : value;
    },
    exists: async (key) => Object.prototype.hasOwnProperty.call(store, key),
  }),
};
";

/// What the engine's thread is asked: an event (JSON), and where its answer (JSON) goes.
type Call = (String, mpsc::Sender<Result<String, String>>);

/// The generated function, loaded in QuickJS on a thread of its own.
pub struct QuickJs {
    calls: Mutex<mpsc::Sender<Call>>,
}

impl QuickJs {
    /// Loads `source` (a `cloudfront-js-2.0` viewer-request function, whose `handler` is
    /// top-level) with the KeyValueStore `kvs` its `cloudfront` module reads.
    ///
    /// # Errors
    /// The engine could not start, or the source does not load (a syntax error, no `handler`).
    pub fn load(source: &str, kvs: &BTreeMap<String, String>) -> Result<Self, FunctionFailed> {
        let (calls, queue) = mpsc::channel::<Call>();
        let (ready, loaded) = mpsc::channel();
        let source = format!("{source}\nexport {{ handler }};\n");
        let kvs = serde_json::to_string(kvs).map_err(|e| FunctionFailed(e.to_string()))?;
        std::thread::Builder::new()
            .name("viewer-function".to_owned())
            .spawn(move || serve(&source, &kvs, &ready, &queue))
            .map_err(|e| FunctionFailed(format!("the engine's thread did not start: {e}")))?;
        loaded
            .recv()
            .map_err(|_| FunctionFailed("the engine stopped while loading".to_owned()))??;
        Ok(QuickJs {
            calls: Mutex::new(calls),
        })
    }
}

impl ViewerFunction for QuickJs {
    fn run(&self, request: &ViewerRequest) -> Result<ViewerAnswer, FunctionFailed> {
        let (reply, answer) = mpsc::channel();
        let event = request.event().to_string();
        let sent = match self.calls.lock() {
            Ok(calls) => calls.send((event, reply)).is_ok(),
            Err(_) => false,
        };
        if !sent {
            return Err(FunctionFailed("the engine has stopped".to_owned()));
        }
        let value = answer
            .recv()
            .map_err(|_| FunctionFailed("the engine stopped while running".to_owned()))?
            .map_err(FunctionFailed)?;
        let value: serde_json::Value =
            serde_json::from_str(&value).map_err(|e| FunctionFailed(e.to_string()))?;
        ViewerAnswer::of(&value).map_err(FunctionFailed)
    }
}

/// The engine's thread: loads the function (saying so on `ready`), then answers each call of
/// `queue` until the port is dropped.
fn serve(
    source: &str,
    kvs: &str,
    ready: &mpsc::Sender<Result<(), FunctionFailed>>,
    queue: &mpsc::Receiver<Call>,
) {
    let engine = start(source, kvs);
    let (runtime, context, handler) = match engine {
        Ok(engine) => engine,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    for (event, reply) in queue {
        let answer = context.with(|ctx| -> Result<String, String> {
            let handler = handler.clone().restore(&ctx).map_err(|e| e.to_string())?;
            let event = ctx.json_parse(event).map_err(|e| e.to_string())?;
            let out = handler
                .call::<_, MaybePromise>((event,))
                .and_then(|out| out.finish::<Value>())
                .catch(&ctx)
                .map_err(|e| format!("the function threw: {e}"))?;
            let json = ctx.json_stringify(out).map_err(|e| e.to_string())?;
            json.map(|s| s.to_string().map_err(|e| e.to_string()))
                .unwrap_or_else(|| Err("the function returned nothing".to_owned()))
        });
        let _ = reply.send(answer);
    }
    drop(runtime);
}

/// A runtime and context with the function loaded, and its `handler`.
fn start(
    source: &str,
    kvs: &str,
) -> Result<(Runtime, Context, Persistent<Function<'static>>), FunctionFailed> {
    let failed = |e: rquickjs::Error| FunctionFailed(e.to_string());
    let runtime = Runtime::new().map_err(failed)?;
    runtime.set_loader(
        BuiltinResolver::default().with_module("cloudfront"),
        BuiltinLoader::default().with_module("cloudfront", CLOUDFRONT_MODULE),
    );
    let context = Context::full(&runtime).map_err(failed)?;
    let handler = context.with(|ctx| -> Result<_, FunctionFailed> {
        let store = ctx.json_parse(kvs).map_err(failed)?;
        ctx.globals()
            .set("__shipfront_kvs", store)
            .map_err(failed)?;
        let (module, loaded) = Module::declare(ctx.clone(), "function.js", source)
            .and_then(Module::eval)
            .catch(&ctx)
            .map_err(|e| FunctionFailed(format!("the function does not load: {e}")))?;
        loaded
            .finish::<()>()
            .catch(&ctx)
            .map_err(|e| FunctionFailed(format!("the function does not load: {e}")))?;
        let handler: Function = module
            .get("handler")
            .map_err(|e| FunctionFailed(format!("the function has no handler: {e}")))?;
        Ok(Persistent::save(&ctx, handler))
    })?;
    Ok((runtime, context, handler))
}
