"""`shipfront serve` against a plain static file server (nginx), behind `scripts/bench --serve`.

One multi-page build: a page of a typical cached size (`about/index.html`, 16 KiB of HTML)
among a few others. wrk asks for its clean URL `/about/` over keep-alive connections, first as
is, then accepting gzip. shipfront runs the page's request through the generated routing
function in its embedded engine, then answers the file with the deploy's headers (and
compresses it, as CloudFront would); nginx serves `/about/` from the folder by its index rule,
one worker (shipfront answers on one thread), `gzip on` for the second run. Each figure is the
median of three runs. Both servers write an access log line per request.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def build(root):
    """The build: a home page, the 16 KiB page, a script and a stylesheet."""
    paragraph = "<p>" + "shipfront serves this page the way the distribution will. " * 8 + "</p>\n"
    page = "<!doctype html><html><head><title>About</title>" \
        '<link rel="stylesheet" href="/assets/site-3f2a1b9c.css"></head><body>\n'
    while len(page) < 16 * 1024:
        page += paragraph
    page += '<script src="/assets/app-BbXQDiXP.js"></script></body></html>\n'
    files = {
        "index.html": "<!doctype html><title>Home</title><h1>Home</h1>",
        "about/index.html": page,
        "assets/app-BbXQDiXP.js": "console.log('app');\n" * 100,
        "assets/site-3f2a1b9c.css": "body { margin: 0 }\n" * 100,
    }
    for rel, body in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(body)
    return len(page.encode())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_shipfront(shipfront, site, log):
    """`shipfront serve SITE --port 0`, once it says where it listens: (process, port)."""
    proc = subprocess.Popen([shipfront, "serve", site, "--port", "0"], cwd=site,
                            stdout=subprocess.PIPE, stderr=log, text=True)
    line = proc.stdout.readline()
    match = re.search(r"127\.0\.0\.1:(\d+)/", line)
    if not match:
        proc.kill()
        raise SystemExit(f"shipfront serve did not start: {line!r}")
    return proc, int(match.group(1))


def start_nginx(site, work, gzip):
    """nginx on a free port serving SITE, one worker, in the foreground: (process, port)."""
    port = free_port()
    conf = os.path.join(work, f"nginx-{'gzip' if gzip else 'plain'}.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(f"""
worker_processes 1;
daemon off;
pid {work}/nginx-{port}.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log {work}/nginx-access.log;
    client_body_temp_path {work};
    proxy_temp_path {work};
    fastcgi_temp_path {work};
    uwsgi_temp_path {work};
    scgi_temp_path {work};
    gzip {'on' if gzip else 'off'};
    gzip_types text/css application/javascript;
    gzip_min_length 1000;
    server {{
        listen 127.0.0.1:{port};
        root {site};
        index index.html;
    }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", conf, "-p", work],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.05):
                return proc, port
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise SystemExit("nginx did not start")


def wrk(port, path, seconds, connections, gzip):
    """wrk's requests per second and mean latency (ms) for `path`."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    if gzip:
        argv += ["-H", "Accept-Encoding: gzip"]
    out = subprocess.run(argv + [f"http://127.0.0.1:{port}{path}"], check=True,
                         capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out).groups()
    latency = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return rate, latency


def check(port, path, gzip):
    """The page answers 200 (compressed when asked): the run measures what it claims."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", path, headers={"Accept-Encoding": "gzip"} if gzip else {})
    response = conn.getresponse()
    response.read()
    encoding = response.getheader("Content-Encoding")
    if response.status != 200 or (encoding == "gzip") != gzip:
        raise SystemExit(f"{path} on {port}: {response.status}, encoding {encoding}")


def measure(servers, args):
    """The median of three runs per server and encoding."""
    rows = []
    for gzip in (False, True):
        for name, start in servers:
            proc, port = start(gzip)
            try:
                check(port, "/about/", gzip)
                runs = [wrk(port, "/about/", args.seconds, args.connections, gzip)
                        for _ in range(3)]
            finally:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=10)
            rate = statistics.median(r[0] for r in runs)
            latency = statistics.median(r[1] for r in runs)
            rows.append((gzip, name, rate, latency, [round(r[0]) for r in runs]))
    return rows


def write_report(args, size, rows):
    lines = [
        "# `shipfront serve` against a plain static file server",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `{args.command.strip()}` on one machine "
        f"({os.cpu_count()} cores): wrk, one thread, {args.connections} keep-alive connections, "
        f"{args.seconds} s a run, the median of three runs, asking for `/about/` "
        f"({size} bytes of HTML).",
        "",
        "| encoding | server | requests/s | mean latency | runs (requests/s) | ratio to nginx |",
        "| --- | --- | ---: | ---: | --- | ---: |",
    ]
    for gzip in (False, True):
        pair = [r for r in rows if r[0] == gzip]
        nginx = next(r for r in pair if r[1] == "nginx")
        for _, name, rate, latency, runs in pair:
            ratio = rate / nginx[2]
            lines.append(f"| {'gzip' if gzip else 'none'} | {name} | {rate:,.0f} | "
                         f"{latency:.2f} ms | {', '.join(map(str, runs))} | {ratio:.2f} |")
    lines += [
        "",
        "shipfront runs every request through the routing function (QuickJS, one engine on its "
        "own thread), reads the file, and, when asked, compresses it per request (no cache of "
        "compressed bodies, gzip at level 6); nginx maps `/about/` to its index file and "
        "serves it with sendfile (gzip at its default level 1). Both log each request. `serve` is a development server: the edge's own "
        "throughput is CloudFront's.",
        "",
    ]
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shipfront", required=True)
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--out", default=os.path.join(ROOT, "docs/benchmarks-serve.md"))
    p.add_argument("--command", default="scripts/bench --serve")
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="shipfront-bench-serve-")
    try:
        site = os.path.join(work, "site")
        size = build(site)
        with open(os.path.join(work, "shipfront-access.log"), "w") as log:
            servers = [
                ("shipfront serve", lambda gzip: start_shipfront(args.shipfront, site, log)),
                ("nginx", lambda gzip: start_nginx(site, work, gzip)),
            ]
            rows = measure(servers, args)
        write_report(args, size, rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
