#!/usr/bin/env bash
# Headless Chromium for the report's browser tests (driven by puppeteer-core with the system
# browser; nothing is downloaded at test time but this Debian package). Idempotent.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "chromium is installed: $(chromium --version 2>/dev/null || true)"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "install-chromium.sh: run as root, or: sudo apt-get install -y --no-install-recommends chromium" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
# Another installer (R, Slurm) may hold the dpkg lock: wait for it.
for i in $(seq 1 60); do
  if apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then break; fi
  if [ "$i" -eq 1 ]; then apt-get update -qq || true; fi
  sleep 5
done
command -v chromium >/dev/null || { echo "install-chromium.sh: apt-get install chromium failed" >&2; exit 1; }
echo "chromium $(chromium --version 2>/dev/null || true)"
