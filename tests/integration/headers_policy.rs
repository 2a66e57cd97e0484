//! `[headers]` end to end through the real SDK (issue 12): the response headers policy and its
//! attachment to the default cache behavior come from the test proxy's stand-in
//! (`--functions`), since the emulator has no response headers policies; the distribution
//! itself is the emulator's.

use aws_sdk_cloudfront::types::{
    ResponseHeadersPolicyConfig, ResponseHeadersPolicySecurityHeadersConfig,
};

use crate::harness::{Proxy, Run, Site, World, block_on, cloudfront_client_at};

/// `deploy SITE --distribution-id D ARGS`, with CloudFront reached through `proxy`.
fn deploy(world: &World, site: &Site, distribution: &str, proxy: &Proxy, args: &[&str]) -> Run {
    world
        .shipfront("deploy")
        .site(site)
        .distribution(distribution)
        .cloudfront_via(proxy)
        .args(&["--no-progress"])
        .args(args)
        .run()
}

/// The policy the distribution's default cache behavior has, read through the SDK.
fn attached_policy(distribution: &str, proxy: &Proxy) -> Option<ResponseHeadersPolicyConfig> {
    let client = cloudfront_client_at(&proxy.endpoint);
    block_on(async {
        let config = client
            .get_distribution_config()
            .id(distribution)
            .send()
            .await
            .unwrap();
        let id = config
            .distribution_config()?
            .default_cache_behavior()?
            .response_headers_policy_id()?
            .to_owned();
        let policy = client
            .get_response_headers_policy()
            .id(id)
            .send()
            .await
            .unwrap();
        policy
            .response_headers_policy()?
            .response_headers_policy_config()
            .cloned()
    })
}

const HEADERS: &str = "[headers]\nStrict-Transport-Security = \"max-age=63072000; includeSubDomains\"\nX-Content-Type-Options = \"nosniff\"\nPermissions-Policy = \"camera=()\"\n";

#[test]
fn deploy_writes_the_headers_policy_once_and_rollback_restores_it() {
    let world = World::new("headers-deploy");
    let distribution = world.distribution("");
    let proxy = Proxy::start_cloudfront(&["--functions"]);
    let site = Site::new();
    site.file("index.html", "<h1>home</h1>");
    world.config(HEADERS);
    let name = format!("shipfront-{distribution}");

    let first = deploy(&world, &site, &distribution, &proxy, &[]).ok();
    assert!(
        first
            .stderr
            .contains(&format!("wrote the response headers policy `{name}`")),
        "{}",
        first.stderr
    );
    let policy = attached_policy(&distribution, &proxy).expect("attached");
    assert_eq!(policy.name(), name);
    let security = policy.security_headers_config().expect("security headers");
    let hsts = security.strict_transport_security().expect("HSTS");
    assert_eq!(
        (
            hsts.access_control_max_age_sec(),
            hsts.include_subdomains(),
            hsts.r#override()
        ),
        (63_072_000, Some(true), true)
    );
    assert!(security.content_type_options().is_some());
    let custom = policy.custom_headers_config().expect("custom headers");
    assert_eq!(
        custom
            .items()
            .iter()
            .map(|h| (h.header(), h.value()))
            .collect::<Vec<_>>(),
        [("Permissions-Policy", "camera=()")]
    );
    // The emulator's own settings of the distribution are kept.
    let kept = world.distribution_config(&distribution);
    assert_eq!(kept.default_root_object(), Some("index.html"));

    let dry = deploy(&world, &site, &distribution, &proxy, &["--dry-run"]).ok();
    assert!(
        dry.stdout.contains(&format!(
            "response headers policy `{name}` (Strict-Transport-Security, \
             X-Content-Type-Options, Permissions-Policy): unchanged"
        )),
        "read back and compared: {}",
        dry.stdout
    );

    // Only the headers change: the same policy is updated under its ETag, and a release made.
    world.config(&HEADERS.replace("camera=()", "camera=(), geolocation=()"));
    let second = deploy(&world, &site, &distribution, &proxy, &[]).ok();
    assert!(second.stderr.contains("wrote the response headers policy"));
    assert_eq!(world.releases().len(), 2, "a release for the headers alone");
    let stats = proxy.stats();
    assert_eq!(
        (
            stats.get("policies_post").copied(),
            stats.get("policies_put").copied()
        ),
        (Some(1), Some(1)),
        "created once, updated once: {stats:?}"
    );

    // Rolling back writes the first release's headers again.
    let back = world
        .shipfront("rollback")
        .distribution(&distribution)
        .cloudfront_via(&proxy)
        .ok();
    assert!(
        back.stderr.contains("wrote the response headers policy"),
        "{}",
        back.stderr
    );
    let restored = attached_policy(&distribution, &proxy).expect("attached");
    assert_eq!(
        restored.custom_headers_config(),
        policy.custom_headers_config()
    );
}

#[test]
fn a_policy_shipfront_did_not_write_and_bad_headers_are_refused_before_any_write() {
    let world = World::new("headers-foreign");
    let distribution = world.distribution("");
    let proxy = Proxy::start_cloudfront(&["--functions"]);
    let site = Site::new();
    site.file("index.html", "<h1>home</h1>");

    // Bad [headers]: exit 2 naming the header, before any request.
    world.config("[headers]\nCache-Control = \"no-cache\"\n");
    let bad = deploy(&world, &site, &distribution, &proxy, &[]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("[headers] `Cache-Control`"),
        "{}",
        bad.stderr
    );

    // A policy made by hand, attached to the distribution.
    let client = cloudfront_client_at(&proxy.endpoint);
    block_on(async {
        let created = client
            .create_response_headers_policy()
            .response_headers_policy_config(
                ResponseHeadersPolicyConfig::builder()
                    .name("hand-made")
                    .security_headers_config(
                        ResponseHeadersPolicySecurityHeadersConfig::builder().build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let id = created.response_headers_policy().unwrap().id().to_owned();
        let current = client
            .get_distribution_config()
            .id(&distribution)
            .send()
            .await
            .unwrap();
        let mut config = current.distribution_config().unwrap().clone();
        let mut behavior = config.default_cache_behavior.take().unwrap();
        behavior.response_headers_policy_id = Some(id);
        config.default_cache_behavior = Some(behavior);
        client
            .update_distribution()
            .id(&distribution)
            .if_match(current.e_tag().unwrap())
            .distribution_config(config)
            .send()
            .await
            .unwrap();
    });

    world.config(HEADERS);
    let refused = deploy(&world, &site, &distribution, &proxy, &[]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("`hand-made`") && refused.stderr.contains("--force-headers"),
        "{}",
        refused.stderr
    );
    assert!(world.all_objects().is_empty(), "nothing written");
    assert_eq!(
        attached_policy(&distribution, &proxy).map(|p| p.name().to_owned()),
        Some("hand-made".to_owned())
    );

    deploy(&world, &site, &distribution, &proxy, &["--force-headers"]).ok();
    assert_eq!(
        attached_policy(&distribution, &proxy).map(|p| p.name().to_owned()),
        Some(format!("shipfront-{distribution}"))
    );
}
