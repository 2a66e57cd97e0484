# Sourced by scripts/test: installs the pinned GitHub Actions schema validator
# (@action-validator/cli from npm) into .tools/ (once) and exports where it is.

ACTION_VALIDATOR_VERSION=0.6.0

_shipfront_tools=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.tools

# Exports SHIPFRONT_ACTION_VALIDATOR for the test harness.
ensure_action_validator() {
  local dir="$_shipfront_tools/action-validator-$ACTION_VALIDATOR_VERSION"
  local bin="$dir/node_modules/.bin/action-validator"
  if [ ! -x "$bin" ]; then
    if ! command -v npm >/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing nodejs and npm (Debian packages) ..." >&2
        apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends nodejs npm >&2 \
          || { echo "error: apt-get could not install nodejs and npm" >&2; return 1; }
      else
        echo "error: npm not found: install Node.js (the action's schema test needs it)" >&2
        return 1
      fi
    fi
    echo "installing @action-validator/cli@$ACTION_VALIDATOR_VERSION into .tools/ ..." >&2
    rm -rf "$dir" && mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" \
      "@action-validator/cli@$ACTION_VALIDATOR_VERSION" "@action-validator/core@$ACTION_VALIDATOR_VERSION" >&2 \
      || { echo "error: npm could not install @action-validator/cli@$ACTION_VALIDATOR_VERSION" >&2; return 1; }
  fi
  SHIPFRONT_ACTION_VALIDATOR=$bin
  export SHIPFRONT_ACTION_VALIDATOR
}
