//! An atomic site's previews as the bucket keeps them: one entry per preview under the state
//! prefix (`previews/NAME.json`: the release it shows, since when, its URL), read by retention
//! (a preview's release is kept) and by `shipfront previews`; written before the preview's KVS
//! key, deleted after it.

use crate::core::error::{Error, Result};
use crate::core::preview::{self, Entry};
use crate::store::ObjectStore;

/// Every preview's entry, by name. An entry that cannot be read is left out with a warning.
///
/// # Errors
/// The store's.
pub(crate) async fn entries<S: ObjectStore>(store: &S, state_prefix: &str) -> Result<Vec<Entry>> {
    let folder = format!("{state_prefix}{}", preview::ENTRIES_DIR);
    let listing = store.list(&folder).await?;
    let mut out = Vec::new();
    for object in &listing.objects {
        if preview::entry_name(state_prefix, &object.key).is_none() {
            continue;
        }
        let Some((bytes, _)) = store.get_with_etag(&object.key).await? else {
            continue;
        };
        match serde_json::from_slice::<Entry>(&bytes) {
            Ok(entry) => out.push(entry),
            Err(e) => crate::run::github::warn(&format!(
                "ignoring preview entry `{}`, which cannot be read: {e}",
                object.key
            )),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Writes `entry` (before its KVS key points anywhere: retention then keeps its release).
///
/// # Errors
/// The store's.
pub(crate) async fn write_entry<S: ObjectStore>(
    store: &S,
    state_prefix: &str,
    entry: &Entry,
) -> Result<()> {
    let body = serde_json::to_vec_pretty(entry)
        .map_err(|e| Error::Internal(format!("a preview entry does not serialize: {e}")))?;
    let key = preview::entry_key(state_prefix, &entry.name);
    store
        .put_bytes(&key, body, "application/json", None)
        .await?;
    Ok(())
}

/// Deletes preview `name`'s entry (after its KVS key: its release may go then).
///
/// # Errors
/// The store's.
pub(crate) async fn delete_entry<S: ObjectStore>(
    store: &S,
    state_prefix: &str,
    name: &str,
) -> Result<()> {
    store
        .delete_key(&preview::entry_key(state_prefix, name))
        .await?;
    Ok(())
}
