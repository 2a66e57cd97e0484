# shellcheck shell=bash
# Sourced by scripts/test, scripts/demo and scripts/bench: installs the pinned moto servers into
# local virtualenvs (once) and exports where they are.
#
# Why two versions: moto 5.2.x answers GetBucketVersioning and ListParts (5.2.1 also
# CompleteMultipartUpload) with XML the Rust SDK rejects, so S3 runs on 5.1.22; CloudFront
# GetDistributionConfig is broken in 5.1.22 and works in 5.2.5.

MOTO_S3_VERSION=5.1.22
MOTO_CLOUDFRONT_VERSION=5.2.5

_shipfront_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# ensure_moto NAME VERSION -> prints the moto_server path of .venv/moto-NAME
ensure_moto() {
  local name=$1 version=$2
  local venv="$_shipfront_root/.venv/moto-$name"
  local server="$venv/bin/moto_server"
  if [ -x "$server" ] && "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('moto') != '$version')" 2>/dev/null; then
    printf '%s\n' "$server"
    return 0
  fi
  echo "installing moto[server]==$version into .venv/moto-$name ..." >&2
  rm -rf "$venv"
  python3 -m venv "$venv" >&2 || { echo "error: python3 -m venv failed; install python3-venv" >&2; return 1; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$version" >&2 \
    || { echo "error: pip could not install moto[server]==$version" >&2; return 1; }
  printf '%s\n' "$server"
}

# Exports SHIPFRONT_MOTO_S3 and SHIPFRONT_MOTO_CLOUDFRONT for the test harness.
ensure_moto_servers() {
  SHIPFRONT_MOTO_S3=$(ensure_moto s3 "$MOTO_S3_VERSION") || return 1
  SHIPFRONT_MOTO_CLOUDFRONT=$(ensure_moto cloudfront "$MOTO_CLOUDFRONT_VERSION") || return 1
  export SHIPFRONT_MOTO_S3 SHIPFRONT_MOTO_CLOUDFRONT
}

# start_moto SERVER_PATH -> starts it on a free 127.0.0.1 port; sets MOTO_PID and MOTO_ENDPOINT.
# The port is read from the server's own "Running on" line, so there is no race for it and no
# guessing how long start-up takes. Call stop_moto (from a trap) to end it.
start_moto() {
  local server=$1
  local fifo
  fifo=$(mktemp -u "${TMPDIR:-/tmp}/shipfront-moto.XXXXXX")
  mkfifo "$fifo"
  "$server" -H 127.0.0.1 -p 0 2>"$fifo" >/dev/null &
  MOTO_PID=$!
  local line port=""
  exec {moto_fd}<"$fifo"
  rm -f "$fifo"
  while IFS= read -r -t 60 line <&"$moto_fd"; do
    if [[ $line =~ Running\ on\ http://127\.0\.0\.1:([0-9]+) ]]; then
      port=${BASH_REMATCH[1]}
      break
    fi
  done
  if [ -z "$port" ]; then
    echo "error: moto server did not start (no 'Running on' line within 60 s)" >&2
    kill "$MOTO_PID" 2>/dev/null || true
    return 1
  fi
  # Keep draining its request log so it never blocks on a full pipe.
  cat <&"$moto_fd" >/dev/null &
  MOTO_DRAIN_PID=$!
  exec {moto_fd}<&-
  MOTO_ENDPOINT="http://127.0.0.1:$port"
  export MOTO_ENDPOINT
}

stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
  if [ -n "${MOTO_DRAIN_PID:-}" ]; then
    kill "$MOTO_DRAIN_PID" 2>/dev/null || true
  fi
  MOTO_PID=""
  MOTO_DRAIN_PID=""
  return 0
}

# moto_python -> the python of the S3 moto virtualenv (it has boto3, used to set up buckets).
moto_python() {
  printf '%s\n' "$_shipfront_root/.venv/moto-s3/bin/python"
}

# create_versioned_bucket NAME -> on $MOTO_ENDPOINT
create_versioned_bucket() {
  "$(moto_python)" - "$1" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["MOTO_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id="demo", aws_secret_access_key="demo")
s3.create_bucket(Bucket=sys.argv[1])
s3.put_bucket_versioning(Bucket=sys.argv[1], VersioningConfiguration={"Status": "Enabled"})
PY
}

# create_spa_distribution BUCKET -> prints the id of a new distribution on $MOTO_ENDPOINT (the
# CloudFront emulator) in front of BUCKET, with index.html as its root object and the SPA
# fallback (403 and 404 -> /index.html, 200).
create_spa_distribution() {
  "$_shipfront_root/.venv/moto-cloudfront/bin/python" - "$1" <<'PY'
import os, sys, boto3
cf = boto3.client("cloudfront", endpoint_url=os.environ["MOTO_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id="demo", aws_secret_access_key="demo")
fallback = lambda code: {"ErrorCode": code, "ResponsePagePath": "/index.html",
                         "ResponseCode": "200", "ErrorCachingMinTTL": 10}
created = cf.create_distribution(DistributionConfig={
    "CallerReference": "shipfront-demo", "Comment": "shipfront demo", "Enabled": True,
    "DefaultRootObject": "index.html",
    "Origins": {"Quantity": 1, "Items": [{
        "Id": "site", "DomainName": f"{sys.argv[1]}.s3.us-east-1.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
    "DefaultCacheBehavior": {
        "TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
        "MinTTL": 0, "TrustedSigners": {"Enabled": False, "Quantity": 0}},
    "CustomErrorResponses": {"Quantity": 2, "Items": [fallback(403), fallback(404)]},
})
print(created["Distribution"]["Id"])
PY
}
