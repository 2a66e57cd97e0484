"""Atomic releases against in-place deploys (issue 22), behind `scripts/bench --atomic`.

The same synthetic build (scripts/lib/bench.py's) is deployed in place (`--routing`) to one
bucket and atomically (`--atomic`) to another, each behind its own emulated distribution. Then
5% of it changes the way a bundler changes it (changed fingerprinted chunks get new names, the
old ones leave; pages, images and data change in place), both deploy that, and both roll it
back. Every run goes through tests/support/fault_proxy.py twice over: one proxy in front of S3
counts requests by kind, one in front of CloudFront stands in for CloudFront Functions and the
KeyValueStore data plane (which the emulator lacks) and counts those calls. Wall and CPU time
are the client's, from GNU time; the proxies slow every request a little, alike for both modes.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

ROOT = bench.ROOT


def create_distribution(python, endpoint, bucket):
    """A distribution whose origin is `bucket`, on the CloudFront emulator: its id."""
    code = (
        "import sys, boto3\n"
        "cf = boto3.client('cloudfront', endpoint_url=sys.argv[1], region_name='us-east-1',"
        " aws_access_key_id='bench', aws_secret_access_key='bench')\n"
        "origin = {'Id': 'site', 'DomainName': sys.argv[2] + '.s3.us-east-1.amazonaws.com',"
        " 'OriginPath': '', 'S3OriginConfig': {'OriginAccessIdentity': ''}}\n"
        "config = {'CallerReference': sys.argv[2], 'Comment': '', 'Enabled': True,"
        " 'DefaultRootObject': 'index.html', 'Origins': {'Quantity': 1, 'Items': [origin]},"
        " 'DefaultCacheBehavior': {'TargetOriginId': 'site', 'ViewerProtocolPolicy': 'redirect-to-https',"
        " 'CachePolicyId': '658327ea-f89d-4fab-a63d-7e88639e58f6'}}\n"
        "print(cf.create_distribution(DistributionConfig=config)['Distribution']['Id'])\n"
    )
    out = subprocess.run([python, "-c", code, endpoint, bucket], check=True, capture_output=True)
    return out.stdout.decode().strip()


def change_as_built(root, rels, share, seed=2):
    """Changes `share` of the files as a new build does: a changed fingerprinted chunk gets a
    new name (the old one leaves the build), anything else new bytes under its name. Returns
    the new list of files."""
    rng = random.Random(seed)
    picked = set(rng.sample([r for r in rels if not r.startswith("media/")], int(len(rels) * share)))
    out = []
    for rel in rels:
        if rel not in picked:
            out.append(rel)
            continue
        path = os.path.join(root, rel)
        size = os.path.getsize(path)
        if rel.startswith("assets/chunk-"):
            os.remove(path)
            stem, _, ext = rel.rsplit(".", 2)
            rel = f"{stem}.{rng.getrandbits(32):08x}.{ext}"
            path = os.path.join(root, rel)
        with open(path, "wb") as f:
            f.write(rng.randbytes(size))
        out.append(rel)
    return out


def run(argv, env):
    """Runs argv under GNU time: (wall s, CPU s, peak RSS MiB, stdout)."""
    return bench.run_measured(argv, env, capture=True)


def counted(before, after):
    """What a run asked, from two readings of a proxy's counters."""
    return {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0) > 0}


S3_KINDS = ["list", "get", "head", "put", "upload_part", "create_multipart", "complete_multipart",
            "delete_objects", "delete"]
CF_KINDS = ["functions_get", "functions_post", "functions_put", "kvs_get", "kvs_post"]


def s3_requests(stats):
    return ", ".join(f"{k} {stats[k]}" for k in S3_KINDS if stats.get(k))


def cf_requests(stats):
    return ", ".join(f"{k} {stats[k]}" for k in CF_KINDS if stats.get(k)) or "-"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--files", type=int, default=10_000)
    p.add_argument("--s3", required=True, help="the S3 emulator's endpoint")
    p.add_argument("--cloudfront", required=True, help="the CloudFront emulator's endpoint")
    p.add_argument("--s3-python", required=True)
    p.add_argument("--cloudfront-python", required=True)
    p.add_argument("--shipfront", required=True)
    p.add_argument("--out", default=os.path.join(ROOT, "docs/benchmarks-atomic.md"))
    p.add_argument("--command", default="scripts/bench --atomic")
    args = p.parse_args()

    work = tempfile.mkdtemp(prefix="shipfront-bench-atomic-")
    src = os.path.join(work, "src")
    rels = bench.generate(src, args.files)
    total = sum(os.path.getsize(os.path.join(src, r)) for r in rels)
    print(f"build: {len(rels)} files, {total / 2**20:.0f} MiB", flush=True)
    emulator = bench.Emulator(args.s3, args.s3_python)
    s3 = bench.Proxy(args.s3)
    cloudfront = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "tests/support/fault_proxy.py"), "--target", args.cloudfront,
         "--functions", "--kvs"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    line = cloudfront.stdout.readline().decode().strip()
    cf_endpoint = "http://127.0.0.1:" + line.rsplit(" ", 1)[-1]
    cf = bench.Proxy.__new__(bench.Proxy)
    cf.proc, cf.endpoint = cloudfront, cf_endpoint
    env = bench.tool_env(s3.endpoint, work)
    env.update(AWS_ENDPOINT_URL_CLOUDFRONT=cf_endpoint, AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE=cf_endpoint)
    rows = []
    try:
        for mode, flag in [("in place", "--routing"), ("atomic", "--atomic")]:
            bucket = "bench-" + mode.replace(" ", "-")
            emulator.create_bucket(bucket)
            distribution = create_distribution(args.cloudfront_python, args.cloudfront, bucket)
            dist = os.path.join(work, "dist-" + bucket)
            shutil.rmtree(dist, ignore_errors=True)
            shutil.copytree(src, dist)
            common = ["--bucket", bucket, "--distribution-id", distribution, "--no-progress", "--json"]
            deploy = [args.shipfront, "deploy", dist, flag, "--max-deletes", "100000"] + common
            # A rollback republishes what the release recorded; only the atomic one needs its flag.
            rollback = [args.shipfront, "rollback", "--max-deletes", "100000"] + common
            if flag == "--atomic":
                rollback.append(flag)
            run(deploy, env)
            print(f"{mode}: first deploy done", flush=True)
            change_as_built(dist, rels, 0.05)
            bench.touch_all(dist)
            for step, argv in [("deploy 5% change", deploy), ("rollback", rollback)]:
                before = (s3.stats(), cf.stats())
                wall, cpu, rss, out = run(argv, env)
                after = (s3.stats(), cf.stats())
                doc = json.loads(out)
                inv = doc.get("invalidation") or {}
                switch = doc.get("switch") or {}
                result = doc.get("result") or {}
                rows.append(dict(
                    mode=mode, step=step, wall=wall, cpu=cpu, rss=rss,
                    s3=counted(before[0], after[0]), cf=counted(before[1], after[1]),
                    paths=len(inv.get("paths") or []), urls=inv.get("urls", 0),
                    to_switch=switch.get("seconds"), copied=result.get("copied", 0),
                    uploaded=result.get("uploaded", 0), restored=result.get("restored", 0),
                ))
                print(f"{mode} {step}: {rows[-1]}", flush=True)
    finally:
        s3.close()
        cf.close()
        shutil.rmtree(work, ignore_errors=True)
    write_report(args, len(rels), total, rows)


def write_report(args, n, total, rows):
    by = {(r["mode"], r["step"]): r for r in rows}
    lines = [
        "# Benchmarks: atomic releases against in-place deploys",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `{args.command.strip()}` on one machine ({os.cpu_count()} cores), against",
        "the moto S3 and CloudFront emulators, with the test proxy's stand-ins for CloudFront Functions",
        "and the KeyValueStore data plane (the emulator has neither), counting every request.",
        "",
        f"Synthetic build: {n} files, {total / 2**20:.0f} MiB (scripts/lib/bench.py's). The change: 5% of the",
        "files as a bundler changes them (changed fingerprinted chunks get new names and the old ones",
        "leave the build; pages, images and data change in place). In place deploys with `--routing`,",
        "atomic with `--atomic`, each to its own bucket and distribution; the rollback undoes the change.",
        "",
        "| mode | step | wall s | CPU s | peak RSS MiB | S3 requests | CloudFront requests | uploaded | copied | restored | invalidated paths | s to the switch |",
        "| --- | --- | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        to_switch = f"{r['to_switch']:.2f}" if r["to_switch"] is not None else "-"
        lines.append(
            f"| {r['mode']} | {r['step']} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['rss']:.0f} | {s3_requests(r['s3'])} "
            f"| {cf_requests(r['cf'])} | {r['uploaded']} | {r['copied']} | {r['restored']} | {r['paths']} | {to_switch} |"
        )
    lines.append("")
    ratios = []
    for step in ["deploy 5% change", "rollback"]:
        a, i = by.get(("atomic", step)), by.get(("in place", step))
        if a and i:
            ratios.append(f"- {step}: atomic wall ÷ in-place wall {a['wall'] / i['wall']:.2f}, "
                          f"atomic CPU ÷ in-place CPU {a['cpu'] / max(i['cpu'], 1e-9):.2f}.")
    lines += ratios + [
        "",
        "`s to the switch`: from the command's start to the KeyValueStore write that made the release",
        "live (`switch.seconds` of `--json`). KeyValueStore writes are `kvs_post`; the S3 requests of an",
        "atomic rollback are the records' listing and reads, the target's folders' listing, the deploy",
        "lock (a put and a delete) and the rollback's record (a put).",
        "",
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
