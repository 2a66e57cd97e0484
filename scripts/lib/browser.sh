# shellcheck shell=bash
# Sourced by scripts/test: installs what the browser tests (tests/integration/browser.rs) drive:
# Chromium from Debian's packages, and puppeteer-core from npm (pinned in tests/browser's
# package-lock.json) into tests/browser/node_modules.

_shipfront_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Installs Chromium when missing (as root, with apt-get) and puppeteer-core when its installed
# copy is older than the lock file; exports CHROMIUM for the driver.
ensure_browser() {
  local chromium=${CHROMIUM:-/usr/bin/chromium}
  if [ ! -x "$chromium" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "installing chromium (Debian package) ..." >&2
      if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium ||
        { apt-get update -qq &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }; } >/dev/null; then
        echo "error: apt-get could not install chromium" >&2
        return 1
      fi
    else
      echo "error: $chromium not found; install Chromium (sudo apt-get install chromium) or set CHROMIUM" >&2
      return 1
    fi
  fi
  export CHROMIUM="$chromium"
  local browser="$_shipfront_root/tests/browser"
  local installed="$browser/node_modules/.package-lock.json"
  if [ ! -f "$installed" ] || [ "$browser/package-lock.json" -nt "$installed" ]; then
    echo "installing puppeteer-core into tests/browser/node_modules ..." >&2
    if ! (cd "$browser" && npm ci --no-audit --no-fund --silent) >&2; then
      echo "error: npm could not install puppeteer-core" >&2
      return 1
    fi
  fi
}
