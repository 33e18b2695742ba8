#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver for the dashboard's browser test,
# when they are missing and this is a root shell with apt-get (CI here). Elsewhere
# it says what to install; the test itself then fails with the same advice.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing chromium and chromium-driver with apt-get (browser test)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver >/dev/null
else
  echo "setup: the browser test needs Chromium: sudo apt-get install chromium chromium-driver" >&2
fi
