#!/usr/bin/env bash
# Installs shipfront for the GitHub Action, fast: a prebuilt release binary for the runner's OS
# and architecture when one is published, else a build of the action's own source (cached by
# action.yml with actions/cache, keyed on a digest of that source).
#
#   install.sh plan     reads INPUT_VERSION; writes mode (release | source), root, key and url
#                       to $GITHUB_OUTPUT
#   install.sh install  reads INSTALL_MODE, INSTALL_ROOT, INSTALL_URL; installs into ROOT/bin
#                       unless a binary is there already; writes bin to $GITHUB_OUTPUT and adds
#                       ROOT/bin to $GITHUB_PATH
set -euo pipefail

# shellcheck source=action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

action_dir=${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}

# Which repository and ref the action was used from. The runner leaves GITHUB_ACTION_REPOSITORY
# and GITHUB_ACTION_REF empty in a composite action's steps, but checks the action out at
# .../_actions/OWNER/REPO/REF, so the path says it.
action_from_path() {
  local ref_dir repo_dir owner_dir
  ref_dir=$(cd "$action_dir" && pwd)
  repo_dir=$(dirname "$ref_dir")
  owner_dir=$(dirname "$repo_dir")
  if [ "$(basename "$(dirname "$owner_dir")")" = _actions ]; then
    printf '%s/%s %s\n' "$(basename "$owner_dir")" "$(basename "$repo_dir")" "$(basename "$ref_dir")"
  fi
}
read -r path_repository path_ref <<<"$(action_from_path)" || true
repository=${GITHUB_ACTION_REPOSITORY:-${path_repository:-shipfront/shipfront}}
action_ref=${GITHUB_ACTION_REF:-${path_ref:-}}
# Where releases are downloaded from (a test points it at a local folder).
download_base=${SHIPFRONT_DOWNLOAD_BASE:-https://github.com/$repository/releases/download}

fail() {
  error_annotation "shipfront action: install" "$1"
  exit 1
}

output() {
  printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
}

# The Rust target of the published binary for this runner; nothing for an unsupported one.
runner_target() {
  local os=${RUNNER_OS:-$(uname -s)} arch=${RUNNER_ARCH:-$(uname -m)}
  case "$os/$arch" in
    Linux/X64 | Linux/x86_64) echo x86_64-unknown-linux-gnu ;;
    Linux/ARM64 | Linux/aarch64) echo aarch64-unknown-linux-gnu ;;
    macOS/X64 | Darwin/x86_64) echo x86_64-apple-darwin ;;
    macOS/ARM64 | Darwin/arm64) echo aarch64-apple-darwin ;;
    *) ;;
  esac
}

# The version in the action's Cargo.toml.
source_version() {
  sed -n 's/^version = "\(.*\)"$/\1/p' "$action_dir/Cargo.toml" | head -n 1
}

# A digest of what a source build depends on, for the cache key.
source_digest() {
  (cd "$action_dir" && find Cargo.toml Cargo.lock src -type f -print0 | LC_ALL=C sort -z | xargs -0 cat) \
    | { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-16
}

plan() {
  local target requested own
  target=$(runner_target)
  [ -n "$target" ] || fail "no shipfront for a ${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)} runner: use a Linux or macOS runner (ubuntu-latest, macos-latest)"
  own=$(source_version)
  requested=${INPUT_VERSION:-}
  requested=${requested#v}
  if [ -z "$requested" ]; then
    # The action's own tag, when it names a version (uses: owner/shipfront@v0.1.0).
    local ref=${action_ref#v}
    if [[ $ref =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then requested=$ref; else requested=source; fi
  fi
  local root_base=${RUNNER_TOOL_CACHE:-${HOME}/.cache}/shipfront
  if [ "$requested" != source ]; then
    local url="$download_base/v$requested/shipfront-$target.tar.gz"
    # A one-byte GET, not HEAD: the signed storage URLs GitHub redirects to may refuse HEAD.
    if curl -fsSL --retry 3 --connect-timeout 10 -r 0-0 -o /dev/null "$url"; then
      output mode release
      output root "$root_base/$requested-$target"
      output key "shipfront-$requested-$target"
      output url "$url"
      output repository "$repository"
      return
    fi
    if [ "$requested" != "$own" ]; then
      fail "shipfront v$requested has no published binary for $target, and this action's source is v$own: use version: source, or a published version"
    fi
    echo "no published binary of v$requested for $target: building the action's source" >&2
  fi
  local key
  # The runner image is part of the key: a binary built on a newer image (glibc) may not run
  # on an older one.
  key="shipfront-source-$own-$target-${ImageOS:-unknown}-$(source_digest)"
  output mode source
  output root "$root_base/$key"
  output key "$key"
  output url ""
  output repository "$repository"
}

# Checks the archive's build provenance with `gh attestation verify` when the GitHub CLI can
# (SHIPFRONT_GH names it; a test stubs it): the SHA-256 beside the archive catches a corrupt
# download, the attestation (signed by this repository's release workflow) a tampered one.
# INPUT_VERIFY_PROVENANCE: `auto` checks when gh can and fails only on an archive that does not
# verify; `true` also fails when gh cannot check; `false` skips it. Says which it checked.
verify_provenance() {
  local archive=$1 mode=${INPUT_VERIFY_PROVENANCE:-auto} gh out
  case "$mode" in
    auto | true | false) ;;
    *) fail "verify-provenance must be auto, true or false, not \`$mode\`" ;;
  esac
  if [ "$mode" = false ]; then
    echo "checked: SHA-256 (verify-provenance: false)"
    return
  fi
  gh=${SHIPFRONT_GH-$(command -v gh || true)}
  if [ -z "$gh" ] || ! "$gh" attestation verify --help >/dev/null 2>&1; then
    [ "$mode" = auto ] || fail "verify-provenance: true needs the GitHub CLI with \`gh attestation\` (gh 2.49 or newer) on the runner"
    echo "checked: SHA-256 (with the GitHub CLI, gh 2.49 or newer, on the runner the build provenance is checked too)"
    return
  fi
  local workflow="$repository/.github/workflows/release.yml"
  if out=$("$gh" attestation verify "$archive" --repo "$repository" --signer-workflow "$workflow" 2>&1); then
    echo "checked: SHA-256 and build provenance (gh attestation verify --signer-workflow $workflow)"
    return
  fi
  printf '%s\n' "$out"
  if grep -qE 'No attestations found|Verification failed' <<<"$out"; then
    fail "the build provenance of $INSTALL_URL does not verify (see above): it was not built by $workflow. Use a published version of $repository, or version: source"
  fi
  [ "$mode" = auto ] || fail "gh could not check the build provenance of $INSTALL_URL (see above); with verify-provenance: auto the SHA-256 alone is checked then"
  warning_annotation "shipfront action: install" "gh could not check the build provenance of $INSTALL_URL (see the log): installed on its SHA-256 alone. verify-provenance: true makes this an error"
  echo "checked: SHA-256 (gh could not check the build provenance)"
}

install() {
  local root=${INSTALL_ROOT:?INSTALL_ROOT is not set} bin
  bin="$root/bin/shipfront"
  if [ -x "$bin" ]; then
    echo "using $bin (cached)"
  else
    case "${INSTALL_MODE:-}" in
      release)
        local tmp
        tmp=$(mktemp -d)
        curl -fsSL --retry 3 -o "$tmp/shipfront.tar.gz" "${INSTALL_URL:?}" || fail "cannot download $INSTALL_URL"
        curl -fsSL --retry 3 -o "$tmp/shipfront.tar.gz.sha256" "$INSTALL_URL.sha256" || fail "cannot download $INSTALL_URL.sha256"
        local want got
        want=$(cut -d' ' -f1 <"$tmp/shipfront.tar.gz.sha256")
        got=$({ sha256sum 2>/dev/null || shasum -a 256; } <"$tmp/shipfront.tar.gz" | cut -d' ' -f1)
        [ "$want" = "$got" ] || fail "checksum mismatch for $INSTALL_URL: expected $want, got $got"
        verify_provenance "$tmp/shipfront.tar.gz"
        mkdir -p "$root/bin"
        tar -xzf "$tmp/shipfront.tar.gz" -C "$root/bin" shipfront
        rm -rf "$tmp"
        ;;
      source)
        command -v cargo >/dev/null || fail "building shipfront from source needs Rust (cargo) on the runner: add dtolnay/rust-toolchain@stable before this step, or use a published version"
        cargo install --locked --quiet --path "$action_dir" --root "$root" \
          || fail "cargo install of shipfront from $action_dir failed (see the log above)"
        ;;
      *) fail "unknown install mode \`${INSTALL_MODE:-}\`" ;;
    esac
  fi
  "$bin" --version
  output bin "$bin"
  echo "$root/bin" >>"${GITHUB_PATH:?GITHUB_PATH is not set}"
}

case "${1:-}" in
  plan) plan ;;
  install) install ;;
  *)
    echo "usage: $0 plan|install" >&2
    exit 2
    ;;
esac
