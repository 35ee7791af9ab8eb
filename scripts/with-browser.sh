#!/usr/bin/env bash
# Make sure the browser tests can run, then run the given command (if any):
#   scripts/with-browser.sh make test
# Installs Debian's chromium when /usr/bin/chromium is absent (as root), and fetches npm's
# axe-core into .cache/axe-core/axe.min.js when absent (about 0.5 MB, so not committed).
# Playwright drives that chromium; `playwright install` is never run.
set -euo pipefail
cd "$(dirname "$0")/.."

AXE_VERSION="${AXE_VERSION:-4.14.1}"
AXE=".cache/axe-core/axe.min.js"

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "with-browser: chromium is not installed; run as root or install Debian's 'chromium'" >&2
        exit 1
    fi
    echo "with-browser: installing Debian's chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q chromium >/dev/null
fi

if [ ! -s "$AXE" ]; then
    echo "with-browser: fetching axe-core $AXE_VERSION from npm" >&2
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null && tar -xzf axe-core-*.tgz)
    mkdir -p "$(dirname "$AXE")"
    cp "$work/package/axe.min.js" "$AXE"
fi

if [ "$#" -gt 0 ]; then
    exec "$@"
fi
