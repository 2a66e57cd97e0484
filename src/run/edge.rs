//! What a run keeps live at the edge besides the objects: the distribution it reaches, the
//! routing function and the response headers policy, each checked before any write (refusing
//! what shipfront did not write) and published between the pages and the deletions.

use std::collections::BTreeMap;

use crate::config::{DeployConfig, Publish};
use crate::core::error::{Error, Result};
use crate::core::objects::LocalTree;
use crate::core::release::Release;
use crate::core::response_headers::ResponseHeaders;
use crate::core::routing::RoutingInputs;
use crate::run::output;
use crate::store::Cdn;

/// The distribution in front of the bucket, read before any write: a wrong id stops the
/// command there.
pub(crate) struct Edge<C> {
    pub(crate) cdn: C,
    pub(crate) distribution: String,
    /// The `OriginPath` of the bucket's origin, which invalidation paths leave out.
    pub(crate) origin_path: String,
}

impl<C: Cdn> Edge<C> {
    /// Reads the origin path for `bucket` of the distribution `id`, when there is one and a
    /// CDN to reach it through.
    pub(crate) async fn reach(
        cdn: Option<C>,
        id: Option<&String>,
        bucket: &str,
    ) -> Result<Option<Self>> {
        let (Some(cdn), Some(id)) = (cdn, id) else {
            return Ok(None);
        };
        let origin_path = cdn.origin_path(id, bucket).await?;
        Ok(Some(Edge {
            cdn,
            distribution: id.clone(),
            origin_path,
        }))
    }
}

/// What a run keeps live at the edge besides the objects: the routing function and the
/// response headers, each only when the run manages it, and whether each changes (read by
/// `EdgeWork::check` before any write).
#[derive(Debug, Clone, Default)]
pub(crate) struct EdgeWork {
    /// The routing function to keep live; None: the run leaves the live one alone.
    pub(crate) routing: Option<Routing>,
    /// The response headers to keep live; None: the run leaves the live policy alone.
    pub(crate) headers: Option<Headers>,
    /// The live function differs from `routing` (or is not shipfront's), so it is published.
    pub(crate) routing_changes: bool,
    /// The live policy differs from `headers`, so it is written.
    pub(crate) headers_change: bool,
    /// The viewer-request function and the response headers policy id `check` found: what
    /// publishing replaces, not read again.
    associated: Option<String>,
    attached_policy: Option<String>,
}

impl EdgeWork {
    /// What a deploy keeps live at the edge: the routing function of the build (`--routing`),
    /// hiding the state prefix where the origin (serving `origin_path`) would serve it, refused
    /// before any write when it would be larger than CloudFront allows; and the response
    /// headers of `[headers]`.
    pub(crate) fn of_deploy(
        config: &DeployConfig,
        tree: &LocalTree,
        origin_path: Option<&str>,
    ) -> Result<Self> {
        let routing = match &config.routing {
            Some(routing) => {
                let inputs = RoutingInputs::of(
                    tree.files.iter().map(|f| f.rel.as_str()),
                    routing,
                    &config.site.state_prefix,
                    origin_path,
                );
                Some(Routing {
                    code: code_of(&inputs, config.site.atomic)
                        .map_err(|e| Error::Usage(e.to_string()))?,
                    inputs,
                    force: config.publish.force_routing,
                    key_value_store: None,
                    atomic: config.site.atomic,
                })
            }
            None => None,
        };
        let headers = match &config.response_headers {
            Some(table) => Some(Headers::from_table(
                table,
                config.publish.force_headers,
                "[headers] in shipfront.toml",
            )?),
            None => None,
        };
        Ok(EdgeWork::new(routing, headers))
    }

    /// What a rollback to `target` keeps live at the edge: the routing function and the response
    /// headers the release recorded, published again.
    pub(crate) fn of_release(
        target: &Release,
        publish: &Publish,
        hidden_now: Option<Option<String>>,
    ) -> Result<Self> {
        let headers = match &target.headers {
            Some(table) => Some(Headers::from_table(
                table,
                publish.force_headers,
                &format!("[headers] recorded by release `{}`", target.id),
            )?),
            None => None,
        };
        let routing = match (&target.routing, &target.routing_inputs) {
            (Some(recorded), Some(inputs)) => {
                let (code, inputs) = regenerate(target, recorded, inputs, hidden_now)?;
                Some(Routing {
                    code,
                    inputs,
                    force: publish.force_routing,
                    key_value_store: None,
                    atomic: target.atomic.is_some(),
                })
            }
            (Some(_), None) => {
                crate::run::github::warn(&format!(
                    "release `{}` was recorded by shipfront {} with its routing function's code \
                     but not what it was generated from: shipfront publishes only functions it \
                     generates, so the live one stays (deploy that build with --routing to \
                     publish its function)",
                    target.id, target.shipfront
                ));
                None
            }
            (None, _) => None,
        };
        Ok(EdgeWork::new(routing, headers))
    }
}

/// The routing function of `target`, generated again from its recorded `inputs`, hiding the
/// state prefix where the origin serves it now (`hidden_now`; None: unknown, as recorded).
/// Refused when the inputs do not pass the config's checks, or when the version that generated
/// the recorded code (its first line names it) is this one and would not have generated that
/// code from those inputs: the record was changed. shipfront publishes only what it generates.
fn regenerate(
    target: &Release,
    recorded: &str,
    inputs: &RoutingInputs,
    hidden_now: Option<Option<String>>,
) -> Result<(String, RoutingInputs)> {
    let refused = |why: String| Error::RecordRefused {
        id: target.id.clone(),
        why: format!("{why}; shipfront publishes only functions it generates"),
    };
    inputs
        .check()
        .map_err(|e| refused(format!("its routing inputs do not pass the checks: {e}")))?;
    let atomic = target.atomic.is_some();
    let code = code_of(inputs, atomic)
        .map_err(|e| refused(format!("its routing function cannot be generated: {e}")))?;
    // Every function shipfront writes names its version on its first line.
    let changed = match crate::core::routing::generator_version(recorded) {
        None => true,
        Some(version) => version == env!("CARGO_PKG_VERSION") && code != recorded,
    };
    if changed {
        return Err(refused(
            "its routing function's code is not what its recorded inputs generate, so someone \
             changed it after the deploy"
                .to_owned(),
        ));
    }
    let Some(hidden) = hidden_now else {
        return Ok((code, inputs.clone()));
    };
    let now = RoutingInputs {
        config: crate::core::routing::RoutingConfig {
            hidden,
            ..inputs.config.clone()
        },
        layout: inputs.layout.clone(),
    };
    let code = code_of(&now, atomic)
        .map_err(|e| refused(format!("its routing function cannot be generated: {e}")))?;
    Ok((code, now))
}

/// The routing function generated from `inputs`: an atomic site's reads the live release from
/// the KeyValueStore and sends every URL into it.
fn code_of(
    inputs: &RoutingInputs,
    atomic: bool,
) -> std::result::Result<String, crate::core::routing::TooLarge> {
    if atomic {
        crate::core::atomic::function(inputs, crate::core::atomic::RELEASES_URL)
    } else {
        inputs.function()
    }
}

/// The edge-routing function a run keeps live.
#[derive(Debug, Clone)]
pub(crate) struct Routing {
    pub(crate) code: String,
    /// What `code` was generated from, which the release records.
    pub(crate) inputs: RoutingInputs,
    /// Replace a viewer-request function shipfront did not write.
    pub(crate) force: bool,
    /// An atomic site's KeyValueStore (its ARN), which the function is associated with.
    pub(crate) key_value_store: Option<String>,
    /// The function of an atomic site, published after the switch.
    pub(crate) atomic: bool,
}

/// The response headers (`[headers]`) a run keeps live.
#[derive(Debug, Clone)]
pub(crate) struct Headers {
    /// As written in shipfront.toml: what the release records.
    pub(crate) table: BTreeMap<String, String>,
    pub(crate) policy: ResponseHeaders,
    /// Replace a response headers policy shipfront did not write.
    pub(crate) force: bool,
}

impl Headers {
    /// The headers of `table` (`[headers]` as written); `whose` names where it came from.
    ///
    /// # Errors
    /// A table that no longer reads as headers, naming every bad entry.
    pub(crate) fn from_table(
        table: &BTreeMap<String, String>,
        force: bool,
        whose: &str,
    ) -> Result<Self> {
        let policy = crate::core::response_headers::parse(table)
            .map_err(|errors| Error::Usage(format!("{whose}: {}", errors.join("; "))))?;
        Ok(Headers {
            table: table.clone(),
            policy,
            force,
        })
    }
}

impl EdgeWork {
    /// What a run keeps live, before `check` says what changes.
    #[must_use]
    pub(crate) fn new(routing: Option<Routing>, headers: Option<Headers>) -> Self {
        EdgeWork {
            routing,
            headers,
            ..EdgeWork::default()
        }
    }

    /// Whether publishing changes the distribution: a release even when no object changes.
    #[must_use]
    pub(crate) fn changes(&self) -> bool {
        self.routing_changes || self.headers_change
    }

    /// Reads the distribution before any write: refuses a viewer-request function or a
    /// response headers policy shipfront did not write (unless forced), and notes which of
    /// the two publishing changes.
    pub(crate) async fn check<C: Cdn>(mut self, edge: Option<&Edge<C>>) -> Result<Self> {
        let Some(edge) = edge else {
            return Ok(self);
        };
        if let Some(routing) = &self.routing {
            (self.routing_changes, self.associated) = routing_changes(edge, routing).await?;
        }
        if let Some(headers) = &self.headers {
            (self.headers_change, self.attached_policy) = headers_change(edge, headers).await?;
        }
        Ok(self)
    }

    /// What the plan says of the edge.
    pub(crate) fn notes(&self, distribution: &str) -> Vec<String> {
        let mut notes = Vec::new();
        // An atomic site publishes after its switch; an in-place one between pages and deletions.
        let when = if self.routing.as_ref().is_some_and(|r| r.atomic) {
            "after the switch"
        } else {
            "after the pages and before deletions"
        };
        if self.routing.is_some() {
            notes.push(format!(
                "routing function `{}`: {}",
                crate::core::routing::function_name(distribution),
                if self.routing_changes {
                    format!("published, and run on viewer requests, {when}")
                } else {
                    "unchanged".to_owned()
                }
            ));
        }
        if let Some(headers) = &self.headers {
            let names: Vec<String> = headers.policy.lines().into_iter().map(|(n, _)| n).collect();
            notes.push(format!(
                "response headers policy `{}` ({}): {}",
                crate::core::response_headers::policy_name(distribution),
                if names.is_empty() {
                    "no headers".to_owned()
                } else {
                    names.join(", ")
                },
                if self.headers_change {
                    format!("written and attached, {when}")
                } else {
                    "unchanged".to_owned()
                }
            ));
        }
        notes
    }

    /// Publishes what changes: the routing function, then the response headers policy.
    pub(crate) async fn publish<C: Cdn>(&self, edge: &Edge<C>) -> Result<()> {
        if let Some(routing) = self.routing.as_ref().filter(|_| self.routing_changes) {
            publish_routing(edge, routing, self.associated.as_deref()).await?;
        }
        if let Some(headers) = self.headers.as_ref().filter(|_| self.headers_change) {
            publish_headers(edge, &headers.policy, self.attached_policy.as_deref()).await?;
        }
        Ok(())
    }
}

/// Whether publishing `routing` changes anything, and the viewer-request function found; one
/// shipfront did not write is refused unless forced.
async fn routing_changes<C: Cdn>(
    edge: &Edge<C>,
    routing: &Routing,
) -> Result<(bool, Option<String>)> {
    use crate::core::routing::{function_name, is_ours};
    let distribution = edge.distribution.as_str();
    let associated = edge.cdn.viewer_request_function(distribution).await?;
    let ours = associated
        .as_deref()
        .is_some_and(|arn| is_ours(arn, distribution));
    if let Some(arn) = associated.as_deref().filter(|_| !ours && !routing.force) {
        return Err(Error::Usage(format!(
            "distribution `{distribution}` runs `{arn}` on viewer requests, a function \
             shipfront did not write; nothing was written. Pass --force-routing to replace it \
             with shipfront's routing"
        )));
    }
    let name = function_name(distribution);
    let live = edge
        .cdn
        .function_code(&name, true)
        .await?
        .map(|(code, _)| code);
    let store_changes = match &routing.key_value_store {
        Some(arn) => edge.cdn.function_key_value_store(&name).await?.as_ref() != Some(arn),
        None => false,
    };
    Ok((
        !ours || store_changes || live.as_deref() != Some(routing.code.as_str()),
        associated,
    ))
}

/// Whether writing `headers` changes anything, and the id of the policy found; one shipfront
/// did not write is refused unless forced.
async fn headers_change<C: Cdn>(
    edge: &Edge<C>,
    headers: &Headers,
) -> Result<(bool, Option<String>)> {
    let name = crate::core::response_headers::policy_name(&edge.distribution);
    let attached = edge.cdn.response_headers_policy(&edge.distribution).await?;
    let id = attached.as_ref().map(|p| p.id.clone());
    let changes = match attached {
        Some(attached) if attached.name != name && !headers.force => {
            return Err(Error::Usage(format!(
                "distribution `{}` adds the response headers policy `{}` (id {}), which \
                 shipfront did not write; nothing was written. Pass --force-headers to replace \
                 it with shipfront's",
                edge.distribution, attached.name, attached.id
            )));
        }
        Some(attached) if attached.name == name => {
            attached.headers != headers.policy || attached.hand_edited
        }
        _ => true,
    };
    Ok((changes, id))
}

/// Publishes `code` as the distribution's routing function and runs it on viewer requests in
/// place of `associated`, the function `check` found there.
async fn publish_routing<C: Cdn>(
    edge: &Edge<C>,
    routing: &Routing,
    associated: Option<&str>,
) -> Result<()> {
    let name = crate::core::routing::function_name(&edge.distribution);
    let etag = edge.cdn.function_code(&name, false).await?.map(|(_, e)| e);
    let store = routing.key_value_store.as_deref();
    let etag = edge
        .cdn
        .put_function(&name, &routing.code, etag.as_deref(), store)
        .await?;
    let arn = edge.cdn.publish_function(&name, &etag).await?;
    // Associating it again would be a distribution update (minutes to deploy) for nothing.
    if associated != Some(arn.as_str()) {
        let distribution = &edge.distribution;
        edge.cdn
            .set_viewer_request_function(distribution, &arn)
            .await?;
    }
    output::err_line(&format!("published the routing function `{name}`"));
    Ok(())
}

/// Writes `policy` as the distribution's response headers policy and attaches it in place of
/// `attached`, the policy id `check` found there.
async fn publish_headers<C: Cdn>(
    edge: &Edge<C>,
    policy: &ResponseHeaders,
    attached: Option<&str>,
) -> Result<()> {
    let name = crate::core::response_headers::policy_name(&edge.distribution);
    let id = edge.cdn.put_response_headers_policy(&name, policy).await?;
    if attached != Some(id.as_str()) {
        edge.cdn
            .set_response_headers_policy(&edge.distribution, &id)
            .await?;
    }
    output::err_line(&format!("wrote the response headers policy `{name}`"));
    Ok(())
}

/// Refuses (or with `fix`, repairs) a distribution that lacks what an SPA needs: the
/// DefaultRootObject and the 403/404 -> fallback page (200) error responses.
pub(crate) async fn check_spa<C: Cdn>(
    edge: &Edge<C>,
    fallback: &str,
    fix: bool,
    dry_run: bool,
) -> Result<()> {
    let distribution = edge.distribution.as_str();
    let settings = edge.cdn.spa_settings(distribution).await?;
    let gaps = crate::core::spa::gaps(&settings, fallback);
    if gaps.is_empty() {
        return Ok(());
    }
    let listed = gaps
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if !fix {
        return Err(Error::SpaNotReady {
            distribution: distribution.to_owned(),
            gaps: listed,
        });
    }
    if dry_run {
        output::err_line(&format!(
            "--fix-spa would repair distribution `{distribution}`: {listed}"
        ));
        return Ok(());
    }
    edge.cdn.fix_spa(distribution, fallback).await?;
    output::err_line(&format!(
        "repaired distribution `{distribution}` for a single-page app: {listed}"
    ));
    Ok(())
}
