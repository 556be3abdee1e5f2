#!/usr/bin/env bash
# Installs the Debian packages opdomain's tests and sandbox need, when missing:
# chromium + a CJK font (browser tests), bubblewrap (job sandbox), PostgreSQL
# server binaries (throwaway test server when none answers on 127.0.0.1:5432).
# Idempotent and quiet when everything is present.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || need+=(fonts-wqy-microhei)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then SUDO=sudo; else SUDO=; fi
echo "setup-system: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
