#!/usr/bin/env bash
# Debian packages the test suite needs: a PostgreSQL server for the cross-warehouse tests,
# and Chromium for the browser tests (Playwright drives /usr/bin/chromium; it cannot
# download a browser of its own here).
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "Missing Debian packages: run 'sudo apt-get install ${missing[*]}'" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
