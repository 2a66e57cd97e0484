"""Benchmark driver behind scripts/bench: shipfront vs `aws s3 sync --delete` vs
`rclone sync --checksum`, on one local S3 emulator, in one run.

Scenarios, each tool on its own fresh bucket:
  first      the whole synthetic build into an empty bucket
  identical  the same build again with fresh modification times (a new CI build)
  changed5   5% of the files changed (and fresh modification times)

Pass 1 runs each command straight against the emulator and measures wall time, client CPU time
(user + system, children included) and peak RSS. Pass 2 repeats the scenarios on new buckets
through tests/support/fault_proxy.py (no faults) to count requests by kind and bytes sent: the
proxy slows requests down, so its pass is not timed.

Then the listing runs (issue 14): the identical rebuild, each run through the proxy, which counts
the list requests, follows their chain of continuation tokens and adds a fixed delay per request
(--latency-ms, standing in for S3's round trip): at --files with every tool, and at
--large-files (a build of smaller files) with shipfront alone, which also gives the first
deploy's peak memory at that size. shipfront runs twice each time: listing in key ranges at once
(its default) and in one range (SHIPFRONT_LIST_RANGES=1).
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
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PAGE = b"<!doctype html><html><head><link rel=stylesheet href=/assets/%s></head><body>%s</body></html>"


def generate(root, n_files, seed=1, shrink=1):
    """A synthetic build of about 30 KB per file on average (divided by `shrink`), plus two
    files over 16 MiB. Each file is written as it is made, so this process stays small."""
    rng = random.Random(seed)

    def size(low, high):
        return max(64, rng.randint(low, high) // shrink)
    rels = []

    def write(rel, body):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(body)
        rels.append(rel)

    for i in range(n_files - 3):
        r = i % 20
        if r < 4:  # 20% pages
            text = rng.randbytes(size(2_000, 6_000)).hex().encode()
            write(f"pages/section{i % 50}/page{i}.html", PAGE % (f"app.{i % 97:08x}.css".encode(), text))
        elif r < 10:  # 30% fingerprinted chunks
            ext = "js" if r < 8 else "css"
            write(f"assets/chunk-{i}.{rng.getrandbits(32):08x}.{ext}", rng.randbytes(size(5_000, 55_000)))
        elif r < 19:  # 45% images
            write(f"img/{i % 100}/photo{i}.webp", rng.randbytes(size(10_000, 60_000)))
        else:  # 5% data
            write(f"data/item{i}.json", b'{"id": %d, "v": "%s"}' % (i, rng.randbytes(800).hex().encode()))
    write("media/intro.mp4", rng.randbytes(20 << 20))
    write("media/talk.mp4", rng.randbytes(24 << 20))
    write("index.html", PAGE % (b"app.00000000.css", b"home"))
    return rels


def touch_all(root):
    """Fresh modification times, as a new CI checkout and build gives."""
    now = time.time() + 5
    for dirpath, _, names in os.walk(root):
        for name in names:
            os.utime(os.path.join(dirpath, name), (now, now))


def change_some(root, rels, share, seed=2):
    rng = random.Random(seed)
    picked = rng.sample([r for r in rels if not r.startswith("media/")], int(len(rels) * share))
    for rel in picked:
        path = os.path.join(root, rel)
        size = os.path.getsize(path)
        with open(path, "wb") as f:
            f.write(rng.randbytes(size))
    return len(picked)


class Emulator:
    def __init__(self, endpoint, python):
        self.endpoint = endpoint
        self.python = python

    def create_bucket(self, name):
        code = (
            "import sys, boto3\n"
            "s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',"
            " aws_access_key_id='bench', aws_secret_access_key='bench')\n"
            "s3.create_bucket(Bucket=sys.argv[2])\n"
            "s3.put_bucket_versioning(Bucket=sys.argv[2], VersioningConfiguration={'Status': 'Enabled'})\n"
        )
        subprocess.run([self.python, "-c", code, self.endpoint, name], check=True)


def run_measured(argv, env, capture=False):
    """Runs argv under GNU time; returns wall seconds, CPU seconds (user + system) and peak RSS
    in MiB (and, with `capture`, its standard output). GNU time forks from a small process, so
    the RSS is the command's own."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        start = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%U %S %M", "-o", out.name] + argv,
            env=env, stdout=subprocess.PIPE if capture else subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"benchmark command failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr.decode(errors='replace')[-3000:]}")
        user, system, rss_kib = out.read().split()[-3:]
    measured = wall, float(user) + float(system), int(rss_kib) / 1024
    return measured + (proc.stdout.decode(),) if capture else measured


def tool_commands(tool, dist, bucket, endpoint, bins):
    if tool == "shipfront":
        return [bins["shipfront"], "deploy", dist, "--bucket", bucket, "--no-progress", "--max-deletes", "100000"]
    if tool == "aws s3 sync":
        return [bins["aws"], "s3", "sync", dist, f"s3://{bucket}", "--delete", "--endpoint-url", endpoint, "--only-show-errors"]
    if tool == "rclone":
        return [bins["rclone"], "sync", "--checksum", dist, f"bench:{bucket}"]
    raise ValueError(tool)


def tool_env(endpoint, workdir):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    aws_config = os.path.join(workdir, "aws-config")
    with open(aws_config, "w") as f:
        f.write("[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n")
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION="us-east-1",
        AWS_CONFIG_FILE=aws_config,
        AWS_SHARED_CREDENTIALS_FILE=os.path.join(workdir, "none"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL_S3=endpoint,
        RCLONE_CONFIG=os.path.join(workdir, "none.conf"),
        RCLONE_CONFIG_BENCH_TYPE="s3",
        RCLONE_CONFIG_BENCH_PROVIDER="Other",
        RCLONE_CONFIG_BENCH_ENDPOINT=endpoint,
        RCLONE_CONFIG_BENCH_ACCESS_KEY_ID="bench",
        RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY="bench",
        RCLONE_CONFIG_BENCH_REGION="us-east-1",
        RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE="true",
    )
    return env


class Proxy:
    def __init__(self, target, delay_ms=0):
        delay = ["--delay-ms", str(delay_ms)] if delay_ms else []
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests/support/fault_proxy.py"), "--target", target] + delay,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        line = self.proc.stdout.readline().decode().strip()
        self.endpoint = "http://127.0.0.1:" + line.rsplit(" ", 1)[-1]

    def stats(self):
        with urllib.request.urlopen(self.endpoint + "/__stats") as r:
            return json.load(r)

    def close(self):
        self.proc.kill()
        self.proc.wait()


def scenarios(tree_src, workdir, rels):
    """Yields (scenario name, dist folder) in order, mutating one private copy of the tree."""
    dist = os.path.join(workdir, "dist")
    shutil.rmtree(dist, ignore_errors=True)
    shutil.copytree(tree_src, dist)
    yield "first", dist
    touch_all(dist)
    yield "identical", dist
    change_some(dist, rels, 0.05)
    touch_all(dist)
    yield "changed5", dist


TOOLS = ["shipfront", "aws s3 sync", "rclone"]

# How shipfront lists: in up to 16 key ranges at once (its default), or in one range.
LISTINGS = {"shipfront": [("ranges", {}), ("one range", {"SHIPFRONT_LIST_RANGES": "1"})]}


def listing_runs(n_files, shrink, tools, latencies, args, bins, emulator, work):
    """Each tool deploys an n-file build into its own bucket (timed straight to the emulator),
    then redeploys it unchanged with fresh modification times through the proxy, once per added
    latency (and per listing, for shipfront). Returns the build's bytes, the first deploys'
    timings by tool and one row per redeploy."""
    src = os.path.join(work, f"src-{n_files}")
    rels = generate(src, n_files, shrink=shrink)
    total = sum(os.path.getsize(os.path.join(src, r)) for r in rels)
    print(f"listing runs: {len(rels)} files, {total / 2**20:.0f} MiB", flush=True)
    firsts, rows = {}, []
    for tool in tools:
        bucket = f"list-{n_files}-{tool.split()[0]}"
        emulator.create_bucket(bucket)
        firsts[tool] = run_measured(tool_commands(tool, src, bucket, args.endpoint, bins), tool_env(args.endpoint, work))
        print(f"{tool:12} first of {len(rels)} files: {firsts[tool]}", flush=True)
        for latency in latencies:
            for listing, extra in LISTINGS.get(tool, [("", {})]):
                touch_all(src)
                proxy = Proxy(args.endpoint, latency)
                try:
                    env = tool_env(proxy.endpoint, work)
                    env.update(extra)
                    measured = run_measured(tool_commands(tool, src, bucket, proxy.endpoint, bins), env)
                    stats = proxy.stats()
                finally:
                    proxy.close()
                row = dict(files=len(rels), latency=latency, tool=tool, listing=listing, measured=measured, stats=stats)
                rows.append(row)
                print(f"{tool:12} identical {len(rels)} files, {latency} ms: {measured} {stats}", flush=True)
    shutil.rmtree(src, ignore_errors=True)
    return total, firsts, rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--files", type=int, default=10_000)
    p.add_argument("--latency-ms", type=int, default=50, help="added to each request of the listing runs")
    p.add_argument("--large-files", type=int, default=100_000, help="the listing runs' large build (0: none)")
    p.add_argument("--endpoint", required=True)
    p.add_argument("--emulator-python", required=True)
    p.add_argument("--shipfront", required=True)
    p.add_argument("--aws", required=True)
    p.add_argument("--rclone", required=True)
    p.add_argument("--out", default=os.path.join(ROOT, "docs/benchmarks.md"))
    p.add_argument("--command", default="scripts/bench")
    args = p.parse_args()
    bins = {"shipfront": args.shipfront, "aws": args.aws, "rclone": args.rclone}
    emulator = Emulator(args.endpoint, args.emulator_python)

    work = tempfile.mkdtemp(prefix="shipfront-bench.")
    try:
        src = os.path.join(work, "src")
        rels = generate(src, args.files)
        total = sum(os.path.getsize(os.path.join(src, r)) for r in rels)
        print(f"synthetic build: {len(rels)} files, {total / 2**20:.0f} MiB", flush=True)

        timings = {}
        for tool in TOOLS:
            bucket = "bench-" + tool.split()[0] + "-timed"
            emulator.create_bucket(bucket)
            env = tool_env(args.endpoint, work)
            for name, dist in scenarios(src, work, rels):
                wall, cpu, rss = run_measured(tool_commands(tool, dist, bucket, args.endpoint, bins), env)
                timings[(tool, name)] = (wall, cpu, rss)
                print(f"{tool:12} {name:10} wall {wall:7.2f}s  cpu {cpu:7.2f}s  rss {rss:6.0f} MiB", flush=True)

        counts = {}
        for tool in TOOLS:
            bucket = "bench-" + tool.split()[0] + "-counted"
            emulator.create_bucket(bucket)
            for name, dist in scenarios(src, work, rels):
                proxy = Proxy(args.endpoint)
                try:
                    env = tool_env(proxy.endpoint, work)
                    run_measured(tool_commands(tool, dist, bucket, proxy.endpoint, bins), env)
                    counts[(tool, name)] = proxy.stats()
                finally:
                    proxy.close()
                print(f"{tool:12} {name:10} requests {counts[(tool, name)]}", flush=True)

        # Hashing: shipfront's scan (a dry run against an empty bucket) vs openssl md5 on one core.
        emulator.create_bucket("bench-hash")
        env = tool_env(args.endpoint, work)
        scan_runs = [run_measured([args.shipfront, "deploy", src, "--bucket", "bench-hash", "--dry-run"], env)[0] for _ in range(3)]
        openssl_runs = []
        listing = os.path.join(work, "files.txt")
        with open(listing, "wb") as f:
            f.write(b"\0".join(os.path.join(src, r).encode() for r in rels))
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(["sh", "-c", 'xargs -0 openssl md5 < "$1" > /dev/null', "sh", listing], check=True)
            openssl_runs.append(time.perf_counter() - start)
        cores = os.cpu_count() or 1
        scan_rate = total / min(scan_runs) / 2**20
        openssl_rate = total / min(openssl_runs) / 2**20
        print(f"hashing: shipfront {scan_rate:.0f} MiB/s, openssl md5 one core {openssl_rate:.0f} MiB/s, {cores} cores", flush=True)

        latencies = [0, args.latency_ms] if args.latency_ms else [0]
        listing = [listing_runs(args.files, 1, TOOLS, latencies, args, bins, emulator, work)]
        if args.large_files:
            listing.append(listing_runs(args.large_files, 8, ["shipfront"], latencies, args, bins, emulator, work))

        write_report(args, len(rels), total, timings, counts, scan_rate, openssl_rate, cores, listing)
    finally:
        shutil.rmtree(work, ignore_errors=True)


KINDS = ["list", "put", "create_multipart", "upload_part", "complete_multipart", "delete_objects", "delete", "head", "get"]


def listing_report(listing):
    """The listing runs as a table (see the module's docstring)."""
    lines = [
        "## Identical rebuild: listing in ranges (issue 14)",
        "",
        "Each build deployed once (`first`, straight to the emulator), then redeployed unchanged with",
        "fresh modification times through the test proxy, with no added latency and with a fixed delay",
        "per request standing in for S3's round trip. shipfront lists in up to 16 key ranges at once",
        "(`ranges`, its default) or in one range (`one range`, `SHIPFRONT_LIST_RANGES=1`). `chain`: the",
        "longest run of list requests that each waited for the one before (its continuation token),",
        "followed by the proxy. `emulator s`: the time during which the emulator had at least one list",
        "request to answer (it answers one at a time and scans the whole bucket for each page, so this",
        "part of the wall time is its own work, which S3, answering pages in parallel, does not have).",
        "",
        "| files | MiB | added latency | tool | listing | wall s | CPU s | peak RSS MiB | list requests | chain | emulator s | writes |",
        "| ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    firsts = []
    for total, first, rows in listing:
        for r in rows:
            wall, cpu, rss = r["measured"]
            st = r["stats"]
            lines.append(
                f"| {r['files']} | {total / 2**20:.0f} | {r['latency']} ms | {r['tool']} | {r['listing'] or '-'} | {wall:.2f} | {cpu:.2f} "
                f"| {rss:.0f} | {st.get('list', 0)} | {st.get('list_chain', 0)} | {st.get('list_busy_ms', 0) / 1000:.2f} | {st.get('writes', 0)} |"
            )
        n = rows[0]["files"]
        for tool, (wall, cpu, rss) in first.items():
            firsts.append(f"| {n} | {total / 2**20:.0f} | {tool} | {wall:.2f} | {cpu:.2f} | {rss:.0f} |")
    lines += [
        "",
        "The first deploys of those builds (straight to the emulator, whose write rate bounds the wall time):",
        "",
        "| files | MiB | tool | wall s | CPU s | peak RSS MiB |",
        "| ---: | ---: | --- | ---: | ---: | ---: |",
    ] + firsts + [""]
    return lines


def write_report(args, n, total, timings, counts, scan_rate, openssl_rate, cores, listing):
    rate = counts[("shipfront", "first")].get("writes", 0) / timings[("shipfront", "first")][0]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `{args.command.strip()}` on one machine ({cores} cores), against one local",
        "moto S3 server. Each tool deploys to its own versioned bucket; the defaults of each tool are",
        "used (shipfront 32 writes in flight, aws s3 sync 10, rclone 4 transfers and 8 checkers).",
        "",
        f"Synthetic build: {n} files, {total / 2**20:.0f} MiB (pages, fingerprinted JS/CSS chunks, images, JSON,",
        "two files of 20 and 24 MiB). Scenarios: `first` into an empty bucket; `identical`, the same build",
        "with fresh modification times (a new CI build); `changed5`, 5% of the files changed.",
        "",
        f"The emulator, not the client, bounds the raw write rate (about {rate:.0f} writes/s in this run:",
        "shipfront's `first` writes over its wall time): the `first` wall times, and the `aws s3 sync`",
        "redeploys (which re-send every file), are emulator bound. CPU time (user + system, children",
        "included) and peak RSS are the client's own, from GNU time.",
        "",
        "| scenario | tool | wall s | CPU s | peak RSS MiB | requests | MiB sent | aws wall ÷ this | aws CPU ÷ this |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for name in ["first", "identical", "changed5"]:
        aws_wall, aws_cpu, _ = timings[("aws s3 sync", name)]
        for tool in TOOLS:
            wall, cpu, rss = timings[(tool, name)]
            c = counts[(tool, name)]
            reqs = ", ".join(f"{k} {c[k]}" for k in KINDS if c.get(k))
            lines.append(
                f"| {name} | {tool} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {reqs} | {c.get('bytes_sent', 0) / 2**20:.1f} "
                f"| {aws_wall / wall:.1f} | {aws_cpu / cpu:.1f} |"
                if tool != "aws s3 sync" else
                f"| {name} | {tool} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {reqs} | {c.get('bytes_sent', 0) / 2**20:.1f} | 1 | 1 |"
            )
    lines += [
        "",
        "Hashing (a `--dry-run` against an empty bucket is scan plus one list call, files in the page",
        f"cache; `openssl md5` reads the same files itself, one process through xargs; best of 3): shipfront {scan_rate:.0f} MiB/s on {cores} cores; `openssl md5` on one core",
        f"{openssl_rate:.0f} MiB/s; ratio {scan_rate / (openssl_rate * cores):.2f} of openssl's single-core speed times the cores.",
        "",
    ] + listing_report(listing)
    # Hand-written notes below the marker survive a new run.
    marker = "<!-- notes: kept when scripts/bench rewrites this file -->"
    notes = marker + "\n"
    if os.path.exists(args.out):
        with open(args.out) as f:
            old = f.read()
        if marker in old:
            notes = marker + old.split(marker, 1)[1]
    lines.append(notes)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
