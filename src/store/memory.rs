//! An in-memory versioned bucket and CDN behind the ports, failing on demand, so the commands'
//! logic (the lock, surveying under it, rollback's checks, which URLs are invalidated and with
//! what reference) is tested in milliseconds. The emulator tests prove the real adapter.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use md5::{Digest, Md5};

use crate::core::etag::{MultipartDigest, hex};
use crate::core::object_headers::Headers;
use crate::core::objects::{RemoteListing, RemoteObject, Versions};
use crate::core::response_headers::HeadersPolicy;
use crate::core::response_headers::ResponseHeaders;
use crate::core::spa::SpaSettings;
use crate::store::{
    Cdn, Condition, KvsFacts, ObjectStore, PutFile, RemoteError, RemoteFailure, WriteOutcome,
};

/// One stored version of a key (or a delete marker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub id: String,
    pub etag: String,
    /// Hex MD5 of the whole content: the ETag S3 gives a copy of a multipart upload.
    pub content_md5: String,
    pub size: u64,
    pub body: Vec<u8>,
    pub content_type: String,
    pub cache_control: String,
    pub delete_marker: bool,
}

/// The bucket's contents: every key's versions, oldest first.
#[derive(Debug, Default)]
pub struct Objects {
    pub keys: BTreeMap<String, Vec<Version>>,
    versioned: bool,
    next_version: u64,
}

impl Objects {
    /// The live version of `key`, None when absent or deleted.
    #[must_use]
    pub fn current(&self, key: &str) -> Option<&Version> {
        self.keys
            .get(key)
            .and_then(|v| v.last())
            .filter(|v| !v.delete_marker)
    }

    /// Stores a new version of `key` (or replaces it, unversioned); returns its id.
    pub fn write(&mut self, key: &str, mut version: Version) -> Option<String> {
        self.next_version += 1;
        let versions = self.keys.entry(key.to_owned()).or_default();
        if self.versioned {
            version.id = format!("v{}", self.next_version);
            versions.push(version);
            versions.last().map(|v| v.id.clone())
        } else {
            version.id = "null".to_owned();
            *versions = vec![version];
            None
        }
    }

    /// Writes `body` at `key` as a deploy would (its MD5 as ETag).
    pub fn put(&mut self, key: &str, body: &[u8]) -> Option<String> {
        self.write(
            key,
            Version {
                id: String::new(),
                etag: hex(&Md5::digest(body)),
                content_md5: hex(&Md5::digest(body)),
                size: body.len() as u64,
                body: body.to_vec(),
                content_type: "application/octet-stream".to_owned(),
                cache_control: String::new(),
                delete_marker: false,
            },
        )
    }

    /// Deletes `key`: a delete marker when versioned.
    pub fn delete(&mut self, key: &str) {
        if !self.versioned {
            self.keys.remove(key);
            return;
        }
        if self.current(key).is_some() {
            let marker = Version {
                id: String::new(),
                etag: String::new(),
                content_md5: String::new(),
                size: 0,
                body: Vec::new(),
                content_type: String::new(),
                cache_control: String::new(),
                delete_marker: true,
            };
            self.write(key, marker);
        }
    }
}

type Hook = Box<dyn FnOnce(&mut Objects) + Send>;

/// A fault or a hook planned for the `nth` call (1-based) of an operation, or for every call on
/// a key.
enum When {
    Nth(usize),
    Key(String),
}

#[derive(Default)]
struct State {
    objects: Objects,
    calls: Vec<String>,
    counts: BTreeMap<&'static str, usize>,
    faults: Vec<(&'static str, When, RemoteFailure)>,
    /// Calls (operation, nth) that are carried out but whose answer is lost.
    lost_answers: Vec<(&'static str, usize)>,
    /// Calls (operation, nth) that never answer.
    hung: Vec<(&'static str, usize)>,
    hooks: Vec<(&'static str, usize, Hook)>,
}

/// A versioned bucket in memory. Operations are named as S3's, and every call is logged as
/// `OPERATION key`.
pub struct MemoryStore {
    bucket: String,
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty versioned bucket named `bucket`.
    #[must_use]
    pub fn new(bucket: &str) -> Self {
        let store = MemoryStore {
            bucket: bucket.to_owned(),
            state: Mutex::new(State::default()),
        };
        store.state().objects.versioned = true;
        store
    }

    /// The same bucket with versioning off.
    #[must_use]
    pub fn unversioned(self) -> Self {
        self.state().objects.versioned = false;
        self
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the bucket's contents, to seed or inspect them.
    pub fn with_objects<R>(&self, f: impl FnOnce(&mut Objects) -> R) -> R {
        f(&mut self.state().objects)
    }

    /// Every call so far, as `OPERATION key`.
    #[must_use]
    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    /// A CopyObject onto `key` (`operation`), of the version `pick` makes from the key's versions
    /// (oldest first): written as the newest; an error naming the key when there is none.
    fn copy_onto(
        &self,
        operation: &'static str,
        key: &str,
        pick: impl FnOnce(&[Version]) -> Option<Version>,
    ) -> Result<WriteOutcome, RemoteError> {
        self.copy_from(operation, key, key, pick)
    }

    /// Copies the version `pick` chooses among `source`'s onto `key`, as S3's CopyObject.
    fn copy_from(
        &self,
        operation: &'static str,
        key: &str,
        source: &str,
        pick: impl FnOnce(&[Version]) -> Option<Version>,
    ) -> Result<WriteOutcome, RemoteError> {
        self.call(operation, Some(key))?;
        let mut state = self.state();
        let picked = state.objects.keys.get(source).and_then(|vs| pick(vs));
        let Some(mut version) = picked else {
            return Err(self.missing(operation, source));
        };
        // As S3 documents: a copy is stored whole, so a multipart upload's copy has the plain
        // MD5 of its content as ETag, not the parts' one.
        if version.etag.contains('-') {
            version.etag.clone_from(&version.content_md5);
        }
        let etag = version.etag.clone();
        Ok(WriteOutcome {
            version_id: state.objects.write(key, version),
            etag: Some(etag),
        })
    }

    /// How many calls the log holds that start with `start` (`"PutObject"`, or
    /// `"PutObject key"` for one key).
    #[must_use]
    pub fn count_calls(&self, start: &str) -> usize {
        self.state()
            .calls
            .iter()
            .filter(|c| c.starts_with(start))
            .count()
    }

    /// Fails the `nth` call (1-based) of `operation` with `failure`.
    pub fn fail_nth(&self, operation: &'static str, nth: usize, failure: RemoteFailure) {
        self.state()
            .faults
            .push((operation, When::Nth(nth), failure));
    }

    /// Fails every call of `operation` on `key`.
    pub fn fail_key(&self, operation: &'static str, key: &str) {
        self.state().faults.push((
            operation,
            When::Key(key.to_owned()),
            RemoteFailure::Other {
                message: format!("injected failure on `{key}`"),
                retryable: false,
            },
        ));
    }

    /// Forgets the faults planned so far: the store answers every call again.
    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// Carries out the `nth` call of `put_bytes` but loses its answer: the caller gets a
    /// retryable error for a write that landed.
    pub fn lose_answer_nth(&self, nth: usize) {
        self.state().lost_answers.push(("PutObject", nth));
    }

    /// Makes the `nth` call of `operation` never answer (a dead connection).
    pub fn hang_nth(&self, operation: &'static str, nth: usize) {
        self.state().hung.push((operation, nth));
    }

    /// Runs `hook` on the bucket just before the `nth` call of `operation` (another writer).
    pub fn before_nth(
        &self,
        operation: &'static str,
        nth: usize,
        hook: impl FnOnce(&mut Objects) + Send + 'static,
    ) {
        self.state().hooks.push((operation, nth, Box::new(hook)));
    }

    /// Logs a call and runs what was planned for it: hooks first, then faults.
    fn call(&self, operation: &'static str, key: Option<&str>) -> Result<(), RemoteError> {
        let mut state = self.state();
        let key_text = key.unwrap_or_default();
        state
            .calls
            .push(format!("{operation} {key_text}").trim_end().to_owned());
        let count = {
            let n = state.counts.entry(operation).or_default();
            *n += 1;
            *n
        };
        let hooks = std::mem::take(&mut state.hooks);
        for (op, nth, hook) in hooks {
            if op == operation && nth == count {
                hook(&mut state.objects);
            } else {
                state.hooks.push((op, nth, hook));
            }
        }
        let fault = state.faults.iter().position(|(op, when, _)| {
            *op == operation
                && match when {
                    When::Nth(n) => *n == count,
                    When::Key(k) => k == key_text,
                }
        });
        match fault {
            Some(i) => {
                let failure = state.faults[i].2.clone();
                Err(RemoteError::on_bucket(
                    failure,
                    operation,
                    &self.bucket,
                    key,
                ))
            }
            None => Ok(()),
        }
    }

    fn missing(&self, operation: &'static str, key: &str) -> RemoteError {
        RemoteError::on_bucket(
            RemoteFailure::Other {
                message: format!("NoSuchKey (HTTP 404): `{key}`"),
                retryable: false,
            },
            operation,
            &self.bucket,
            Some(key),
        )
    }
}

impl ObjectStore for MemoryStore {
    fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn list_folders(&self, prefix: &str) -> Result<Vec<String>, RemoteError> {
        self.call("ListObjectsV2", None)?;
        let state = self.state();
        let folders: std::collections::BTreeSet<String> = state
            .objects
            .keys
            .keys()
            .filter(|k| state.objects.current(k).is_some())
            .filter_map(|k| {
                let rest = k.strip_prefix(prefix)?;
                let end = rest.find('/')?;
                Some(format!("{prefix}{}", &rest[..=end]))
            })
            .collect();
        Ok(folders.into_iter().collect())
    }

    async fn list_range(
        &self,
        prefix: &str,
        after: Option<&str>,
        through: Option<&str>,
    ) -> Result<RemoteListing, RemoteError> {
        self.call("ListObjectsV2", None)?;
        let state = self.state();
        let objects: Vec<RemoteObject> = state
            .objects
            .keys
            .keys()
            .filter(|k| k.starts_with(prefix))
            .filter(|k| after.is_none_or(|a| k.as_str() > a))
            .filter(|k| through.is_none_or(|t| k.as_str() <= t))
            .filter_map(|k| {
                let v = state.objects.current(k)?;
                Some(RemoteObject {
                    key: k.clone(),
                    etag: v.etag.clone(),
                    size: v.size,
                    headers: None,
                })
            })
            .collect();
        // A real range's last page also holds the first keys past it.
        let pages = (objects.len() + usize::from(through.is_some()))
            .div_ceil(crate::core::objects::LIST_PAGE)
            .max(1);
        Ok(RemoteListing {
            pages,
            chain: pages,
            objects,
        })
    }

    async fn put_file(&self, put: PutFile) -> Result<WriteOutcome, RemoteError> {
        // Yield so that concurrent tasks interleave as they would on a network.
        tokio::task::yield_now().await;
        self.call("PutObject", Some(&put.key))?;
        let etag = match &put.parts {
            Some((part_size, md5s)) => MultipartDigest {
                part_size: *part_size,
                part_md5s: md5s.clone(),
            }
            .etag(),
            None => hex(&put.md5),
        };
        let version = Version {
            id: String::new(),
            etag: etag.clone(),
            content_md5: hex(&put.md5),
            size: put.size,
            body: Vec::new(),
            content_type: put.headers.content_type,
            cache_control: put.headers.cache_control,
            delete_marker: false,
        };
        let version_id = self.state().objects.write(&put.key, version);
        Ok(WriteOutcome {
            version_id,
            etag: Some(etag),
        })
    }

    async fn update_headers(
        &self,
        key: &str,
        headers: &Headers,
    ) -> Result<WriteOutcome, RemoteError> {
        self.copy_onto("CopyObject", key, |versions| {
            let mut version = versions.last().filter(|v| !v.delete_marker)?.clone();
            version.content_type.clone_from(&headers.content_type);
            version.cache_control.clone_from(&headers.cache_control);
            Some(version)
        })
    }

    async fn restore_version(
        &self,
        key: &str,
        version_id: &str,
    ) -> Result<WriteOutcome, RemoteError> {
        self.copy_onto("CopyObject (restore)", key, |versions| {
            version_of(versions, Some(version_id))
        })
    }

    async fn copy_version(
        &self,
        key: &str,
        source: &str,
        version_id: Option<&str>,
    ) -> Result<WriteOutcome, RemoteError> {
        self.copy_from("CopyObject", key, source, |versions| {
            version_of(versions, version_id)
        })
    }

    async fn head(
        &self,
        key: &str,
    ) -> Result<Option<crate::core::objects::StoredHeaders>, RemoteError> {
        self.call("HeadObject", Some(key))?;
        let state = self.state();
        Ok(state
            .objects
            .current(key)
            .map(|v| crate::core::objects::StoredHeaders {
                content_type: v.content_type.clone(),
                cache_control: v.cache_control.clone(),
            }))
    }

    async fn get_bytes(&self, key: &str) -> Result<Vec<u8>, RemoteError> {
        self.call("GetObject", Some(key))?;
        let state = self.state();
        state
            .objects
            .current(key)
            .map(|v| v.body.clone())
            .ok_or_else(|| self.missing("GetObject", key))
    }

    async fn get_object(
        &self,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Option<crate::core::objects::StoredObject>, RemoteError> {
        self.call("GetObject", Some(key))?;
        let state = self.state();
        let version = match version_id {
            None => state.objects.current(key),
            Some(id) => state
                .objects
                .keys
                .get(key)
                .and_then(|versions| versions.iter().find(|v| v.id == id))
                .filter(|v| !v.delete_marker),
        };
        Ok(version.map(|v| crate::core::objects::StoredObject {
            body: v.body.clone(),
            headers: crate::core::objects::StoredHeaders {
                content_type: v.content_type.clone(),
                cache_control: v.cache_control.clone(),
            },
            etag: v.etag.clone(),
        }))
    }

    async fn put_bytes(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        condition: Option<Condition>,
    ) -> Result<WriteOutcome, RemoteError> {
        self.call("PutObject", Some(key))?;
        let hangs = {
            let state = self.state();
            let nth = state.counts.get("PutObject").copied().unwrap_or_default();
            state.hung.contains(&("PutObject", nth))
        };
        if hangs {
            std::future::pending::<()>().await;
        }
        let mut state = self.state();
        let current = state.objects.current(key).map(|v| v.etag.clone());
        let holds = match &condition {
            None => true,
            Some(Condition::Absent) => current.is_none(),
            Some(Condition::Matches(etag)) => current.as_ref() == Some(etag),
        };
        if !holds {
            return Err(RemoteError::on_bucket(
                RemoteFailure::PreconditionFailed,
                "PutObject",
                &self.bucket,
                Some(key),
            ));
        }
        let etag = hex(&Md5::digest(&body));
        let version = Version {
            id: String::new(),
            etag: etag.clone(),
            content_md5: etag.clone(),
            size: body.len() as u64,
            body,
            content_type: content_type.to_owned(),
            cache_control: "no-store".to_owned(),
            delete_marker: false,
        };
        let version_id = state.objects.write(key, version);
        let nth = state.counts.get("PutObject").copied().unwrap_or_default();
        if state.lost_answers.contains(&("PutObject", nth)) {
            return Err(RemoteError::on_bucket(
                RemoteFailure::Other {
                    message: "the answer was lost".to_owned(),
                    retryable: true,
                },
                "PutObject",
                &self.bucket,
                Some(key),
            ));
        }
        Ok(WriteOutcome {
            version_id,
            etag: Some(etag),
        })
    }

    async fn get_with_etag(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, RemoteError> {
        self.call("GetObject", Some(key))?;
        let state = self.state();
        Ok(state
            .objects
            .current(key)
            .map(|v| (v.body.clone(), v.etag.clone())))
    }

    async fn delete_key(&self, key: &str) -> Result<(), RemoteError> {
        self.call("DeleteObject", Some(key))?;
        self.state().objects.delete(key);
        Ok(())
    }

    async fn versions_range(
        &self,
        prefix: &str,
        after: Option<&str>,
        through: Option<&str>,
    ) -> Result<BTreeMap<String, Versions>, RemoteError> {
        self.call("ListObjectVersions", after)?;
        let state = self.state();
        if !state.objects.versioned {
            return Ok(BTreeMap::new());
        }
        Ok(state
            .objects
            .keys
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
            .filter(|(k, _)| through.is_none_or(|t| k.as_str() <= t))
            .map(|(k, vs)| {
                let all: BTreeSet<String> = vs
                    .iter()
                    .filter(|v| !v.delete_marker)
                    .map(|v| v.id.clone())
                    .collect();
                let current = state.objects.current(k).map(|v| v.id.clone());
                (k.clone(), Versions { all, current })
            })
            .collect())
    }

    async fn delete_batch(&self, keys: Vec<String>) -> Result<Vec<RemoteError>, RemoteError> {
        // Logged as `DeleteObjects FIRST (N keys)`.
        let batch = format!(
            "{} ({} keys)",
            keys.first().map_or("", String::as_str),
            keys.len()
        );
        self.call("DeleteObjects", Some(&batch))?;
        let mut state = self.state();
        for key in &keys {
            state.objects.delete(key);
        }
        Ok(Vec::new())
    }
}

/// A CloudFront Function in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryFunction {
    pub code: String,
    pub etag: String,
    pub live: Option<String>,
    /// The KeyValueStore the development stage is associated with, and the live stage.
    pub key_value_store: Option<String>,
    pub live_key_value_store: Option<String>,
}

/// One invalidation the CDN received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentInvalidation {
    pub id: String,
    pub paths: Vec<String>,
    pub caller_reference: String,
}

/// A CloudFront distribution in memory: its origin path and SPA settings, the invalidations it
/// received (a repeated `CallerReference` returns the first one, as CloudFront does), and
/// failures on demand.
#[derive(Default)]
pub struct MemoryCdn {
    pub origin_path: String,
    pub spa: Mutex<SpaSettings>,
    pub invalidations: Mutex<Vec<SentInvalidation>>,
    /// Functions by name: development code, its ETag (a counter), live code.
    pub functions: Mutex<BTreeMap<String, MemoryFunction>>,
    /// The default cache behavior's viewer-request function.
    pub viewer_request: Mutex<Option<String>>,
    /// Runs when a function is published (to see what else had happened by then).
    pub on_publish: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    /// Response headers policies by id.
    pub headers_policies: Mutex<BTreeMap<String, HeadersPolicy>>,
    /// The id of the default cache behavior's response headers policy.
    pub attached_policy: Mutex<Option<String>>,
    /// KeyValueStores by name: their ARNs.
    pub key_value_stores: Mutex<BTreeMap<String, String>>,
    calls: Mutex<Vec<&'static str>>,
    faults: Mutex<Vec<(&'static str, usize)>>,
}

impl MemoryCdn {
    /// Fails the `nth` call (1-based) of `operation`.
    pub fn fail_nth(&self, operation: &'static str, nth: usize) {
        lock(&self.faults).push((operation, nth));
    }

    /// The operations called so far, in order.
    #[must_use]
    pub fn calls(&self) -> Vec<&'static str> {
        lock(&self.calls).clone()
    }

    /// The invalidations received so far.
    #[must_use]
    pub fn sent(&self) -> Vec<SentInvalidation> {
        lock(&self.invalidations).clone()
    }

    fn call(&self, operation: &'static str, id: &str) -> Result<(), RemoteError> {
        let mut calls = lock(&self.calls);
        calls.push(operation);
        let count = calls.iter().filter(|c| **c == operation).count();
        if lock(&self.faults).contains(&(operation, count)) {
            return Err(RemoteError::on_distribution(
                RemoteFailure::Other {
                    message: "injected failure".to_owned(),
                    retryable: false,
                },
                operation,
                id,
            ));
        }
        Ok(())
    }
}

/// A mutex's guard, poisoned or not.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Cdn for Arc<MemoryCdn> {
    async fn origin_path(&self, id: &str, _bucket: &str) -> Result<String, RemoteError> {
        self.call("GetDistributionConfig", id)?;
        Ok(self.origin_path.clone())
    }

    async fn invalidate(
        &self,
        id: &str,
        paths: &[String],
        caller_reference: &str,
    ) -> Result<String, RemoteError> {
        self.call("CreateInvalidation", id)?;
        let mut sent = lock(&self.invalidations);
        if let Some(same) = sent.iter().find(|s| s.caller_reference == caller_reference) {
            return Ok(same.id.clone());
        }
        let new = SentInvalidation {
            id: format!("I{}", sent.len() + 1),
            paths: paths.to_vec(),
            caller_reference: caller_reference.to_owned(),
        };
        sent.push(new.clone());
        Ok(new.id)
    }

    async fn spa_settings(&self, id: &str) -> Result<SpaSettings, RemoteError> {
        self.call("GetDistributionConfig", id)?;
        Ok(lock(&self.spa).clone())
    }

    async fn fix_spa(&self, id: &str, fallback: &str) -> Result<(), RemoteError> {
        self.call("UpdateDistribution", id)?;
        let mut spa = lock(&self.spa);
        *spa = crate::core::spa::repaired(&spa, fallback);
        Ok(())
    }

    async fn function_code(
        &self,
        name: &str,
        live: bool,
    ) -> Result<Option<(String, String)>, RemoteError> {
        self.call("GetFunction", name)?;
        Ok(lock(&self.functions).get(name).and_then(|f| {
            let code = if live {
                f.live.clone()?
            } else {
                f.code.clone()
            };
            Some((code, f.etag.clone()))
        }))
    }

    async fn put_function(
        &self,
        name: &str,
        code: &str,
        etag: Option<&str>,
        key_value_store: Option<&str>,
    ) -> Result<String, RemoteError> {
        let operation = crate::store::put_function_operation(etag);
        self.call(operation, name)?;
        let mut functions = lock(&self.functions);
        let existing = functions.get(name).map(|f| f.etag.clone());
        if existing.as_deref() != etag {
            return Err(RemoteError::on_function(
                RemoteFailure::PreconditionFailed,
                operation,
                name,
            ));
        }
        let function = functions.entry(name.to_owned()).or_default();
        function.code = code.to_owned();
        function.key_value_store = key_value_store.map(str::to_owned);
        function.etag = format!("E{}", function.etag.len() + 1);
        Ok(function.etag.clone())
    }

    async fn publish_function(&self, name: &str, etag: &str) -> Result<String, RemoteError> {
        self.call("PublishFunction", name)?;
        let mut functions = lock(&self.functions);
        let Some(function) = functions.get_mut(name).filter(|f| f.etag == etag) else {
            return Err(RemoteError::on_function(
                RemoteFailure::PreconditionFailed,
                "PublishFunction",
                name,
            ));
        };
        function.live = Some(function.code.clone());
        function.live_key_value_store = function.key_value_store.clone();
        if let Some(hook) = lock(&self.on_publish).take() {
            hook();
        }
        Ok(format!("arn:aws:cloudfront::123456789012:function/{name}"))
    }

    async fn function_key_value_store(&self, name: &str) -> Result<Option<String>, RemoteError> {
        self.call("DescribeFunction", name)?;
        let functions = lock(&self.functions);
        Ok(functions
            .get(name)
            .and_then(|f| f.live_key_value_store.clone()))
    }

    async fn viewer_request_function(&self, id: &str) -> Result<Option<String>, RemoteError> {
        self.call("GetDistributionConfig", id)?;
        Ok(lock(&self.viewer_request).clone())
    }

    async fn set_viewer_request_function(&self, id: &str, arn: &str) -> Result<(), RemoteError> {
        self.call("UpdateDistribution", id)?;
        *lock(&self.viewer_request) = Some(arn.to_owned());
        Ok(())
    }

    async fn response_headers_policy(
        &self,
        id: &str,
    ) -> Result<Option<HeadersPolicy>, RemoteError> {
        self.call("GetDistributionConfig", id)?;
        let attached = lock(&self.attached_policy).clone();
        Ok(attached.and_then(|id| lock(&self.headers_policies).get(&id).cloned()))
    }

    async fn put_response_headers_policy(
        &self,
        name: &str,
        headers: &ResponseHeaders,
    ) -> Result<String, RemoteError> {
        self.call("ListResponseHeadersPolicies", name)?;
        let mut policies = lock(&self.headers_policies);
        let existing = policies
            .values()
            .find(|p| p.name == name)
            .map(|p| p.id.clone());
        let operation = if existing.is_some() {
            "UpdateResponseHeadersPolicy"
        } else {
            "CreateResponseHeadersPolicy"
        };
        drop(policies);
        self.call(operation, name)?;
        policies = lock(&self.headers_policies);
        let id = existing.unwrap_or_else(|| format!("policy-{}", policies.len() + 1));
        policies.insert(
            id.clone(),
            HeadersPolicy {
                id: id.clone(),
                name: name.to_owned(),
                headers: headers.clone(),
                hand_edited: false,
            },
        );
        Ok(id)
    }

    async fn set_response_headers_policy(&self, id: &str, policy: &str) -> Result<(), RemoteError> {
        self.call("UpdateDistribution", id)?;
        *lock(&self.attached_policy) = Some(policy.to_owned());
        Ok(())
    }

    async fn invalidation_status(&self, id: &str, _: &str) -> Result<String, RemoteError> {
        self.call("GetInvalidation", id)?;
        Ok("Completed".to_owned())
    }

    async fn key_value_store(&self, name: &str) -> Result<Option<KvsFacts>, RemoteError> {
        self.call("DescribeKeyValueStore", name)?;
        Ok(lock(&self.key_value_stores).get(name).map(|arn| KvsFacts {
            arn: arn.clone(),
            status: "READY".to_owned(),
        }))
    }

    async fn create_key_value_store(&self, name: &str) -> Result<String, RemoteError> {
        self.call("CreateKeyValueStore", name)?;
        let arn = format!("arn:aws:cloudfront::123456789012:key-value-store/{name}");
        let mut stores = lock(&self.key_value_stores);
        if stores.contains_key(name) {
            return Err(RemoteError::on_key_value_store(
                RemoteFailure::Other {
                    message: "EntityAlreadyExists (HTTP 409)".to_owned(),
                    retryable: false,
                },
                "CreateKeyValueStore",
                name,
            ));
        }
        stores.insert(name.to_owned(), arn.clone());
        Ok(arn)
    }
}

/// Version `id` of a key's `versions` (None: the current one), unless it is a delete marker.
fn version_of(versions: &[Version], id: Option<&str>) -> Option<Version> {
    let found = match id {
        Some(id) => versions.iter().find(|v| v.id == id),
        None => versions.last(),
    };
    found.filter(|v| !v.delete_marker).cloned()
}

/// A KeyValueStore in memory: its keys, and an ETag that changes with every write, checked
/// as CloudFront checks `IfMatch`; calls logged, failures on demand.
#[derive(Default)]
pub struct MemoryKvs {
    pub keys: Mutex<BTreeMap<String, String>>,
    etag: Mutex<u64>,
    calls: Mutex<Vec<String>>,
    /// Runs before the `nth` `UpdateKeys` (1-based): another writer's change, say.
    before_update: Mutex<Vec<(usize, KvsHook)>>,
}

/// What runs before an `UpdateKeys` of the in-memory store.
type KvsHook = Box<dyn FnOnce(&MemoryKvs) + Send>;

impl MemoryKvs {
    /// The calls so far: `GetKey KEY`, `UpdateKeys N`.
    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }

    /// Runs `hook` before the `nth` `UpdateKeys`.
    pub fn before_update(&self, nth: usize, hook: impl FnOnce(&MemoryKvs) + Send + 'static) {
        lock(&self.before_update).push((nth, Box::new(hook)));
    }

    /// Writes `key` as another writer would: unconditionally, changing the ETag.
    pub fn put_now(&self, key: &str, value: &str) {
        lock(&self.keys).insert(key.to_owned(), value.to_owned());
        *lock(&self.etag) += 1;
    }

    fn etag(&self) -> String {
        format!("E{}", *lock(&self.etag))
    }
}

impl crate::store::KeyValueStore for MemoryKvs {
    fn name(&self) -> &str {
        "shipfront-E1"
    }

    async fn get(&self, key: &str) -> Result<(Option<String>, String), RemoteError> {
        lock(&self.calls).push(format!("GetKey {key}"));
        Ok((lock(&self.keys).get(key).cloned(), self.etag()))
    }

    async fn update(
        &self,
        puts: Vec<(String, String)>,
        deletes: Vec<String>,
        if_match: &str,
    ) -> Result<String, RemoteError> {
        let nth = {
            let mut calls = lock(&self.calls);
            calls.push(format!("UpdateKeys {}", puts.len() + deletes.len()));
            calls.iter().filter(|c| c.starts_with("UpdateKeys")).count()
        };
        let hooks: Vec<_> = {
            let mut all = lock(&self.before_update);
            let (now, later) = all.drain(..).partition(|(n, _)| *n == nth);
            *all = later;
            now
        };
        for (_, hook) in hooks {
            hook(self);
        }
        if if_match != self.etag() {
            return Err(RemoteError::on_key_value_store(
                RemoteFailure::PreconditionFailed,
                "UpdateKeys",
                self.name(),
            ));
        }
        let mut keys = lock(&self.keys);
        for (key, value) in puts {
            keys.insert(key, value);
        }
        for key in deletes {
            keys.remove(&key);
        }
        drop(keys);
        *lock(&self.etag) += 1;
        Ok(self.etag())
    }
}
