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
